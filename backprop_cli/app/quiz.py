"""Quiz mode: ask a student for a problem's values one at a time and judge every answer.

The core is terminal-free: a :class:`QuizSession` is fed the text a student typed
and returns :class:`Feedback` (a verdict and the lines to show); the command
(:mod:`backprop_cli.cli.quiz`) only reads lines and prints.

The student's answers take the place an author's published values have in
``backprop check``, and are judged with the checker's machinery:

- **correct** (shown as "right"): the answer agrees with the exact value at the
  precision it was typed with (:class:`~backprop_cli.checking.checker.Precision`);
- **consistent** ("carried forward"): it is right when the step is recomputed
  from the student's own earlier answers
  (:class:`~backprop_cli.checking.checker.CarriedForward`), so one slip costs one mark;
- **wrong**: neither; the feedback shows the step in the worked solution's
  notation (:mod:`backprop_cli.render.notation`) with the student's numbers
  substituted, and the correct value.

Every answer, right or wrong, becomes "the student's value" of its key, so a
wrong value is carried into later questions exactly as an examiner marks it.

Precision: as in ``check``, a typed number claims the digits it has (``0.824``
means 0.824 rounded or truncated to three decimals, an integer or a fraction
such as ``1/2`` means exactly that). A quiz also asks for at least
:data:`MIN_SIGNIFICANT` significant digits, the precision the worked examples
use: an answer that is only right to fewer digits (``0.8`` for 0.8249) is not
judged; the student is asked for more digits. Values that are exactly short
(``1.8``, ``0.5``, ``0``) need no padding.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from backprop_cli.checking.checker import CarriedForward, KeyResult, Precision
from backprop_cli.engine.passes import solve
from backprop_cli.errors import suggest
from backprop_cli.expr import render
from backprop_cli.model.formulas import Formulas
from backprop_cli.model.keys import KeyParts, ordered_keys, parse_key
from backprop_cli.model.problem import Problem
from backprop_cli.numfmt import format_number
from backprop_cli.render.notation import UnicodeNotation

# The worked examples give three significant digits (0.824, −0.176, 0.0155).
MIN_SIGNIFICANT = 3
# More default questions than this and the quiz follows one path through the network.
DEFAULT_LIMIT = 40
# Digits of the values the feedback shows (the same as check's reports).
FEEDBACK_DIGITS = 6

SKIP_WORDS = frozenset({"", "s", "skip", "pass"})
QUIT_WORDS = frozenset({"q", "quit", "exit"})
HINT_WORDS = frozenset({"?", "h", "hint", "help"})

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER_RE = re.compile(rf"^{_NUMBER}$")
_FRACTION_RE = re.compile(rf"^({_NUMBER})\s*/\s*({_NUMBER})$")
_DECIMAL_COMMA = re.compile(r"^([+-]?[0-9]*),([0-9]+)$")

VERDICT_MARKS = {"correct": "✓", "consistent": "≈", "wrong": "✗"}


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
    if reference == 0.0 or not math.isfinite(reference):
        return typed
    required = 10.0 ** (math.floor(math.log10(abs(reference))) - (MIN_SIGNIFICANT - 1))
    return Precision(min(typed.unit, required))


# ---------------------------------------------------------------- questions


def is_given(parts: KeyParts) -> bool:
    """Data and starting parameters are part of the question, not of the answer."""
    return parts.kind in ("input", "target") or (parts.kind == "param" and parts.step == 1)


def question_order(problem: Problem, only_steps: Collection[int] | None = None
                   ) -> Iterator[str]:
    """:func:`~backprop_cli.model.keys.ordered_keys` (of ``only_steps``, with the data and the
    final pass), with a softmax layer's activations after all of its pre-activations:
    each of them reads the whole layer's z."""
    softmax_units = {u for layer in problem.layers if layer.activation.per_layer
                     for u in layer.units}
    last_units = {layer.units[-1] for layer in problem.layers if layer.activation.per_layer}
    waiting: list[str] = []
    for key in ordered_keys(problem, only_steps):
        parts = parse_key(key, problem) if softmax_units else None
        if parts is not None and parts.kind == "a" and parts.name in softmax_units:
            waiting.append(key)
            if parts.name in last_units:
                yield from waiting
                waiting.clear()
            continue
        yield key


def exercise_keys(problem: Problem) -> list[str]:
    """What an exercise asks for, in computation order: step 1's z, a, loss, deltas,
    parameter gradients, the optimizer's values (momentum's v, Adam's m, s, m̂, ŝ) and
    updated parameters; per sample where there are samples (those of step 1's batch),
    but the batch's gradients, not each sample's contribution."""
    keys = []
    for key in question_order(problem, (1,)):
        parts = parse_key(key, problem)
        if parts is None:
            continue
        if parts.step != 1:
            break  # ordered_keys lists all of step 1 first
        # a parameter's gradient for the batch, not each sample's contribution
        if parts.kind in ("z", "a", "loss", "grad.z", "new", *problem.optimizer.kinds) or (
                parts.kind == "grad" and parts.sample is None):
            keys.append(key)
    return keys


def default_keys(problem: Problem, limit: int = DEFAULT_LIMIT) -> list[str]:
    """The exercise keys; for a large network, one path through it, at most ``limit``.

    The path: the first unit of every hidden layer and the output units, the
    loss, and the parameters of those units that read the path (or are biases).
    """
    keys = exercise_keys(problem)
    if len(keys) <= limit:
        return keys
    chosen: set[str] = set(problem.output_names)
    for layer in problem.layers[:-1]:
        chosen.add(layer.units[0])
    on_path = set(chosen) | {problem.input_names[0]}
    params: set[str] = set()
    for name, param in problem.parameters.items():
        for use in param.uses:
            layer = problem.layers[use.layer]
            source = problem.layer_inputs(use.layer)[use.col] if not use.is_bias else None
            if layer.units[use.row] in chosen and (source is None or source in on_path):
                params.add(name)
    path = []
    for key in keys:
        parts = parse_key(key, problem)
        assert parts is not None
        if parts.kind in ("grad", "new"):
            if parts.name in params:
                path.append(key)
        elif parts.kind == "loss" or parts.name in chosen:
            path.append(key)
    return path[:limit]


def _steps_matched(pattern: str) -> set[int] | None:
    """The steps whose keys ``pattern`` can match (None: any), so that a long run's
    thousands of step keys are listed only when a pattern can reach them."""
    literal = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
    if (step := re.match(r"step([0-9]+)\.", literal)) is not None:
        return {int(step.group(1))}
    if "step".startswith(literal) or re.fullmatch(r"step[0-9]*", literal):
        return None
    return {1}  # unprefixed keys are step 1's; data and final. keys are always listed


# Keys kept as candidates for a "did you mean" (the first steps' keys name every kind): the
# memory stays flat in steps, and difflib is never handed a million keys.
SUGGESTION_POOL = 5_000


def match_patterns(problem: Problem, patterns: Sequence[str], max_steps: int | None = None
                   ) -> tuple[list[str], dict[str, str]]:
    """The computed keys matching ``patterns`` (keys or globs) in question order, and
    why each pattern that matches none does not (for an error message).

    ``max_steps``: look at most at the first ``max_steps`` steps and the last (checking
    a file's patterns when it is loaded: a million steps are never listed for that)."""
    steps: set[int] | None = set()
    for pattern in patterns:
        reach = _steps_matched(pattern)
        steps = None if reach is None or steps is None else steps | reach
    if steps is None and max_steps is not None and problem.steps > max_steps:
        steps = {*range(1, max_steps + 1), problem.steps}
    regexes = [re.compile(fnmatch.translate(pattern)) for pattern in patterns]
    any_key = [False] * len(patterns)
    computed_key = [False] * len(patterns)
    selected: list[str] = []
    computed: list[str] = []
    for key in question_order(problem, steps):
        parts = parse_key(key, problem)
        given = parts is None or is_given(parts)
        if not given and len(computed) < SUGGESTION_POOL:
            computed.append(key)
        hit = False
        for index, regex in enumerate(regexes):
            if regex.match(key):
                any_key[index] = True
                computed_key[index] = computed_key[index] or not given
                hit = True
        if hit and not given:
            selected.append(key)
    errors = {}
    for index, pattern in enumerate(patterns):
        if not computed_key[index]:
            errors[pattern] = ("names only given values (inputs, targets, starting parameters)"
                               if any_key[index] else
                               f"matches no value key{suggest(pattern, computed)}")
    return selected, errors


def select_keys(problem: Problem, patterns: Sequence[str]) -> list[str]:
    """The computed keys matching ``patterns`` (keys or globs), in question order."""
    return match_patterns(problem, patterns)[0]


KIND_WORDS = {"z": "pre-activation", "a": "activation", "dadz": "derivative", "loss": "loss",
              "grad.a": "gradient", "grad.z": "delta", "grad": "gradient", "new": "updated",
              "param": "parameter", "input": "input", "target": "target",
              # the optimizer's values (momentum; Adam)
              "v": "velocity", "m": "first moment", "s": "second moment",
              "mhat": "corrected first moment", "shat": "corrected second moment"}


def describe_key(key: str, notation: UnicodeNotation) -> str:
    """In words and the worked solution's symbol: 'pre-activation z_h1', 'delta δ_o'."""
    parts = notation.parts(key)
    if parts is None:
        return key
    word = KIND_WORDS.get(parts.kind, "value")
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
        if patterns:
            keys, errors = match_patterns(problem, patterns)
            if errors:
                pattern, why = next(iter(errors.items()))
                raise QuizError(f"'{pattern}' {why}")
        elif problem.quiz:
            keys = select_keys(problem, problem.quiz)
        else:
            keys = default_keys(problem, limit)
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
        if student_precision(typed, actual).agrees(answer.value, actual):
            result.verdict = "correct"  # as in check: a right value needs no recomputation
            return result
        expr = self.formulas.for_key(key)
        if expr is not None:
            result.formula = expr
            result.operands = self.carried.operands(expr)
            result.recomputed = expr.evaluate(result.operands)
        recomputed = result.recomputed
        if recomputed is not None and student_precision(typed, recomputed).agrees(
                answer.value, recomputed, carried=False):
            result.verdict = "consistent"
        elif typed.agrees(answer.value, actual) or (
                recomputed is not None and typed.agrees(answer.value, recomputed, carried=False)):
            return None  # right only at a precision coarser than a quiz asks for
        else:
            result.reason = "wrong"
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
            return [f"{mark} carried forward: right from your earlier answers "
                    f"(the exact value is {exact})"]
        lines = [f"{mark} wrong: {result.key} = {exact}"]
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
