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

from backprop_cli.checking.checker import CarriedForward, KeyResult, Precision, ProblemSlips
from backprop_cli.checking.verdicts import OperandStatus, correct_at_once, judge
from backprop_cli.engine import solve
from backprop_cli.expr import render
from backprop_cli.model.formulas import Formulas
from backprop_cli.model.keyspace import parse_key
from backprop_cli.model.problem import Problem
from backprop_cli.model.questions import (
    DEFAULT_LIMIT,
    default_selection,
    match_patterns,
    select_keys,
)
from backprop_cli.numfmt import format_number
from backprop_cli.render.marks import VERDICT_SYMBOLS
from backprop_cli.render.notation import UnicodeNotation

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

VERDICT_MARKS = VERDICT_SYMBOLS  # the one table of marks (render.marks)


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


KIND_WORDS = {"z": "pre-activation", "a": "activation", "dadz": "derivative", "loss": "loss",
              "grad.a": "gradient", "grad.z": "delta", "grad": "gradient", "new": "updated",
              "param": "parameter", "input": "input", "target": "target"}
# the optimizer's values (v, m, s...) are named by its spec (OptimizerSpec.words)


def describe_key(key: str, notation: UnicodeNotation) -> str:
    """In words and the worked solution's symbol: 'pre-activation z_h1', 'delta δ_o'."""
    parts = notation.parts(key)
    if parts is None:
        return key
    word = KIND_WORDS.get(parts.kind) or dict(notation.problem.optimizer.spec.words).get(
        parts.kind, "value")
    if parts.kind == "loss" and parts.sample is None and notation.problem.has_samples:
        word = "batch loss"
    text = f"{word} {notation.symbol(key)}"
    if parts.step is None:
        text += ", after the last update"
    return text


def given_lines(problem: Problem) -> list[str]:
    """What the student is given: data, parameters, activations, loss, learning rate."""
    def num(value: float) -> str:
        return format_number(value, 6)

    lines = []
    for k in range(problem.n_samples):
        head = f"sample {k + 1}: " if problem.has_samples else ""
        inputs = ", ".join(f"{name} = {num(problem.inputs[k, j])}"
                           for j, name in enumerate(problem.input_names))
        targets = ", ".join(f"{name} = {num(problem.targets[k, j])}"
                            for j, name in enumerate(problem.output_names))
        lines.append(f"  {head}input {inputs}; target {targets}")
    for layer in problem.layers:
        lines.append(f"  layer {layer.index}, {layer.activation.label}: {', '.join(layer.units)}")
        for row, unit in enumerate(layer.units):
            terms = [f"{name} = {num(layer.weights[row, col])} (from {layer.input_names[col]})"
                     for col, name in enumerate(layer.weight_names[row])]
            if layer.bias is not None and layer.bias_names is not None:
                terms.append(f"bias {layer.bias_names[row]} = {num(layer.bias[row])}")
            lines.append(f"    {unit}: {', '.join(terms)}")
    setting = f"  loss: {problem.loss.label}"
    batched = problem.batch_size is not None and problem.batch_size < problem.n_samples
    if problem.has_samples:
        over = "each batch" if batched else f"{problem.n_samples} samples"
        setting += f" ({problem.reduction} over {over})"
    setting += f"; learning rate {num(problem.learning_rate)}"
    lines.append(setting)
    if problem.optimizer.name != "sgd":
        lines.append(f"  optimizer: {problem.optimizer.label}")
    if problem.weight_decay:
        lines.append(f"  weight decay λ = {num(problem.weight_decay)} (on the weights)")
    if batched:
        first = problem.batch(1)
        lines.append(f"  batches of {problem.batch_size}: step 1 uses samples "
                     f"{first.start + 1}–{first.stop}")
    if problem.round is not None:
        lines.append(f"  round every value to {problem.round} decimals as you go")
    frozen = [name for name, p in problem.parameters.items() if p.frozen]
    if frozen:
        lines.append(f"  frozen (never updated): {', '.join(frozen)}")
    return ["Given:", *lines]


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


class QuizError(Exception):
    """A pattern asked for that matches no computed value."""


class QuizSession:
    """One student's run through a problem's questions, fed one answer at a time."""

    def __init__(self, problem: Problem, patterns: Sequence[str] | None = None,
                 limit: int = DEFAULT_LIMIT, digits: int = FEEDBACK_DIGITS) -> None:
        self.problem = problem
        self.digits = digits
        self.note: str | None = None  # what the default questions leave out, and how to ask
        if patterns:
            keys, errors = match_patterns(problem, patterns)
            if errors:
                pattern, why = next(iter(errors.items()))
                raise QuizError(f"'{pattern}' {why}")
        elif problem.quiz:
            keys = select_keys(problem, problem.quiz)
        else:
            keys, self.note = default_selection(problem, limit)
        # the worked solution's notation (∂L/∂v1 = δ_o·a_h1), so feedback reads like it
        self.notation = UnicodeNotation(problem, digits)
        self.questions = [Question(i, key, describe_key(key, self.notation))
                          for i, key in enumerate(keys, start=1)]
        self.values = solve(problem, _recorded(problem, keys), steps=_steps_needed(
            problem, keys)).values
        self.formulas = Formulas(problem)
        self.carried = CarriedForward(problem, self.values, self.formulas)
        # The student's answers take the place of the author's: never the file's own.
        self.carried.author.clear()
        # how the student wrote each answer, and what its verdict made of it
        self.written: dict[str, tuple[Precision, str]] = {}
        self.judged: dict[str, OperandStatus] = {}
        self.slips = ProblemSlips(problem, self.formulas, self.carried)
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

    def answer(self, raw: str) -> Feedback:
        """Judge ``raw`` as the answer to the current question."""
        question = self.current
        if question is None:
            return Feedback("done")
        parsed = parse_answer(raw)
        if parsed.kind == "skip":
            self.score.skipped += 1
            self.index += 1
            value = self._num(self.values[question.key])
            return Feedback("skipped", [f"skipped: {question.key} = {value}"])
        if parsed.kind == "quit":
            self.stopped = True
            return Feedback("quit")
        if parsed.kind == "hint":
            return Feedback("hint", [self._hint(question.key)])
        if parsed.kind == "invalid":
            return Feedback("retry", [parsed.message])
        result = self.judge(question.key, parsed)
        if result is None:
            return Feedback("retry", [
                f"{parsed.text} is right only to fewer digits than asked: give at least "
                f"{MIN_SIGNIFICANT} significant digits"])
        self.carried.author[question.key] = parsed.value
        # Questions come in computation order, so nothing recomputed so far reads this
        # key: only its own memo entry (if any) is stale. Clearing all of it would redo
        # a long run's chain of steps for every answer.
        self.carried.memo.pop(question.key, None)
        self.written[question.key] = (parsed.precision, parsed.text)
        self.results.append(result)
        self.index += 1
        if result.verdict == "correct":
            self.score.right += 1
        elif result.verdict == "consistent":
            self.score.carried += 1
        else:
            self.score.wrong += 1
        return Feedback(result.verdict, self._explain(result), result)

    def judge(self, key: str, answer: Answer) -> KeyResult | None:
        """The verdict on ``answer`` for ``key``, or None when it has too few digits."""
        actual = self.values[key]
        result = KeyResult(key=key, expected=answer.value, text=answer.text, actual=actual,
                           verdict="wrong")
        typed = answer.precision
        if correct_at_once(answer.value, typed, actual, MIN_SIGNIFICANT):
            result.verdict = "correct"  # as in check: a right value needs no recomputation
            self.judged[key] = "exact" if answer.value == actual else "rounded"
            return result
        expr = self.formulas.for_key(key)
        operands = None
        if expr is not None:
            operands = self.carried.operand_records(expr, self.values, self.written,
                                                    self.judged)
            result.formula = expr
            result.operands = {ref: operand.value for ref, operand in operands.items()}
        judged = judge(key, answer.value, typed, actual, expr, operands,
                       min_digits=MIN_SIGNIFICANT, slips=self.slips)
        if judged.verdict == "imprecise":
            return None  # right only at a precision coarser than a quiz asks for
        result.verdict = judged.verdict
        result.recomputed = judged.recomputed
        result.reason = judged.reason
        result.diagnosis = judged.diagnosis
        self.judged[key] = judged.basis
        return result

    # ---------------------------------------------------------- feedback

    def _num(self, value: float) -> str:
        return format_number(value, self.digits, ascii_only=True)

    def _hint(self, key: str) -> str:
        expr = self.formulas.for_key(key)
        if expr is None:
            return f"{key} is given"
        return f"{self.notation.symbol(key)} = {render(expr, self.notation)}"

    def _step(self, result: KeyResult) -> str | None:
        """The step as the worked solution writes it, with the student's numbers."""
        if result.formula is None or result.recomputed is None:
            return None
        notation = self.notation
        sides = [notation.symbol(result.key)]
        for side in (render(result.formula, notation),
                     render(result.formula, notation, result.operands),
                     notation.number(result.recomputed)):
            if side != sides[-1]:  # ∂L/∂b3 = δ_o = −0.0253, not "= −0.0253" twice
                sides.append(side)
        return " = ".join(sides)

    def _explain(self, result: KeyResult) -> list[str]:
        mark = VERDICT_MARKS[result.verdict]
        exact = self._num(result.actual)
        if result.verdict == "correct":
            return [f"{mark} right ({result.key} = {exact})"]
        if result.verdict == "consistent":
            return [f"{mark} right from your earlier answers: {result.reason}; "
                    f"the exact value is {exact}"]
        lines = [f"{mark} wrong: {result.key} = {exact}"]
        if result.diagnosis is not None:
            lines.append(f"  {result.diagnosis.message}")
        step = self._step(result)
        if step is not None:
            assert result.recomputed is not None
            own = not math.isclose(result.recomputed, result.actual, rel_tol=1e-9,
                                   abs_tol=1e-12)
            lines.append(f"  {step}" + (" from your earlier answers" if own else ""))
        return lines

    # ------------------------------------------------------------ driving

    def run(self, answers: Iterable[str]) -> list[Feedback]:
        """Feed ``answers`` until the quiz ends (for tests and scripts)."""
        feedback = []
        for raw in answers:
            if self.finished:
                break
            feedback.append(self.answer(raw))
        return feedback


def _steps_needed(problem: Problem, keys: Iterable[str]) -> int:
    """The updates to run: the problem's when a final. key is asked, else the last step's."""
    last = 1
    for key in keys:
        parts = parse_key(key, problem)
        if parts is not None:
            if parts.step is None:
                return problem.steps
            last = max(last, parts.step)
    return min(problem.steps, last)


def _recorded(problem: Problem, keys: list[str]) -> list[str]:
    """What the engine records: the asked keys and the leaves recomputations start from."""
    return [*keys, "input.*", "target.*", *problem.parameters]
