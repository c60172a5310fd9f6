"""The quiz of a network problem: its questions, exact values, hints and verdicts.

:class:`NetworkQuiz` is the network kind's quiz material
(:class:`~backprop_cli.kinds.base.QuizMaterial`); the session that asks and scores
(:class:`backprop_cli.app.quiz.QuizSession`) is the same for every kind. The student's
answers take the place an author's published values have in ``backprop check`` and are
judged by the same rule (:func:`backprop_cli.checking.verdicts.judge`), carried forward
through :class:`~backprop_cli.checking.checker.CarriedForward`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, Sequence

from backprop_cli.checking.checker import CarriedForward, KeyResult, Precision, ProblemSlips
from backprop_cli.checking.verdicts import (
    Judged,
    Operand,
    OperandStatus,
    correct_at_once,
    judge,
)
from backprop_cli.engine import solve
from backprop_cli.expr import Expr, render
from backprop_cli.kinds.base import QuizError, verdict_lines
from backprop_cli.model.formulas import Formulas
from backprop_cli.model.keyspace import parse_key
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.model.problem import Problem
from backprop_cli.model.questions import (
    default_selection,
    match_patterns,
    question_order,
    select_keys,
)
from backprop_cli.numfmt import format_number
from backprop_cli.render.notation import UnicodeNotation

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
    lines += schedule_lines(problem)
    frozen = [name for name, p in problem.parameters.items() if p.frozen]
    if frozen:
        lines.append(f"  frozen (never updated): {', '.join(frozen)}")
    return ["Given:", *lines]


class NetworkQuiz:
    """The questions of one network problem and the verdict on each answer, with the
    student's own earlier answers standing where an author's values stand in check."""

    def __init__(self, problem: Problem, patterns: Sequence[str] | None, limit: int,
                 digits: int, min_digits: int) -> None:
        self.problem = problem
        self.title = problem.title
        self.digits = digits
        self.min_digits = min_digits
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
        self.keys = keys
        # the worked solution's notation (∂L/∂v1 = δ_o·a_h1), so feedback reads like it
        self.notation = UnicodeNotation(problem, digits)
        self.values = solve(problem, recorded_keys(problem, keys),
                            steps=steps_needed(problem, keys)).values
        self.formulas = Formulas(problem)
        self.work = StudentWork(problem, self.values, self.formulas, min_digits)

    def fresh(self) -> NetworkQuiz:
        other = copy.copy(self)  # the values, formulas and questions, shared
        other.work = StudentWork(self.problem, self.values, self.formulas, self.min_digits)
        return other

    @property
    def askable(self) -> list[str]:
        return list(question_order(self.problem, (1,)))

    def given(self) -> list[str]:
        return given_lines(self.problem)

    def describe(self, key: str) -> str:
        return describe_key(key, self.notation)

    def exact(self, key: str) -> float:
        return self.values[key]

    def judge(self, key: str, value: float, typed: Precision, text: str) -> KeyResult | None:
        """The verdict on an answer for ``key``, or None when it has too few digits."""
        judged, expr, operands = self.work.judge(key, value, typed)
        if judged.verdict == "imprecise":
            return None  # right only at a precision coarser than a quiz asks for
        result = KeyResult(key=key, expected=value, text=text, actual=self.values[key],
                           verdict=judged.verdict, recomputed=judged.recomputed,
                           reason=judged.reason, diagnosis=judged.diagnosis)
        if expr is not None and operands is not None:
            result.formula = expr
            result.operands = {ref: operand.value for ref, operand in operands.items()}
        return result

    def accept(self, key: str, value: float, typed: Precision, text: str) -> None:
        """The student's answer becomes their value of ``key`` for the later questions."""
        self.work.accept(key, value, typed, text)

    def hint(self, key: str) -> str:
        expr = self.formulas.for_key(key)
        if expr is None:
            return f"{key} is given"
        return f"{self.notation.symbol(key)} = {render(expr, self.notation)}"

    def explain(self, result: KeyResult) -> list[str]:
        lines = verdict_lines(result, self._num(result.actual))
        step = self._step(result) if result.verdict == "wrong" else None
        if step is not None:
            assert result.recomputed is not None
            own = not math.isclose(result.recomputed, result.actual, rel_tol=1e-9,
                                   abs_tol=1e-12)
            lines.append(f"  {step}" + (" from your earlier answers" if own else ""))
        return lines

    def _num(self, value: float) -> str:
        return format_number(value, self.digits, ascii_only=True)

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


class StudentWork:
    """One student's values so far, standing where an author's stand in `check`: the
    verdict on each of their answers by the one rule, errors carried forward through
    their own earlier answers. The quiz and grading (:mod:`backprop_cli.app.grading`)
    judge with it; the exact values and formulas are computed once and shared."""

    def __init__(self, problem: Problem, values: Mapping[str, float], formulas: Formulas,
                 min_digits: int) -> None:
        self.problem = problem
        self.values = values
        self.formulas = formulas
        self.min_digits = min_digits
        self.carried = CarriedForward(problem, values, formulas)
        # The student's answers take the place of the author's: never the file's own.
        self.carried.author.clear()
        # how the student wrote each answer, and what its verdict made of it
        self.written: dict[str, tuple[Precision, str]] = {}
        self.judged: dict[str, OperandStatus] = {}
        self.slips = ProblemSlips(problem, formulas, self.carried)

    def judge(self, key: str, value: float, typed: Precision
              ) -> tuple[Judged, Expr | None, dict[str, Operand] | None]:
        """The verdict on ``value`` for ``key``, the step's formula and the student's
        operands (None for a value right at once: it needs no recomputation)."""
        actual = self.values[key]
        if correct_at_once(value, typed, actual, self.min_digits):
            judged = Judged("correct", basis="exact" if value == actual else "rounded")
            self.judged[key] = judged.basis
            return judged, None, None
        expr = self.formulas.for_key(key)
        operands = None
        if expr is not None:
            operands = self.carried.operand_records(expr, self.values, self.written,
                                                    self.judged)
        judged = judge(key, value, typed, actual, expr, operands,
                       min_digits=self.min_digits, slips=self.slips,
                       one_rounding=self.problem.round is not None)
        if judged.verdict != "imprecise":
            self.judged[key] = judged.basis
        return judged, expr, operands

    def accept(self, key: str, value: float, typed: Precision, text: str) -> None:
        """The student's answer becomes their value of ``key`` for the later questions."""
        self.carried.author[key] = value
        # Questions come in computation order, so nothing recomputed so far reads this
        # key: only its own memo entry (if any) is stale. Clearing all of it would redo
        # a long run's chain of steps for every answer.
        self.carried.memo.pop(key, None)
        self.written[key] = (typed, text)


def steps_needed(problem: Problem, keys: Iterable[str]) -> int:
    """The updates to run: the problem's when a final. key is asked, else the last step's."""
    last = 1
    for key in keys:
        parts = parse_key(key, problem)
        if parts is not None:
            if parts.step is None:
                return problem.steps
            last = max(last, parts.step)
    return min(problem.steps, last)


def recorded_keys(problem: Problem, keys: list[str]) -> list[str]:
    """What the engine records: the asked keys and the leaves recomputations start from."""
    return [*keys, "input.*", "target.*", *problem.parameters]


def schedule_lines(problem: Problem | LayeredProblem) -> list[str]:
    """The quiz's given lines of the batches and hand-calculation mode (a dense and a
    layered network's alike)."""
    lines = []
    if problem.batch_size is not None and problem.batch_size < problem.n_samples:
        first = problem.batch(1)
        lines.append(f"  batches of {problem.batch_size}: step 1 uses samples "
                     f"{first.start + 1}–{first.stop}")
    if problem.round is not None:
        lines.append(f"  round every value to {problem.round} decimals as you go")
    return lines
