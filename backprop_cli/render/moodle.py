"""Moodle XML (the question format Moodle imports) for exercises and their answers.

Written with :mod:`xml.etree.ElementTree` (every text escaped), no dependency:

- ``<quiz>`` holds, per exercise set, a ``<question type="category">`` (Moodle's way
  of saying "the questions below go into this category"), then its questions;
- ``numerical``: a question per asked value, the statement and "compute z_h1"; the
  answer the exact value (``<answer fraction="100">``) with an absolute
  ``<tolerance>`` from the precision rule (one unit of the last significant digit
  asked for, :func:`backprop_cli.app.grading.tolerance_for`);
- ``cloze``: one question per exercise, every asked value a
  ``{w:NUMERICAL:=value:tolerance}`` gap weighted by its points.

A folder of variants becomes a category of cloze questions (one per variant): a
quiz's "random question from this category" gives each student one whole exercise.
The statement (network table, input, target, what to compute) is HTML with the
math in ``\\( ... \\)``, which Moodle's MathJax filter typesets.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from backprop_cli.model.problem import Problem
from backprop_cli.numfmt import format_number
from backprop_cli.records import record
from backprop_cli.render.notation import LatexNotation

MoodleStyle = Literal["numerical", "cloze"]
CATEGORY_ROOT = "$course$/top/backprop"
# Digits of the given numbers in a statement, and of the answers (full enough to grade).
GIVEN_DIGITS = 6
ANSWER_DIGITS = 10
PENALTY = "0.3333333"


@record(frozen=True)
class MoodleValue:
    """One asked value: its key, exact value, tolerance and points."""

    key: str
    exact: float
    tolerance: float
    points: float = 1.0
    words: str = ""  # the question in words, when the exercise has no LaTeX notation


@record(frozen=True)
class MoodleExercise:
    """One problem (or one student's variant) and the values it asks: a dense network's
    (``problem``: its table and LaTeX symbols), or another's stated as the lines of text
    its quiz gives (``given``, a layered network's) under its ``title``."""

    name: str
    problem: Problem | None
    values: tuple[MoodleValue, ...]
    title: str = ""
    given: tuple[str, ...] = ()


@record(frozen=True)
class MoodleCategory:
    """A question category: one problem, or a folder of variants (``random``)."""

    name: str
    exercises: tuple[MoodleExercise, ...]
    random: bool = False  # a folder of variants: one cloze question per variant


def moodle_xml(categories: Sequence[MoodleCategory], style: MoodleStyle = "numerical") -> str:
    """The Moodle XML document of ``categories``."""
    quiz = ET.Element("quiz")
    for category in categories:
        quiz.append(ET.Comment(f" {category.name} "))
        head = ET.SubElement(quiz, "question", type="category")
        _text(ET.SubElement(head, "category"),
              f"{CATEGORY_ROOT}/{category.name.replace('/', '//')}")
        info = ET.SubElement(head, "info", format="html")
        _text(info, "Variants of one exercise: add a random question from this category."
              if category.random else "")
        for exercise in category.exercises:
            if style == "cloze" or category.random:
                quiz.append(_cloze(exercise))
            else:
                quiz.extend(_numerical(exercise, value) for value in exercise.values)
    ET.indent(quiz, space="  ")
    body = ET.tostring(quiz, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def _text(parent: ET.Element, text: str) -> ET.Element:
    node = ET.SubElement(parent, "text")
    node.text = text
    return node


def _question(kind: str, name: str, html: str, points: float) -> ET.Element:
    question = ET.Element("question", type=kind)
    _text(ET.SubElement(question, "name"), name)
    _text(ET.SubElement(question, "questiontext", format="html"), html)
    _text(ET.SubElement(question, "generalfeedback", format="html"), "")
    ET.SubElement(question, "defaultgrade").text = _number(points)
    ET.SubElement(question, "penalty").text = PENALTY
    ET.SubElement(question, "hidden").text = "0"
    return question


def _numerical(exercise: MoodleExercise, value: MoodleValue) -> ET.Element:
    html = (_statement(exercise) + f"<p>Compute {_asked(exercise)(value)} "
            f"(<code>{_escape(value.key)}</code>), with at least 3 significant digits.</p>")
    question = _question("numerical", f"{exercise.name}: {value.key}", html, value.points)
    answer = ET.SubElement(question, "answer", fraction="100", format="moodle_auto_format")
    _text(answer, _number(value.exact))
    _text(ET.SubElement(answer, "feedback", format="html"), "")
    ET.SubElement(answer, "tolerance").text = _number(value.tolerance)
    for tag, text in (("unitgradingtype", "0"), ("unitpenalty", "0.1"), ("showunits", "3"),
                      ("unitsleft", "0")):
        ET.SubElement(question, tag).text = text
    return question


def _cloze(exercise: MoodleExercise) -> ET.Element:
    asked = _asked(exercise)
    weights = cloze_weights([value.points for value in exercise.values])
    rows = "".join(
        f"<tr><td>{asked(value)}</td><td><code>{_escape(value.key)}</code>"
        f"</td><td>{{{weight}:NUMERICAL:={_number(value.exact)}:{_number(value.tolerance)}}}"
        "</td></tr>"
        for value, weight in zip(exercise.values, weights, strict=True))
    html = (_statement(exercise) + "<p>Compute, with at least 3 significant digits:</p>"
            f"<table border=\"1\"><tbody>{rows}</tbody></table>")
    total = math.fsum(value.points for value in exercise.values)
    question = _question("cloze", exercise.name, html, total)
    return question


def cloze_weights(points: Sequence[float]) -> list[int]:
    """Whole gap weights in the ratio of the points (a cloze gap's weight is an integer)."""
    fractions = [Fraction(p).limit_denominator(100) for p in points]
    scale = math.lcm(*(f.denominator for f in fractions)) if fractions else 1
    return [max(int(f * scale), 0) for f in fractions]


# ------------------------------------------------------------------ statement


def _statement(exercise: MoodleExercise) -> str:
    """A dense network's table, or the lines its quiz states for another network."""
    if exercise.problem is not None:
        return statement(exercise.problem)
    given = "\n".join(exercise.given)
    return f"<p><b>{_escape(exercise.title)}</b></p><pre>{_escape(given)}</pre>"


def _asked(exercise: MoodleExercise) -> Callable[[MoodleValue], str]:
    """What a question names: the value's LaTeX symbol (a dense network), else its words."""
    if exercise.problem is None:
        return lambda value: _escape(value.words or value.key)
    notation = LatexNotation(exercise.problem, GIVEN_DIGITS)
    return lambda value: f"\\({notation.symbol(value.key)}\\)"


def statement(problem: Problem) -> str:
    """The exercise as HTML: the network (a row per unit), the data, the loss and rate."""
    notation = LatexNotation(problem, GIVEN_DIGITS)

    def num(value: float) -> str:
        return _escape(format_number(float(value), GIVEN_DIGITS, ascii_only=True))

    parts = [f"<p><b>{_escape(problem.title)}</b></p>",
             "<table border=\"1\"><thead><tr><th>layer</th><th>unit</th><th>activation</th>"
             "<th>weights</th><th>bias</th></tr></thead><tbody>"]
    for layer in problem.layers:
        for row, unit in enumerate(layer.units):
            weights = ", ".join(
                f"\\({notation.name(name)}\\) = {num(layer.weights[row, col])} (from "
                f"{_escape(layer.input_names[col])})"
                for col, name in enumerate(layer.weight_names[row]))
            bias = "–"
            if layer.bias is not None and layer.bias_names is not None:
                bias = f"\\({notation.name(layer.bias_names[row])}\\) = {num(layer.bias[row])}"
            parts.append(f"<tr><td>{layer.index}</td><td>{_escape(unit)}</td>"
                         f"<td>{_escape(layer.activation.label)}</td><td>{weights}</td>"
                         f"<td>{bias}</td></tr>")
    parts.append("</tbody></table>")
    for k in range(problem.n_samples):
        head = f"Sample {k + 1}: input" if problem.has_samples else "Input"
        inputs = ", ".join(f"{_escape(name)} = {num(problem.inputs[k, j])}"
                           for j, name in enumerate(problem.input_names))
        targets = ", ".join(f"{_escape(name)} = {num(problem.targets[k, j])}"
                            for j, name in enumerate(problem.output_names))
        parts.append(f"<p>{head} {inputs}; target {targets}.</p>")
    setting = f"Loss: {_escape(problem.loss.label)}; learning rate {num(problem.learning_rate)}"
    if problem.optimizer.name != "sgd":
        setting += f"; optimizer {_escape(problem.optimizer.label)}"
    if problem.steps != 1:
        setting += f"; {problem.steps} steps"
    parts.append(f"<p>{setting}.</p>")
    return "".join(parts)


def _number(value: float) -> str:
    """A number as Moodle reads it: positional (no exponent), at most ANSWER_DIGITS
    significant digits."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(Decimal(format(value, f".{ANSWER_DIGITS}g")), "f")


def _escape(text: str) -> str:
    """Text inside the HTML of a question (ElementTree escapes it once more for XML)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
