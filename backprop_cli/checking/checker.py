"""Judging an author's answers: correct, consistent (error carried forward), wrong.

For each key in a file's ``expected``:

- ``correct``: the published value agrees with the exact one at the precision
  it was written with (rounding or truncation to the digits written, plus a
  little slack for rounding carried from earlier steps). Integers and 0 are
  judged tightly. A file-level ``tolerance`` or a per-key one overrides this.
- ``consistent``: not correct, but equal (to the digits written) to the step
  recomputed from the author's own earlier numbers, through the same formula
  the worked solution prints (:mod:`backprop_cli.model.formulas`). The author's
  values are used wherever the file gives one, recomputed values elsewhere.
- ``wrong``: neither.
- ``erratum``: the file marks the published value as wrong and gives the
  correction; the published value must indeed be wrong and the correction
  right, otherwise the entry is ``wrong`` with the reason.

The first ``wrong`` key in computation order is the one to look at.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

from backprop_cli.expr import Expr
from backprop_cli.model.formulas import Formulas
from backprop_cli.model.keys import key_rank, parse_key, prefix_for
from backprop_cli.model.problem import Expected, Problem
from backprop_cli.records import field, record

PASSING = frozenset({"correct", "consistent", "erratum"})

# Rounding carried from earlier steps: up to this many units in the last digit
# written, but never more than this fraction of the value.
CARRIED_UNITS = 2.0
CARRIED_FRACTION = 0.005
EXACT_TOLERANCE = 1e-9


@record(frozen=True)
class Precision:
    """What a written number claims: its last digit's unit, or exactness."""

    unit: float  # 10**-decimals; 0 for exact-looking values
    override: float | None = None  # an explicit absolute tolerance

    @classmethod
    def of(cls, text: str, override: float | None = None) -> Precision:
        body = text.strip().lstrip("+-")
        lowered = body.lower()
        if "e" in lowered:
            mantissa, exponent = lowered.split("e", 1)
            decimals = len(mantissa.split(".", 1)[1]) if "." in mantissa else 0
            return cls(10.0 ** (int(exponent) - decimals), override)
        if "." not in body:
            return cls(0.0, override)
        return cls(10.0 ** -len(body.split(".", 1)[1]), override)

    def agrees(self, written: float, exact: float, carried: bool = True) -> bool:
        """Whether ``written`` is ``exact`` written to this precision."""
        difference = abs(written - exact)
        if self.override is not None:
            return difference <= self.override
        if self.unit == 0.0:
            return difference <= EXACT_TOLERANCE * max(1.0, abs(exact))
        slack = min(CARRIED_UNITS * self.unit, CARRIED_FRACTION * abs(exact)) if carried else 0.0
        slack += 1e-12 * max(1.0, abs(exact))  # binary floating point
        if difference <= 0.5 * self.unit + slack:
            return True
        # truncation: the same sign, and short of the exact value by less than one unit
        shortfall = abs(exact) - abs(written)
        same_sign = written == 0 or math.copysign(1, written) == math.copysign(1, exact)
        return same_sign and 0 <= shortfall < self.unit + slack


@record
class KeyResult:
    """The verdict on one expected value."""

    key: str
    expected: float  # the published value
    text: str  # as written in the file
    actual: float  # the exact value
    verdict: str
    # the step recomputed from the author's own numbers (when the value is not correct)
    recomputed: float | None = None
    erratum: float | None = None
    erratum_text: str | None = None
    note: str | None = None
    line: int | None = None
    column: int | None = None
    reason: str | None = None  # why a 'wrong' verdict, in words
    formula: Expr | None = None
    # the numbers the recomputation used (the author's where given)
    operands: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.verdict in PASSING

    @property
    def difference(self) -> float:
        return self.expected - self.actual


class CarriedForward:
    """Values as the author would have them: theirs where given, recomputed elsewhere."""

    def __init__(self, problem: Problem, actual: Mapping[str, float],
                 formulas: Formulas) -> None:
        self.problem = problem
        self.actual = actual
        self.formulas = formulas
        self.author = {key: entry.value for key, entry in problem.expected.items()}
        self.memo: dict[str, float] = {}
        self.by_step: dict[int, list[str]] = {}  # memo keys of steps 2 on, to drop later
        self.warmed = 0  # the steps whose handed-on values are in memo, in order

    def value(self, key: str) -> float:
        """The author's value of ``key``, or its recomputation from the author's values."""
        if key in self.author:
            return self.author[key]
        return self.recompute(key)

    def recompute(self, key: str) -> float:
        """``key``'s formula evaluated on the author's values.

        Iteratively (chains are long), and step by step: before a key of step K, the
        values each step hands to the next (the updated parameters and the optimizer's
        state) are recomputed for steps 1, 2, … K − 1 in order, and what the steps before
        the last two computed is dropped. The search behind one key then never goes back
        more than a step, so memory stays flat in the number of steps (a million steps
        do not make a million steps of pending keys). Every value is the same
        evaluation of the same formula on the same operands: the results are the same.
        """
        if key in self.memo:
            return self.memo[key]
        step = self._step_of(key)
        if step is not None and step > 2:
            self._warm_up(step - 1)
        return self._search(key)

    def _search(self, key: str) -> float:
        if key in self.memo:
            return self.memo[key]
        stack = [key]
        while stack:
            current = stack[-1]
            if current in self.memo:
                stack.pop()
                continue
            expr = self.formulas.for_key(current)
            if expr is None:
                self._keep(current, self.actual[current])
                stack.pop()
                continue
            missing = [ref for ref in expr.refs()
                       if ref not in self.author and ref not in self.memo]
            if missing:
                stack.extend(missing)
                continue
            operands = {ref: self.value(ref) for ref in expr.refs()}
            self._keep(current, expr.evaluate(operands))
            stack.pop()
        return self.memo[key]

    def _keep(self, key: str, value: float) -> None:
        self.memo[key] = value
        step = self._step_of(key)
        if step is not None and step > 1:
            self.by_step.setdefault(step, []).append(key)

    def _step_of(self, key: str) -> int | None:
        """The step of ``key`` (the final pass counts as the step after the last), or
        None for data and the keys of step 1."""
        if key.startswith("final."):
            return self.problem.steps + 1
        if not key.startswith("step"):
            return None
        dot = key.find(".")
        return int(key[4:dot]) if key[4:dot].isdigit() else None

    def _warm_up(self, last: int) -> None:
        """Recompute what steps 1 … ``last`` hand on, in order, keeping two steps."""
        if last < self.warmed:  # an earlier step asked after later ones: start again
            self.memo.clear()
            self.by_step.clear()
            self.warmed = 0
        problem = self.problem
        kinds = ("new", *problem.optimizer.kinds)
        for step in range(self.warmed + 1, last + 1):
            prefix = prefix_for(step)
            for name in problem.parameters:
                for kind in kinds:
                    handed = f"{prefix}{kind}.{name}"
                    if handed not in self.author and parse_key(handed, problem) is not None:
                        self._search(handed)
            for old in [s for s in self.by_step if s < step - 1]:
                for dropped in self.by_step.pop(old):
                    self.memo.pop(dropped, None)
            self.warmed = step

    def operands(self, expr: Expr) -> dict[str, float]:
        return {ref: self.value(ref) for ref in expr.refs()}


class WithLeaves(Mapping[str, float]):
    """Recorded values, and the leaves of every recomputation (the data and the starting
    parameters) read from the problem itself, so a run need record only the expected keys."""

    def __init__(self, problem: Problem, recorded: Mapping[str, float]) -> None:
        self.problem = problem
        self.recorded = recorded

    def __getitem__(self, key: str) -> float:
        if key in self.recorded:
            return self.recorded[key]
        parts = parse_key(key, self.problem)
        problem = self.problem
        if parts is None or parts.step != 1 or parts.kind not in ("input", "target", "param"):
            raise KeyError(key)
        if parts.kind == "param":
            value = problem.parameters[parts.name].value
            if problem.round is not None:
                from backprop_cli.rounding import round_value

                value = round_value(value, problem.round)
            return value
        row = parts.sample or 0
        if parts.kind == "input":
            return float(problem.inputs[row, problem.input_names.index(parts.name)])
        return float(problem.targets[row, problem.output_names.index(parts.name)])

    def __iter__(self) -> Iterator[str]:
        return iter(self.recorded)

    def __len__(self) -> int:
        return len(self.recorded)


def check_values(problem: Problem, values: Mapping[str, float]) -> list[KeyResult]:
    """Verdicts for every expected key, in computation order.

    ``values`` must hold the expected keys; anything else a recomputation reads
    (data, starting parameters) is taken from the problem when not recorded.
    """
    if not problem.expected:
        return []
    values = WithLeaves(problem, values)
    recomputation = _Recomputation(problem, values)
    return [_judge(problem, entry, values, recomputation)
            for entry in _expected_in_order(problem)]


class _Recomputation:
    """The formulas and the author's carried values, made on first use: a file whose
    values are all correct (most files) needs neither."""

    def __init__(self, problem: Problem, values: Mapping[str, float]) -> None:
        self.problem = problem
        self.values = values
        self._made: tuple[Formulas, CarriedForward] | None = None

    def tools(self) -> tuple[Formulas, CarriedForward]:
        if self._made is None:
            formulas = Formulas(self.problem)
            self._made = formulas, CarriedForward(self.problem, self.values, formulas)
        return self._made


def _expected_in_order(problem: Problem) -> list[Expected]:
    """The expected entries in computation order (keys of no value of the problem last)."""
    ranked = []
    unknown = []
    for key, entry in problem.expected.items():
        parts = entry.parts if entry.parts is not None else parse_key(key, problem)
        if parts is None:
            unknown.append(entry)
        else:
            ranked.append((key_rank(parts, problem), entry))
    ranked.sort(key=lambda item: item[0])  # every key has a rank of its own
    return [entry for _, entry in ranked] + unknown


def _judge(problem: Problem, entry: Expected, values: Mapping[str, float],
           recomputation: _Recomputation) -> KeyResult:
    tolerance = entry.tolerance if entry.tolerance is not None else problem.tolerance
    precision = Precision.of(entry.text, tolerance)
    actual = values[entry.key]
    result = KeyResult(key=entry.key, expected=entry.value, text=entry.text, actual=actual,
                       verdict="wrong", erratum=entry.erratum,
                       erratum_text=entry.erratum_text, note=entry.note,
                       line=entry.mark.line, column=entry.mark.column)
    correct = precision.agrees(entry.value, actual)
    # a correct value needs no recomputation (it is most of them: skip the work)
    if correct and entry.erratum is None:
        return settle(result, precision, tolerance, correct)
    formulas, carried = recomputation.tools()
    expr = formulas.for_key(entry.key)
    if expr is not None:
        result.formula = expr
        result.operands = carried.operands(expr)
        result.recomputed = expr.evaluate(result.operands)
    return settle(result, precision, tolerance, correct)


def settle(result: KeyResult, precision: Precision, tolerance: float | None,
           correct: bool) -> KeyResult:
    """Give ``result`` its verdict, from whether the published value is ``correct`` and from
    its recomputation on the author's numbers (every kind of exercise shares these rules)."""
    consistent = (result.recomputed is not None and math.isfinite(result.recomputed)
                  and precision.agrees(result.expected, result.recomputed, carried=False))
    if result.erratum is not None:
        assert result.erratum_text is not None
        correction = Precision.of(result.erratum_text, tolerance)
        if correct:
            result.reason = ("marked as an erratum, but the published value is right "
                             "(remove the erratum)")
        elif not correction.agrees(result.erratum, result.actual):
            result.reason = "marked as an erratum, but the correction is not right either"
        else:
            result.verdict = "erratum"
        return result
    if correct:
        result.verdict = "correct"
    elif consistent:
        result.verdict = "consistent"
    else:
        result.reason = ("wrong even from the author's own earlier numbers"
                         if result.recomputed is not None else "wrong")
    return result


def first_wrong(results: list[KeyResult]) -> KeyResult | None:
    return next((r for r in results if not r.passed), None)
