"""`backprop export moodle`: the Moodle XML parsed, its structure as Moodle imports it."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from backprop_cli.app.grading import tolerance_for
from backprop_cli.app.quiz import QuizSession
from backprop_cli.cli import cli
from backprop_cli.engine import solve
from backprop_cli.kinds.exercise import load_problem
from backprop_cli.model.questions import DEFAULT_LIMIT
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


# ---------------------------------------------------------------- layered networks (issue 19)

CONV = ROOT / "problems" / "030_conv_pool_dropout.yaml"
RNN = ROOT / "problems" / "031_rnn_bptt.yaml"


def _layered_values(path: Path) -> dict[str, float]:
    from backprop_cli.engine.layered import solve_layered
    from backprop_cli.kinds.exercise import load_exercise
    from backprop_cli.model.layered import LayeredProblem

    problem = load_exercise(path)
    assert isinstance(problem, LayeredProblem)
    return solve_layered(problem).values


def test_a_layered_file_and_a_dense_one_exported_together() -> None:
    """030 asks its `expected` keys (brackets in them), the dense file its `quiz:`."""
    from backprop_cli.kinds.exercise import load_exercise

    quiz = _export(str(CONV), str(EXAMPLE))
    questions = quiz.findall("question")
    conv = load_exercise(CONV)
    asked = list(conv.expected)  # type: ignore[attr-defined]
    assert [q.get("type") for q in questions] == (
        ["category"] + ["numerical"] * len(asked) + ["category"] + ["numerical"] * len(KEYS))
    values = _layered_values(CONV)
    title = conv.title
    given = "\n".join(QuizSession(conv).given())
    assert "    K[1,1,i,j] (row i, column j):\n       1   0\n       0  -1\n" in given
    assert "scaled by 1/(1 - 0.5) = 2" in given and "mask[1,i,j]" in given
    for question, key in zip(questions[1:len(asked) + 1], asked, strict=True):
        assert _text(question, "name/text") == f"{title}: {key}"  # z.C[1,2,3] as written
        answer = question.find("answer")
        assert answer is not None and answer.get("fraction") == "100"
        exact = float(_text(answer, "text"))
        assert abs(exact - values[key]) <= 1e-9 * max(1.0, abs(values[key]))
        assert float(_text(answer, "tolerance")) == tolerance_for(values[key])
        statement = html.unescape(_text(question, "questiontext/text"))
        assert f"(<code>{key}</code>)" in statement
        assert "layer 1 C: conv2d, 1 filter 2×2" in statement
        # the quiz's own Given lines: the kernel as rows, the dropout's mask and scale
        assert f"<pre>{given}</pre>" in statement
    assert _text(questions[1], "answer/tolerance") == "0.001"  # z.C[1,1,1] = 0.5
    dense = solve(load_problem(str(EXAMPLE))).values
    for question, key in zip(questions[len(asked) + 2:], KEYS, strict=True):
        assert abs(float(_text(question, "answer/text")) - dense[key]) <= 1e-9 * max(
            1.0, abs(dense[key]))


def test_layered_keys_with_time_steps_and_globs(tmp_path: Path) -> None:
    """`#t` in names and cloze text; `--keys` with the keys' own brackets."""
    quiz = _export(str(RNN), "--keys", "grad.a.h#*", "--keys", "new.*")
    questions = quiz.findall("question")[1:]
    keys = ["grad.a.h#3", "grad.a.h#2", "grad.a.h#1", "new.w", "new.u", "new.b", "new.v"]
    values = _layered_values(RNN)
    assert [_text(q, "name/text").rsplit(": ", 1)[1] for q in questions] == keys
    for question, key in zip(questions, keys, strict=True):
        assert float(_text(question, "answer/text")) == pytest.approx(values[key], rel=1e-9)
    assert "∂L/∂(the output) of h at time step 3" in _text(questions[0], "questiontext/text")
    cloze = _export(str(CONV), "--cloze", "--keys", "grad.K[*]")
    text = html.unescape(_text(cloze.findall("question")[1], "questiontext/text"))
    gaps = GAP.findall(text)
    conv = _layered_values(CONV)
    kernel = [f"grad.K[1,1,{i},{j}]" for i in (1, 2) for j in (1, 2)]
    assert [f"<code>{key}</code>" in text for key in kernel] == [True] * 4
    assert [float(exact) for _, exact, _ in gaps] == pytest.approx(
        [conv[key] for key in kernel], rel=1e-9)


def test_layered_default_questions_without_quiz_or_expected(tmp_path: Path) -> None:
    """No `quiz:`, no `expected`: the quiz's first questions of step 1."""
    text = RNN.read_text(encoding="utf-8")
    path = tmp_path / "bare.yaml"
    path.write_text(text[:text.index("expected:")], encoding="utf-8")
    questions = _export(str(path)).findall("question")[1:]
    names = [_text(q, "name/text").rsplit(": ", 1)[1] for q in questions]
    assert names[:4] == ["z.h#1", "a.h#1", "dadz.h#1", "z.h#2"] and len(names) == DEFAULT_LIMIT
    with_quiz = tmp_path / "quiz.yaml"
    with_quiz.write_text(text + "quiz: ['grad.?']\n", encoding="utf-8")
    questions = _export(str(with_quiz)).findall("question")[1:]
    assert [_text(q, "name/text").rsplit(": ", 1)[1] for q in questions] == [
        "grad.w", "grad.u", "grad.b", "grad.v"]


def test_layered_errors() -> None:
    result = CliRunner().invoke(cli, ["export", "moodle", str(CONV), "--keys", "grad.Q[*]"])
    assert result.exit_code == 2 and "matches no computed value key" in result.stderr
