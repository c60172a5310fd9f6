"""Pooling layers: maxpool1d/2d and avgpool1d/2d, per channel, without parameters.

Shapes: x (N, C, H, W) → out (N, C, Ho, Wo), Ho = ⌊(H − kh)/sh⌋ + 1; the stride defaults to
the size (windows side by side). Window (i, j) covers rows i·sh … i·sh + kh − 1 and columns
j·sw … j·sw + kw − 1; its elements in row-major order are numbered 0 … kh·kw − 1.

- Max pooling: out = the window's maximum. The gradient goes to ONE element of each window,
  its winner: the FIRST maximum in row-major order (so with a tie, the upper one, then the
  left one, as NumPy's argmax picks). Where windows overlap, an
  element that wins several windows receives the sum of their gradients.
- Average pooling: out = the window's mean; each element of the window receives 1/(kh·kw)
  of its gradient, summed over the windows it belongs to.

Vectorised over samples, channels and positions: both passes loop over the kh·kw elements
of a window only, each step one operation on a strided view of element (p, q) of every
window at once (no copy of the windows); where windows overlap the backward pass adds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from backprop_cli.engine.layers.base import (
    Array,
    Grads,
    Params,
    Shape,
    pair,
    window_slice,
)
from backprop_cli.records import record

IntArray = NDArray[np.integer[Any]]


@record(frozen=True, eq=False)
class PoolCache:
    input_shape: Shape  # the whole input's, samples first
    # every output position's window of the input: (N, C, *out, *size), a view;
    # windows[n, c, i, j] is what out[n, c, i, j] is the maximum (the mean) of
    windows: Array
    # max pooling: each window's winner, its row-major number within the window
    # (N, C, *out; uint8 for windows of up to 256 elements); None for average pooling
    argmax: IntArray | None


@record(frozen=True)
class Pool:
    """A pooling layer; make it with :func:`maxpool1d`, :func:`maxpool2d`, :func:`avgpool1d`
    or :func:`avgpool2d`."""

    kind: str  # "max" or "avg"
    dims: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        return {}

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 1 + self.dims:
            axes = "channels × length" if self.dims == 1 else "channels × height × width"
            raise ValueError(f"{self.kind}pool{self.dims}d takes an input of {axes}, not "
                             f"{list(input_shape)}")
        sizes = []
        for n, k, s in zip(input_shape[1:], self.size, self.stride, strict=True):
            if n < k:
                raise ValueError(f"the pooling window ({k}) is larger than the input ({n})")
            sizes.append((n - k) // s + 1)
        return (input_shape[0], *sizes)

    def forward(self, x: Array, params: Params) -> tuple[Array, PoolCache]:
        windows = sliding_window_view(x, self.size, axis=tuple(range(2, 2 + self.dims)))[
            (slice(None), slice(None), *(slice(None, None, s) for s in self.stride))]
        out_shape = windows.shape[2:2 + self.dims]
        # window element e of every window at once: a strided view of x, (N, C, *out)
        slabs = [x[window_slice(offset, self.stride, out_shape)]
                 for offset in np.ndindex(*self.size)]
        if self.kind == "avg":
            total = slabs[0].copy()
            for slab in slabs[1:]:
                total += slab
            total /= len(slabs)
            return total, PoolCache(x.shape, windows, None)
        best = slabs[0].copy()
        # one byte per window when it can (a window of up to 256 elements): the backward
        # pass compares it once per window element
        argmax = np.zeros(best.shape, dtype=np.uint8 if len(slabs) <= 256 else np.intp)
        for e, slab in enumerate(slabs[1:], start=1):
            # strictly greater: a tie keeps the earlier element, the first maximum
            np.copyto(argmax, e, where=slab > best)
            np.maximum(best, slab, out=best)  # a NaN stays NaN
        return best, PoolCache(x.shape, windows, argmax)

    def backward(self, grad_out: Array, cache: PoolCache, params: Params
                 ) -> tuple[Array, Grads]:
        out = grad_out.shape[2:]
        overlap = any(s < k for s, k in zip(self.stride, self.size, strict=True))
        # windows side by side that cover the input: every element is written below
        tiled = all(s == k and n == o * k for s, k, n, o in zip(
            self.stride, self.size, cache.input_shape[2:], out, strict=True))
        grad = np.empty(cache.input_shape) if tiled else np.zeros(cache.input_shape)
        share = grad_out / math.prod(self.size)  # average pooling: each element's share
        for e, offset in enumerate(np.ndindex(*self.size)):
            # element e of every window at once
            target = grad[window_slice(offset, self.stride, out)]
            if cache.argmax is None:
                part = share
            elif overlap:  # max pooling: only the winner gets the window's gradient
                part = grad_out * (cache.argmax == e)
            else:  # the same, written in place: no other window reaches these elements
                np.multiply(grad_out, cache.argmax == e, out=target)
                continue
            if overlap:  # an element of several windows: the sum of their gradients
                target += part
            else:
                target[...] = part
        return grad, {}

    def param_grads(self, grad_out: Array, cache: PoolCache, params: Params,
                    per_sample: bool = False) -> Grads:
        return {}

    def winners(self, cache: PoolCache) -> IntArray:
        """The input position (0-based, per spatial axis) of each window's winner:
        (N, C, *out, dims). Max pooling only."""
        assert cache.argmax is not None
        offsets = np.unravel_index(cache.argmax, self.size)
        out = cache.argmax.shape[2:]
        starts = np.indices(out)
        positions = [start * s + o for start, s, o in zip(starts, self.stride, offsets,
                                                          strict=True)]
        return np.stack(positions, axis=-1)


def _pool(kind: str, dims: int, size: int | Sequence[int],
          stride: int | Sequence[int] | None) -> Pool:
    sizes = pair(size, dims, "size")
    return Pool(kind, dims, sizes, sizes if stride is None else pair(stride, dims, "stride"))


def maxpool1d(size: int | Sequence[int], stride: int | Sequence[int] | None = None) -> Pool:
    return _pool("max", 1, size, stride)


def maxpool2d(size: int | Sequence[int], stride: int | Sequence[int] | None = None) -> Pool:
    return _pool("max", 2, size, stride)


def avgpool1d(size: int | Sequence[int], stride: int | Sequence[int] | None = None) -> Pool:
    return _pool("avg", 1, size, stride)


def avgpool2d(size: int | Sequence[int], stride: int | Sequence[int] | None = None) -> Pool:
    return _pool("avg", 2, size, stride)
