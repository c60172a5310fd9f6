"""The values a worked solution shows: the engine's, with rounding noise shown as 0.

0.4·3 + (−0.6)·(−1) + 0.2 is 2.0000000000000004 in binary floating point, so
ŷ − y = 2 − 2 comes out as 4.4e-16 and a student reads ``(2 − 2)² = 1.97e-31``.
Exact arithmetic on the numbers of the problem gives 0. Here a sum that cancels
to within rounding error of its terms counts as 0, and so does every value
whose formula, evaluated on such cleaned values, is exactly 0. Nothing else
changes: a value that is not noise keeps the engine's number, and JSON output
never goes through this module.

Pre-activations z are never cleaned: ReLU-like derivatives branch on z > 0, and
the branch shown must be the one the engine took.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

from backprop_cli.expr import (
    Const,
    Expr,
    Sum,
)
from backprop_cli.model.formulas import Formulas
from backprop_cli.model.keys import DATA_KINDS, split_key

EPSILON = 2.0 ** -52
# a sum of n terms carries up to about n roundings of its largest term
NOISE_ULPS = 8.0


def is_cancellation(total: float, magnitudes: list[float]) -> bool:
    scale = math.fsum(magnitudes)
    return total != 0.0 and abs(total) <= NOISE_ULPS * len(magnitudes) * EPSILON * scale


def cancellations_zeroed(expr: Expr, values: Mapping[str, float]) -> Expr:
    """``expr`` with every sum that cancels to rounding noise replaced by 0."""
    children = expr.children()
    if not children:
        return expr
    new = tuple(cancellations_zeroed(child, values) for child in children)
    changed = any(a is not b for a, b in zip(new, children, strict=True))
    if isinstance(expr, Sum):
        terms = Sum(new, expr.signs) if changed else expr
        parts = [sign * term.evaluate(values)
                 for sign, term in zip(expr.signs, new, strict=True)]
        if all(math.isfinite(p) for p in parts) and is_cancellation(
                math.fsum(parts), [abs(p) for p in parts]):
            return Const(0.0)
        return terms
    return expr.rebuild(new) if changed else expr


class DisplayValues(Mapping[str, float]):
    """The engine's values, lazily cleaned of rounding noise (see the module docstring)."""

    def __init__(self, raw: Mapping[str, float], formulas: Formulas) -> None:
        self.raw = raw
        self.formulas = formulas
        self.memo: dict[str, float] = {}
        self.cleaned: set[str] = set()

    def __getitem__(self, key: str) -> float:
        value = self.memo.get(key)
        if value is None:
            value = self.memo[key] = self._clean(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def __contains__(self, key: object) -> bool:
        return key in self.raw

    def _clean(self, key: str) -> float:
        raw = self.raw[key]
        if raw == 0.0 or not math.isfinite(raw):
            return raw
        parts = split_key(key)
        if parts is None or parts.kind == "z":
            return raw
        if parts.kind in DATA_KINDS or (parts.kind == "param" and parts.step == 1):
            return raw  # data and step 1's parameters: given, not computed
        try:
            expr = self.formulas.for_key(key)
        except KeyError:
            return raw
        if expr is None:
            return raw
        try:
            value = cancellations_zeroed(expr, self).evaluate(self)
        except (KeyError, ZeroDivisionError, OverflowError, ValueError):
            return raw  # a value the formula needs was not recorded
        if value == 0.0 and abs(raw) <= 1e-9 * max(1.0, *(abs(self.raw.get(r, 0.0))
                                                          for r in expr.refs())):
            self.cleaned.add(key)
            return 0.0
        return raw

    def evaluate(self, expr: Expr) -> float:
        """``expr``'s value as shown: cancellations are 0."""
        return cancellations_zeroed(expr, self).evaluate(self)

