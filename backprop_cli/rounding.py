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
