"""`backprop export moodle`: the Moodle XML parsed, its structure as Moodle imports it."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

from backprop_cli.app.grading import tolerance_for
from backprop_cli.cli import cli
from backprop_cli.engine import solve
from backprop_cli.kinds.exercise import load_problem
from backprop_cli.render.moodle import cloze_weights

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE = ROOT / "problems" / "grading" / "exercise.yaml"
KEYS = ["z.h1", "z.h2", "z.o", "a.o", "loss", "grad.z.o", "grad.v2", "grad.z.h2", "grad.w3",
        "new.v2"]
GAP = re.compile(r"\{(\d+):NUMERICAL:=([-0-9.]+):([0-9.]+)\}")


def _export(*args: str) -> ET.Element:
    result = CliRunner().invoke(cli, ["export", "moodle", *args])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>')
    return ET.fromstring(result.stdout)


def _text(node: ET.Element, path: str) -> str:
    found = node.find(path)
    assert found is not None, path
    return found.text or ""


def test_a_numerical_question_per_value() -> None:
    quiz = _export(str(EXAMPLE))
    assert quiz.tag == "quiz"
    questions = quiz.findall("question")
    assert [q.get("type") for q in questions] == ["category"] + ["numerical"] * len(KEYS)
    assert _text(questions[0], "category/text") == (
        "$course$/top/backprop/Grading example: 2-2-1 network, ReLU hidden, sigmoid output")
    values = solve(load_problem(str(EXAMPLE))).values
    for question, key in zip(questions[1:], KEYS, strict=True):
        assert _text(question, "name/text").endswith(f": {key}")
        statement = html.unescape(_text(question, "questiontext/text"))
        assert question.find("questiontext").get("format") == "html"  # type: ignore[union-attr]
        assert "Input x1 = 3, x2 = 2; target o = 1." in statement
        assert "<td>h2</td><td>ReLU</td><td>\\(w_{3}\\) = 0.6 (from x1)" in statement
        assert f"(<code>{key}</code>)" in statement
        answers = question.findall("answer")
        assert len(answers) == 1 and answers[0].get("fraction") == "100"
        exact = float(_text(answers[0], "text"))
        tolerance = float(_text(answers[0], "tolerance"))
        assert abs(exact - values[key]) <= 1e-9 * max(1.0, abs(values[key]))
        assert tolerance == tolerance_for(values[key])
        points = "2" if key == "new.v2" else "1"
        assert _text(question, "defaultgrade") == points
    # the tolerance: one unit of the third significant digit
    by_key = {k: float(_text(q, "answer/tolerance")) for k, q in zip(KEYS, questions[1:],
                                                                      strict=True)}
    assert by_key["z.h1"] == 0.001 and by_key["z.h2"] == 0.01 and by_key["grad.z.h2"] == 0.0001


def test_one_cloze_question_per_problem() -> None:
    quiz = _export(str(EXAMPLE), "--cloze")
    questions = quiz.findall("question")
    assert [q.get("type") for q in questions] == ["category", "cloze"]
    text = html.unescape(_text(questions[1], "questiontext/text"))
    gaps = GAP.findall(text)
    assert [int(weight) for weight, _, _ in gaps] == [1] * 9 + [2]
    assert float(gaps[3][1]) == round(solve(load_problem(str(EXAMPLE))).values["a.o"], 10)
    assert gaps[3][2] == "0.001"
    assert _text(questions[1], "defaultgrade") == "11"


def test_a_folder_of_variants_is_a_category_of_cloze_questions(tmp_path: Path) -> None:
    folder = tmp_path / "week3"
    result = CliRunner().invoke(cli, ["vary", str(EXAMPLE), "--count", "3", "--seed", "5",
                                      "-o", str(folder)])
    assert result.exit_code == 0
    out = tmp_path / "quiz.xml"
    result = CliRunner().invoke(cli, ["export", "moodle", str(folder), str(EXAMPLE),
                                      "-o", str(out)])
    assert result.exit_code == 0 and result.stdout == ""
    quiz = ET.parse(out).getroot()
    questions = quiz.findall("question")
    assert [q.get("type") for q in questions] == (
        ["category"] + ["cloze"] * 3 + ["category"] + ["numerical"] * len(KEYS))
    assert _text(questions[0], "category/text") == "$course$/top/backprop/week3"
    assert "random question" in _text(questions[0], "info/text")
    assert [_text(q, "name/text") for q in questions[1:4]] == ["s01", "s02", "s03"]
    for question, student in zip(questions[1:4], ["s01", "s02", "s03"], strict=True):
        variant = load_problem(str(folder / f"{student}.yaml"))
        values = solve(variant).values
        gaps = GAP.findall(html.unescape(_text(question, "questiontext/text")))
        assert len(gaps) == len(KEYS)
        for (_, exact, _), key in zip(gaps, KEYS, strict=True):
            assert abs(float(exact) - values[key]) <= 1e-9 * max(1.0, abs(values[key]))


def test_text_is_escaped(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'title: "Grading example', 'title: "<b>&amp; 1/2</b> Grading example')
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    quiz = _export(str(path))
    statement = _text(quiz.findall("question")[1], "questiontext/text")
    assert "<p><b>&lt;b&gt;&amp;amp; 1/2&lt;/b&gt; Grading example" in statement
    assert _text(quiz.findall("question")[0], "category/text").startswith(
        "$course$/top/backprop/<b>&amp; 1//2<//b>")


def test_errors() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "moodle", str(EXAMPLE), "--keys", "grad.w9"])
    assert result.exit_code == 2 and "did you mean" in result.stderr
    result = runner.invoke(cli, ["export", "moodle"])
    assert result.exit_code == 2
    derivative = ROOT / "problems" / "003e_derivative_polynomial.yaml"
    result = runner.invoke(cli, ["export", "moodle", str(derivative)])
    assert result.exit_code == 1 and result.stderr.startswith(str(derivative))


def test_cloze_weights_are_whole_numbers_in_the_ratio_of_the_points() -> None:
    assert cloze_weights([1, 1, 2]) == [1, 1, 2]
    assert cloze_weights([0.5, 1, 1.5]) == [1, 2, 3]
    assert cloze_weights([1 / 3, 1]) == [1, 3]
