"""Verdicts as every output shows them: check's formats, solve's marks and summary, quiz."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from click.testing import CliRunner

from backprop_cli.app.quiz import QuizSession
from backprop_cli.cli import cli
from backprop_cli.files.loader import parse_problem
from tests.conftest import PROBLEMS

SHEET = """title: sheet
network:
  inputs: [x1, x2]
  layers:
    - units: [o]
      activation: sigmoid
      weights: [[0.4, 0.7]]
      weight_names: [[v1, v2]]
      bias: 0.2
      bias_names: [b3]
loss: half_squared_error
learning_rate: 0.01
input: [1.8, 0.9]
target: 1.0
expected:
  z.o: 1.55
  a.o: 0.82
  grad.a.o: 0.176
"""


def check(*args: str) -> Any:
    return CliRunner().invoke(cli, ["check", *args], env={"GITHUB_ACTIONS": ""})


def sheet(tmp_path: Path, text: str = SHEET) -> str:
    path = tmp_path / "sheet.yaml"
    path.write_text(text)
    return str(path)


def test_text_report_names_the_slip_and_min_digits(tmp_path: Path) -> None:
    path = sheet(tmp_path)
    result = check(path)
    assert result.exit_code == 1
    # without --min-digits 0.82 is correct (truncated); the sign slip is named
    assert result.output.splitlines() == [
        f"{path}: failed (3 values: 2 correct, 1 wrong)",
        "  first wrong value: grad.a.o (line 18)",
        "  ✗ grad.a.o = 0.176 in the file, but it is -0.175086 (off by 0.351)",
        "      ∂L/∂ŷ = ŷ − y = 0.82 − 1 = −0.18 from the file's own numbers",
        "      slip (sign): 0.176 = −(−0.18): the sign is flipped",
        "0 passed, 1 failed",
    ]
    result = check(path, "--min-digits", "3")
    assert result.exit_code == 1
    assert result.output.splitlines()[:4] == [
        f"{path}: failed (3 values: 1 correct, 1 imprecise, 1 wrong)",
        "  first wrong value: a.o (line 17)",
        "  ± a.o = 0.82 in the file: 0.82 has fewer than 3 significant digits: write at "
        "least 3 (it is 0.824914)",
        "      ŷ = σ(z_o) = σ(1.55) = 0.8249 from the file's own numbers",
    ]


def test_file_min_digits_and_the_option_overriding_it(tmp_path: Path) -> None:
    path = sheet(tmp_path, SHEET.replace("expected:", "min_digits: 3\nexpected:")
                 .replace("  grad.a.o: 0.176\n", ""))
    result = check(path)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"{path}: failed (2 values: 1 correct, 1 imprecise)")
    assert check(path, "--min-digits", "2").exit_code == 0


def test_a_bad_min_digits_is_a_user_error(tmp_path: Path) -> None:
    path = sheet(tmp_path, SHEET.replace("expected:", "min_digits: 0\nexpected:"))
    result = CliRunner().invoke(cli, ["solve", path])
    assert result.exit_code == 1
    assert result.output.strip().endswith(
        f"{path}:15:13: min_digits must be at least 1, found 0")
    assert "Traceback" not in result.output
    assert check(path, "--min-digits", "0").exit_code == 2  # a usage error


def test_json_has_the_diagnosis_or_null(tmp_path: Path) -> None:
    result = check(sheet(tmp_path), "--format", "json")
    results = {r["key"]: r for r in json.loads(result.output)["files"][0]["results"]}
    assert results["z.o"]["diagnosis"] is None
    assert results["grad.a.o"]["diagnosis"] == {
        "code": "sign", "message": "0.176 = −(−0.18): the sign is flipped"}
    assert results["grad.a.o"]["reason"] == ("wrong even from your own earlier values "
                                             "(they give −0.18), which include your rounded "
                                             "a.o = 0.82")


def test_github_and_junit_print_the_slip(tmp_path: Path) -> None:
    path = sheet(tmp_path)
    github = check(path, "--format", "github").output
    assert ("title=backprop%3A wrong grad.a.o::grad.a.o = 0.176 in the file, but it is "
            "-0.175086 (off by 0.351)%0A∂L/∂ŷ = ŷ − y = 0.82 − 1 = −0.18 from the "
            "file's own numbers%0Aslip (sign): 0.176 = −(−0.18): the sign is flipped") in github
    junit = ElementTree.fromstring(check(path, "--format", "junit").output)
    failure = junit.find(".//failure")
    assert failure is not None and failure.text is not None
    assert "    slip (sign): 0.176 = −(−0.18): the sign is flipped" in failure.text.splitlines()


def test_solve_marks_errata_apart_and_counts_the_verdicts() -> None:
    path = str(PROBLEMS / "001b_two_layer_relu_sigmoid.yaml")
    text = CliRunner().invoke(cli, ["solve", path]).output
    assert "−0.04552   ! published: −0.0461, corrected: −0.04552" in text
    assert ("  ∂L/∂ŷ = ŷ − y = 0.8249 − 1 = −0.1751   ≈ published: −0.176\n"
            "        follows from your rounded ŷ = 0.824\n") in text
    assert text.splitlines()[-1] == "Published values: 8 correct, 5 consistent, 10 errata."
    ascii_text = CliRunner().invoke(cli, ["solve", path, "--ascii"]).output
    assert "[erratum] published: -0.0461, corrected: -0.04552" in ascii_text
    assert "[~] published: -0.176" in ascii_text


def test_solve_shows_a_wrong_values_slip(tmp_path: Path) -> None:
    text = CliRunner().invoke(cli, ["solve", sheet(tmp_path)]).output
    assert ("✗ published: 0.176 wrong even from your own earlier values (they give −0.18), "
            "which include your rounded ŷ = 0.82; 0.176 = −(−0.18): the sign is flipped"
            ) in " ".join(text.split())  # as wrapped at 100 columns
    assert text.splitlines()[-1] == "Published values: 2 correct, 1 wrong."


def test_quiz_feedback_names_the_slip_and_uses_the_same_marks() -> None:
    quiz = QuizSession(parse_problem(SHEET), ["z.o", "a.o", "grad.a.o"])
    right, carried, wrong = quiz.run(["1.55", "0.825", "0.175"])
    assert right.lines == ["✓ right (z.o = 1.55)"]
    assert carried.kind == "correct"
    assert wrong.lines[:2] == ["✗ wrong: grad.a.o = -0.175086",
                               "  0.175 = −(−0.175): the sign is flipped"]
    # a short answer right only to its own digits is asked again, as `imprecise` in check
    quiz = QuizSession(parse_problem(SHEET), ["a.o"])
    (retry,) = quiz.run(["0.82"])
    assert retry.kind == "retry"


def test_verbose_check_says_what_a_consistent_value_follows_from() -> None:
    result = check(str(PROBLEMS / "001b_two_layer_relu_sigmoid.yaml"), "--verbose")
    assert "  ≈ grad.a.o = -0.176 (consistent): follows from your rounded a.o = 0.824" in (
        result.output.splitlines())
    assert "  ! grad.v1 = -0.0461 (erratum)" in result.output.splitlines()
