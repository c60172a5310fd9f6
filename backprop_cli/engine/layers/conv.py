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
    ∂L/∂xp[n, c, i·sh + p, j·sw + q] += Σ_f δ[n,f,i,j] · K[f,c,p,q]   (every i, j, p, q)

that is, ∂L/∂xp is the full cross-correlation of δ (zeros between its rows and columns for a
stride) with K rotated by 180°; ∂L/∂x is its inner part, the padding cut off.

The windows are copied once into columns (im2col, (N, C·kh·kw, Ho·Wo)), so the forward
pass and both gradients are batched matrix products; ∂L/∂xp adds each window element's share
back (col2im, base.add_windows: a loop over the kh·kw kernel offsets, none over positions).
Rows or columns of the input that no window reaches (when the stride does not divide) get
a zero gradient, as in frameworks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backprop_cli.engine.layers.base import (
    Array,
    Grads,
    Params,
    Shape,
    add_windows,
    pair,
    window_columns,
)
from backprop_cli.records import record


@record(frozen=True, eq=False)
class ConvCache:
    input_shape: Shape  # the whole input's, samples first (unpadded)
    padded: Array  # xp: the input with its zero padding
    # every output position's window of xp: (N, C, *out, *kernel), a view of `padded`;
    # windows[n, :, i, j] is what K is laid over for z[n, :, i, j]
    windows: Array
    columns: Array  # the same windows as a matrix per sample: (N, C·kh·kw, Ho·Wo)


@record(frozen=True)
class Conv:
    """conv1d (``dims`` 1) or conv2d (``dims`` 2); make them with :func:`conv1d`, :func:`conv2d`."""

    dims: int
    filters: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    bias: bool = True

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
        windows, columns = window_columns(padded, self.kernel, self.stride)
        n = x.shape[0]
        columns = columns.reshape(n, -1, columns.shape[-1])  # (N, C·kh·kw, Ho·Wo)
        weights = params["weights"]
        out = weights.reshape(self.filters, -1) @ columns  # (N, F, Ho·Wo)
        if self.bias:
            out += params["bias"][:, None]
        out_sizes = windows.shape[2:2 + self.dims]
        return out.reshape(n, self.filters, *out_sizes), ConvCache(x.shape, padded, windows,
                                                                   columns)

    def param_grads(self, grad_out: Array, cache: ConvCache, params: Params,
                    per_sample: bool = False) -> Grads:
        n = grad_out.shape[0]
        delta = grad_out.reshape(n, self.filters, -1)  # (N, F, Ho·Wo)
        # Σ over positions of δ · window: one batched product, (N, F, C·kh·kw)
        each = delta @ cache.columns.transpose(0, 2, 1)
        shape = params["weights"].shape
        if per_sample:
            grads: Grads = {"weights": each.reshape(n, *shape)}
            if self.bias:
                grads["bias"] = np.add.reduce(delta, axis=2)
            return grads
        grads = {"weights": np.add.reduce(each, axis=0).reshape(shape)}
        if self.bias:
            grads["bias"] = np.add.reduce(delta, axis=(0, 2))
        return grads

    def backward(self, grad_out: Array, cache: ConvCache, params: Params
                 ) -> tuple[Array, Grads]:
        grads = self.param_grads(grad_out, cache, params)
        n = grad_out.shape[0]
        delta = grad_out.reshape(n, self.filters, -1)
        weights = params["weights"]
        # each window element's share of ∂L/∂xp, then added back to where it came from
        shares = weights.reshape(self.filters, -1).T @ delta  # (N, C·kh·kw, Ho·Wo)
        shares = shares.reshape(n, weights.shape[1], *self.kernel, *grad_out.shape[2:])
        grad_padded = add_windows(shares, self.stride, cache.padded.shape[2:])
        inner = (slice(None), slice(None), *(slice(p, p + size) for p, size in zip(
            self.padding, cache.input_shape[2:], strict=True)))
        return grad_padded[inner], grads

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
