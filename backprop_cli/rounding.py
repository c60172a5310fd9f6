"""Rounding as a student with a calculator does it: N decimals, halves away from zero.

Hand-calculation mode (``round: N``) rounds every value when it is produced;
the engine rounds whole arrays (:func:`round_array`) and the formulas round one
number (:func:`round_value`, used by :class:`backprop_cli.expr.Round`). Both
run the same IEEE operations in the same order, so they agree bit for bit and
the checker's recomputation reproduces the engine's numbers exactly.

Binary floating point cannot hold most decimals: 0.5·0.2469 is 0.12345 on paper
but 0.123449999… in binary. A value within 10⁻⁹ of a unit in the last decimal
(plus 4 units in the last binary place of itself) below a half is therefore
taken as the half, so it
rounds up as on paper (floating-point error is far smaller; a true value that
close to a half needs N + 9 decimals). The result is the float nearest the rounded decimal
(``round_value(0.37754, 4) == 0.3775``), never −0.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

MAX_DECIMALS = 12
_HALF = 0.5 + 1e-9  # in units of the last decimal kept
_RELATIVE = 2.0 ** -50  # 4 ulps: the error of a few float operations


def _scale(decimals: int) -> tuple[float, float]:
    scale = 10.0 ** decimals  # exact for every allowed decimals
    # beyond this a float keeps fewer than 6 binary digits below the last decimal: too
    # few to round by (and no hand calculation has such a number); it is kept as it is
    return scale, 2.0 ** 46 / scale


def round_value(value: float, decimals: int) -> float:
    """``value`` rounded to ``decimals`` decimals, halves away from zero."""
    scale, limit = _scale(decimals)
    magnitude = abs(value)
    if not magnitude < limit:  # also infinity and NaN
        return value
    scaled = magnitude * scale
    rounded = math.floor(scaled + (_HALF + scaled * _RELATIVE)) / scale
    return math.copysign(rounded, value) + 0.0  # + 0.0 turns −0 into 0


def round_array(values: Array, decimals: int, out: Array | None = None) -> Array:
    """Every entry of ``values`` as :func:`round_value` rounds it (in place with ``out``)."""
    scale, limit = _scale(decimals)
    magnitude = np.abs(values)
    with np.errstate(over="ignore", invalid="ignore"):  # huge values are kept, below
        scaled = magnitude * scale
        rounded = np.floor(scaled + (_HALF + scaled * _RELATIVE)) / scale
    np.copysign(rounded, values, out=rounded)
    rounded += 0.0
    keep = ~(magnitude < limit)
    if keep.any():
        rounded[keep] = values[keep]
    if out is None:
        return rounded
    out[...] = rounded
    return out


def shown_decimals(decimals: int) -> int:
    """Decimals to write a value of a hand calculation with ``decimals`` kept: a kept value
    shows its own ``decimals`` (trailing zeros go), and a value on its way to being kept,
    the exact product 0.7·(−0.025) = −0.0175 before it becomes −0.018, shows every
    decimal it has: a product of two kept values has at most twice as many. Written with
    fewer, −0.0175 would read −0.017 (the float is −0.0174999…), then be kept as −0.018.
    """
    return min(2 * decimals, MAX_SHOWN_DECIMALS) if decimals else MAX_ZERO_DECIMALS


MAX_SHOWN_DECIMALS = 15  # beyond this a float's last digits are noise
MAX_ZERO_DECIMALS = 6  # round: 0: 2.5·3 = 7.5 → 8, 1/3 = 0.333333 → 0

