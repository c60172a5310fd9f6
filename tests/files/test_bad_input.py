"""The bad-input corpus: every mistake gets one clear line, exit status 1, no traceback.

``tests/bad/expected.txt`` holds the exact line ``backprop solve`` prints for each file
(``path:line:col: message``) and, under it, what the file holds at that line and
column, so a message cannot drift to the wrong place unnoticed. Files that are not
sensible to keep in the repository (binary, other encodings, 11 MB) are generated
here, by :data:`GENERATED`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from backprop_cli.cli import cli
from backprop_cli.errors import ProblemError
from backprop_cli.kinds.exercise import load_problem
from tests.conftest import PROBLEMS

BAD = Path(__file__).parent.parent / "bad"
VALID = (PROBLEMS / "001b_two_layer_relu_sigmoid.yaml").read_text(encoding="utf-8")


def _sparse(size: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with path.open("wb") as handle:  # a hole: no 11 MB written to disk
            handle.truncate(size)
    return write


def _bytes(data: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(data)
    return write


# name -> how to write it
GENERATED: dict[str, Callable[[Path], None]] = {
    "binary_png.yaml": _bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"),
    "latin1.yaml": _bytes(VALID.replace('title: "Seed 001', 'title: "Übung 001')
                          .encode("latin-1", "replace")),
    "utf16.yaml": _bytes(VALID.encode("utf-16")),
    "control_character.yaml": _bytes(VALID.replace("loss: half", "loss:\x0chalf").encode()),
    "huge.yaml": _sparse(11 * 1024 * 1024),
    "deep_flow.yaml": _bytes(b"network: " + b"[" * 100_000 + b"\n"),
}


@dataclass
class Case:
    name: str
    line: str  # the expected output line, with the file's name as its path
    points_at: str | None  # what the file holds at line:col ('$': the end of the line)


def read_cases() -> list[Case]:
    cases: list[Case] = []
    for raw in (BAD / "expected.txt").read_text(encoding="utf-8").splitlines():
        if not raw or raw.startswith("#"):
            continue
        if raw.startswith("  ^ "):
            cases[-1].points_at = raw[4:]
        else:
            cases.append(Case(raw.split(":", 1)[0], raw, None))
    return cases


CASES = read_cases()


def materialise(case: Case, folder: Path) -> Path:
    if case.name in GENERATED:
        path = folder / case.name
        GENERATED[case.name](path)
        return path
    return BAD / case.name


def test_every_file_has_an_expected_line_and_every_line_a_file() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))
    stored = {path.name for path in BAD.glob("*.yaml")}
    assert stored | set(GENERATED) == set(names)
    assert not stored & set(GENERATED)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name.removesuffix(".yaml"))
def test_solve_prints_the_expected_line(case: Case, tmp_path: Path) -> None:
    path = materialise(case, tmp_path)
    result = CliRunner().invoke(cli, ["solve", str(path)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert result.stderr == str(path) + case.line[len(case.name):] + "\n"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("case", [c for c in CASES if c.points_at is not None],
                         ids=lambda case: case.name.removesuffix(".yaml"))
def test_line_and_column_point_at_the_mistake(case: Case, tmp_path: Path) -> None:
    match = re.match(r"[^:]+:(\d+):(\d+): ", case.line)
    assert match is not None, "a case with '^' needs a line and a column"
    line, column = int(match[1]), int(match[2])
    text = materialise(case, tmp_path).read_text(encoding="utf-8").split("\n")[line - 1]
    here = text[column - 1:]
    assert case.points_at is not None
    if case.points_at == "$":
        assert here == ""
    elif case.points_at in ("<tab>", "<formfeed>"):
        assert here.startswith("\t" if case.points_at == "<tab>" else "\x0c")
    else:
        assert here.startswith(case.points_at), here


def test_the_loader_raises_only_problem_errors_with_the_path(tmp_path: Path) -> None:
    for case in CASES:
        path = materialise(case, tmp_path)
        with pytest.raises(ProblemError) as caught:
            load_problem(path)
        assert str(caught.value) == str(path) + case.line[len(case.name):]


def test_object_tags_are_never_executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files ask to write pwned.txt in the working folder; nothing may appear."""
    monkeypatch.chdir(tmp_path)
    for name in ("tag_python_apply.yaml", "tag_python_new.yaml"):
        result = CliRunner().invoke(cli, ["solve", str(BAD / name)])
        assert result.exit_code == 1
    assert list(tmp_path.iterdir()) == []


HOSTILE = ("billion_laughs.yaml", "deep_flow.yaml", "deep_nesting_block.yaml", "huge.yaml",
           "binary_png.yaml", "tag_python_apply.yaml")


def test_hostile_files_are_refused_quickly(tmp_path: Path) -> None:
    """In a real process: the alias bomb would be 10^9 strings, the deep file 100 000
    open lists. Each costs well under a second; measured beside a run on an empty
    file, so that a busy machine's start-up time does not count against it."""

    def run(path: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "backprop_cli", "solve", str(path)],
                              capture_output=True, text=True, timeout=60)
        return time.perf_counter() - start, done

    baseline = min(run(BAD / "empty.yaml")[0] for _ in range(2))
    for name in HOSTILE:
        case = next(case for case in CASES if case.name == name)
        path = materialise(case, tmp_path)
        elapsed, done = run(path)
        assert done.returncode == 1
        assert done.stdout == ""
        assert done.stderr == str(path) + case.line[len(case.name):] + "\n"
        print(f"{name}: {elapsed:.2f} s (an empty file: {baseline:.2f} s)")
        assert elapsed - baseline < 0.5, name
        start = time.perf_counter()  # and the reading alone, without the start-up
        with pytest.raises(ProblemError):
            load_problem(path)
        assert time.perf_counter() - start < 0.5, name


def test_check_gives_every_file_its_own_verdict(tmp_path: Path) -> None:
    """A folder of every bad file, the generated ones and two valid seeds: the batch
    finishes, each file gets a verdict, the invalid ones with their message."""
    folder = tmp_path / "course"
    folder.mkdir()
    for case in CASES:
        target = folder / case.name
        if case.name in GENERATED:
            GENERATED[case.name](target)
        else:
            target.write_bytes((BAD / case.name).read_bytes())
    for seed in ("001b_two_layer_relu_sigmoid.yaml", "000_one_neuron_relu_chain.yaml"):
        (folder / seed).write_bytes((PROBLEMS / seed).read_bytes())
    result = CliRunner().invoke(cli, ["check", str(folder), "--format", "json"],
                                env={"GITHUB_ACTIONS": ""})
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    reports = {Path(file["file"]).name: file for file in json.loads(result.stdout)["files"]}
    assert len(reports) == len(CASES) + 2
    for seed in ("001b_two_layer_relu_sigmoid.yaml", "000_one_neuron_relu_chain.yaml"):
        assert reports[seed]["status"] == "passed"
    for case in CASES:
        report = reports[case.name]
        assert report["status"] == "invalid", case.name
        where, message = case.line.split(": ", 1)
        place: list[int | None] = [int(n) for n in where.split(":")[1:]] or [None, None]
        assert {"line": place[0], "column": place[1], "message": message} in report["errors"]
