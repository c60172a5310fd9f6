"""The quiz of a derivative exercise: its values at the point, asked in the worked order.

The questions are the value keys (``value.<y>``, ``value``, ``derivative.<a>.<b>``,
``derivative.<x>``, and with a step ``new_value``, ``predicted_change``,
``actual_change``, ``difference``); formula keys are not asked (a quiz reads numbers).
An answer is judged by the one verdict rule, with the student's own earlier answers
standing in the step's recomputation, as `check` does with an author's.
"""

from __future__ import annotations

import copy
import fnmatch
import math
from collections.abc import Sequence

from backprop_cli import calculus as calc
from backprop_cli.checking.checker import KeyResult, Precision
from backprop_cli.checking.verdicts import Operand, OperandStatus, correct_at_once, judge
from backprop_cli.errors import ProblemError, suggest
from backprop_cli.kinds.base import QuizError, verdict_lines
from backprop_cli.kinds.derivative.judging import recomputation
from backprop_cli.kinds.derivative.model import Derivation
from backprop_cli.kinds.derivative.text import head_line
from backprop_cli.kinds.derivative.working import all_keys, work
from backprop_cli.numfmt import format_number
from backprop_cli.render.formula_text import substituted


class DerivativeQuiz:
    """The numbers of one derivative exercise, and the verdict on each answer."""

    def __init__(self, derivation: Derivation, title: str, patterns: Sequence[str] | None,
                 limit: int, digits: int, min_digits: int) -> None:
        self.derivation = derivation
        self.title = title
        self.digits = digits
        self.min_digits = min_digits
        self.note: str | None = None
        self.worked = work(derivation)
        values = self.worked.values
        computed = [key for key in all_keys(derivation)
                    if key in values and math.isfinite(values[key])]
        if not computed and derivation.at is not None:
            raise ProblemError("no value of this exercise is a finite number at its point "
                               "(they overflow): a quiz has nothing to ask; choose a smaller "
                               "point with at:")
        if not computed:
            # the file's own shortcoming, not the command line's: exit 1 with its path
            raise ProblemError("a quiz asks for values at a point, and this exercise has no "
                               "point: give one with at: (its formulas are checked by "
                               "backprop check)")
        self.askable = computed
        if patterns:
            for pattern in patterns:
                if not any(fnmatch.fnmatchcase(key, pattern) for key in computed):
                    raise QuizError(f"'{pattern}' matches no value key"
                                    f"{suggest(pattern, computed)}")
            self.keys = [key for key in computed
                         if any(fnmatch.fnmatchcase(key, p) for p in patterns)]
        else:
            self.keys = computed[:limit]
            if len(computed) > limit:
                self.note = (f"{limit} of the exercise's {len(computed)} values; ask for the "
                             "others with --keys")
        self.answers: dict[str, Operand] = {}  # the student's values, as later steps read them
        self.judged: dict[str, OperandStatus] = {}

    def fresh(self) -> DerivativeQuiz:
        other = copy.copy(self)  # the worked values and the questions, shared
        other.answers, other.judged = {}, {}
        return other

    def given(self) -> list[str]:
        derivation = self.derivation
        lines = ["Given:", f"  {head_line(derivation)}"]
        lines += [f"  {name} = {calc.to_text(calc.simplify(d.expr))}"
                  for name, d in derivation.chain.items()]
        if derivation.at:
            lines.append("  at " + ", ".join(f"{v} = {self._num(x)}"
                                             for v, x in derivation.at.items()))
        if derivation.step:
            lines.append("  step " + ", ".join(f"Δ{v} = {self._num(x)}"
                                               for v, x in derivation.step.items()))
        return lines

    def describe(self, key: str) -> str:
        name = self.derivation.name
        parts = key.split(".")
        if key == "value":
            return f"{name} at the point"
        if parts[0] == "value":
            return f"{parts[1]} at the point"
        if parts[0] == "derivative" and len(parts) == 2:
            return f"∂{name}/∂{parts[1]} at the point"
        if parts[0] == "derivative2":
            return f"∂/∂{parts[2]} (∂{name}/∂{parts[1]}) at the point"
        if parts[0] == "derivative":
            return f"∂{parts[1]}/∂{parts[2]} at the point"
        return {"new_value": f"{name} after the step",
                "predicted_change": f"predicted change of {name}: Σ ∂{name}/∂x·Δx",
                "actual_change": f"actual change of {name}",
                "difference": "actual − predicted change"}.get(key, key)

    def exact(self, key: str) -> float:
        return self.worked.values[key]

    def judge(self, key: str, value: float, typed: Precision, text: str) -> KeyResult | None:
        actual = self.worked.values[key]
        result = KeyResult(key=key, expected=value, text=text, actual=actual, verdict="wrong")
        if correct_at_once(value, typed, actual, self.min_digits):
            result.verdict = "correct"
            self.judged[key] = "exact" if value == actual else "rounded"
            return result
        expr = recomputation(self.worked, key)
        operands = None
        if expr is not None:
            operands = {ref: self.answers.get(ref) or Operand(ref, self.exact(ref),
                                                              self.exact(ref))
                        for ref in expr.refs()}
            result.formula = expr
            result.operands = {ref: operand.value for ref, operand in operands.items()}
        judged = judge(key, value, typed, actual, expr, operands, min_digits=self.min_digits)
        if judged.verdict == "imprecise":
            return None
        result.verdict = judged.verdict
        result.recomputed = judged.recomputed
        result.reason = judged.reason
        result.diagnosis = judged.diagnosis
        self.judged[key] = judged.basis
        return result

    def accept(self, key: str, value: float, typed: Precision, text: str) -> None:
        self.answers[key] = Operand(key, value, self.exact(key), typed, text,
                                    judged=self.judged.get(key))

    def hint(self, key: str) -> str:
        parts = key.split(".")
        head = "formula2." if parts[0] == "derivative2" else "formula."
        formula = self.worked.formulas.get(head + ".".join(parts[1:]))
        if parts[0] in ("derivative", "derivative2") and formula is not None:
            return f"{self.describe(key).removesuffix(' at the point')} = {formula}"
        if key == "value":
            return head_line(self.derivation)
        if key == "new_value" and self.worked.new_point is not None:
            point = ", ".join(f"{v} = {self._num(x)}" for v, x in self.worked.new_point.items())
            return f"{head_line(self.derivation)}, at the moved point {point}"
        expr = recomputation(self.worked, key)
        if expr is None:
            return f"{key}: evaluate at the point"
        return f"{key} = {substituted(expr, {}, self.digits)[0]}"

    def explain(self, result: KeyResult) -> list[str]:
        lines = verdict_lines(result, self._num(result.actual))
        if (result.verdict == "wrong" and result.formula is not None
                and result.recomputed is not None):
            keys, numbers = substituted(result.formula, result.operands, self.digits)
            lines.append(f"  {result.key} = {keys} = {numbers} = "
                         f"{self._num(result.recomputed)}")
        return lines

    def _num(self, value: float) -> str:
        return format_number(value, self.digits, ascii_only=True)
