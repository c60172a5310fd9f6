"""One interface for every layer type (the CS231n / joelnet shape).

A layer type is a frozen record of its settings (a *spec*: ``Conv``, ``Pool``, ``Dropout``,
``Flatten``, ``Dense``, ``Activate``, ``Rnn``) with four methods:

- ``param_shapes(input_shape)``: the shape of each of its parameters (``"weights"``,
  ``"bias"``, ``"recurrent"``), for the input shape of one sample;
- ``output_shape(input_shape)``: the shape of one sample's output;
- ``forward(x, params) -> (out, cache)``: ``x`` has a leading samples axis N; ``cache``
  is a record of what the backward pass needs and what a worked solution shows (the
  window of each convolution output, the winner of each pooling window, …);
- ``backward(grad_out, cache, params) -> (grad_in, grad_params)``: ``grad_out`` is
  ∂L_k/∂out for each sample k of its own loss (the engine's convention: ``grad.a`` keys are
  per sample), ``grad_in`` the same for the input, and ``grad_params`` the gradient of each
  parameter summed over the samples, *unscaled*: the caller multiplies by 1/N for a mean.

Everything is float64 and vectorised over the samples and over positions; the only Python
loop of a hot path is the recurrence over time steps (``rnn.py``), which is sequential by
nature. Activations are not part of ``Conv`` or ``Dense``: an :class:`Activate` layer after
them applies :class:`backprop_cli.model.activations.Activation` elementwise (softmax: over
the last axis), so ``z`` and ``a`` of a layer are the outputs of the two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from backprop_cli.model.activations import Activation
from backprop_cli.records import record

Array = NDArray[np.float64]
Shape = tuple[int, ...]
Params = Mapping[str, Array]
Grads = dict[str, Array]

CacheT = TypeVar("CacheT")


class LayerType(Protocol[CacheT]):
    """What every layer type implements; ``CacheT`` is its cache record."""

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]: ...

    def output_shape(self, input_shape: Shape) -> Shape: ...

    def forward(self, x: Array, params: Params) -> tuple[Array, CacheT]: ...

    def backward(self, grad_out: Array, cache: CacheT, params: Params
                 ) -> tuple[Array, Grads]: ...


def pair(value: int | Sequence[int], dims: int, what: str, minimum: int = 1) -> tuple[int, ...]:
    """A setting given as one number or one per spatial axis, as a tuple of ``dims`` ints.

    Raises ValueError naming the setting (the loader turns it into a positioned error).
    """
    values = (value,) * dims if isinstance(value, int) else tuple(value)
    if len(values) != dims or not all(isinstance(v, int) and not isinstance(v, bool)
                                      for v in values):
        raise ValueError(f"{what} must be a whole number or {dims} of them, not {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{what} must be at least {minimum}, not {value!r}")
    return values


# ------------------------------------------------------------------ activation


@record(frozen=True, eq=False)
class ActivateCache:
    z: Array  # the input (the pre-activation)
    a: Array  # the output f(z)


@record(frozen=True)
class Activate:
    """a = f(z) elementwise (softmax: over the last axis), any shape; no parameters."""

    activation: Activation

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        return {}

    def output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def forward(self, x: Array, params: Params) -> tuple[Array, ActivateCache]:
        a = self.activation.forward(x)
        return a, ActivateCache(x, a)

    def derivative(self, cache: ActivateCache) -> Array:
        """f'(z) of every element (``dadz`` keys); not for softmax (a Jacobian)."""
        return self.activation.derivative(cache.z, cache.a)

    def backward(self, grad_out: Array, cache: ActivateCache, params: Params
                 ) -> tuple[Array, Grads]:
        if self.activation.per_layer:  # softmax: Jᵀg = a ⊙ (g − Σ g·a) over the last axis
            a = cache.a
            dot = np.add.reduce(grad_out * a, axis=-1, keepdims=True)
            return a * (grad_out - dot), {}
        return grad_out * self.derivative(cache), {}


# ------------------------------------------------------------------ a stack of layers


def forward_stack(layers: Sequence[LayerType[Any]], params: Sequence[Params], x: Array
                  ) -> tuple[Array, list[Any]]:
    """Run ``x`` through ``layers`` in order: the output and every layer's cache."""
    caches: list[Any] = []
    for layer, p in zip(layers, params, strict=True):
        x, cache = layer.forward(x, p)
        caches.append(cache)
    return x, caches


def backward_stack(layers: Sequence[LayerType[Any]], params: Sequence[Params],
                   caches: Sequence[Any], grad_out: Array) -> tuple[Array, list[Grads]]:
    """The backward pass of :func:`forward_stack`: ∂L/∂x and every layer's gradients."""
    grads: list[Grads] = [{} for _ in layers]
    for i in range(len(layers) - 1, -1, -1):
        grad_out, grads[i] = layers[i].backward(grad_out, caches[i], params[i])
    return grad_out, grads


def stack_shapes(layers: Sequence[LayerType[Any]], input_shape: Shape
                 ) -> list[tuple[Shape, dict[str, Shape]]]:
    """(output shape, parameter shapes) of each layer for one sample of ``input_shape``."""
    found = []
    for layer in layers:
        shapes = layer.param_shapes(input_shape)
        input_shape = layer.output_shape(input_shape)
        found.append((input_shape, shapes))
    return found
