"""Judging a layered network's values (issue 19) with errors carried forward.

A dense network's values each have a formula; the checker recomputes a step from the
author's own operands (checking/checker.py). A layered network's values are worked by
array operations, so their recomputation is the carried pass
(:func:`backprop_cli.engine.layered_carry.carry_layered`): the step run from the given
values. :class:`LayeredWork` holds one author's published values (``check``) or one
student's answers so far (``quiz``, grading) and judges each by the one rule
(:func:`backprop_cli.checking.verdicts.judge_carried`): correct against the exact value,
else consistent when it is what the step gives from the given earlier values, else wrong.

A verdict's reason names the earlier values it follows from: the given values that are
wrong (not right at their own precision, or carried from a wrong one) and whose exact
value in their place moves it, one carried pass per such value (the nearest
:data:`MAX_TRACED` of them). A value right at once needs no pass at all.
"""

from __future__ import annotations

from collections.abc import Mapping

from backprop_cli.checking.verdicts import (
    Judged,
    Operand,
    OperandStatus,
    Precision,
    correct_at_once,
    judge,
    judge_carried,
)
from backprop_cli.engine.layered_carry import carry_layered
from backprop_cli.model.layered import LayeredProblem

# the wrong earlier values a reason looks behind, nearest first (one pass each)
MAX_TRACED = 32


class LayeredWork:
    """The given values of a layered network and the verdict on each value.

    ``give`` a value before later ones are judged (check gives every published value
    first; a quiz gives each answer after its verdict); ``judge`` in computation order,
    so that what a verdict made of an earlier value (wrong, carried from a wrong one, or
    rounded) is known when a later one names it."""

    def __init__(self, problem: LayeredProblem, exact: Mapping[str, float],
                 min_digits: int | None) -> None:
        self.problem = problem
        self.exact = exact
        self.min_digits = min_digits
        self.given: dict[str, float] = {}
        self.written: dict[str, tuple[Precision, str]] = {}  # how each was written
        self.judged: dict[str, OperandStatus] = {}  # what its verdict made of it
        self._carried: dict[str, float] = {}  # the pass on self.given, by key
        self._unreached: set[str] = set()
        self._reverted: dict[str, dict[str, float]] = {}  # the same, one value exact

    def give(self, key: str, value: float, typed: Precision, text: str) -> None:
        """``value`` (written as ``text``) is the given value of ``key`` from now on."""
        self.given[key] = value
        self.written[key] = (typed, text)
        self._carried.clear()
        self._reverted.clear()

    def mark(self, key: str, status: OperandStatus) -> None:
        """What ``key``'s value is to the values after it, when not its verdict's (an
        erratum: the author says it is wrong)."""
        self.judged[key] = status

    def judge(self, key: str, value: float, typed: Precision) -> Judged:
        """The verdict on ``value`` for ``key``: correct, consistent (with the reason),
        wrong or imprecise."""
        exact = self.exact[key]
        if correct_at_once(value, typed, exact, self.min_digits):
            judged = Judged("correct", basis="exact" if value == exact else "rounded")
        else:
            carried = self.carried(key)
            if carried is None:  # a key the pass does not reach
                judged = judge(key, value, typed, exact, min_digits=self.min_digits)
            else:
                judged = judge_carried(key, value, typed, exact, carried, self.sources(key),
                                       min_digits=self.min_digits)
        if judged.verdict != "imprecise":
            self.judged[key] = judged.basis
        return judged

    def carried(self, key: str) -> float | None:
        """What the step gives ``key`` from the given values before it."""
        if key not in self._carried and key not in self._unreached:
            self._carried.update(carry_layered(self.problem, self.given, [*self.given, key]))
            if key not in self._carried:  # a key the pass does not have: no second pass
                self._unreached.add(key)
        return self._carried.get(key)

    def sources(self, key: str) -> tuple[Operand, ...]:
        """The given wrong values ``key``'s carried value follows from, in the order
        given (computation order in a quiz)."""
        base = self.carried(key)
        found = []
        for operand in self._wrong_before(key):
            reverted = self._reverted.get(operand.key)
            if reverted is None or key not in reverted:
                instead = {**self.given, operand.key: self.exact[operand.key]}
                reverted = self._reverted.setdefault(operand.key, {})
                reverted.update(carry_layered(self.problem, instead, [*self.given, key]))
            moved = reverted.get(key)
            if base is not None and moved is not None and _moved(base, moved):
                found.append(operand)
        return tuple(reversed(found))

    def _wrong_before(self, key: str) -> list[Operand]:
        """The given values judged before ``key`` that are wrong, the latest first (values
        are judged in computation order: a later one cannot move ``key``)."""
        wrong = []
        for ref in reversed(self.given):
            exact = self.exact.get(ref)
            if ref == key or exact is None or ref not in self.judged:
                continue
            typed, text = self.written[ref]
            operand = Operand(ref, self.given[ref], exact, typed, text,
                              judged=self.judged.get(ref))
            if operand.status == "wrong":
                wrong.append(operand)
                if len(wrong) == MAX_TRACED:
                    break
        return wrong


def _moved(a: float, b: float) -> bool:
    """Whether an exact earlier value in place of a wrong one moves a value (beyond the
    float noise of the same operations in another order)."""
    if a == b or (a != a and b != b):  # the same, or NaN both times
        return False
    return abs(a - b) > 1e-12 * max(1.0, abs(a), abs(b))


__all__ = ["MAX_TRACED", "LayeredWork"]
