"""Inverted dropout with a given mask (no randomness: the exercise states the mask).

out = x ⊙ m / (1 − rate): a kept element (m = 1) is scaled by 1/(1 − rate), a dropped one
(m = 0) is 0; the backward pass applies the same factor to the gradient. The mask has the
shape of one sample's input (the same mask for every sample) or of the whole input
(samples first, a mask per sample).
"""

from __future__ import annotations

import numpy as np

from backprop_cli.engine.layers.base import Array, Grads, Params, Shape
from backprop_cli.records import record


@record(frozen=True, eq=False)
class DropoutCache:
    factor: Array  # m / (1 − rate) for each element: 0 or the scale


@record(frozen=True, eq=False)
class Dropout:
    rate: float
    mask: Array  # 0 or 1 each, the input's shape (with or without the samples axis)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate < 1.0:
            raise ValueError(f"rate must be at least 0 and below 1, not {self.rate!r}")
        if not np.isin(self.mask, (0.0, 1.0)).all():
            raise ValueError("mask must hold only 0 (dropped) and 1 (kept)")

    @property
    def scale(self) -> float:
        """What a kept element is multiplied by: 1/(1 − rate)."""
        return 1.0 / (1.0 - self.rate)

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        return {}

    def output_shape(self, input_shape: Shape) -> Shape:
        if self.mask.shape not in (input_shape, self.mask.shape[:1] + input_shape):
            raise ValueError(f"mask has shape {list(self.mask.shape)}, the input "
                             f"{list(input_shape)}")
        return input_shape

    def forward(self, x: Array, params: Params) -> tuple[Array, DropoutCache]:
        factor = np.asarray(self.mask, dtype=np.float64) * self.scale  # exact: m is 0 or 1
        return x * factor, DropoutCache(factor)

    def backward(self, grad_out: Array, cache: DropoutCache, params: Params
                 ) -> tuple[Array, Grads]:
        return grad_out * cache.factor, {}

    def param_grads(self, grad_out: Array, cache: DropoutCache, params: Params,
                    per_sample: bool = False) -> Grads:
        return {}
