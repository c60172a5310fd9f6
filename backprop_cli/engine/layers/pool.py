"""Pooling layers: maxpool1d/2d and avgpool1d/2d, per channel, without parameters.

Shapes: x (N, C, H, W) → out (N, C, Ho, Wo), Ho = ⌊(H − kh)/sh⌋ + 1; the stride defaults to
the size (windows side by side). Window (i, j) covers rows i·sh … i·sh + kh − 1 and columns
j·sw … j·sw + kw − 1; its elements in row-major order are numbered 0 … kh·kw − 1.

- Max pooling: out = the window's maximum. The gradient goes to ONE element of each window,
  its winner: the FIRST maximum in row-major order (so with a tie, the upper one, then the
  left one: NumPy's argmax, and what PyTorch's CPU kernels do). Where windows overlap, an
  element that wins several windows receives the sum of their gradients.
- Average pooling: out = the window's mean; each element of the window receives 1/(kh·kw)
  of its gradient, summed over the windows it belongs to.

Vectorised: the windows are a strided view (reshaped, one copy); the backward pass scatters
with one ``np.bincount`` over flat input indices, which also sums overlapping windows.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from backprop_cli.engine.layers.base import Array, Grads, Params, Shape, pair
from backprop_cli.records import record

IntArray = NDArray[np.intp]


@record(frozen=True, eq=False)
class PoolCache:
    input_shape: Shape  # the whole input's, samples first
    # max pooling: the winner of each window, its row-major number within the window
    # (N, C, *out); None for average pooling
    argmax: IntArray | None
    # the flat spatial input index (i·W + j) of each window element: (*out, kh·kw)
    window_index: IntArray


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
        d = self.dims
        spatial = tuple(range(2, 2 + d))
        steps = (slice(None), slice(None), *(slice(None, None, s) for s in self.stride))
        view = sliding_window_view(x, self.size, axis=spatial)[steps]
        windows = view.reshape(*view.shape[:2 + d], -1)  # (N, C, *out, kh·kw)
        index = _window_index(x.shape[2:], self.size, self.stride)
        if self.kind == "avg":
            return np.mean(windows, axis=-1), PoolCache(x.shape, None, index)
        argmax = np.argmax(windows, axis=-1)  # the first maximum
        out = np.take_along_axis(windows, argmax[..., None], axis=-1)[..., 0]
        return out, PoolCache(x.shape, argmax, index)

    def backward(self, grad_out: Array, cache: PoolCache, params: Params
                 ) -> tuple[Array, Grads]:
        shape = cache.input_shape
        n_c = shape[0] * shape[1]
        per_channel = math.prod(shape[2:])
        # the first flat input index of each (sample, channel): (N·C, 1)
        base = (np.arange(n_c, dtype=np.intp) * per_channel)[:, None]
        g = grad_out.reshape(n_c, -1)
        if cache.argmax is None:  # every element of a window gets an equal share
            index = cache.window_index.reshape(1, -1) + base
            k = cache.window_index.shape[-1]
            weights = np.broadcast_to((g / k)[:, :, None], (*g.shape, k))
        else:
            index = _winner_index(cache).reshape(n_c, -1) + base
            weights = g
        # float64 already (weights given): asarray makes no copy, it only tells the types
        grad = np.asarray(np.bincount(index.ravel(), weights=weights.ravel(),
                                      minlength=n_c * per_channel), dtype=np.float64)
        return grad.reshape(shape), {}

    def winners(self, cache: PoolCache) -> IntArray:
        """The input position (0-based, per spatial axis) of each window's winner:
        (N, C, *out, dims). Max pooling only."""
        spatial = cache.input_shape[2:]
        flat = _winner_index(cache)
        return np.stack(np.unravel_index(flat, spatial), axis=-1)


def _winner_index(cache: PoolCache) -> IntArray:
    """The flat spatial input index of each window's winner: (N, C, *out)."""
    assert cache.argmax is not None
    return np.take_along_axis(np.broadcast_to(cache.window_index, (
        *cache.argmax.shape, cache.window_index.shape[-1])), cache.argmax[..., None],
        axis=-1)[..., 0]


@functools.lru_cache(maxsize=64)
def _window_index(spatial: Shape, size: tuple[int, ...], stride: tuple[int, ...]) -> IntArray:
    """The flat spatial index of every element of every window: (*out, prod(size)),
    read-only (shared by every call with the same shapes)."""
    flat = np.arange(math.prod(spatial), dtype=np.intp).reshape(spatial)
    d = len(spatial)
    steps = tuple(slice(None, None, s) for s in stride)
    view = sliding_window_view(flat, size)[steps]
    index = np.ascontiguousarray(view.reshape(*view.shape[:d], -1))
    index.flags.writeable = False
    return index


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
