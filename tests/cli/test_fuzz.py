"""Fuzzing the loader and the CLI: whatever the file holds, a clean error or a result.

Random text, random YAML documents, random bytes, and random mutations of valid
problem files (tests/netgen.py and problems/*.yaml) go through
:func:`~backprop_cli.files.loader.parse_problem`, which may only succeed or raise
:class:`~backprop_cli.errors.ProblemError` with a one-line message at a place
inside the text; and through ``backprop solve``, which may only exit with 0 or 1,
never with a traceback, and never print NaN or Infinity in JSON.

The number of examples comes from the Hypothesis profile (tests/conftest.py):
``HYPOTHESIS_PROFILE=long`` runs 5000 of each, the default (ci) 60.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from backprop_cli.cli import cli
from backprop_cli.errors import ProblemError
from backprop_cli.files.fields import EXPECTED_ENTRY_KEYS
from backprop_cli.files.loader import (
    LAYER_KEYS,
    NETWORK_KEYS,
    TOP_KEYS,
    parse_problem,
)
from backprop_cli.files.yamlio import decode
from backprop_cli.model.problem import Problem
from tests.conftest import seed_files
from tests.netgen import dump, problem_documents

SLOW_OK = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.filter_too_much])
# the CLI examples cost more (a file, a process-like run): a third of the profile's count
_PROFILE_EXAMPLES = settings.default.max_examples if settings.default else 100
CLI_EXAMPLES = settings(SLOW_OK, max_examples=max(20, _PROFILE_EXAMPLES // 3))

WORDS = [*TOP_KEYS, *NETWORK_KEYS, *LAYER_KEYS, *EXPECTED_ENTRY_KEYS, "name", "alpha",
         "sigmoid", "relu", "softmax", "cross_entropy", "binary_cross_entropy", "x1", "h1",
         "o", "w1", "a.o", "grad.w1", "z.h1", "step2.loss", "final.loss", "loss@1"]
YAML_PUNCTUATION = [
    *":-[]{},#&*!|>'\"%@`?~.\\", "\n", "\n  ", "\n    - ", "\t", ": ", "- ", "&a ", "*a",
    "!!str ", "!!python/object:x ", "<<: ", "---\n", "...", "1e400", ".nan", ".inf", "-0",
    "0x1F", "0o7", "1_000", "yes", "null", "~", "true", "\ufeff", "\x00", "\x85", "\u2028",
    "\ud800", "9" * 400,
]

ASCII_NOISE = string.ascii_letters + string.digits + " "


def check_parse(text: str, path: str = "fuzz.yaml") -> Problem | None:
    """Parse, and hold every error to the rules; None when the text is refused."""
    try:
        problem = parse_problem(text, path)
    except ProblemError as error:
        # every independent error of the file: each one line, at a place in the file
        assert str(error).startswith("\n".join(str(e) for e in error.each()))
        for each in error.each():
            message = str(each)
            assert message.startswith(f"{path}:"), message
            assert "\n" not in message and "\r" not in message, message
            if each.mark is not None:
                lines = len(re.split(r"\r\n|\r|\n|\x85|\u2028|\u2029", text))
                assert 1 <= each.mark.line <= lines + 1, (each.mark, lines)
                assert each.mark.column >= 1
        event(f"refused: {error.message.split(':')[0].split(' (')[0][:40]}")
        return None
    event("loaded")
    return problem


# ------------------------------------------------------------------ random text


yamlish = st.lists(st.one_of(st.sampled_from(YAML_PUNCTUATION), st.sampled_from(WORDS),
                             st.text(ASCII_NOISE, max_size=5)), max_size=60).map("".join)
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=200)


@SLOW_OK
@given(st.one_of(yamlish, any_text))
def test_random_text_never_crashes_the_loader(text: str) -> None:
    check_parse(text)


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(10**400), 10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(WORDS),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)), inner,
                        max_size=5),
    ),
    max_leaves=25,
)
# documents shaped like a problem file, so that the loader gets past its first checks
problem_like = st.fixed_dictionaries(
    {"network": st.fixed_dictionaries(
        {"inputs": st.one_of(st.integers(-1, 4), documents),
         "layers": st.lists(st.dictionaries(st.sampled_from(LAYER_KEYS), documents),
                            max_size=3)}),
     "loss": st.one_of(st.sampled_from(WORDS), documents),
     "learning_rate": scalars},
    optional={key: documents for key in TOP_KEYS
              if key not in ("network", "loss", "learning_rate")},
)


@SLOW_OK
@given(st.one_of(documents, problem_like))
def test_random_yaml_documents_never_crash_the_loader(document: Any) -> None:
    check_parse(yaml.safe_dump(document, allow_unicode=True))


@SLOW_OK
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_reader(raw: bytes) -> None:
    try:
        text = decode(raw, "fuzz.yaml")
    except ProblemError as error:
        assert str(error).startswith("fuzz.yaml")
        return
    check_parse(text)


# -------------------------------------------------------------- mutated problems


SEEDS = {path.name: path.read_text(encoding="utf-8") for path in seed_files()}
REPLACEMENTS = ["", "null", "~", "true", "no", "abc", '"0.5"', "[]", "{}", "[1, 2]", ".nan",
                "-.inf", "1e400", "9" * 400, "-1", "0", "2.5", "1e12", "1e-320", "-0.0", "o",
                "x1", "w1", "*a", "&a 1", "!!python/name:os.system", "sigmoid", "softmax",
                "{name: elu, alpha: -1}", "cross_entropy", "binary_cross_entropy"]
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?(?![\w.])")
WORD = re.compile(r"[A-Za-z_][\w.^@]*")


def _paths(data: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at] if at else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*at, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*at, index))
    return found


@st.composite
def mutated_document(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document with a key deleted or a value replaced, somewhere."""
    document = draw(problem_documents())
    for _ in range(draw(st.integers(1, 2))):
        paths = _paths(document)
        path = draw(st.sampled_from(paths))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(documents)
    return document


@st.composite
def mutated_text(draw: st.DrawFn) -> tuple[str, str]:
    """(name, text): a valid file mutated one to three times, as an editor would."""
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(SEEDS)))
        text = SEEDS[name]
    else:
        name, text = "generated.yaml", dump(draw(problem_documents()))
    for _ in range(draw(st.integers(1, 3))):
        lines = text.split("\n")
        kind = draw(st.sampled_from(
            ["truncate", "delete line", "duplicate line", "swap lines", "tab", "character",
             "number", "word", "indent", "dedent", "new key"]))
        event(f"mutation: {kind}")
        at = draw(st.integers(0, max(len(lines) - 1, 0)))
        other = draw(st.integers(0, max(len(lines) - 1, 0)))
        if kind == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
        elif kind == "delete line":
            text = "\n".join(lines[:at] + lines[at + 1:])
        elif kind == "duplicate line":
            text = "\n".join(lines[:at + 1] + lines[at:])
        elif kind == "swap lines":
            lines[at], lines[other] = lines[other], lines[at]
            text = "\n".join(lines)
        elif kind == "tab":
            position = draw(st.integers(0, len(text)))
            text = text[:position] + "\t" + text[position:]
        elif kind == "character":
            position = draw(st.integers(0, len(text)))
            text = text[:position] + draw(st.sampled_from(YAML_PUNCTUATION)) + text[position:]
        elif kind in ("number", "word"):
            matches = list((NUMBER if kind == "number" else WORD).finditer(text))
            if matches:
                match = draw(st.sampled_from(matches))
                replacement = draw(st.sampled_from(REPLACEMENTS))
                text = text[:match.start()] + replacement + text[match.end():]
        elif kind == "indent":
            lines[at] = "  " + lines[at]
            text = "\n".join(lines)
        elif kind == "dedent":
            lines[at] = lines[at][2:] if lines[at].startswith("  ") else lines[at]
            text = "\n".join(lines)
        else:
            key = draw(st.sampled_from(WORDS))
            value = draw(st.sampled_from(REPLACEMENTS))
            text = "\n".join([*lines[:at], f"{key}: {value}", *lines[at:]])
    return name, text


@SLOW_OK
@given(mutated_text())
def test_mutated_problem_files_never_crash_the_loader(case: tuple[str, str]) -> None:
    name, text = case
    # the seeds' own folder, so that their .csv and .npy files are found
    folder = Path(seed_files()[0]).parent
    check_parse(text, str(folder / name))


@SLOW_OK
@given(mutated_document())
def test_mutated_problem_documents_never_crash_the_loader(document: dict[str, Any]) -> None:
    check_parse(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


def _no_constants(name: str) -> float:
    raise AssertionError(f"JSON holds {name}")


def run_cli(text: str, folder: Path) -> Result:
    """`backprop solve` on ``text``: exit 0 with valid JSON, or 1 with clean lines, one
    per independent error of the file, each `path:line:col: message`."""
    path = folder / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        problem: Problem | None = parse_problem(text, str(path))
    except ProblemError:
        problem = None
    args = ["solve", str(path), "--format", "json"]
    if problem is not None and problem.steps > 5:  # a long run proves nothing more here
        args += ["--steps", "5"]
    result = CliRunner().invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 0:
        event("cli: solved")
        json.loads(result.stdout, parse_constant=_no_constants)
    else:
        event("cli: refused")
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert lines and all(line.startswith(str(path)) for line in lines), result.stderr
    solved_finite = result.exit_code == 0 and "not_finite" not in json.loads(result.stdout)
    if problem is not None and problem.expected and problem.steps <= 5 and solved_finite:
        # the checker recomputes the published values from each other: same rules (only
        # where every value is finite: see test_check_with_an_overflowed_value below)
        checked = CliRunner().invoke(cli, ["check", str(path), "--format", "json"],
                                     env={"GITHUB_ACTIONS": ""})
        assert checked.exception is None or isinstance(checked.exception, SystemExit), (
            checked.exception)
        assert checked.exit_code in (0, 1), checked.output
        json.loads(checked.stdout, parse_constant=_no_constants)
        event(f"check: exit {checked.exit_code}")
    return result


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@CLI_EXAMPLES
@given(mutated_text())
def test_mutated_files_through_the_cli(folder: Path, case: tuple[str, str]) -> None:
    run_cli(case[1], folder)


@CLI_EXAMPLES
@given(st.one_of(mutated_document(), problem_documents()))
def test_mutated_documents_through_the_cli(folder: Path, document: dict[str, Any]) -> None:
    run_cli(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), folder)


@st.composite
def extreme_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document with its numbers scaled towards overflow and a learning rate
    that may diverge: the engine must give finite values or say what overflowed."""
    document = draw(problem_documents())
    scale = draw(st.sampled_from([1.0, 1e2, 1e3, 1e10, 1e150, 1e300]))

    def scaled(value: Any) -> Any:
        if isinstance(value, list):
            return [scaled(v) for v in value]
        return value * scale if isinstance(value, float) else value

    for layer in document["network"]["layers"]:
        layer["weights"] = scaled(layer["weights"])
        if "bias" in layer:
            layer["bias"] = scaled(layer["bias"])
    if "input" in document:
        document["input"] = scaled(document["input"])
    document["learning_rate"] = draw(st.sampled_from([1e-3, 1.0, 1e3, 1e6, 1e300]))
    document["steps"] = draw(st.integers(0, 5))
    if draw(st.booleans()):  # published answers, for `backprop check` to judge
        document["expected"] = {"loss": draw(st.sampled_from([0.5, 1e300, -2.0])),
                                 "final.loss": 0.25}
    event(f"scale {scale:g}")
    return document


@CLI_EXAMPLES
@given(extreme_documents())
def test_numeric_extremes_through_the_cli(folder: Path, document: dict[str, Any]) -> None:
    result = run_cli(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), folder)
    if result.exit_code == 1:  # valid files: only a numeric failure, told with its step
        assert re.search(r"at step \d+|after the last update", result.stderr), result.stderr
        event(f"numeric error: {result.stderr.split(': ', 1)[1][:30]}")


def test_check_with_an_overflowed_value(tmp_path: Path) -> None:
    """z = −1e300·1e300 + 1e300·1e300 overflows (−∞ in float64), relu makes it 0: the
    solve is finite and says z.u overflowed; the checker must judge it, not crash."""
    path = tmp_path / "overflowed_z.yaml"
    path.write_text(dump({
        "network": {"inputs": 3, "layers": [
            {"units": ["u"], "activation": "relu", "weights": [[-1e300, 0.0, 1e300]]}]},
        "loss": "half_squared_error", "learning_rate": 0.001, "steps": 0,
        "input": [1e300, 0.0, 1e300], "target": [0.0], "expected": {"loss": 0.5},
    }))
    solved = CliRunner().invoke(cli, ["solve", str(path), "--format", "json"])
    assert json.loads(solved.stdout)["not_finite"] == {"z.u": "overflow",
                                                       "final.z.u": "overflow"}
    checked = CliRunner().invoke(cli, ["check", str(path), "--format", "json"],
                                 env={"GITHUB_ACTIONS": ""})
    if checked.exception is not None and not isinstance(checked.exception, SystemExit):
        raise checked.exception
    assert checked.exit_code == 1  # loss 0 is right, the published 0.5 is not
