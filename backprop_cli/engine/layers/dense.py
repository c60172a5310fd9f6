"""A dense (fully connected) layer over the last axis: z = x·Wᵀ + b.

Weights are a row per unit and a column per input, as in today's network files. Any
leading axes are samples (and, after an rnn, time steps): the layer applies at each.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.engine.layers.base import Array, Grads, Params, Shape
from backprop_cli.records import record


@record(frozen=True, eq=False)
class DenseCache:
    x: Array  # the input (…, inputs)


@record(frozen=True)
class Dense:
    units: int
    bias: bool = True

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        shapes: dict[str, Shape] = {"weights": (self.units, input_shape[-1])}
        if self.bias:
            shapes["bias"] = (self.units,)
        return shapes

    def output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape[:-1], self.units)

    def forward(self, x: Array, params: Params) -> tuple[Array, DenseCache]:
        z = x @ params["weights"].T
        if self.bias:
            z += params["bias"]
        return z, DenseCache(x)

    def backward(self, grad_out: Array, cache: DenseCache, params: Params
                 ) -> tuple[Array, Grads]:
        return grad_out @ params["weights"], self.param_grads(grad_out, cache, params)

    def param_grads(self, grad_out: Array, cache: DenseCache, params: Params,
                    per_sample: bool = False) -> Grads:
        if per_sample:  # summed over any axes between the samples and the units (steps)
            n = grad_out.shape[0]
            g = grad_out.reshape(n, -1, self.units)
            x = cache.x.reshape(n, -1, cache.x.shape[-1])
            grads: Grads = {"weights": g.transpose(0, 2, 1) @ x}  # (N, units, inputs)
            if self.bias:
                grads["bias"] = np.add.reduce(g, axis=1)
            return grads
        lead = tuple(range(grad_out.ndim - 1))
        grads = {"weights": np.tensordot(grad_out, cache.x, axes=(lead, lead))}
        if self.bias:
            grads["bias"] = np.add.reduce(grad_out.reshape(-1, self.units), axis=0)
        return grads
