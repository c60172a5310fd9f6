"""Quiz mode: ask a student for a problem's values one at a time and judge every answer.

The core is terminal-free: a :class:`QuizSession` is fed the text a student typed
and returns :class:`Feedback` (a verdict and the lines to show); the command
(:mod:`backprop_cli.cli.quiz`) only reads lines and prints.

The student's answers take the place an author's published values have in
``backprop check``, and are judged by the same rule
(:func:`backprop_cli.checking.verdicts.judge`), with the same marks:

- **correct** (shown as "right"): the answer is the exact value rounded or
  truncated to the digits typed;
- **consistent** ("right from your earlier answers", counted as carried forward):
  it is what the step gives from the student's own earlier answers
  (:class:`~backprop_cli.checking.checker.CarriedForward`), within their rounding,
  so one slip costs one mark; the feedback names the earlier answer it follows from;
- **wrong**: neither; the feedback names the slip when one fits, shows the step in
  the worked solution's notation (:mod:`backprop_cli.render.notation`) with the
  student's numbers substituted, and the correct value.

Every answer, right or wrong, becomes "the student's value" of its key, so a
wrong value is carried into later questions exactly as an examiner marks it.

Precision: as in ``check``, a typed number claims the digits it has (``0.824``
means 0.824 rounded or truncated to three decimals, an integer or a fraction
such as ``1/2`` means exactly that). A quiz also asks for at least
:data:`MIN_SIGNIFICANT` significant digits, the precision the worked examples
use: an answer that is only right to fewer digits (``0.8`` for 0.8249: the rule's
``imprecise``) is not judged; the student is asked for more digits. Values that
are exactly short (``1.8``, ``0.5``, ``0``) need no padding.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from backprop_cli.checking.checker import KeyResult, Precision
from backprop_cli.kinds.base import Exercise
from backprop_cli.kinds.exercise import kind_of
from backprop_cli.model.questions import DEFAULT_LIMIT
from backprop_cli.numfmt import format_number

# The worked examples give three significant digits (0.824, −0.176, 0.0155).
MIN_SIGNIFICANT = 3
# Digits of the values the feedback shows (the same as check's reports).
FEEDBACK_DIGITS = 6

SKIP_WORDS = frozenset({"", "s", "skip", "pass"})
QUIT_WORDS = frozenset({"q", "quit", "exit"})
HINT_WORDS = frozenset({"?", "h", "hint", "help"})

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER_RE = re.compile(rf"^{_NUMBER}$")
_FRACTION_RE = re.compile(rf"^({_NUMBER})\s*/\s*({_NUMBER})$")
_DECIMAL_COMMA = re.compile(r"^([+-]?[0-9]*),([0-9]+)$")



# ------------------------------------------------------------------ answers


@dataclass(frozen=True)
class Answer:
    """What a student typed, read: a number, or a word (skip, quit, hint)."""

    kind: str  # number | skip | quit | hint | invalid
    value: float = 0.0
    text: str = ""  # the number as typed (normalised): its precision is judged
    exact: bool = False  # a fraction claims an exact value
    message: str = ""  # why an answer is invalid

    @property
    def precision(self) -> Precision:
        return Precision(0.0) if self.exact else Precision.of(self.text)


def parse_answer(raw: str) -> Answer:
    """Read an answer as a student types it: ``-0.0455``, ``.5``, ``1e-3``, ``1/2``, ``0,5``."""
    text = raw.strip().replace("\u2212", "-").replace("\u2013", "-").replace(" ", "")
    word = text.lower()
    if word in SKIP_WORDS:
        return Answer("skip")
    if word in QUIT_WORDS:
        return Answer("quit")
    if word in HINT_WORDS:
        return Answer("hint")
    if (comma := _DECIMAL_COMMA.match(text)) is not None:
        text = f"{comma.group(1)}.{comma.group(2)}"
    if _NUMBER_RE.match(text):
        value = float(text)
        if math.isfinite(value):
            return Answer("number", value, text)
    elif (fraction := _FRACTION_RE.match(text)) is not None:
        numerator, denominator = float(fraction.group(1)), float(fraction.group(2))
        if denominator == 0:
            return Answer("invalid", message=f"'{raw.strip()}' divides by zero")
        return Answer("number", numerator / denominator, text, exact=True)
    return Answer("invalid", message=(
        f"'{raw.strip()}' is not a number: type a number like 0.824, -.5, 1e-3 or 1/2; "
        "Enter or 'skip' to skip, '?' for the formula, 'q' to stop"))


def student_precision(typed: Precision, reference: float) -> Precision:
    """The precision an answer is judged at: as typed, but at least MIN_SIGNIFICANT digits."""
    if typed.unit == 0.0 or typed.override is not None:
        return typed
    return typed.padded(MIN_SIGNIFICANT, reference)


# ---------------------------------------------------------------- questions


# ----------------------------------------------------------------- session


@dataclass(frozen=True)
class Question:
    number: int  # 1-based
    key: str
    description: str

    @property
    def prompt(self) -> str:
        return f"{self.key} ({self.description}) = "


@dataclass
class Feedback:
    """The response to one line typed."""

    kind: str  # correct | consistent | wrong | skipped | retry | hint | quit | done
    lines: list[str] = field(default_factory=list)
    result: KeyResult | None = None


@dataclass
class Score:
    right: int = 0
    carried: int = 0
    wrong: int = 0
    skipped: int = 0
    total: int = 0  # questions in the quiz

    @property
    def asked(self) -> int:
        return self.right + self.carried + self.wrong + self.skipped

    @property
    def points(self) -> int:
        return self.right + self.carried

    def line(self) -> str:
        text = (f"Score: {self.points}/{self.asked} ({self.right} right, {self.carried} "
                f"carried forward, {self.wrong} wrong, {self.skipped} skipped)")
        if self.asked < self.total:
            text += f"; stopped after {self.asked} of {self.total} questions"
        return text


class QuizSession:
    """One student's run through an exercise's questions, fed one answer at a time.

    The exercise's kind supplies the questions and the verdicts
    (:class:`~backprop_cli.kinds.base.QuizMaterial`); the session reads what was
    typed, keeps the score and words the feedback, the same for every kind.
    """

    def __init__(self, exercise: Exercise, patterns: Sequence[str] | None = None,
                 limit: int = DEFAULT_LIMIT, digits: int = FEEDBACK_DIGITS) -> None:
        self.exercise = exercise
        self.digits = digits
        self.material = kind_of(exercise).quiz(exercise, patterns, limit, digits,
                                               MIN_SIGNIFICANT)
        self.note = self.material.note
        self.questions = [Question(i, key, self.material.describe(key))
                          for i, key in enumerate(self.material.keys, start=1)]
        self.index = 0
        self.stopped = False
        self.score = Score(total=len(self.questions))
        self.results: list[KeyResult] = []

    @property
    def current(self) -> Question | None:
        if self.stopped or self.index >= len(self.questions):
            return None
        return self.questions[self.index]

    @property
    def finished(self) -> bool:
        return self.current is None

    def given(self) -> list[str]:
        """What the student is given, as the exercise states it."""
        return self.material.given()

    def answer(self, raw: str) -> Feedback:
        """Judge ``raw`` as the answer to the current question."""
        question = self.current
        if question is None:
            return Feedback("done")
        parsed = parse_answer(raw)
        if parsed.kind == "skip":
            self.score.skipped += 1
            self.index += 1
            value = self._num(self.material.exact(question.key))
            return Feedback("skipped", [f"skipped: {question.key} = {value}"])
        if parsed.kind == "quit":
            self.stopped = True
            return Feedback("quit")
        if parsed.kind == "hint":
            return Feedback("hint", [self.material.hint(question.key)])
        if parsed.kind == "invalid":
            return Feedback("retry", [parsed.message])
        result = self.judge(question.key, parsed)
        if result is None:
            return Feedback("retry", [
                f"{parsed.text} is right only to fewer digits than asked: give at least "
                f"{MIN_SIGNIFICANT} significant digits"])
        self.material.accept(question.key, parsed.value, parsed.precision, parsed.text)
        self.results.append(result)
        self.index += 1
        if result.verdict == "correct":
            self.score.right += 1
        elif result.verdict == "consistent":
            self.score.carried += 1
        else:
            self.score.wrong += 1
        return Feedback(result.verdict, self.material.explain(result), result)

    def judge(self, key: str, answer: Answer) -> KeyResult | None:
        """The verdict on ``answer`` for ``key``, or None when it has too few digits."""
        return self.material.judge(key, answer.value, answer.precision, answer.text)

    def _num(self, value: float) -> str:
        return format_number(value, self.digits, ascii_only=True)

    def run(self, answers: Iterable[str]) -> list[Feedback]:
        """Feed ``answers`` until the quiz ends (for tests and scripts)."""
        feedback = []
        for raw in answers:
            if self.finished:
                break
            feedback.append(self.answer(raw))
        return feedback
