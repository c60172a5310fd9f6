"""Issue 18: a problem file is untrusted. Each attack found by the review, as a test:
nothing leaks, no line is forged, no file is clobbered, a report always arrives."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_cli.cli import cli
from tests.cli.test_cli_check import GOOD
from tests.files.test_data_files_init import NETWORK, XOR_CSV

SECRET = "CI_JOB_TOKEN=glcbt-SECRET-0123456789"
PROBLEMS_DIR = Path(__file__).resolve().parent.parent.parent / "problems"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception)
    return result.exit_code, result.stdout, result.stderr


def csv_problem(folder: Path, reference: str, name: str = "p.yaml") -> Path:
    path = folder / name
    path.write_text(NETWORK.format(weights="[[0.5, -0.4], [-0.3, 0.6]]", bias="")
                    + f"samples: {{file: '{reference}'}}\n", encoding="utf-8")
    return path


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A secret outside the course: its first CSV field would be quoted in an error."""
    (tmp_path / "home").mkdir()
    target = tmp_path / "home" / "credentials"
    target.write_text(f"{SECRET},x\n")
    (tmp_path / "course").mkdir()
    return target


# --------------------------------------------------------------- trust boundary


@pytest.mark.parametrize("how", ["absolute", "dotdot", "link"])
def test_a_data_reference_outside_the_tree_is_refused_naming_the_reference(
        tmp_path: Path, secret: Path, how: str) -> None:
    course = tmp_path / "course"
    reference = {"absolute": str(secret), "dotdot": "../home/credentials",
                 "link": "data.csv"}[how]
    if how == "link":
        (course / "data.csv").symlink_to(secret)
    path = csv_problem(course, reference)
    for args in (["solve", str(path)], ["check", str(course), "--format", "json"]):
        status, out, err = run(*args)
        assert status == 1
        assert SECRET not in out + err and "SECRET" not in out + err
        assert "--allow-outside" in out + err
        assert reference in out + err or "refused" in out + err


def test_allow_outside_lifts_the_tree_rule(tmp_path: Path, secret: Path) -> None:
    course = tmp_path / "course"
    (tmp_path / "home" / "d.csv").write_text(XOR_CSV)
    path = csv_problem(course, "../home/d.csv")
    assert run("solve", str(path))[0] == 1
    status, out, _ = run("solve", str(path), "--allow-outside", "--format", "json")
    assert status == 0 and json.loads(out)
    assert run("solve", str(path))[0] == 1  # the override lasts one run


def test_a_data_file_inside_a_git_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x1,x2,y\n0,0,0\n")
    csv_problem(tmp_path, ".git/config")
    status, out, _ = run("check", str(tmp_path), "--format", "text")
    assert status == 1 and ".git folder" in out


def test_a_problem_file_linking_out_of_its_folder_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "token").write_text("https://alice:ghp_SECRETSECRET@github.com\n")
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "p.yaml").symlink_to(tmp_path / "home" / "token")
    for args in (["solve", str(tmp_path / "course" / "p.yaml")],
                 ["check", str(tmp_path / "course")]):
        status, out, err = run(*args)
        assert status == 1 and "ghp_" not in out + err and "symbolic link" in out + err


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_only_regular_files_are_read(tmp_path: Path, special: str) -> None:
    if special == "fifo":
        os.mkfifo(tmp_path / "pipe.csv")
        reference = "pipe.csv"
    else:
        (tmp_path / "zero.csv").symlink_to(special)
        reference = "zero.csv"
    path = csv_problem(tmp_path, reference)
    status, _, err = run("solve", str(path), "--allow-outside")  # not even with it
    assert status == 1 and "not a regular file" in err
    os.mkfifo(tmp_path / "q.yaml")
    status, _, err = run("solve", str(tmp_path / "q.yaml"))
    assert status == 1 and "not a regular file" in err


def test_csv_errors_quote_only_a_short_printable_token(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("x1,x2,y\n0,0,\x1b]0;" + "A" * 500 + "\n")
    status, _, err = run("solve", str(csv_problem(tmp_path, "d.csv")))
    assert status == 1 and "\x1b" not in err and "A" * 30 not in err and "…" in err


def test_npy_header_is_checked_before_anything_is_allocated(tmp_path: Path) -> None:
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }"
    header += " " * (118 - len(header)) + "\n"
    (tmp_path / "w.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
                                     + header.encode() + b"\0" * 64)
    text = "not an array\n"
    (tmp_path / "t.npy").write_text(text)
    for name, words in (("w.npy", "header promises"), ("t.npy", "not a .npy array file")):
        path = tmp_path / "p.yaml"
        path.write_text(NETWORK.format(weights=f"{{file: {name}}}", bias="")
                        + "input: [1, 0]\ntarget: 1\n")
        status, _, err = run("solve", str(path))
        assert status == 1 and words in err and "allow_pickle" not in err


def test_npy_files_still_load(tmp_path: Path) -> None:
    np.save(tmp_path / "w.npy", np.array([[0.5, -0.4], [-0.3, 0.6]], dtype=">f4"))
    path = tmp_path / "p.yaml"
    path.write_text(NETWORK.format(weights="{file: w.npy}", bias="")
                    + "input: [1, 0]\ntarget: 1\n")
    status, out, _ = run("solve", str(path), "--format", "json")
    assert status == 0 and json.loads(out)


# ------------------------------------------------------------- neutralised text


@pytest.mark.parametrize("value", ['"Week 1\\e]0;pwned\\a\\e[2J"', '"a\\x85b"', '"\\uFFFE"',
                                   '"x\\u202Ey"'])
def test_escapes_cannot_bring_in_control_characters(tmp_path: Path, value: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"title: {value}\n" + GOOD.split("\n", 1)[1])
    status, out, err = run("solve", str(path))
    assert status == 1 and "escape" in err and "\x1b" not in out + err
    assert err.startswith(f"{path}:1:8: character U+")


def test_line_separators_that_editors_hide_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("title: a\u2028b\n" + GOOD.split("\n", 1)[1])
    status, _, err = run("solve", str(path))
    assert status == 1 and err.startswith(f"{path}:1:9: character U+2028")


ERRATUM = GOOD.replace(
    "grad.w: -4", 'grad.w: {value: -3.5, erratum: -4, note: "x\\n::error::forged"}')


def github_env(tmp_path: Path) -> dict[str, str]:
    return {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "GITHUB_WORKSPACE": str(tmp_path)}


def forged(out: str) -> list[str]:
    """Lines a GitHub runner would read as workflow commands that the tool did not write."""
    own = ("::error file=", "::notice title=", "::stop-commands::")
    lines, stopped = [], None
    for line in out.splitlines():
        if stopped is not None:
            if line == f"::{stopped}::":
                stopped = None
            continue
        if line.startswith("::stop-commands::"):
            stopped = line.split("::")[2]
            continue
        if (line.lstrip().startswith("::") and not line.startswith(own)) or "##[" in line:
            lines.append(line)
    assert stopped is None, "stop-commands never resumed"
    return lines


def test_github_mode_no_note_or_file_name_forges_a_workflow_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "e.yaml").write_text(ERRATUM)
    (tmp_path / "x\n::warning file=README.md::forged.yaml").write_text(
        GOOD.replace("grad.w: -4", "grad.w: -3"))
    monkeypatch.chdir(tmp_path)
    status, out, _ = run("check", ".", "--show-errata", env=github_env(tmp_path))
    assert status == 1
    assert forged(out) == [], out
    assert "::error file=e.yaml" not in out  # e.yaml passed (erratum)
    assert "file=x\\x0a%3A%3Awarning" in out  # one line, escaped


def test_step_summary_cells_cannot_break_out_of_the_table(tmp_path: Path) -> None:
    name = "a | b\n# All 120 problems passed <details>[x](https:e).yaml"
    (tmp_path / name).write_text(GOOD.replace("grad.w: -4", "grad.w: -3"))
    run("check", str(tmp_path), env=github_env(tmp_path))
    summary = (tmp_path / "summary.md").read_text()
    rows = summary.splitlines()
    assert not any(line.startswith("#") and "All 120" in line for line in rows)
    assert "<details>" not in summary and "[x](" not in summary
    table = [line for line in rows if line.startswith("|")]
    assert all(line.count("|") - line.count("\\|") == 5 for line in table), table


def test_junit_is_well_formed_whatever_the_names(tmp_path: Path) -> None:
    (tmp_path / "a\x01b\x1b.yaml").write_text(GOOD.replace("grad.w: -4", "grad.w: -3"))
    (tmp_path / "c.yaml").write_text(GOOD.replace("learning_rate: 0.1", "learning_rate: x"))
    status, out, _ = run("check", str(tmp_path), "--format", "junit")
    assert status == 1
    ElementTree.fromstring(out.encode())


def test_text_report_escapes_control_characters_in_names(tmp_path: Path) -> None:
    (tmp_path / "t\x1b]0;x\x07.yaml").write_text(GOOD.replace("grad.w: -4", "grad.w: -3"))
    status, out, _ = run("check", str(tmp_path))
    assert status == 1 and "\x1b" not in out and "\\x1b]0;x\\x07.yaml" in out


def test_a_file_name_that_is_not_utf8_is_shown_with_replacement_characters(
        tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path)
    with open(folder + b"/bad\xff.yaml", "w") as handle:
        handle.write(GOOD.replace("grad.w: -4", "grad.w: -3"))
    for fmt in ("text", "json", "github", "junit"):
        status, out, _ = run("check", str(tmp_path), "--format", fmt,
                             env=github_env(tmp_path))
        assert status == 1 and "bad\ufffd.yaml" in out, fmt
        out.encode("utf-8")
        if fmt == "json":
            json.loads(out)
        if fmt == "junit":
            ElementTree.fromstring(out.encode())


# ---------------------------------------------------------------- output files


def good_file(folder: Path) -> Path:
    path = folder / "p.yaml"
    path.write_text(GOOD)
    return path


def test_output_replaces_a_link_at_the_target_never_following_it(tmp_path: Path) -> None:
    (tmp_path / "victim").mkdir()
    victim = tmp_path / "victim" / ".bashrc"
    victim.write_text("export PATH=/usr/bin\n")
    course = tmp_path / "course"
    course.mkdir()
    (course / "report.txt").symlink_to(victim)
    status, _, _ = run("check", str(good_file(course)), "--output", str(course / "report.txt"))
    assert status == 0
    assert victim.read_text() == "export PATH=/usr/bin\n"
    assert not (course / "report.txt").is_symlink()
    assert "1 passed" in (course / "report.txt").read_text()


def test_output_never_replaces_an_input_of_the_run(tmp_path: Path) -> None:
    path = good_file(tmp_path)
    # (solve -o p.yaml alone is refused earlier: it writes no .yaml; with --format the
    # input rule is what refuses it)
    for args in (["solve", str(path), "--format", "plain", "-o", str(path)],
                 ["check", str(tmp_path), "-o", str(path)]):
        status, _, err = run(*args)
        assert status == 1 and "input of the run" in err
        assert path.read_text() == GOOD


def test_output_to_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    status, _, err = run("solve", str(good_file(tmp_path)), "-o", str(tmp_path / "no" / "s.txt"))
    assert status == 1 and "no such folder" in err and "Traceback" not in err


def test_a_failed_write_keeps_the_old_file_whole(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    target = tmp_path / "s.txt"
    target.write_text("old report\n")
    real = tempfile.mkstemp

    def full_disk(*args, **kwargs):  # type: ignore[no-untyped-def]
        fd, name = real(*args, **kwargs)
        os.close(fd)
        return os.open("/dev/full", os.O_WRONLY), name

    monkeypatch.setattr(tempfile, "mkstemp", full_disk)
    status, _, err = run("solve", str(good_file(tmp_path)), "-o", str(target))
    assert status == 1 and "No space left on device" in err
    assert target.read_text() == "old report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml", "s.txt"]  # no temp left


def cli_process(*args: str, stdin: int | None = None,
                env: dict[str, str] | None = None) -> tuple[int, str, str]:
    import subprocess
    import sys

    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "backprop_cli", *args], capture_output=True,
                          stdin=stdin, env=full_env, timeout=120)
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"))


def test_standard_output_on_a_full_disk_is_exit_1(tmp_path: Path) -> None:
    import subprocess
    import sys

    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "backprop_cli", "check",
                               str(good_file(tmp_path))], stdout=full, stderr=subprocess.PIPE,
                              timeout=120)
    assert proc.returncode == 1
    assert b"cannot write the output: No space left on device" in proc.stderr
    assert b"Traceback" not in proc.stderr


def test_a_narrow_output_encoding_falls_back_to_ascii_marks(tmp_path: Path) -> None:
    wrong = tmp_path / "w.yaml"
    wrong.write_text(GOOD.replace("grad.w: -4", "grad.w: -3"))
    for args in (["check", str(wrong)], ["solve", str(wrong), "--format", "plain"]):
        status, _, err = cli_process(*args, env={"PYTHONIOENCODING": "cp1252"})
        assert status == 1 if args[0] == "check" else status == 0, err
        assert "Traceback" not in err
    assert "  x grad.w = -3 in the file" in cli_process("check", str(wrong), env={
        "PYTHONIOENCODING": "ascii"})[1]


def test_an_unexpected_error_is_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    import backprop_cli.app.batch_check as batch

    def boom(paths, jobs=None, progress=None, min_digits=None):  # type: ignore[no-untyped-def]
        raise LookupError("surprise")

    monkeypatch.setattr(batch, "check_files", boom)
    result = CliRunner().invoke(cli, ["check", str(good_file(tmp_path))])
    assert result.exit_code == 1
    assert result.stderr.startswith("backprop: internal error (LookupError: surprise). This is "
                                    "a bug")
    assert len(result.stderr.splitlines()) == 1


def test_ctrl_c_exits_130_in_every_command(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    import backprop_cli.kinds.exercise as exercise

    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(exercise, "read_text", interrupted)
    path = str(good_file(tmp_path))
    for args in (["solve", path], ["gradcheck", path], ["probe", path, "w=0.1"],
                 ["diagram", path], ["quiz", path], ["surface", path, "w", "w"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 130, (args, result.output)
        assert "interrupted" in result.stderr


# ------------------------------------------------------ discovery (issues 17, 18)


def test_glob_with_self_links_ends_and_checks_each_file_once(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    from backprop_cli.app.batch_check import discover

    gl = tmp_path / "gl"
    gl.mkdir()
    (gl / "p.yaml").write_text(GOOD)
    (gl / "l1").symlink_to(".", target_is_directory=True)
    (gl / "l2").symlink_to(".", target_is_directory=True)
    (gl / "loop.yaml").symlink_to(gl / "loop.yaml")  # a link to itself, named *.yaml
    monkeypatch.chdir(tmp_path)
    assert discover(["gl/**/*.yaml"]) == ["gl/loop.yaml", "gl/p.yaml"]
    status, out, _ = run("check", "gl/**/*.yaml")
    assert status == 1
    assert out.splitlines()[:3] == [
        "gl/loop.yaml: invalid",
        "  gl/loop.yaml: is a symbolic link that leads back to itself (a loop)",
        "gl/p.yaml: passed (2 values: 2 correct)"]


def test_check_dot_skips_hidden_files_and_configuration(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "check.yml").write_text("on: push\njobs: {}\n")
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: []\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: course\nnav: []\n")
    (tmp_path / "week01").mkdir()
    (tmp_path / "week01" / "p.yaml").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    status, out, _ = run("check", ".")
    assert status == 0, out
    assert out == ("./mkdocs.yml: skipped (not a problem file: none of its top-level keys is a "
                   "problem file's)\n"
                   "./week01/p.yaml: passed (2 values: 2 correct)\n"
                   "1 passed, 0 failed, 1 skipped\n")
    status, out, _ = run("check", ".github/workflows/check.yml", "--format", "json")
    assert status == 0 and json.loads(out)["summary"] == {
        "files": 1, "passed": 0, "failed": 0, "invalid": 0, "skipped": 1}
    status, out, _ = run("check", ".", "--format", "junit")
    assert ElementTree.fromstring(out).find("testsuite").get("skipped") == "1"  # type: ignore[union-attr]


def test_exclude_leaves_out_files_and_folders(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("week01/p.yaml", "drafts/d.yaml", "week02/old_x.yaml", "week02/q.yaml"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    status, out, _ = run("check", ".", "--exclude", "drafts", "--exclude", "old_*")
    assert status == 0
    assert [line.split(":")[0] for line in out.splitlines()[:-1]] == [
        "./week01/p.yaml", "./week02/q.yaml"]
    status, out, _ = run("check", ".", "--exclude", "week0*/")
    assert [line.split(":")[0] for line in out.splitlines()[:-1]] == ["./drafts/d.yaml"]


def test_a_quoted_glob_matching_folders_checks_them(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("week01/p.yaml", "week02/sub/q.yaml", "notes/n.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    for pattern in ("week*/", "week*"):
        status, out, _ = run("check", pattern)
        assert status == 0, out
        assert [line.split(":")[0] for line in out.splitlines()[:-1]] == [
            "week01/p.yaml", "week02/sub/q.yaml"]


def test_github_annotations_name_files_from_the_repository_root(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    (repo / "week01").mkdir(parents=True)
    (repo / "week02").mkdir()
    (repo / "week01" / "w.yaml").write_text(GOOD.replace("grad.w: -4", "grad.w: -3"))
    (repo / "week02" / "w.yaml").write_text(GOOD.replace("grad.w: -4", "grad.w: -3"))
    monkeypatch.chdir(repo / "week01")
    for env in ({"GITHUB_WORKSPACE": str(repo)}, {}):
        if not env:
            (repo / ".git").mkdir()
        status, out, _ = run("check", "./w.yaml", "../week02/w.yaml", str(repo / "week01"),
                             "--format", "github", env=env)
        assert status == 1
        files = [line.split("file=")[1].split(",")[0] for line in out.splitlines()
                 if line.startswith("::error")]
        assert files == ["week01/w.yaml", "week02/w.yaml"], out  # each real file once


def test_an_unreadable_folder_says_so(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "p.yaml").write_text(GOOD)
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as a user who reads everything")
        status, _, err = run("check", str(locked))
        assert status == 2 and "cannot read this folder (permission denied)" in err
    finally:
        locked.chmod(0o755)


# ----------------------------------------------------------------- bounded work

BOMB = """network: {inputs: 20, layers: [{units: 20, weights: {init: he, seed: 1}},
                                     {units: 1, weights: {init: he, seed: 2}}]}
loss: half_squared_error
learning_rate: 0.1
input: [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]
target: 1
steps: 1000000
expected: {final.loss: 1}
"""


def test_a_small_file_cannot_ask_for_unbounded_work(tmp_path: Path) -> None:
    import time

    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    start = time.process_time()
    status, out, _ = run("check", str(path))
    assert status == 1 and "over the work budget" in out and "--allow-big" in out
    status, _, err = run("solve", str(path))
    assert status == 1 and err.endswith(
        ": 1,000,000 steps of 441 parameters × 1 sample is over the work budget (about ten "
        "seconds of computing; a typo in steps or units?); pass --allow-big for a deliberate "
        "big run\n")
    assert time.process_time() - start < 5


def test_a_huge_initialisation_is_refused_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    huge = """network: {inputs: 1, layers: [{units: 1000000, weights: {init: he, seed: 1}},
                                    {units: 1000000, weights: {init: he, seed: 2}}]}
loss: half_squared_error
learning_rate: 0.1
input: [1]
target: 1
"""
    path.write_text(huge)
    status, out, _ = run("check", str(path))
    assert status == 1 and "random weights, over the limit" in out


def test_quiz_patterns_stay_fast_and_flat_in_steps(tmp_path: Path) -> None:
    import time
    import tracemalloc

    from backprop_cli.kinds.exercise import load_problem
    from backprop_cli.model.questions import match_patterns

    path = tmp_path / "p.yaml"
    path.write_text(GOOD.replace("learning_rate: 0.1", "learning_rate: 0.1\nsteps: 3000"))
    problem = load_problem(path)
    tracemalloc.start()
    start = time.process_time()
    selected, errors = match_patterns(problem, ["*nomatch"])
    elapsed = time.process_time() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert selected == [] and "matches no value key" in errors["*nomatch"]
    assert elapsed < 10 and peak < 20_000_000, (elapsed, peak)


def test_json_of_a_huge_run_asks_for_keys(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(GOOD.replace("learning_rate: 0.1", "learning_rate: 0.1\nsteps: 900000"))
    status, _, err = run("solve", str(path), "--format", "json", "--allow-big")
    assert status == 2 and "choose the ones you need with --keys" in err


def test_columns_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from backprop_cli.cli.solve import MAX_WIDTH, terminal_columns

    monkeypatch.setenv("COLUMNS", "3000000")
    assert terminal_columns() == MAX_WIDTH
    status, out, _ = run("solve", str(good_file(tmp_path)), "--format", "plain",
                         "--width", "3000000")
    assert status == 0 and max(len(line) for line in out.splitlines()) <= MAX_WIDTH


def test_memory_or_recursion_in_one_file_makes_it_invalid(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import backprop_cli.kinds.network as network

    for name in ("a.yaml", "b.yaml", "c.yaml"):
        (tmp_path / name).write_text(GOOD)
    real = network.check_values

    def exhausting(problem, values, min_digits=None):  # type: ignore[no-untyped-def]
        if problem.title == "bad":
            raise MemoryError
        return real(problem, values, min_digits)

    (tmp_path / "b.yaml").write_text(GOOD.replace("title: good", "title: bad"))
    monkeypatch.setattr(network, "check_values", exhausting)
    status, out, _ = run("check", str(tmp_path))
    assert status == 1
    assert out.splitlines()[1:3] == [
        f"{tmp_path}/b.yaml: invalid",
        f"  {tmp_path}/b.yaml: out of memory while checking this file (see the limits in "
        "docs/security.md)"]
    assert out.endswith("2 passed, 0 failed, 1 invalid\n")


def test_a_file_name_with_control_characters_is_escaped_in_titles_and_svg(
        tmp_path: Path) -> None:
    path = tmp_path / "w\x1b]0;x\x07\x01.yaml"
    path.write_text(GOOD.replace("title: good\n", ""))
    status, out, _ = run("solve", str(path), "--format", "plain")
    assert status == 0 and "\x1b" not in out and "w\\x1b]0;x\\x07\\x01" in out
    status, out, _ = run("solve", str(path), "--format", "svg")
    assert status == 0
    ElementTree.fromstring(out.encode())


# ---------------------------------------------------------- unclear errors (item 8)


def test_nan_options_are_refused(tmp_path: Path) -> None:
    path = str(good_file(tmp_path))
    for args in (["gradcheck", path, "--tolerance", "nan"], ["gradcheck", path, "--step", "nan"],
                 ["train", path, "--until-loss", "nan"], ["gradcheck", path, "--step", "inf"]):
        status, _, err = run(*args)
        assert status == 2 and "is not a finite number" in err, args


def test_a_nudge_that_overflows_the_loss_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text((PROBLEMS_DIR / "003a_chain_x_w1_w2.yaml").read_text())
    status, out, err = run("probe", str(path), "w2=1e300")
    assert status == 2 and "the loss is not a finite number at w2 = 1e+300" in err
    assert "rises by" not in out


def test_quiz_on_binary_input_ends_at_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    with open("/dev/zero", "rb") as zero:
        proc = subprocess.run([sys.executable, "-m", "backprop_cli", "quiz",
                               str(good_file(tmp_path))], stdin=zero, capture_output=True,
                              timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.endswith(b"backprop quiz: standard input is not answers (a line over "
                                b"1000 characters, or binary data)\n")


def test_a_huge_derivative_step_is_undefined_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text((PROBLEMS_DIR / "003e_derivative_polynomial.yaml").read_text().replace(
        "step: {x: 0.1}", "step: {x: 1e279}"))
    status, out, _ = run("solve", str(path))
    assert status == 0 and "actual     Δf = f(1e279) − f(2) = undefined − 1 = undefined" in out
    status, out, _ = run("check", str(path))
    assert status == 1 and "new_value = 1.231 in the file, but it is undefined" in out


def test_errata_count_one_file_in_the_singular(tmp_path: Path) -> None:
    from backprop_cli.app.batch_check import check_files
    from backprop_cli.render.check_reports import errata_report

    (tmp_path / "e.yaml").write_text(GOOD.replace(
        "grad.w: -4", "grad.w: {value: -3.5, erratum: -4}"))
    report = errata_report(check_files([str(tmp_path / "e.yaml")]))
    assert report.endswith("\n1 erratum in 1 file\n")


def test_a_zero_d_npy_file_is_named_as_such(tmp_path: Path) -> None:
    np.save(tmp_path / "w.npy", np.array(0.5))
    path = tmp_path / "p.yaml"
    path.write_text(NETWORK.format(weights="{file: w.npy}", bias="")
                    + "input: [1, 0]\ntarget: 1\n")
    status, _, err = run("solve", str(path))
    assert status == 1 and "the file has shape a single number (0-d)" in err


def test_the_carried_forward_recomputation_is_flat_in_steps(tmp_path: Path) -> None:
    """A wrong final answer on a long run: the author's values are recomputed step by
    step, keeping two steps, not every key of every step (1 GB at 20,000 steps)."""
    from backprop_cli.checking.checker import CarriedForward, WithLeaves
    from backprop_cli.engine import solve
    from backprop_cli.kinds.exercise import load_problem
    from backprop_cli.model.formulas import Formulas

    chain = (PROBLEMS_DIR / "003a_chain_x_w1_w2.yaml").read_text()
    chain = chain[:chain.index("expected:")].replace("learning_rate: 0.01",
                                                     "learning_rate: 0.001\nsteps: 3000")
    path = tmp_path / "long.yaml"
    path.write_text(chain + "expected:\n  a.h: 4.1\n  step1500.a.y: 3\n  final.loss: 1\n")
    problem = load_problem(path)
    values = WithLeaves(problem, solve(problem, list(problem.expected)).values)
    carried = CarriedForward(problem, values, Formulas(problem))
    final = carried.recompute("final.loss")
    assert len(carried.memo) < 100
    middle = carried.recompute("step1500.loss")  # an earlier step after a later one
    assert carried.recompute("final.loss") == final and len(carried.memo) < 100
    # the same numbers as recomputing by hand, step by step, from the author's values
    w1, w2, lr = 2.0, 0.5, 0.001
    for step in range(1, 3001):
        h = 4.1 if step == 1 else 2 * w1
        y = 3.0 if step == 1500 else h * w2
        if step == 1500:
            assert middle == 0.5 * (20 - y) ** 2
        grad_y = y - 20
        w1, w2 = w1 - lr * grad_y * w2 * 2, w2 - lr * grad_y * h
    assert math.isclose(final, 0.5 * (20 - 2 * w1 * w2) ** 2, rel_tol=1e-9)


def test_a_derivative_too_large_to_work_by_hand_is_refused_quickly(tmp_path: Path) -> None:
    import time

    tower = "^".join(["x"] * 30)
    path = tmp_path / "fx.yaml"
    path.write_text(f"kind: derivative\nfunction: {tower}\nat: {{x: 1.5}}\n")
    start = time.process_time()
    status, out, _ = run("check", str(path))
    assert status == 1 and "the derivative by x has more than 1,000 terms" in out
    status, _, err = run("derive", tower, "--at", "x=1.5")
    assert status == 1 and "--allow-big" in err
    assert time.process_time() - start < 20
    status, out, _ = run("derive", "^".join(["x"] * 6), "--at", "x=1.5")  # still worked
    assert status == 0


def test_plot_titles_are_never_mathtext() -> None:
    from backprop_cli.app.plotting import literal

    assert literal(r"cost $\frac{a}{b$ and $x$") == r"cost \$\frac{a}{b\$ and \$x\$"


def test_train_plot_with_a_dollar_title(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "p.yaml"
    path.write_text(GOOD.replace("title: good", "title: 'cost $\\\\frac{a}{b$ and $x$'"))
    status, _, err = run("train", str(path), "--plot", str(tmp_path / "loss.png"))
    assert status == 0, err


def test_an_unwritable_step_summary_still_gives_the_report(tmp_path: Path) -> None:
    env = {**github_env(tmp_path), "GITHUB_STEP_SUMMARY": str(tmp_path / "no" / "s.md")}
    status, out, err = run("check", str(good_file(tmp_path)), env=env)
    assert status == 0 and out.endswith("1 passed, 0 failed\n")
    assert "cannot write the job summary: No such file or directory" in err


def test_rendering_is_linear_in_the_number_of_layers(tmp_path: Path) -> None:
    import time

    def seconds(layers: int) -> float:
        path = tmp_path / f"deep{layers}.yaml"
        path.write_text("network:\n  inputs: [x]\n  layers:\n"
                        + "    - {units: 1, weights: [[1]]}\n" * layers
                        + "loss: half_squared_error\nlearning_rate: 0.1\ninput: [1]\ntarget: 1\n")
        start = time.process_time()
        status, out, _ = run("solve", str(path), "--format", "plain")
        assert status == 0 and out
        return time.process_time() - start

    seconds(50)  # warm
    small, large = seconds(300), seconds(1200)
    assert large < 8 * small + 0.5, (small, large)  # quadratic was 16× and more


def test_in_github_actions_no_command_forges_a_workflow_command(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(GOOD.replace("title: good", "title: good\ndescription: |\n  fine\n"
                                 "  ::error file=README.md::forged\n  ##[warning]old form"))
    env = github_env(tmp_path)
    status, out, _ = run("solve", str(path), "--format", "plain", env=env)
    assert status == 0 and forged(out) == [] and "::error file=README.md::forged" in out
    status, out, _ = run("solve", str(path), "--format", "json", env=env)
    assert status == 0 and json.loads(out)  # JSON has no such line: left as it is
    status, out, _ = run("solve", str(path), "--format", "plain")  # outside GitHub: as is
    assert not out.startswith("::stop-commands::")


def test_loading_never_lists_a_million_steps_of_quiz_keys(tmp_path: Path) -> None:
    import time

    path = tmp_path / "q.yaml"
    path.write_text(GOOD.replace("learning_rate: 0.1",
                                 "learning_rate: 0.1\nsteps: 1000000\nquiz: ['*nomatch']"))
    start = time.process_time()
    status, out, _ = run("check", str(path))
    assert status == 1 and "quiz: '*nomatch' matches no value key" in out
    assert time.process_time() - start < 10
