"""What `backprop grade` writes: the class table, the gradebook CSV, JSON, and each
student's feedback in Markdown.

The graded class comes from :mod:`backprop_cli.app.grading`, a stage above this
one: the writers read it through the protocols below (what they need of it).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from backprop_cli.checking.slips import Diagnosis
from backprop_cli.expr import Expr, render
from backprop_cli.model.problem import Problem
from backprop_cli.numfmt import format_number
from backprop_cli.render.formula_text import substituted
from backprop_cli.render.marks import VERDICT_SYMBOLS
from backprop_cli.render.notation import LatexNotation

# Digits of the exact values and recomputations shown in feedback (as check's reports).
DIGITS = 6
FEEDBACK_MARKS = {**VERDICT_SYMBOLS, "imprecise": "✗", "unanswered": "–", "invalid": "✗"}


class GradedAnswer(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def answer(self) -> str | None: ...
    @property
    def verdict(self) -> str: ...
    @property
    def points(self) -> float: ...
    @property
    def worth(self) -> float: ...
    @property
    def exact(self) -> float: ...
    @property
    def diagnosis(self) -> Diagnosis | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def note(self) -> str | None: ...
    @property
    def recomputed(self) -> float | None: ...
    @property
    def formula(self) -> Expr | None: ...
    @property
    def operands(self) -> Mapping[str, float]: ...
    @property
    def question(self) -> str | None: ...


class GradedExercise(Protocol):
    @property
    def title(self) -> str: ...


class GradedStudent(Protocol):
    @property
    def student(self) -> str: ...
    @property
    def given(self) -> Sequence[str]: ...
    @property
    def exercise(self) -> GradedExercise: ...
    @property
    def results(self) -> Sequence[GradedAnswer]: ...
    @property
    def score(self) -> float: ...
    @property
    def max(self) -> float: ...
    @property
    def first_wrong(self) -> GradedAnswer | None: ...


class GradedClass(Protocol):
    @property
    def problem(self) -> str: ...
    @property
    def keys(self) -> Sequence[str]: ...
    @property
    def students(self) -> Sequence[GradedStudent]: ...
    @property
    def max(self) -> float: ...
    @property
    def mean(self) -> float | None: ...
    @property
    def median(self) -> float | None: ...
    def share(self, key: str, verdicts: Sequence[str] = ("correct",)) -> float | None: ...


def points_text(points: float) -> str:
    """Points as a gradebook writes them: 3, 2.5, 0.333333."""
    if math.isfinite(points) and float(points).is_integer():
        return str(int(points))
    return format(round(points, 6), "g")


def points_value(points: float) -> int | float:
    """Points for JSON: an integer when whole."""
    return int(points) if float(points).is_integer() else round(points, 6)


# ---------------------------------------------------------------------- text


def grades_text(book: GradedClass) -> str:
    """A row per student (score, first wrong key and its diagnosis), then the class."""
    maximum = points_text(book.max)
    lines = [f"{book.problem}: {len(book.keys)} question{'s' * (len(book.keys) != 1)}, "
             f"{maximum} point{'s' * (book.max != 1)}", ""]
    rows = [("student", "score", "max", "first wrong", "diagnosis")]
    for student in book.students:
        wrong = student.first_wrong
        rows.append((student.student, points_text(student.score), points_text(student.max),
                     wrong.key if wrong is not None else "-",
                     _short_note(wrong) if wrong is not None else ""))
    lines += _table(rows, right={1, 2})
    lines.append("")
    if not book.students:
        lines.append("no student graded")
        return "\n".join(lines) + "\n"
    mean, median = book.mean, book.median
    assert mean is not None and median is not None
    count = len(book.students)
    lines.append(f"class: {count} student{'s' * (count != 1)}, mean "
                 f"{format_number(mean, 3, ascii_only=True)}, median "
                 f"{points_text(median)} (of {maximum})")
    shares = [("question", "points", "right", "carried forward")]
    for key in book.keys:
        right = book.share(key)
        carried = book.share(key, ("consistent",))
        worth = next((r.worth for s in book.students for r in s.results if r.key == key), 1.0)
        shares.append((key, points_text(worth), _percent(right), _percent(carried)))
    lines += _table(shares, right={1, 2, 3})
    return "\n".join(lines) + "\n"


def _short_note(result: GradedAnswer) -> str:
    """Why an answer earned nothing: the slip, else the reason (each says what it is), else
    the verdict (unanswered)."""
    return result.note or result.verdict


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{round(100 * share)}%"


def _table(rows: Sequence[tuple[str, ...]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                 for i, cell in enumerate(row)]
        out.append("  ".join(cells).rstrip())
    return out


# ----------------------------------------------------------------------- csv


def grades_csv(book: GradedClass) -> str:
    """The gradebook: ``student,score,max`` then the points earned on each question."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "score", "max", *book.keys])
    for student in book.students:
        earned = {r.key: r.points for r in student.results}
        writer.writerow([student.student, points_text(student.score), points_text(student.max),
                         *(points_text(earned.get(key, 0.0)) for key in book.keys)])
    return buffer.getvalue()


# ---------------------------------------------------------------------- json


def grades_data(book: GradedClass) -> dict[str, Any]:
    return {
        "problem": book.problem,
        "max": points_value(book.max),
        "students": [{
            "student": student.student,
            "score": points_value(student.score),
            "max": points_value(student.max),
            "results": [{"key": r.key, "answer": r.answer, "verdict": r.verdict,
                         "points": points_value(r.points),
                         "diagnosis": r.note if r.verdict != "correct" else None}
                        for r in student.results],
        } for student in book.students],
    }


def grades_json(book: GradedClass) -> str:
    return json.dumps(grades_data(book), indent=2, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------ feedback


def feedback_markdown(student: GradedStudent) -> str:
    """One student's answers marked: ✓ right, ≈ carried forward from their own earlier
    answers, ✗ with the diagnosis and the step worked from their own numbers (a dense
    network's in its LaTeX notation; another kind's with its keys and the question in
    words)."""
    problem = student.exercise
    notation = LatexNotation(problem, DIGITS) if isinstance(problem, Problem) else None
    lines = [f"# {_escape(problem.title)}: feedback for {_escape(student.student)}", "",
             f"Score: **{points_text(student.score)} / {points_text(student.max)}**", "",
             "✓ right, ≈ right from your own earlier answers (error carried forward), "
             "✗ wrong, – not answered.", ""]
    for result in student.results:
        if notation is not None:
            symbol = f"${notation.symbol(result.key)}$"
            exact = f"${notation.number(result.exact)}$"
        else:
            symbol = _escape(result.question or result.key)
            exact = f"`{format_number(result.exact, DIGITS, ascii_only=True)}`"
        mark = FEEDBACK_MARKS.get(result.verdict, "✗")
        given = f"`{result.answer}`" if result.answer is not None else "no answer"
        earned = f"{points_text(result.points)}/{points_text(result.worth)}"
        head = f"- {mark} **{result.key}** ({symbol}): {given}, {earned}"
        if result.verdict == "correct":
            lines.append(f"{head}: right")
            continue
        if result.verdict == "consistent":
            lines.append(f"{head}: right from your earlier answers ({result.reason}); "
                         f"the exact value is {exact}")
            continue
        words = {"wrong": "wrong", "imprecise": "too few digits", "unanswered": "not answered",
                 "invalid": "not a number"}[result.verdict]
        lines.append(f"{head}: {words}; the exact value is {exact}")
        if result.verdict == "wrong" and result.diagnosis is not None:
            lines.append(f"  - the slip: {_escape(result.diagnosis.message)}")
        elif result.reason:
            lines.append(f"  - {_escape(result.reason)}")
        working = (_working(notation, result) if notation is not None
                   else _key_working(result))
        if working is not None:
            lines.append(f"  - from your own numbers: {working}")
    if student.given:  # the quiz's statement of the exercise, as the student saw it
        lines += ["", "The exercise:", "", "```text", *student.given, "```"]
    return "\n".join(lines) + "\n"


def _key_working(result: GradedAnswer) -> str | None:
    """The step with the student's numbers, written with keys (an exercise without a
    dense network's notation), as inline code."""
    if result.formula is None or result.recomputed is None:
        return None
    keys, numbers = substituted(result.formula, result.operands, DIGITS)
    value = format_number(result.recomputed, DIGITS, ascii_only=True)
    return f"`{result.key} = {keys} = {numbers} = {value}`"


def _working(notation: LatexNotation, result: GradedAnswer) -> str | None:
    """The step with the student's numbers substituted, and what it gives."""
    if result.formula is None or result.recomputed is None:
        return None
    sides = [notation.symbol(result.key)]
    for side in (render(result.formula, notation),
                 render(result.formula, notation, result.operands),
                 notation.number(result.recomputed)):
        if side != sides[-1]:
            sides.append(side)
    return f"$${' = '.join(sides)}$$"


def _escape(text: str) -> str:
    """Text safe in Markdown: the characters that would start markup."""
    return "".join(f"\\{c}" if c in "\\`*_[]<>#|$" else c for c in text)


# ------------------------------------------------------------------ markdown


def grades_markdown(book: GradedClass) -> str:
    """The class as a Markdown table (a notebook's view): score, first wrong key, why."""
    lines = [f"## {_escape(book.problem)}", "",
             "| student | score | first wrong | diagnosis |", "|---|---:|---|---|"]
    for student in book.students:
        wrong = student.first_wrong
        lines.append(f"| {_cell(student.student)} | {points_text(student.score)}/"
                     f"{points_text(student.max)} | "
                     f"{_cell(wrong.key) if wrong is not None else '–'} | "
                     f"{_cell(_short_note(wrong)) if wrong is not None else ''} |")
    if book.mean is not None and book.median is not None:
        lines += ["", f"Mean {format_number(book.mean, 3, ascii_only=True)}, median "
                      f"{points_text(book.median)} (of {points_text(book.max)})."]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return _escape(text).replace("\n", " ")
