"""`backprop grade`: every verdict path with hand-made students, the formats read back,
points, --ecf-credit, bad answer files reported without stopping the class."""

from __future__ import annotations

import csv
import fnmatch
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Literal

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.app import grading
from backprop_cli.app.grading import (
    Grader,
    GradingError,
    MaterialGrader,
    Submission,
    grade,
    grader_of,
    points_of,
    question_keys,
    read_answers,
    tolerance_for,
)
from backprop_cli.app.quiz import QuizSession, parse_answer
from backprop_cli.checking.checker import KeyResult
from backprop_cli.checking.verdicts import Precision
from backprop_cli.cli import cli
from backprop_cli.engine.layered import solve_layered
from backprop_cli.kinds.base import QuizError
from backprop_cli.kinds.exercise import load_exercise, load_problem
from backprop_cli.kinds.layered import KIND as KIND_OF_LAYERED
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.records import field, record

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE = ROOT / "problems" / "grading" / "exercise.yaml"
CLASS = ROOT / "problems" / "grading" / "class.csv"
KEYS = ["z.h1", "z.h2", "z.o", "a.o", "loss", "grad.z.o", "grad.v2", "grad.z.h2", "grad.w3",
        "new.v2"]


def _grade(answers: dict[str, str], **options: float) -> dict[str, tuple[str, float]]:
    grader = Grader(load_problem(str(EXAMPLE)), **options)  # type: ignore[arg-type]
    student = grader.grade(Submission("s", "s.yaml", answers))
    return {r.key: (r.verdict, r.points) for r in student.results}


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


# ------------------------------------------------------------------ verdicts


def test_the_questions_and_points_come_from_the_file() -> None:
    problem = load_problem(str(EXAMPLE))
    assert question_keys(problem) == KEYS
    assert [points_of(problem, key) for key in KEYS] == [1] * 9 + [2]


def test_right_and_rounded_answers_are_correct() -> None:
    marks = _grade({"z.h1": "0.1", "z.h2": "3.8", "z.o": "-0.12", "a.o": "0.47004",
                    "loss": "0.1404", "grad.z.o": "-0.132", "grad.v2": "-0.50165",
                    "grad.z.h2": "-0.0132", "grad.w3": "-0.0396", "new.v2": "0.1501"})
    assert all(verdict == "correct" for verdict, _ in marks.values()), marks
    assert sum(points for _, points in marks.values()) == 11


def test_a_sign_slip_is_named_and_carried_forward() -> None:
    grader = Grader(load_problem(str(EXAMPLE)))
    student = grader.grade(Submission("cai", "cai", {
        "z.h1": "0.1", "z.h2": "3.8", "z.o": "0.12", "a.o": "0.530", "loss": "0.110",
        "grad.z.o": "-0.1171"}))
    results = {r.key: r for r in student.results}
    assert results["z.o"].verdict == "wrong"
    assert results["z.o"].diagnosis is not None and results["z.o"].diagnosis.code == "sign"
    for key in ("a.o", "loss", "grad.z.o"):
        assert results[key].verdict == "consistent", key
        assert results[key].points == 1
    assert "your wrong z.o = 0.12" in (results["a.o"].reason or "")
    assert results["grad.v2"].verdict == "unanswered"
    assert student.first_wrong is results["z.o"]


def test_wrong_then_consistent_and_the_credit_for_it() -> None:
    answers = {"z.h1": "0.1", "z.h2": "3.4", "z.o": "-0.16", "a.o": "0.460", "loss": "0.1458"}
    marks = _grade(answers)
    assert marks["z.h2"] == ("wrong", 0)
    assert marks["z.o"] == ("consistent", 1)
    assert marks["a.o"] == ("consistent", 1)
    half = _grade(answers, ecf_credit=0.5)
    assert half["z.o"] == ("consistent", 0.5)
    assert half["z.h1"] == ("correct", 1)


def test_blanks_text_fractions_and_decimal_commas() -> None:
    marks = _grade({"z.h1": "1/10", "z.h2": "3,8", "z.o": "-.12", "a.o": "about half",
                    "loss": "", "grad.z.o": "skip", "grad.v2": "1/0"})
    assert marks["z.h1"] == ("correct", 1)  # a fraction is exact
    assert marks["z.h2"] == ("correct", 1)
    assert marks["z.o"] == ("correct", 1)
    assert marks["a.o"] == ("invalid", 0)
    assert marks["loss"] == ("unanswered", 0)
    assert marks["grad.z.o"] == ("unanswered", 0)
    assert marks["grad.v2"] == ("invalid", 0)
    assert marks["grad.w3"] == ("unanswered", 0)  # not in the answers at all
    assert _grade({"z.h1": "2/10"})["z.h1"] == ("wrong", 0)


def test_too_few_digits_is_imprecise_unless_right_anyway() -> None:
    marks = _grade({"a.o": "0.47", "grad.z.o": "-0.13"})
    assert marks["a.o"] == ("correct", 1)  # 0.470036: right to 3 digits anyway
    assert marks["grad.z.o"] == ("imprecise", 0)  # -0.132
    assert _grade({"grad.z.o": "-0.13"}, min_digits=2)["grad.z.o"] == ("correct", 1)


def test_an_answer_to_a_key_not_asked_is_the_students_own_value() -> None:
    # a.h2 is not a question, but grad.v2 = δ_o·a_h2 follows from the student's a.h2
    marks = _grade({"a.h2": "3.4", "grad.z.o": "-0.132", "grad.v2": "-0.4488"})
    assert marks["grad.v2"] == ("consistent", 1)
    grader = Grader(load_problem(str(EXAMPLE)))
    student = grader.grade(Submission("s", "s", {"a.h2": "3.4", "grad.z.o": "-0.132",
                                                 "grad.v2": "-0.4488"}))
    assert student.results[6].reason == ("follows from your rounded grad.z.o = -0.132 and "
                                         "your wrong a.h2 = 3.4 (carried forward)")


def test_the_tolerance_of_the_precision_rule() -> None:
    assert tolerance_for(0.4700359) == pytest.approx(0.001)
    assert tolerance_for(-0.0132015) == pytest.approx(0.0001)
    assert tolerance_for(3.8) == pytest.approx(0.01)
    assert tolerance_for(0.0) == 0.0


def test_questions_without_quiz_are_the_expected_keys_else_an_error(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    no_quiz = tmp_path / "p.yaml"
    no_quiz.write_text(text.split("quiz:")[0], encoding="utf-8")
    assert question_keys(load_problem(str(no_quiz))) == KEYS
    bare = tmp_path / "bare.yaml"
    bare.write_text(text.split("expected:")[0], encoding="utf-8")
    with pytest.raises(GradingError, match="nothing to grade"):
        question_keys(load_problem(str(bare)))
    code, out, err = _run("grade", str(bare), str(CLASS))
    assert code == 1 and out == ""
    assert err.startswith(f"{bare}: nothing to grade")
    assert question_keys(load_problem(str(bare)), ["grad.*"])[:2] == ["grad.a.o", "grad.z.o"]


def test_points_globs_first_match_wins(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'points: {"new.*": 2}', 'points: {"grad.z.*": 3, "grad.*": 2, loss: 0.5}')
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    problem = load_problem(str(path))
    assert [points_of(problem, key) for key in KEYS] == [1, 1, 1, 1, 0.5, 3, 2, 3, 2, 1]
    book = grade(problem, [CLASS])
    assert book.max == 15.5
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace('"grad.*": 2', '"grod.*": 2'), encoding="utf-8")
    code, _, err = _run("grade", str(bad), str(CLASS))
    assert code == 1
    assert "bad.yaml:" in err and "points: 'grod.*' matches no value key" in err


# ------------------------------------------------------------------ the command


TABLE = """\
problems/grading/exercise.yaml: 10 questions, 11 points

student  score  max  first wrong  diagnosis
ana         11   11  -
ben         10   11  grad.z.o     −0.13 has fewer than 3 significant digits: write at least 3
cai         10   11  z.o          0.12 = −(−0.12): the sign is flipped
dee         10   11  z.h2         wrong from the start
eli          8   11  a.o          'about half' is not a number (write 0.824, 4/5 or 1,8)

class: 5 students, mean 9.8, median 10 (of 11)
question   points  right  carried forward
z.h1            1   100%               0%
z.h2            1    80%               0%
z.o             1    60%              20%
a.o             1    40%              40%
loss            1    40%              40%
grad.z.o        1    40%              40%
grad.v2         1    40%              60%
grad.z.h2       1    20%              60%
grad.w3         1    40%              60%
new.v2          2    40%              60%
"""


def test_the_text_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = _run("grade", "problems/grading/exercise.yaml",
                          "problems/grading/class.csv")
    assert (code, err) == (0, "")
    assert out == TABLE


def test_the_gradebook_csv_parsed_back() -> None:
    code, out, _ = _run("grade", str(EXAMPLE), str(CLASS), "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["student", "score", "max", *KEYS]
    scores = {row["student"]: float(row["score"]) for row in rows}
    assert scores == {"ana": 11, "ben": 10, "cai": 10, "dee": 10, "eli": 8}
    for row in rows:
        assert row["max"] == "11"
        assert sum(float(row[key]) for key in KEYS) == float(row["score"])
    assert rows[4]["a.o"] == "0" and rows[4]["new.v2"] == "2"


def test_ecf_credit_in_the_gradebook() -> None:
    code, out, _ = _run("grade", str(EXAMPLE), str(CLASS), "--format", "csv",
                        "--ecf-credit", "0.5")
    assert code == 0
    cai = next(row for row in csv.DictReader(io.StringIO(out)) if row["student"] == "cai")
    # z.h1, z.h2 right; z.o wrong; seven answers carried forward (new.v2 worth 2)
    assert cai["z.o"] == "0" and cai["a.o"] == "0.5" and cai["new.v2"] == "1"
    assert float(cai["score"]) == 2 + 0.5 * 8
    code, _, err = _run("grade", str(EXAMPLE), str(CLASS), "--ecf-credit", "2")
    assert code == 2 and "--ecf-credit" in err


def test_the_json_parsed_back() -> None:
    code, out, _ = _run("grade", str(EXAMPLE), str(CLASS), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["problem", "max", "students"]
    assert data["problem"] == str(EXAMPLE) and data["max"] == 11
    eli = data["students"][4]
    assert list(eli) == ["student", "score", "max", "results"]
    assert (eli["student"], eli["score"], eli["max"]) == ("eli", 8, 11)
    assert [list(r) for r in eli["results"]] == [
        ["key", "answer", "verdict", "points", "diagnosis"]] * 10
    assert eli["results"][3] == {
        "key": "a.o", "answer": "about half", "verdict": "invalid", "points": 0,
        "diagnosis": "'about half' is not a number (write 0.824, 4/5 or 1,8)"}
    assert eli["results"][4]["answer"] is None
    assert eli["results"][4]["verdict"] == "unanswered"
    cai = data["students"][2]
    assert cai["results"][2]["diagnosis"] == "0.12 = −(−0.12): the sign is flipped"
    assert cai["results"][3]["verdict"] == "consistent"


def test_yaml_and_csv_give_the_same_scores(tmp_path: Path) -> None:
    folder = tmp_path / "answers"
    folder.mkdir()
    with CLASS.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            lines = [f"student: {row['student']}", "answers:"]
            lines += [f"  {key}: {json.dumps(row[key])}" for key in KEYS if row[key]]
            (folder / f"{row['student']}.yaml").write_text("\n".join(lines) + "\n",
                                                           encoding="utf-8")
    problem = load_problem(str(EXAMPLE))
    from_csv = grade(problem, [CLASS])
    from_yaml = grade(problem, [folder])
    assert [(s.student, s.score) for s in from_yaml.students] == [
        (s.student, s.score) for s in from_csv.students]
    assert [[r.verdict for r in s.results] for s in from_yaml.students] == [
        [r.verdict for r in s.results] for s in from_csv.students]
    # unquoted YAML numbers keep the digits written
    (folder / "zed.yaml").write_text("answers:\n  a.o: 0.4700\n  z.h2: 3,8\n  z.o: \n",
                                     encoding="utf-8")
    zed = grade(problem, [folder / "zed.yaml"]).students[0]
    assert zed.student == "zed"  # the file's stem
    marks = {r.key: (r.answer, r.verdict) for r in zed.results}
    assert marks["a.o"] == ("0.4700", "correct")
    assert marks["z.h2"] == ("3,8", "correct")
    assert marks["z.o"] == (None, "unanswered")


def test_a_bad_answer_file_is_reported_and_the_class_graded(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("student: a\nanswers:\n  z.h1: 0.1\n  z.h3: 2\n"
                                     "  w1: 0.7\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("student: b\nanswers: [0.1\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text("studnet: c\nanswers: {}\n", encoding="utf-8")
    (tmp_path / "d.csv").write_text("name,z.h1\nx,0.1\n", encoding="utf-8")
    (tmp_path / "e.csv").write_text("student,z.h1\na,0.1\n,0.2\nf,0.1,3\n", encoding="utf-8")
    code, out, err = _run("grade", str(EXAMPLE), str(tmp_path), "--format", "csv")
    assert code == 0
    assert [row["student"] for row in csv.DictReader(io.StringIO(out))] == ["a"]
    lines = err.splitlines()
    assert (f"{tmp_path / 'a.yaml'}:4:3: unknown value key 'z.h3' (did you mean 'z.h2' or "
            "'z.h1'?): ignored") in err
    assert (f"{tmp_path / 'a.yaml'}:5:3: 'w1' is given in the problem (data or a starting "
            "parameter), not asked: ignored") in err
    assert any(line.startswith(f"{tmp_path / 'b.yaml'}:") and "YAML" in line
               for line in lines), err
    assert (f"{tmp_path / 'c.yaml'}:1:1: unknown key 'studnet' in an answer file "
            "(did you mean 'student'?)") in err
    assert f"{tmp_path / 'd.csv'}:1:1: no 'student' column" in err
    assert f"{tmp_path / 'e.csv'}:2: student 'a' is graded already" in err
    assert f"{tmp_path / 'e.csv'}:3:1: a row without a student id" in err
    assert f"{tmp_path / 'e.csv'}:4:1: 3 cells but 2 columns" in err
    assert "Traceback" not in err


def test_usage_and_problem_errors(tmp_path: Path) -> None:
    code, _, err = _run("grade", str(EXAMPLE), str(tmp_path / "missing.csv"))
    assert code == 2
    code, _, err = _run("grade", str(EXAMPLE), str(tmp_path))  # an empty folder
    assert code == 2 and "no answer files" in err
    code, _, err = _run("grade", str(EXAMPLE), str(CLASS), "--keys", "grad.w9")
    assert code == 2 and "--keys" in err and "did you mean" in err
    broken = tmp_path / "p.yaml"
    broken.write_text("network: {}\n", encoding="utf-8")
    code, out, err = _run("grade", str(broken), str(CLASS))
    assert code == 1 and out == "" and err.startswith(f"{broken}:1:")


def test_feedback_files_read_back(tmp_path: Path) -> None:
    folder = tmp_path / "feedback"
    code, _, err = _run("grade", str(EXAMPLE), str(CLASS), "--feedback", str(folder))
    assert code == 0
    assert err == f"feedback: 5 files in {folder}/\n"
    assert sorted(p.name for p in folder.iterdir()) == [
        "ana.md", "ben.md", "cai.md", "dee.md", "eli.md"]
    cai = (folder / "cai.md").read_text(encoding="utf-8")
    assert cai.startswith("# Grading example: 2-2-1 network, ReLU hidden, sigmoid output: "
                          "feedback for cai\n")
    assert "Score: **10 / 11**" in cai
    assert "- ✓ **z.h1** ($z_{h1}$): `0.1`, 1/1: right" in cai
    assert ("- ✗ **z.o** ($z_{o}$): `0.12`, 0/1: wrong; the exact value is $-0.12$\n"
            "  - the slip: 0.12 = −(−0.12): the sign is flipped\n"
            "  - from your own numbers: $$z_{o} = v_{1} \\cdot a_{h1} + v_{2} \\cdot a_{h2} + "
            "b_{3} = -1 \\cdot 0.1 + 0.1 \\cdot 3.8 + (-0.4) = -0.12$$") in cai
    assert ("- ≈ **a.o** ($\\hat{y}$): `0.530`, 1/1: right from your earlier answers "
            "(follows from your wrong z.o = 0.12 (carried forward))") in cai
    eli = (folder / "eli.md").read_text(encoding="utf-8")
    assert "- – **loss** ($L$): no answer, 0/1: not answered" in eli
    assert "- ✗ **a.o** ($\\hat{y}$): `about half`, 0/1: not a number" in eli


def test_read_answers_keeps_going_after_a_bad_file(tmp_path: Path) -> None:
    (tmp_path / "1.yaml").write_text("- not a mapping\n", encoding="utf-8")
    (tmp_path / "2.yaml").write_text("answers:\n  loss: 0.14\n", encoding="utf-8")
    submissions, reports = read_answers([tmp_path])
    assert [s.student for s in submissions] == ["2"]
    assert reports == [f"{tmp_path / '1.yaml'}:1:1: an answer file is a mapping with "
                       "`student:` and `answers:`"]


# ------------------------------------------------------------------ the API


def test_bp_grade(tmp_path: Path) -> None:
    import backprop_cli as bp

    graded = bp.grade(EXAMPLE, [CLASS])
    assert isinstance(graded, bp.GradeReport)
    assert [s.student for s in graded.students] == ["ana", "ben", "cai", "dee", "eli"]
    assert (graded.max, graded.mean, graded.median, graded.reports) == (11, 9.8, 10, ())
    assert graded.keys == tuple(KEYS)
    assert graded.to_csv() == _run("grade", str(EXAMPLE), str(CLASS), "--format", "csv")[1]
    assert graded.to_json() == _run("grade", str(EXAMPLE), str(CLASS), "--format", "json")[1]
    assert str(graded) == graded.to_text() == _run("grade", str(EXAMPLE), str(CLASS))[1]
    assert graded._repr_markdown_().splitlines()[2:5] == [
        "| student | score | first wrong | diagnosis |", "|---|---:|---|---|",
        "| ana | 11/11 | – |  |"]
    assert repr(graded) == f"<GradeReport of {str(EXAMPLE)!r}: 5 students>"
    assert graded.feedback("cai").startswith("# Grading example")
    with pytest.raises(KeyError, match="did you mean 'cai'"):
        graded.feedback("cia")
    assert bp.grade(bp.load(EXAMPLE), CLASS, keys=["z.*"]).keys == ("z.h1", "z.h2", "z.o")
    with pytest.raises(ValueError, match=r"'grad\.w9' matches no value key"):
        bp.grade(EXAMPLE, CLASS, keys=["grad.w9"])
    with pytest.raises(ValueError, match="ecf_credit"):
        bp.grade(EXAMPLE, CLASS, ecf_credit=2)
    with pytest.raises(ValueError, match="network"):
        bp.grade(ROOT / "problems" / "003e_derivative_polynomial.yaml", CLASS)


_PROBLEM = load_problem(str(EXAMPLE))
_GRADER = Grader(_PROBLEM)


def _forms(key: str) -> list[str]:
    """What students write for ``key``: right, rounded, a slip, blank, words."""
    value = _GRADER.values[key]
    return [f"{value:.4g}", f"{value:.3g}", f"{-value:.4g}", f"{2 * value:.4g}", "", "n/a"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=len(KEYS), max_size=len(KEYS)))
def test_scores_are_bounded_and_the_credit_only_lowers_them(choices: list[int]) -> None:
    answers = {key: _forms(key)[choice] for key, choice in zip(KEYS, choices, strict=True)}
    full = _GRADER.grade(Submission("s", "s", answers))
    half = Grader(_PROBLEM, ecf_credit=0.5).grade(Submission("s", "s", answers))
    assert 0 <= half.score <= full.score <= full.max == 11
    assert [r.verdict for r in half.results] == [r.verdict for r in full.results]
    for result, choice in zip(full.results, choices, strict=True):
        if choice == 0:
            assert result.verdict == "correct"
        if choice == 4:
            assert result.verdict == "unanswered"
        if choice == 5:
            assert result.verdict == "invalid"
        assert result.points == (result.worth if result.verdict == "correct" else
                                 result.worth if result.verdict == "consistent" else 0)


def test_a_semicolon_csv_with_decimal_commas_and_output_to_a_file(tmp_path: Path) -> None:
    answers = tmp_path / "class.csv"
    answers.write_text("\ufeffstudent;z.h1;z.h2;z.o\nana;0,1;3,8;−0,12\nben;0,3;;-,12\n",
                       encoding="utf-8")
    out = tmp_path / "grades.json"
    code, stdout, err = _run("grade", str(EXAMPLE), str(answers), "--format", "json",
                             "-o", str(out))
    assert (code, stdout, err) == (0, "", "")
    students = json.loads(out.read_text(encoding="utf-8"))["students"]
    assert [(s["student"], s["score"]) for s in students] == [("ana", 3), ("ben", 1)]
    assert [r["verdict"] for r in students[1]["results"][:3]] == [
        "wrong", "unanswered", "correct"]


# ------------------------------------------------- other kinds: quiz material


CONV = ROOT / "problems" / "grading" / "conv_exercise.yaml"
CONV_CLASS = ROOT / "problems" / "grading" / "conv_class.csv"
DERIVATIVE = ROOT / "problems" / "003e_derivative_polynomial.yaml"


def _conv() -> LayeredProblem:
    exercise = load_exercise(str(CONV))
    assert isinstance(exercise, LayeredProblem)
    return exercise


def test_a_layered_exercise_grades_its_quiz_keys_with_the_files_points() -> None:
    problem = _conv()
    grader = MaterialGrader(problem)
    kernel = [f"grad.K[1,1,{i},{j}]" for i in (1, 2) for j in (1, 2)]
    assert grader.keys == ["z.C[1,1,2]", "a.P[1,1,1]", "z.o", "a.o", "loss", "grad.z.o",
                           "grad.a.P[1,1,1]", "grad.z.C[1,1,2]", *kernel, "new.K[1,1,2,2]"]
    # points: {grad.K[*]: 0.5, new.*: 2}: brackets are the key's own, not a character class
    assert [grader.worth[key] for key in grader.keys] == [1] * 8 + [0.5] * 4 + [2]
    assert points_of(problem, "grad.K[1,1,2,2]") == 0.5
    assert points_of(problem, "z.C[1,1,1]") == 1
    values = solve_layered(problem).values
    assert grader.exact == {key: values[key] for key in grader.keys}


def test_the_layered_class_verdicts() -> None:
    book = grade(_conv(), [CONV_CLASS])
    by_student = {s.student: {r.key: r for r in s.results} for s in book.students}
    assert list(by_student) == ["ana", "gus", "hal", "ida", "jo"]
    assert all(r.verdict == "correct" for r in by_student["ana"].values())
    assert book.students[0].score == 12  # 8 × 1 + 4 × 0.5 + 2
    ida = by_student["ida"]
    assert [ida[key].verdict for key in ("z.o", "a.o", "loss", "grad.a.P[1,1,1]")] == [
        "correct", "correct", "unanswered", "unanswered"]  # 0.668: 3 digits of 0.66819
    jo = by_student["jo"]
    assert (jo["a.o"].verdict, jo["a.o"].points) == ("imprecise", 0)  # 0.67: 2 digits
    assert jo["loss"].verdict == "invalid"
    assert jo["loss"].reason == "'about 0.05' is not a number (write 0.824, 4/5 or 1,8)"
    assert jo["grad.K[1,1,2,2]"].verdict == "correct"  # -0.0441 of -0.0441402
    # hal flips the sign of grad.z.o: wrong; gus miscomputes z.C[1,1,2] (6.5 for 8.5)
    assert by_student["hal"]["grad.z.o"].verdict == "wrong"
    assert by_student["gus"]["z.C[1,1,2]"].verdict == "wrong"
    assert by_student["gus"]["grad.K[1,1,1,2]"].verdict == "correct"  # 0 whatever the δ


def test_each_students_answers_go_through_the_kinds_own_judge_and_accept() -> None:
    """Grading gives, answer by answer, the verdict the kind's quiz gives a student who
    types the same answers in computation order (whatever the kind carries forward)."""
    problem = _conv()
    book = grade(problem, [CONV_CLASS])
    submissions, _ = read_answers([CONV_CLASS])
    for submission, graded in zip(submissions, book.students, strict=True):
        material = KIND_OF_LAYERED.quiz(problem, ["*"], 1000, 6, 3)
        for result in graded.results:
            text = submission.answers.get(result.key, "").strip()
            answer = parse_answer(text) if text else None
            if answer is None or answer.kind != "number":
                continue
            judged = material.judge(result.key, answer.value, answer.precision, answer.text)
            material.accept(result.key, answer.value, answer.precision, answer.text)
            expected = "imprecise" if judged is None else judged.verdict
            assert result.verdict == expected, (submission.student, result.key)


def test_a_derivative_exercise_carries_errors_forward() -> None:
    # f(x) = x³ − 3x² + 2x + 1 at x = 2, Δx = 0.1: f'(2) = 12 − 12 + 2 = 2, but dan writes
    # 3; his predicted change 3·0.1 = 0.3 follows from it, and his difference
    # actual − predicted = 0.231 − 0.3 = −0.069 from both
    problem = load_exercise(str(DERIVATIVE))
    grader = grader_of(problem, ["*"], ecf_credit=0.5)
    assert isinstance(grader, MaterialGrader)
    student = grader.grade(Submission("dan", "dan.yaml", {
        "value": "1", "derivative.x": "3", "predicted_change": "0.3",
        "actual_change": "0.231", "difference": "-0.069"}))
    marks = {r.key: (r.verdict, r.points) for r in student.results}
    assert marks == {"value": ("correct", 1), "derivative.x": ("wrong", 0),
                     "new_value": ("unanswered", 0), "predicted_change": ("consistent", 0.5),
                     "actual_change": ("correct", 1), "difference": ("consistent", 0.5)}
    carried = student.results[3]
    assert carried.recomputed == pytest.approx(0.3)
    assert carried.reason == "follows from your wrong derivative.x = 3 (carried forward)"


class _FakeMaterial:
    """c = a + b; x is computed but never asked. Records every call."""

    made: ClassVar[list[_FakeMaterial]] = []  # every material made, in order

    def __init__(self, patterns: Sequence[str]) -> None:
        every = ["a", "x", "b", "c"]
        self.keys = [key for key in every if any(fnmatch.fnmatch(key, p) for p in patterns)]
        if not self.keys:
            raise QuizError(f"'{patterns[0]}' matches no value key")
        self.own: dict[str, float] = {}
        self.calls: list[str] = []
        self.title = "fake"
        self.note = None
        _FakeMaterial.made.append(self)

    def exact(self, key: str) -> float:
        return {"a": 1.0, "x": 5.0, "b": 2.0, "c": 3.0, "given": 7.0}[key]

    def describe(self, key: str) -> str:
        return f"the value {key}"

    def judge(self, key: str, value: float, typed: Precision, text: str) -> KeyResult | None:
        self.calls.append(f"judge {key}")
        verdict: Literal["correct", "consistent", "wrong"] = "wrong"
        if value == self.exact(key):
            verdict = "correct"
        elif key == "c" and value == self.own.get("a", 1.0) + self.own.get("b", 2.0):
            verdict = "consistent"
        return KeyResult(key=key, expected=value, text=text, actual=self.exact(key),
                         verdict=verdict, reason="fake")

    def accept(self, key: str, value: float, typed: Precision, text: str) -> None:
        self.calls.append(f"accept {key}")
        self.own[key] = value

    def fresh(self) -> _FakeMaterial:
        return _FakeMaterial(["*"])

    def given(self) -> list[str]:
        return ["Given:", "  c = a + b"]


class _FakeKind:
    def quiz(self, exercise: object, patterns: Sequence[str] | None, limit: int, digits: int,
             min_digits: int) -> _FakeMaterial:
        return _FakeMaterial(patterns or ["*"])


@record
class _FakeExercise:
    kind: str = "fake"
    title: str = "fake"
    path: str = "fake.yaml"
    quiz: list[str] = field(default_factory=lambda: ["a", "b", "c"])


def test_a_fresh_material_per_student_in_computation_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grading, "kind_of", lambda exercise: _FakeKind())
    _FakeMaterial.made.clear()
    grader = MaterialGrader(_FakeExercise())  # type: ignore[arg-type]
    assert grader.keys == ["a", "b", "c"]
    made = len(_FakeMaterial.made)
    # answers in any order: judged in computation order; x is accepted, never judged
    first = grader.grade(Submission("s1", "s1", {"c": "4", "x": "9", "b": "2", "a": "2"}))
    assert [(r.key, r.verdict) for r in first.results] == [
        ("a", "wrong"), ("b", "correct"), ("c", "consistent")]  # 4 = 2 + 2: their own a
    assert _FakeMaterial.made[-1].calls == ["judge a", "accept a", "accept x", "judge b",
                                            "accept b", "judge c", "accept c"]
    # the next student's c = 4 does not follow from their own (unanswered) a: no leak
    second = grader.grade(Submission("s2", "s2", {"c": "4", "b": "2"}))
    assert [r.verdict for r in second.results] == ["unanswered", "correct", "wrong"]
    assert len(_FakeMaterial.made) == made + 2
    # points with the credit: consistent × ecf_credit
    half = MaterialGrader(_FakeExercise(), ecf_credit=0.25)  # type: ignore[arg-type]
    assert half.grade(Submission("s", "s", {"a": "2", "c": "4"})).results[2].points == 0.25
    assert grader.why_unknown("given") == ("'given' is given in the problem (data or a "
                                           "starting parameter), not asked")
    assert grader.why_unknown("bb") == "unknown value key 'bb' (did you mean 'b'?)"
    with pytest.raises(GradingError, match="'z' matches no value key"):
        MaterialGrader(_FakeExercise(), ["z"])  # type: ignore[arg-type]


def test_a_layered_exercise_without_quiz_grades_its_expected_keys(tmp_path: Path) -> None:
    text = CONV.read_text(encoding="utf-8")
    path = tmp_path / "p.yaml"
    path.write_text(text.split("quiz:")[0], encoding="utf-8")
    exercise = load_exercise(str(path))
    assert MaterialGrader(exercise).keys == list(_conv().expected)
    bare = tmp_path / "bare.yaml"
    bare.write_text(text.split("expected:")[0], encoding="utf-8")
    with pytest.raises(GradingError, match="nothing to grade"):
        MaterialGrader(load_exercise(str(bare)))
    assert MaterialGrader(load_exercise(str(bare)), ["grad.K[*]"]).keys == [
        f"grad.K[1,1,{i},{j}]" for i in (1, 2) for j in (1, 2)]


# ------------------------------------------------------- CSV headers with brackets


@pytest.mark.parametrize("header", [
    "student,z.C[1,1,2],grad.K[1,1,2,2],a.o",  # not quoted: the index's commas are its own
    'student,"z.C[1,1,2]","grad.K[1,1,2,2]",a.o',
    "student;z.C[1,1,2];grad.K[1,1,2,2];a.o",  # a semicolon file: the commas are not it
    "student\tz.C[1,1,2]\tgrad.K[1,1,2,2]\ta.o",
])
def test_csv_headers_with_commas_inside_brackets(tmp_path: Path, header: str) -> None:
    delimiter = next(d for d in (";", "\t", ",") if d in header.replace("[1,", ""))
    path = tmp_path / "class.csv"
    row = delimiter.join(["ana", "8.5", "-0.0441", "0.668"])
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    submissions, reports = read_answers([path])
    assert reports == []
    assert submissions[0].answers == {"z.C[1,1,2]": "8.5", "grad.K[1,1,2,2]": "-0.0441",
                                      "a.o": "0.668"}
    assert submissions[0].where("a.o") == f"{path}:2:{len('ana,8.5,-0.0441,') + 1}"


def test_yaml_and_csv_answers_to_a_layered_exercise_grade_alike(tmp_path: Path) -> None:
    problem = _conv()
    folder = tmp_path / "answers"
    folder.mkdir()
    submissions, _ = read_answers([CONV_CLASS])  # its header is not quoted
    for submission in submissions:
        lines = [f"student: {submission.student}", "answers:"]
        lines += [f"  {key}: {json.dumps(text)}" for key, text in submission.answers.items()
                  if text]
        (folder / f"{submission.student}.yaml").write_text("\n".join(lines) + "\n",
                                                           encoding="utf-8")
    from_csv = grade(problem, [CONV_CLASS])
    from_yaml = grade(problem, [folder])
    assert [(s.student, s.score) for s in from_yaml.students] == [
        (s.student, s.score) for s in from_csv.students]
    assert [[(r.key, r.verdict, r.points) for r in s.results] for s in from_yaml.students] == [
        [(r.key, r.verdict, r.points) for r in s.results] for s in from_csv.students]
    # the same CSV written by a program (quoted headers) reads alike
    quoted = tmp_path / "quoted.csv"
    with quoted.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        keys = list(submissions[0].answers)
        writer.writerow(["student", *keys])
        for submission in submissions:
            writer.writerow([submission.student, *(submission.answers[k] for k in keys)])
    assert "\"z.C[1,1,2]\"" in quoted.read_text(encoding="utf-8")
    assert [(s.student, s.score) for s in grade(problem, [quoted]).students] == [
        (s.student, s.score) for s in from_csv.students]


def test_a_class_works_the_layered_exercise_out_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # each student gets a fresh material (their own answers only), but the exercise's values
    # and questions are the class's: a LayeredQuiz is built for the grader, never per
    # student (it lists every value's key: 34 ms a student on a 1×8×8 conv)
    from backprop_cli.kinds import layered_quiz

    built: list[object] = []
    original = layered_quiz.LayeredQuiz.__init__

    def counting(self: layered_quiz.LayeredQuiz, *args: object, **kwargs: object) -> None:
        built.append(self)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(layered_quiz.LayeredQuiz, "__init__", counting)
    grader = MaterialGrader(_conv())
    setup = len(built)
    submissions, _ = read_answers([CONV_CLASS])
    book = grade(_conv(), [CONV_CLASS])
    assert len(built) == 2 * setup  # the second grader's own setup, nothing per student
    for submission in submissions:
        grader.grade(submission)
    assert len(built) == 2 * setup
    assert len(book.students) == len(submissions) == 5


@pytest.mark.parametrize("path", [CONV, DERIVATIVE, ROOT / "problems" / "grading" /
                                  "exercise.yaml"], ids=lambda p: p.stem)
def test_a_fresh_material_has_no_answers_given(path: Path) -> None:
    # fresh(): the next student's material judges as a new one would, whatever the last
    # student typed (a wrong answer to every question, each accepted)
    exercise = load_exercise(str(path))
    material = grading.kind_of(exercise).quiz(exercise, ["*"], 1000, 6, 3)
    for key in material.keys:
        material.accept(key, material.exact(key) * 1.5 + 1, Precision.of("1.000"), "1.000")
    fresh, new = material.fresh(), grading.kind_of(exercise).quiz(exercise, ["*"], 1000, 6, 3)
    assert fresh.keys == new.keys
    for key in fresh.keys:
        answer = new.exact(key) * 1.01 + 0.01  # wrong: what do the earlier answers give?
        verdicts = [None if (j := m.judge(key, answer, Precision.of("1.234"), "1.234")) is None
                    else (j.verdict, j.reason, j.recomputed) for m in (fresh, new)]
        assert verdicts[0] == verdicts[1], key


def test_layered_feedback_ends_with_what_the_quiz_gave(tmp_path: Path) -> None:
    # a layered exercise's feedback repeats the quiz's Given lines (the kernel as rows, the
    # input, the weights), so that a student can redo a step; a dense one's has its notation
    folder = tmp_path / "feedback"
    code, _, err = _run("grade", str(CONV), str(CONV_CLASS), "--feedback", str(folder))
    assert code == 0, err
    gus = (folder / "gus.md").read_text(encoding="utf-8")
    given = QuizSession(_conv()).given()
    assert gus.endswith("\n\nThe exercise:\n\n```text\n" + "\n".join(given) + "\n```\n")
    assert "    K[1,1,i,j] (row i, column j):" in given
    dense = tmp_path / "dense"
    _run("grade", str(EXAMPLE), str(CLASS), "--feedback", str(dense))
    assert "The exercise:" not in (dense / "cai.md").read_text(encoding="utf-8")
