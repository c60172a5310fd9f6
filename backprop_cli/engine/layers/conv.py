"""Convolution layers, conv1d and conv2d, as every framework computes them: cross-correlation.

Shapes (0-based indices; one spatial axis for conv1d, two for conv2d):

    x  (N, C, H, W)          input, zero-padded by (ph, pw) on each side: xp
    K  (F, C, kh, kw)        weights, filters × channels × kernel
    b  (F,)                  a bias per filter (or none)
    z  (N, F, Ho, Wo)        Ho = ⌊(H + 2ph − kh)/sh⌋ + 1, the same for Wo

    z[n,f,i,j] = Σ_c Σ_p Σ_q K[f,c,p,q] · xp[n, c, i·sh + p, j·sw + q] + b[f]

Backward, with δ = ∂L/∂z:

    ∂L/∂K[f,c,p,q] = Σ_n Σ_i Σ_j δ[n,f,i,j] · xp[n, c, i·sh + p, j·sw + q]
    ∂L/∂b[f]       = Σ_n Σ_i Σ_j δ[n,f,i,j]
    ∂L/∂xp         = the full cross-correlation of δ (strides: zeros between its rows and
                     columns) with K rotated by 180°, summed over the filters; ∂L/∂x is its
                     inner part (the padding cut off)

Each is one tensordot over a strided window view (no copy until the tensordot): there is no
Python loop over positions. Rows or columns of the input that no window reaches (when the
stride does not divide) get a zero gradient, as in frameworks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from backprop_cli.engine.layers.base import Array, Grads, Params, Shape, pair
from backprop_cli.records import record


@record(frozen=True, eq=False)
class ConvCache:
    input_shape: Shape  # the whole input's, samples first (unpadded)
    padded: Array  # xp: the input with its zero padding
    # every output position's window of xp: (N, C, *out, *kernel), a view of `padded`;
    # windows[n, :, i, j] is what K is laid over for z[n, :, i, j]
    windows: Array


@record(frozen=True)
class Conv:
    """conv1d (``dims`` 1) or conv2d (``dims`` 2); make them with :func:`conv1d`, :func:`conv2d`."""

    dims: int
    filters: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    bias: bool = True

    @property
    def _spatial(self) -> tuple[int, ...]:
        return tuple(range(2, 2 + self.dims))

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        shapes: dict[str, Shape] = {"weights": (self.filters, input_shape[0], *self.kernel)}
        if self.bias:
            shapes["bias"] = (self.filters,)
        return shapes

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 1 + self.dims:
            axes = "channels × length" if self.dims == 1 else "channels × height × width"
            raise ValueError(f"conv{self.dims}d takes an input of {axes}, not "
                             f"{list(input_shape)}")
        sizes = []
        for size, k, s, p in zip(input_shape[1:], self.kernel, self.stride, self.padding,
                                 strict=True):
            if size + 2 * p < k:
                raise ValueError(f"the kernel ({k}) is larger than the padded input "
                                 f"({size + 2 * p})")
            sizes.append((size + 2 * p - k) // s + 1)
        return (self.filters, *sizes)

    def forward(self, x: Array, params: Params) -> tuple[Array, ConvCache]:
        padded = x
        if any(self.padding):
            padded = np.pad(x, [(0, 0), (0, 0), *((p, p) for p in self.padding)])
        steps = (slice(None), slice(None), *(slice(None, None, s) for s in self.stride))
        windows = sliding_window_view(padded, self.kernel, axis=self._spatial)[steps]
        out = self._correlate(windows, params["weights"])
        if self.bias:
            out += params["bias"].reshape(-1, *(1,) * self.dims)
        return out, ConvCache(x.shape, padded, windows)

    def _correlate(self, windows: Array, weights: Array) -> Array:
        """Σ over channels and kernel of windows (N, C, *out, *k) · weights (F, C, *k)."""
        d = self.dims
        kernel_axes = tuple(range(2 + d, 2 + 2 * d))
        out = np.tensordot(windows, weights, axes=((1, *kernel_axes), (1, *range(2, 2 + d))))
        return np.moveaxis(out, -1, 1)  # (N, *out, F) → (N, F, *out)

    def backward(self, grad_out: Array, cache: ConvCache, params: Params
                 ) -> tuple[Array, Grads]:
        d = self.dims
        out_axes = (0, *range(2, 2 + d))
        grads: Grads = {"weights": np.tensordot(grad_out, cache.windows,
                                                axes=(out_axes, out_axes))}
        if self.bias:
            grads["bias"] = np.add.reduce(grad_out.reshape(*grad_out.shape[:2], -1),
                                          axis=(0, 2))
        return self._input_gradient(grad_out, cache, params["weights"]), grads

    def _input_gradient(self, grad_out: Array, cache: ConvCache, weights: Array) -> Array:
        d = self.dims
        spatial = self._spatial
        out_sizes = grad_out.shape[2:]
        delta = grad_out
        if any(s > 1 for s in self.stride):  # zeros between the rows (columns) of δ
            dilated = [(o - 1) * s + 1 for o, s in zip(out_sizes, self.stride, strict=True)]
            delta = np.zeros((*grad_out.shape[:2], *dilated))
            delta[(slice(None), slice(None), *(slice(None, None, s) for s in self.stride))] = (
                grad_out)
        full = np.pad(delta, [(0, 0), (0, 0), *((k - 1, k - 1) for k in self.kernel)])
        windows = sliding_window_view(full, self.kernel, axis=spatial)
        rotated = weights[(slice(None), slice(None), *(slice(None, None, -1),) * d)]
        # (N, F, *reach, *k) · (F, C, *k) → (N, *reach, C): reach = (o − 1)·s + k per axis
        kernel_axes = tuple(range(2 + d, 2 + 2 * d))
        reached = np.tensordot(windows, rotated, axes=((1, *kernel_axes), (0, *range(2, 2 + d))))
        reached = np.moveaxis(reached, -1, 1)
        padded_shape = cache.padded.shape
        if reached.shape[2:] != padded_shape[2:]:  # rows no window reached: zero gradient
            reached = np.pad(reached, [(0, 0), (0, 0), *(
                (0, full_size - size) for full_size, size in zip(
                    padded_shape[2:], reached.shape[2:], strict=True))])
        inner = (slice(None), slice(None), *(slice(p, p + n) for p, n in zip(
            self.padding, cache.input_shape[2:], strict=True)))
        return reached[inner]

    def window_positions(self, out_index: Sequence[int]) -> list[tuple[int, ...]]:
        """The input positions (0-based, in the unpadded input; −1 or beyond the edge: a
        padding zero) that the kernel covers for the spatial output index ``out_index``,
        kernel elements in row-major order. For the worked solution's sums."""
        starts = [i * s - p for i, s, p in zip(out_index, self.stride, self.padding,
                                               strict=True)]
        offsets = np.indices(self.kernel).reshape(self.dims, -1).T
        return [tuple(int(st + o) for st, o in zip(starts, offset, strict=True))
                for offset in offsets]


def conv1d(filters: int, kernel: int | Sequence[int], stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] = 0, bias: bool = True) -> Conv:
    """A conv1d layer: input channels × length, weights filters × channels × k."""
    return _conv(1, filters, kernel, stride, padding, bias)


def conv2d(filters: int, kernel: int | Sequence[int], stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] = 0, bias: bool = True) -> Conv:
    """A conv2d layer: input channels × height × width, weights filters × channels × kh × kw;
    kernel, stride and padding one number or a pair (rows, columns)."""
    return _conv(2, filters, kernel, stride, padding, bias)


def _conv(dims: int, filters: int, kernel: int | Sequence[int], stride: int | Sequence[int],
          padding: int | Sequence[int], bias: bool) -> Conv:
    if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
        raise ValueError(f"filters must be a whole number of at least 1, not {filters!r}")
    return Conv(dims, filters, pair(kernel, dims, "kernel"), pair(stride, dims, "stride"),
                pair(padding, dims, "padding", minimum=0), bias)
