"""`backprop check`: discovery, exit codes and every report format, parsed back."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from backprop_cli.app.batch_check import check_files, discover
from backprop_cli.checking.report import FileReport
from backprop_cli.cli import cli
from tests.conftest import PROBLEMS

GOOD = """title: good
network:
  inputs: [x]
  layers:
    - {units: [y], weights: [[0.5]], weight_names: [[w]]}
loss: half_squared_error
learning_rate: 0.1
input: [2]
target: 3
expected:
  a.y: 1
  grad.w: -4
"""
WRONG = GOOD.replace("title: good", "title: wrong").replace("grad.w: -4", "grad.w: -3.5")
INVALID = GOOD.replace("learning_rate: 0.1", "learning_rate: fast")


@pytest.fixture
def course(tmp_path: Path) -> Path:
    (tmp_path / "week1").mkdir()
    (tmp_path / "week2").mkdir()
    (tmp_path / "week1" / "a_good.yaml").write_text(GOOD)
    (tmp_path / "week1" / "b_wrong.yml").write_text(WRONG)
    (tmp_path / "week2" / "c_invalid.yaml").write_text(INVALID)
    (tmp_path / "week2" / "d_binary.yaml").write_bytes(b"\x00\x01\x02 binary")
    (tmp_path / "week2" / "notes.txt").write_text("not a problem file")
    return tmp_path


def run(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["check", *args], env=env or {"GITHUB_ACTIONS": ""})


def test_seed_problems_pass() -> None:
    result = run(str(PROBLEMS))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].endswith("passed, 0 failed")


def test_folder_mixing_good_wrong_and_invalid(course: Path) -> None:
    result = run(str(course))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"{course}/week1/a_good.yaml: passed (2 values: 2 correct)"
    assert lines[1] == f"{course}/week1/b_wrong.yml: failed (2 values: 1 correct, 1 wrong)"
    assert lines[2] == "  first wrong value: grad.w (line 12)"
    assert lines[3] == "  ✗ grad.w = -3.5 in the file, but it is -4 (off by 0.5)"
    # in the worked solution's notation, for a person (the JSON report keeps the keys)
    assert lines[4] == "      ∂L/∂w = δ_y·x = −2·2 = −4 from the file's own numbers"
    assert lines[5] == f"{course}/week2/c_invalid.yaml: invalid"
    assert lines[6] == (f"  {course}/week2/c_invalid.yaml:7:16: learning_rate must be a number, "
                        "found a string ('fast')")
    assert lines[7] == f"{course}/week2/d_binary.yaml: invalid"
    assert lines[-1] == "1 passed, 1 failed, 2 invalid"


def test_exit_codes(course: Path) -> None:
    assert run(str(course / "week1" / "a_good.yaml")).exit_code == 0
    assert run(str(course / "week1" / "b_wrong.yml")).exit_code == 1
    assert run(str(course / "week2" / "c_invalid.yaml")).exit_code == 1
    assert run(str(course / "missing.yaml")).exit_code == 2
    empty = course / "empty"
    empty.mkdir()
    assert run(str(empty)).exit_code == 2
    assert run().exit_code == 2
    assert run(str(course), "--format", "xml").exit_code == 2


def test_globs_many_paths_and_stable_order(course: Path) -> None:
    files = discover([str(course / "week2" / "*.yaml"), str(course / "week1"),
                      str(course / "week1" / "a_good.yaml")])
    assert [Path(f).name for f in files] == ["c_invalid.yaml", "d_binary.yaml", "a_good.yaml",
                                             "b_wrong.yml"]
    recursive = discover([str(course / "**" / "*.y*ml")])
    assert len(recursive) == 4


def test_json_format(course: Path) -> None:
    result = run(str(course), "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.output, parse_constant=lambda c: pytest.fail(c))
    assert document["summary"] == {"files": 4, "passed": 1, "failed": 1, "invalid": 2}
    wrong = document["files"][1]
    assert wrong["status"] == "failed"
    assert {k: wrong["results"][1][k] for k in ("key", "expected", "actual", "verdict")} == {
        "key": "grad.w", "expected": -3.5, "actual": -4.0, "verdict": "wrong"}
    invalid = document["files"][2]
    assert invalid["status"] == "invalid" and invalid["results"] == []
    assert invalid["errors"][0]["line"] == 7 and invalid["errors"][0]["column"] == 16


def test_junit_format(course: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.xml"
    result = run(str(course), "--format", "junit", "--output", str(out))
    assert result.exit_code == 1
    root = ElementTree.parse(out).getroot()
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "1", "2")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["a_good", "b_wrong", "c_invalid", "d_binary"]
    assert cases[0].get("classname", "").endswith("week1")
    assert cases[1].find("failure") is not None
    assert cases[2].find("error") is not None
    assert not list(cases[0])


GITHUB_COMMAND = re.compile(r"^::(error|notice)(?: ([a-z]+=[^,:]*(?:,[a-z]+=[^,:]*)*))?::(.*)$")


def test_github_format_chosen_automatically(course: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    result = run(str(course), env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 1
    commands = [line for line in result.output.splitlines() if line.startswith("::")]
    assert len(commands) == 3
    for line in commands:
        assert GITHUB_COMMAND.match(line), line
    assert GITHUB_COMMAND.match(commands[0]).group(1) == "error"  # type: ignore[union-attr]
    _, props, message = GITHUB_COMMAND.match(commands[0]).groups()  # type: ignore[union-attr]
    fields = dict(p.split("=", 1) for p in props.split(","))
    assert fields["file"].endswith("b_wrong.yml") and fields["line"] == "12"
    assert fields["col"] == "3"
    assert "%0A" in message  # the recomputation on a second line, escaped
    assert "| file | status |" in summary.read_text()


def test_github_annotation_limit(tmp_path: Path) -> None:
    for i in range(12):
        (tmp_path / f"wrong{i:02}.yaml").write_text(WRONG)
    result = run(str(tmp_path), "--format", "github")
    commands = [line for line in result.output.splitlines() if line.startswith("::")]
    assert len(commands) == 11
    assert commands[-1].startswith("::notice ")
    assert "2 more error(s)" in commands[-1]


def test_show_errata_lists_the_seed_errata() -> None:
    result = run(str(PROBLEMS), "--show-errata")
    assert result.exit_code == 0
    errata = [line.strip() for line in result.output.splitlines() if "erratum " in line]
    # the seeds' 14, and the layered published files' 12 (043: 3, 044: 9)
    assert len(errata) == 26
    assert any(line.startswith("erratum final.loss (line 33): published 107.88, correct 107.76")
               for line in errata)


def test_parallel_and_serial_reports_agree(course: Path, tmp_path: Path) -> None:
    many = tmp_path / "many"
    many.mkdir()
    for i in range(210):
        source = [GOOD, WRONG, INVALID][i % 3]
        (many / f"p{i:03}.yaml").write_text(source)
    files = discover([str(many)])
    serial = check_files(files, jobs=1)
    for jobs in (2, 3):  # with 3, two children: this process reads both pipes
        parallel = check_files(files, jobs=jobs)
        assert [_comparable(r) for r in parallel] == [_comparable(r) for r in serial]


def _comparable(report: FileReport) -> tuple[object, ...]:
    """Every field of a report; formulas (compared by identity) by their text."""
    results = [tuple(repr(getattr(r, name)) if name == "formula" else getattr(r, name)
                     for name, *_ in type(r).__record_fields__)  # type: ignore[attr-defined]
               for r in report.results]
    return report.path, report.status, report.title, report.errors, results


def test_one_bad_file_never_stops_the_batch(course: Path) -> None:
    shutil.copy(PROBLEMS / "000_one_neuron_relu_chain.yaml", course / "week2" / "z_seed.yaml")
    reports = check_files(discover([str(course)]), jobs=1)
    assert [r.status for r in reports] == ["passed", "failed", "invalid", "invalid", "passed"]


def test_parallel_progress_counts_every_file_and_a_crash_is_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from backprop_cli.app import batch_check as batch

    for i in range(200):
        (tmp_path / f"p{i:03}.yaml").write_text(GOOD)
    files = discover([str(tmp_path)])
    counted: list[int] = []
    reports = check_files(files, jobs=2, progress=counted.append)
    assert sum(counted) == len(files) and [r.path for r in reports] == files

    original = batch.check_file
    parent = os.getpid()

    def crash_in_the_child(path: str, min_digits: int | None = None):  # type: ignore[no-untyped-def]
        if os.getpid() != parent and path.endswith("1.yaml"):
            raise ZeroDivisionError("boom")
        return original(path, min_digits)

    # issue 18: a report always arrives; a file that breaks its process is that file's
    # problem, the batch goes on
    monkeypatch.setattr(batch, "check_file", crash_in_the_child)
    reports = check_files(files, jobs=2)
    crashed = [r for r in reports if r.status == "invalid"]
    assert crashed and all(r.path.endswith("1.yaml") for r in crashed)
    assert "ZeroDivisionError: boom" in crashed[0].errors[0].message
    assert all(r.status == "passed" for r in reports if not r.path.endswith("1.yaml"))

    def crash_in_the_parent(path: str, min_digits: int | None = None):  # type: ignore[no-untyped-def]
        if os.getpid() == parent and path.endswith("1.yaml"):
            raise ZeroDivisionError("boom")
        return original(path, min_digits)

    monkeypatch.setattr(batch, "check_file", crash_in_the_parent)
    reports = check_files(files, jobs=2)
    assert len(reports) == len(files)
    assert all(r.status == "passed" or r.path.endswith("1.yaml") for r in reports)

    def killed_in_the_child(path: str, min_digits: int | None = None):  # type: ignore[no-untyped-def]
        if os.getpid() != parent and path.endswith("p137.yaml"):
            os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would
        return original(path, min_digits)

    monkeypatch.setattr(batch, "check_file", killed_in_the_child)
    counted.clear()
    reports = check_files(files, jobs=2, progress=counted.append)
    assert sum(counted) == len(files) and [r.path for r in reports] == files
    by_status = {r.path: r.status for r in reports}
    killed = [path for path, status in by_status.items() if status != "passed"]
    assert [Path(path).name for path in killed] in ([], ["p137.yaml"])  # the parent may take it
    if killed:
        assert "killed by signal 9" in reports[files.index(killed[0])].errors[0].message


def test_discovery_finds_what_rglob_finds(tmp_path: Path) -> None:
    """Nested folders, links to files (followed) and to folders (not), broken links
    (listed, then reported invalid), names that only look like problem files; hidden
    files and folders are left out (issue 17), and a link to a file found anyway is
    not listed twice (issue 18)."""
    root = tmp_path / "course"
    for name in ["b/p.yaml", "a/q.yml", "a/z/deep.yaml", ".hidden/h.yaml", "notes.txt",
                 "x.yaml.", "a/.yaml", "c/one.YAML", "top.yaml"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(GOOD)
    (root / "link.yaml").symlink_to(root / "top.yaml")
    (root / "broken.yaml").symlink_to(root / "missing.yaml")
    (root / "folder_link").symlink_to(root / "a", target_is_directory=True)
    (root / "dir.yaml").mkdir()
    expected = [str(root / name) for name in
                ["a/q.yml", "a/z/deep.yaml", "b/p.yaml", "broken.yaml", "top.yaml"]]
    assert discover([str(root)]) == expected
