"""Judging an author's answers: every expected value of a file gets a verdict.

The rule for one value is :func:`backprop_cli.checking.verdicts.judge` (correct,
consistent through the author's own rounding, wrong with the slip named,
imprecise); this module feeds it a file: the exact values, the formula of each
step (:mod:`backprop_cli.model.formulas`) and the author's own operands (theirs
wherever the file gives one, recomputed from theirs elsewhere, with how they
were written). On top of the rule:

- ``erratum``: the file marks the published value as wrong and gives the
  correction; the published value must indeed not be correct and the correction
  must be correct, otherwise the entry is ``wrong`` with the reason.
- ``min_digits`` (``check --min-digits N``, or the file's own ``min_digits``):
  values written with fewer significant digits are ``imprecise`` unless right
  to N digits anyway.

The first failing key in computation order is the one to look at.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from backprop_cli.checking.slips import Diagnosis
from backprop_cli.checking.verdicts import (
    PASSING,
    Judged,
    Operand,
    OperandStatus,
    Precision,
    Verdict,
    correct_at_once,
    judge,
)
from backprop_cli.expr import Expr
from backprop_cli.model.formulas import Formulas
from backprop_cli.model.keys import (
    FINAL_PREFIX,
    KeyParts,
    compose,
    named_kind,
    prefix_for,
    step_number,
)
from backprop_cli.model.keyspace import key_rank, parse_key
from backprop_cli.model.problem import Expected, Problem
from backprop_cli.records import field, record
from backprop_cli.rounding import round_value

__all__ = ["PASSING", "CarriedForward", "KeyResult", "Precision", "ProblemSlips",
           "check_values", "first_wrong", "settle"]

# Earlier values a reason may trace back through recomputed steps.
MAX_TRACED = 200


@record
class KeyResult:
    """The verdict on one expected value."""

    key: str
    expected: float  # the published value
    text: str  # as written in the file
    actual: float  # the exact value
    verdict: Verdict
    # the step recomputed from the author's own numbers (when the value is not correct)
    recomputed: float | None = None
    erratum: float | None = None
    erratum_text: str | None = None
    note: str | None = None
    line: int | None = None
    column: int | None = None
    reason: str | None = None  # why the value is not correct, in words
    formula: Expr | None = None
    # the numbers the recomputation used (the author's where given)
    operands: dict[str, float] = field(default_factory=dict)
    diagnosis: Diagnosis | None = None  # the slip that reproduces a wrong value
    # the recomputation as a person reads it, in the worked solution's notation:
    # (symbol, formula, formula with the numbers, result); set by the exercise's kind
    shown: tuple[str, str, str, str] | None = None
    # an erratum's: whether the published value is what its step gives from the author's
    # earlier values (the rule, without the erratum, would call it consistent); None when
    # the kind does not say (a dense network's: told by the recomputed value)
    erratum_carried: bool | None = None

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
        if key.startswith(FINAL_PREFIX):
            return self.problem.steps + 1
        return step_number(key)

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
                    handed = compose(prefix, named_kind(kind), name)
                    if handed not in self.author and parse_key(handed, problem) is not None:
                        self._search(handed)
            for old in [s for s in self.by_step if s < step - 1]:
                for dropped in self.by_step.pop(old):
                    self.memo.pop(dropped, None)
            self.warmed = step

    def operands(self, expr: Expr) -> dict[str, float]:
        return {ref: self.value(ref) for ref in expr.refs()}

    def operand_records(self, expr: Expr, exact: Mapping[str, float],
                        written: Mapping[str, tuple[Precision, str]],
                        judged: Mapping[str, OperandStatus] | None = None) -> dict[str, Operand]:
        """What :func:`~backprop_cli.checking.verdicts.judge` reads of ``expr``'s operands:
        the author's value, the exact one (when recorded), how the author wrote it
        (``written``: key to precision and text) and, for a recomputed operand, the
        written earlier values it comes from that are not exact."""
        judged = judged or {}
        records = {}
        for ref in expr.refs():
            shape = written.get(ref)
            if shape is not None:
                records[ref] = Operand(ref, self.value(ref), _exact(exact, ref), shape[0],
                                       shape[1], judged=judged.get(ref))
            else:
                records[ref] = Operand(ref, self.value(ref), _exact(exact, ref),
                                       sources=self.sources(ref, exact, written, judged))
        return records

    def sources(self, key: str, exact: Mapping[str, float],
                written: Mapping[str, tuple[Precision, str]],
                judged: Mapping[str, OperandStatus]) -> tuple[Operand, ...]:
        """The written values behind a recomputed ``key`` that differ from the exact ones
        (nearest first, at most :data:`MAX_TRACED` steps looked at)."""
        found: list[Operand] = []
        seen = {key}
        queue = [key]
        while queue and len(seen) < MAX_TRACED:
            current = queue.pop(0)
            expr = self.formulas.for_key(current)
            if expr is None:
                continue
            for ref in expr.refs():
                if ref in seen:
                    continue
                seen.add(ref)
                shape = written.get(ref)
                if shape is None:
                    queue.append(ref)
                    continue
                operand = Operand(ref, self.value(ref), _exact(exact, ref), shape[0], shape[1],
                                  judged=judged.get(ref))
                if operand.status in ("rounded", "wrong"):
                    found.append(operand)
        return tuple(found)


def _exact(values: Mapping[str, float], key: str) -> float | None:
    try:
        return values[key]
    except KeyError:  # an intermediate value the run did not record
        return None


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


def check_values(problem: Problem, values: Mapping[str, float],
                 min_digits: int | None = None) -> list[KeyResult]:
    """Verdicts for every expected key, in computation order.

    ``values`` must hold the expected keys; anything else a recomputation reads
    (data, starting parameters) is taken from the problem when not recorded.
    ``min_digits`` (``check --min-digits``) overrides the file's ``min_digits``.
    """
    if not problem.expected:
        return []
    values = WithLeaves(problem, values)
    recomputation = _Recomputation(problem, values)
    digits = min_digits if min_digits is not None else problem.min_digits
    return [_judge(problem, entry, values, recomputation, digits)
            for entry in _expected_in_order(problem)]


class _Recomputation:
    """The formulas and the author's carried values, made on first use: a file whose
    values are all correct (most files) needs neither."""

    def __init__(self, problem: Problem, values: Mapping[str, float]) -> None:
        self.problem = problem
        self.values = values
        self._made: tuple[Formulas, CarriedForward] | None = None

        self._written: dict[str, tuple[Precision, str]] | None = None
        # what each value judged so far is to the steps that read it
        self.judged: dict[str, OperandStatus] = {}

    def tools(self) -> tuple[Formulas, CarriedForward]:
        if self._made is None:
            formulas = Formulas(self.problem)
            self._made = formulas, CarriedForward(self.problem, self.values, formulas)
        return self._made

    def written(self) -> dict[str, tuple[Precision, str]]:
        """How the author wrote each published value."""
        if self._written is None:
            problem = self.problem
            self._written = {
                key: (Precision.of(entry.text, entry.tolerance if entry.tolerance is not None
                                   else problem.tolerance), entry.text)
                for key, entry in problem.expected.items()}
        return self._written


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
           recomputation: _Recomputation, min_digits: int | None) -> KeyResult:
    tolerance = entry.tolerance if entry.tolerance is not None else problem.tolerance
    precision = Precision.of(entry.text, tolerance)
    actual = values[entry.key]
    result = KeyResult(key=entry.key, expected=entry.value, text=entry.text, actual=actual,
                       verdict="wrong", erratum=entry.erratum,
                       erratum_text=entry.erratum_text, note=entry.note,
                       line=entry.mark.line, column=entry.mark.column)
    # a correct value needs no recomputation (it is most of them: skip the work)
    if entry.erratum is None and correct_at_once(entry.value, precision, actual, min_digits):
        result.verdict = "correct"
        if entry.value != actual:
            recomputation.judged[entry.key] = "rounded"
        return result
    formulas, carried = recomputation.tools()
    expr = formulas.for_key(entry.key)
    operands = None
    if expr is not None:
        operands = carried.operand_records(expr, values, recomputation.written(),
                                           recomputation.judged)
        result.formula = expr
        result.operands = {ref: operand.value for ref, operand in operands.items()}
    judged = judge(entry.key, entry.value, precision, actual, expr, operands,
                   min_digits=min_digits, slips=ProblemSlips(problem, formulas, carried),
                   one_rounding=problem.round is not None)
    settle(result, judged, tolerance)
    recomputation.judged[entry.key] = "wrong" if result.verdict == "erratum" else judged.basis
    return result


def settle(result: KeyResult, judged: Judged, tolerance: float | None) -> KeyResult:
    """Give ``result`` the verdict of the rule, or the erratum's (every kind of exercise
    shares these rules)."""
    result.recomputed = judged.recomputed
    if result.erratum is not None:
        assert result.erratum_text is not None
        correction = Precision.of(result.erratum_text, tolerance)
        if judged.verdict == "correct":
            result.reason = ("marked as an erratum, but the published value is right "
                             "(remove the erratum)")
        elif not correction.agrees(result.erratum, result.actual):
            result.reason = "marked as an erratum, but the correction is not right either"
        else:
            result.verdict = "erratum"
        return result
    result.verdict = judged.verdict
    result.reason = judged.reason
    result.diagnosis = judged.diagnosis
    return result


class ProblemSlips:
    """The slip catalogue's view of a problem (:class:`~backprop_cli.checking.slips.SlipContext`):
    the author's values of other keys, the layers, the learning rate."""

    def __init__(self, problem: Problem, formulas: Formulas, carried: CarriedForward) -> None:
        self.problem = problem
        self.formulas = formulas
        self.carried = carried

    @property
    def learning_rate(self) -> float | None:
        return self.problem.learning_rate

    def parts(self, key: str) -> KeyParts | None:
        return parse_key(key, self.problem)

    def value(self, key: str) -> float | None:
        if parse_key(key, self.problem) is None:
            return None
        try:
            return self.carried.value(key)
        except (KeyError, ValueError):  # a value the run did not record
            return None

    def formula(self, key: str) -> Expr | None:
        try:
            return self.formulas.for_key(key)
        except (KeyError, ValueError):
            return None

    def units_beside(self, unit: str) -> list[str]:
        layer = self.formulas.unit_layer.get(unit)
        if layer is None:
            return []
        return [u for u in self.problem.layers[layer].units if u != unit]

    def per_layer(self, unit: str) -> bool:
        layer = self.formulas.unit_layer.get(unit)
        return layer is not None and self.problem.layers[layer].activation.per_layer

    def transposed(self, param: str) -> str | None:
        for layer in self.problem.layers:
            names = layer.weight_names
            for row, line in enumerate(names):
                if param in line:
                    col = line.index(param)
                    if col != row and col < len(names) and row < len(names[col]):
                        return names[col][row]
                    return None
        return None


def first_wrong(results: list[KeyResult]) -> KeyResult | None:
    return next((r for r in results if not r.passed), None)
