"""One interface for every layer type (the CS231n / joelnet shape).

A layer type is a frozen record of its settings (a *spec*: ``Conv``, ``Pool``, ``Dropout``,
``Flatten``, ``Dense``, ``Activate``, ``Rnn``) with these methods:

- ``param_shapes(input_shape)``: the shape of each of its parameters (``"weights"``,
  ``"bias"``, ``"recurrent"``), for the input shape of one sample;
- ``output_shape(input_shape)``: the shape of one sample's output;
- ``forward(x, params) -> (out, cache)``: ``x`` has a leading samples axis N; ``cache``
  is a record of what the backward pass needs and what a worked solution shows (the
  window of each convolution output, the winner of each pooling window, …);
- ``backward(grad_out, cache, params) -> (grad_in, grad_params)``: ``grad_out`` is
  ∂L_k/∂out for each sample k of its own loss (the engine's convention: ``grad.a`` keys are
  per sample), ``grad_in`` the same for the input, and ``grad_params`` the gradient of each
  parameter summed over the samples, *unscaled*: the caller multiplies by 1/N for a mean;
- ``param_grads(grad_out, cache, params, per_sample=False)``: the same ``grad_params``
  alone, for a first layer whose input gradient nobody asked for (a convolution's is its
  costliest part); with ``per_sample`` each sample's own (a leading N axis).

Everything is float64 and vectorised over the samples and over positions: the Python loops
of a hot path are the recurrence over time steps (``rnn.py``), sequential by nature, and
loops over the few elements of one window (pooling, and the scatter back from windows to
inputs, :func:`add_windows`), each step one operation on every window at once.

Activations are not part of ``Conv`` or ``Dense``: an :class:`Activate` layer after them
applies :class:`backprop_cli.model.activations.Activation` elementwise (softmax: over the
last axis), so ``z`` and ``a`` of a layer are the outputs of the two.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
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

    def param_grads(self, grad_out: Array, cache: CacheT, params: Params,
                    per_sample: bool = False) -> Grads:
        """The parameter gradients of :meth:`backward` without ∂L/∂input (a first layer's
        input is data: the engine needs its gradient only when a key asks for it).
        ``per_sample``: each sample's own, a leading N axis (``grad.K[…]@k``); their sum is
        the usual gradient, to rounding."""
        ...


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

    def param_grads(self, grad_out: Array, cache: ActivateCache, params: Params,
                    per_sample: bool = False) -> Grads:
        return {}


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
                   caches: Sequence[Any], grad_out: Array, input_grad: bool = True
                   ) -> tuple[Array | None, list[Grads]]:
    """The backward pass of :func:`forward_stack`: ∂L/∂x (None unless ``input_grad``) and
    every layer's gradients."""
    grads: list[Grads] = [{} for _ in layers]
    for i in range(len(layers) - 1, 0, -1):
        grad_out, grads[i] = layers[i].backward(grad_out, caches[i], params[i])
    if not layers:
        return grad_out, grads
    if not input_grad:
        grads[0] = layers[0].param_grads(grad_out, caches[0], params[0])
        return None, grads
    grad_in, grads[0] = layers[0].backward(grad_out, caches[0], params[0])
    return grad_in, grads


def stack_shapes(layers: Sequence[LayerType[Any]], input_shape: Shape
                 ) -> list[tuple[Shape, dict[str, Shape]]]:
    """(output shape, parameter shapes) of each layer for one sample of ``input_shape``."""
    found = []
    for layer in layers:
        shapes = layer.param_shapes(input_shape)
        input_shape = layer.output_shape(input_shape)
        found.append((input_shape, shapes))
    return found


# ------------------------------------------------------------------ windows (im2col, col2im)


def window_columns(x: Array, window: Shape, stride: Shape) -> tuple[Array, Array]:
    """The windows of ``x`` (N, C, *spatial) a kernel or pool of ``window`` visits with
    ``stride``: (the strided view (N, C, *out, *window), no copy; the columns
    (N, C, prod(window), prod(out)), one contiguous copy, window elements row-major).

    The columns' layout makes a convolution one batched matrix product and keeps a
    window's elements apart as contiguous slabs (im2col with the window axes first)."""
    d = len(window)
    spatial = tuple(range(2, 2 + d))
    steps = (slice(None), slice(None), *(slice(None, None, s) for s in stride))
    view = sliding_window_view(x, window, axis=spatial)[steps]
    order = (0, 1, *range(2 + d, 2 + 2 * d), *spatial)
    columns = np.ascontiguousarray(view.transpose(order))
    return view, columns.reshape(*x.shape[:2], math.prod(window), -1)


def add_windows(columns: Array, stride: Shape, spatial: Shape) -> Array:
    """The inverse scatter of :func:`window_columns` (col2im): ``columns``
    (N, C, *window, *out) are values at each window element; each is added to the input
    position (N, C, *spatial) it came from, summing where windows overlap.

    The loop is over the window's elements (kh·kw of them), never over positions or
    samples: each step adds every window's element (p, q) at once, a strided slice."""
    d = len(stride)
    window = columns.shape[2:2 + d]
    out = columns.shape[2 + d:]
    total = np.zeros((*columns.shape[:2], *spatial))
    for offset in np.ndindex(*window):
        total[window_slice(offset, stride, out)] += columns[(slice(None), slice(None),
                                                             *offset)]
    return total


def window_slice(offset: Shape, stride: Shape, out: Shape) -> tuple[slice, ...]:
    """The input positions (N, C, *spatial) of window element ``offset`` across all
    ``out`` windows: a strided slice."""
    return (slice(None), slice(None), *(
        slice(o, o + s * (n - 1) + 1, s) for o, s, n in zip(offset, stride, out, strict=True)))
