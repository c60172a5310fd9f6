"""Flatten: each sample's tensor becomes a vector, row-major over (c, i, j).

The element x[c, i, j] of a C×H×W input (0-based) is element (c·H + i)·W + j of the
output; 1-based, as in the keys: x[c,i,j] is unit ((c−1)·H + i − 1)·W + j.
"""

from __future__ import annotations

import math

from backprop_cli.engine.layers.base import Array, Grads, Params, Shape
from backprop_cli.records import record


@record(frozen=True, eq=False)
class FlattenCache:
    input_shape: Shape  # one sample's


@record(frozen=True)
class Flatten:
    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        return {}

    def output_shape(self, input_shape: Shape) -> Shape:
        return (math.prod(input_shape),)

    def forward(self, x: Array, params: Params) -> tuple[Array, FlattenCache]:
        return x.reshape(x.shape[0], -1), FlattenCache(x.shape[1:])

    def backward(self, grad_out: Array, cache: FlattenCache, params: Params
                 ) -> tuple[Array, Grads]:
        return grad_out.reshape(grad_out.shape[0], *cache.input_shape), {}

    def param_grads(self, grad_out: Array, cache: FlattenCache, params: Params,
                    per_sample: bool = False) -> Grads:
        return {}
