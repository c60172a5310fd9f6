import os
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ROOT / "problems"

# `make test` (and CI) draws the same examples on every run: a red CI must mean a change
# broke something, never that a new random draw found an old corner. The dev and long
# profiles (HYPOTHESIS_PROFILE=dev make unit) draw new ones: that is where corners are found.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.register_profile("long", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite the golden files from the current output")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def seed_files() -> list[Path]:
    """The network problem files (`kind: derivative` files: tests/kinds/test_derive.py)."""
    from backprop_cli.kinds.exercise import load_exercise
    from backprop_cli.model.problem import Problem

    return [path for path in sorted(PROBLEMS.glob("*.yaml"))
            if isinstance(load_exercise(path), Problem)]


@pytest.fixture(autouse=True)
def _fresh_trust_boundary() -> None:
    """No test inherits another's --allow-outside or trusted roots (module state)."""
    from backprop_cli.files import trust

    trust.reset()
