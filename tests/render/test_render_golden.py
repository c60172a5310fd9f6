"""Golden files: the worked solution of every problem in problems/, plain and Markdown;
LaTeX and HTML of a few; every format of the layered networks' (issue 19).

Regenerate after an intended change with ``pytest tests/render/test_render_golden.py
--update-golden`` and read the diff before committing it. A new problem file
gets its golden files on the first run (which fails once, to be noticed).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from backprop_cli.kinds.base import SolveRequest
from backprop_cli.kinds.exercise import load_exercise, load_problem
from backprop_cli.kinds.layered import KIND as LAYERED
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.render import RenderOptions, render_problem, solve_for_display
from tests.conftest import PROBLEMS, seed_files

GOLDEN = Path(__file__).parent.parent / "golden"
WIDTH = 100
FORMATS = {"plain": "txt", "markdown": "md"}
# the handout documents, for a few problems: LaTeX and HTML
DOCUMENT_FORMATS = {"latex": "tex", "html": "html"}
DOCUMENT_PROBLEMS = ("001b_two_layer_relu_sigmoid", "003h_sigmoid_two_inputs_rounded",
                     "011_product_npy_adam", "012_three_classes_init")
# layered networks (issue 19): the worked solution in every format a person reads
LAYERED_GOLDEN = Path(__file__).parent.parent / "golden_layered"
LAYERED_FORMATS = {"plain": "txt", "markdown": "md", "latex": "tex", "html": "html"}
LAYERED_PROBLEMS = ("030_conv_pool_dropout", "031_rnn_bptt",
                    "032_conv1d_stride_padding_avgpool")


def rendered(path: Path, fmt: str) -> str:
    problem = load_problem(path)
    solution = solve_for_display(problem)
    return render_problem(problem, solution, RenderOptions(fmt=fmt, width=WIDTH))


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("path", seed_files(), ids=lambda p: p.stem)
def test_matches_golden_file(path: Path, fmt: str, update_golden: bool) -> None:
    compare(rendered(path, fmt), GOLDEN / f"{path.stem}.{FORMATS[fmt]}", update_golden)


@pytest.mark.parametrize("fmt", sorted(DOCUMENT_FORMATS))
@pytest.mark.parametrize("stem", DOCUMENT_PROBLEMS)
def test_documents_match_golden_files(stem: str, fmt: str, update_golden: bool) -> None:
    path = next(p for p in seed_files() if p.stem == stem)
    compare(rendered(path, fmt), GOLDEN / f"{stem}.{DOCUMENT_FORMATS[fmt]}", update_golden)


def layered_rendered(stem: str, fmt: str) -> str:
    problem = load_exercise(PROBLEMS / f"{stem}.yaml")
    assert isinstance(problem, LayeredProblem)
    return LAYERED.solve(problem, SolveRequest(fmt, width=WIDTH))


@pytest.mark.parametrize("fmt", sorted(LAYERED_FORMATS))
@pytest.mark.parametrize("stem", LAYERED_PROBLEMS)
def test_layered_solutions_match_golden_files(stem: str, fmt: str, update_golden: bool) -> None:
    compare(layered_rendered(stem, fmt), LAYERED_GOLDEN / f"{stem}.{LAYERED_FORMATS[fmt]}",
            update_golden)


def compare(text: str, golden: Path, update_golden: bool) -> None:
    if update_golden or not golden.exists():
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
        if not update_golden:
            pytest.fail(f"{golden.name} did not exist: written, check it in after reading it")
        return
    expected = golden.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True),
                                            text.splitlines(keepends=True),
                                            golden.name, "now", n=2))
        pytest.fail(f"{golden.name} differs (--update-golden if intended):\n{diff[:6000]}")


def test_no_golden_file_is_stale(update_golden: bool) -> None:
    """Every golden file belongs to a problem (a renamed problem leaves none behind)."""
    stems = {path.stem for path in seed_files()}
    stale = [p for p in GOLDEN.glob("*") if p.stem not in stems]
    stale += [p for p in LAYERED_GOLDEN.glob("*") if p.stem not in LAYERED_PROBLEMS]
    if update_golden:
        for path in stale:
            path.unlink()
        return
    assert not [p.name for p in stale]
