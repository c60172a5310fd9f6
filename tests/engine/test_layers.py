"""The layer types of issue 19 (backprop_cli.engine.layers): every gradient against central
finite differences, the forward passes against plain loops written here, max-pool ties,
the dropout scale, BPTT against a per-time-step loop, and a convolution exercise worked by
hand."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.engine.layers import (
    Activate,
    Dense,
    Dropout,
    Flatten,
    Rnn,
    avgpool1d,
    avgpool2d,
    backward_stack,
    conv1d,
    conv2d,
    forward_stack,
    maxpool1d,
    maxpool2d,
    sequence_loss,
    stack_shapes,
)
from backprop_cli.engine.layers.base import LayerType, pair
from backprop_cli.model.activations import ACTIVATION_NAMES, make_activation
from backprop_cli.model.losses import make_loss

Array = np.ndarray[Any, np.dtype[np.float64]]
ELEMENTWISE = [name for name in ACTIVATION_NAMES if name != "softmax"]
H = 1e-6  # the finite-difference step


def numeric_gradient(f: Callable[[], float], array: Array) -> Array:
    """Central differences of f() with respect to every element of ``array`` (in place)."""
    grad = np.zeros_like(array)
    flat = array.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + H
        up = f()
        flat[i] = keep - H
        down = f()
        flat[i] = keep
        grad.reshape(-1)[i] = (up - down) / (2 * H)
    return grad


def random_params(layer: LayerType[Any], input_shape: tuple[int, ...],
                  rng: np.random.Generator) -> dict[str, Array]:
    return {name: rng.normal(size=shape) for name, shape in
            layer.param_shapes(input_shape).items()}


def check_layer(layer: LayerType[Any], x: Array, params: dict[str, Array],
                rng: np.random.Generator, rtol: float = 1e-6, alone: bool = True) -> None:
    """The gradients of Σ R ⊙ layer(x) (R random) against finite differences, for x and
    every parameter; and the output has the declared shape. ``alone``: the layer can run
    one sample alone (no setting per sample), to check per-sample gradients against."""
    out, cache = layer.forward(x, params)
    assert out.shape == (x.shape[0], *layer.output_shape(x.shape[1:]))
    weights = rng.normal(size=out.shape)

    def objective() -> float:
        return float(np.sum(weights * layer.forward(x, params)[0]))

    grad_in, grads = layer.backward(weights, cache, params)
    assert set(grads) == set(params)
    without = layer.param_grads(weights, cache, params)  # without ∂L/∂x: the same numbers
    assert without.keys() == grads.keys()
    for name, value in without.items():
        np.testing.assert_array_equal(value, grads[name])
    # each sample's own gradient: what the layer gives for that sample alone
    each = layer.param_grads(weights, cache, params, per_sample=True)
    assert each.keys() == grads.keys()
    for k in range(x.shape[0] if alone else 0):
        _, own_cache = layer.forward(x[k:k + 1], params)
        own = layer.param_grads(weights[k:k + 1], own_cache, params)
        for name, value in own.items():
            np.testing.assert_allclose(each[name][k], value, rtol=1e-12, atol=1e-14)
    for name, value in each.items():
        np.testing.assert_allclose(np.sum(value, axis=0), grads[name], rtol=1e-12,
                                   atol=1e-14)
    np.testing.assert_allclose(grad_in, numeric_gradient(objective, x), rtol=rtol, atol=1e-7)
    for name, value in params.items():
        assert grads[name].shape == value.shape
        np.testing.assert_allclose(grads[name], numeric_gradient(objective, value),
                                   rtol=rtol, atol=1e-7, err_msg=name)


# ------------------------------------------------------------------ convolution


def plain_conv2d(x: Array, k: Array, b: Array | None, stride: tuple[int, int],
                 padding: tuple[int, int]) -> Array:
    """Cross-correlation by the definition, one output number at a time."""
    n, c, h, w = x.shape
    f, _, kh, kw = k.shape
    xp = np.zeros((n, c, h + 2 * padding[0], w + 2 * padding[1]))
    xp[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w] = x
    ho = (h + 2 * padding[0] - kh) // stride[0] + 1
    wo = (w + 2 * padding[1] - kw) // stride[1] + 1
    out = np.zeros((n, f, ho, wo))
    for s in range(n):
        for fi in range(f):
            for i in range(ho):
                for j in range(wo):
                    total = 0.0 if b is None else b[fi]
                    for ci in range(c):
                        for p in range(kh):
                            for q in range(kw):
                                total += (k[fi, ci, p, q]
                                          * xp[s, ci, i * stride[0] + p, j * stride[1] + q])
                    out[s, fi, i, j] = total
    return out


CONV2D_CASES = [  # samples, channels, filters, (H, W), kernel, stride, padding, bias
    (1, 1, 1, (4, 4), 2, 1, 0, True),
    (3, 2, 3, (5, 6), (2, 3), 1, 0, True),
    (2, 2, 2, (6, 7), 3, 2, 0, False),  # the stride does not divide: unreached columns
    (2, 3, 2, (5, 5), 3, (2, 1), 1, True),
    (2, 1, 4, (4, 5), (3, 2), 1, (2, 1), True),
    (1, 2, 1, (3, 3), 3, 3, 2, True),
]


@pytest.mark.parametrize("case", CONV2D_CASES)
def test_conv2d_against_the_definition_and_finite_differences(case: tuple[Any, ...]) -> None:
    n, c, f, (h, w), kernel, stride, padding, bias = case
    rng = np.random.default_rng(hash(case) % 2**32)
    layer = conv2d(f, kernel, stride, padding, bias)
    x = rng.normal(size=(n, c, h, w))
    params = random_params(layer, x.shape[1:], rng)
    out, _ = layer.forward(x, params)
    np.testing.assert_allclose(out, plain_conv2d(x, params["weights"], params.get("bias"),
                                                 layer.stride, layer.padding),  # type: ignore[arg-type]
                               rtol=1e-12, atol=1e-12)
    check_layer(layer, x, params, rng)


@pytest.mark.parametrize("case", [  # samples, channels, filters, length, kernel, stride, pad
    (1, 1, 1, 5, 2, 1, 0),
    (3, 2, 3, 9, 3, 2, 1),
    (2, 3, 2, 8, 4, 3, 2),
])
def test_conv1d_against_the_definition_and_finite_differences(case: tuple[int, ...]) -> None:
    n, c, f, length, kernel, stride, padding = case
    rng = np.random.default_rng(sum(case))
    layer = conv1d(f, kernel, stride, padding)
    x = rng.normal(size=(n, c, length))
    params = random_params(layer, x.shape[1:], rng)
    out, _ = layer.forward(x, params)
    # conv1d is conv2d over one row
    as_2d = plain_conv2d(x[:, :, None, :], params["weights"][:, :, None, :], params["bias"],
                         (1, stride), (0, padding))
    np.testing.assert_allclose(out, as_2d[:, :, 0, :], rtol=1e-12, atol=1e-12)
    check_layer(layer, x, params, rng)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 2), f=st.integers(1, 2),
       h=st.integers(3, 6), w=st.integers(3, 6), kh=st.integers(1, 3), kw=st.integers(1, 3),
       sh=st.integers(1, 3), sw=st.integers(1, 3), ph=st.integers(0, 2), pw=st.integers(0, 2),
       bias=st.booleans(), seed=st.integers(0, 2**16))
def test_conv2d_random_settings(n: int, c: int, f: int, h: int, w: int, kh: int, kw: int,
                                sh: int, sw: int, ph: int, pw: int, bias: bool,
                                seed: int) -> None:
    rng = np.random.default_rng(seed)
    layer = conv2d(f, (kh, kw), (sh, sw), (ph, pw), bias)
    x = rng.normal(size=(n, c, h, w))
    check_layer(layer, x, random_params(layer, x.shape[1:], rng), rng)


def test_conv_window_positions_name_the_input_under_the_kernel() -> None:
    layer = conv2d(1, 2, stride=2, padding=1)
    assert layer.window_positions((0, 0)) == [(-1, -1), (-1, 0), (0, -1), (0, 0)]
    assert layer.window_positions((1, 2)) == [(1, 3), (1, 4), (2, 3), (2, 4)]
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    _, cache = layer.forward(x, {"weights": np.ones((1, 1, 2, 2)), "bias": np.zeros(1)})
    # the cached window of output (1, 1): padded rows 2–3, columns 2–3 = input rows 1–2
    np.testing.assert_array_equal(cache.windows[0, 0, 1, 1], [[5.0, 6.0], [9.0, 10.0]])


def test_conv_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="kernel must be a whole number or 2 of them"):
        conv2d(1, (2, 2, 2))
    with pytest.raises(ValueError, match="stride must be at least 1"):
        conv2d(1, 2, stride=0)
    with pytest.raises(ValueError, match="padding must be at least 0"):
        conv1d(1, 2, padding=-1)
    with pytest.raises(ValueError, match="filters must be"):
        conv2d(0, 2)
    with pytest.raises(ValueError, match=r"the kernel \(5\) is larger than the padded input"):
        conv2d(1, 5).output_shape((1, 4, 4))
    with pytest.raises(ValueError, match="channels × height × width"):
        conv2d(1, 2).output_shape((4, 4))
    assert pair(3, 2, "size") == (3, 3)
    assert pair([1, 2], 2, "size") == (1, 2)


# ------------------------------------------------------------------ pooling

POOL_CASES = [  # maker, input shape (one sample), size, stride
    (maxpool2d, (2, 4, 4), 2, None),
    (maxpool2d, (3, 5, 6), (2, 3), (1, 2)),  # overlapping rows
    (maxpool2d, (1, 7, 5), 3, 2),  # overlapping, the stride does not divide
    (maxpool2d, (2, 5, 5), 2, 3),  # gaps between windows
    (avgpool2d, (2, 4, 4), 2, None),
    (avgpool2d, (2, 5, 6), (3, 2), (1, 2)),
    (avgpool2d, (1, 7, 5), 3, 2),
    (maxpool1d, (2, 7), 2, None),
    (maxpool1d, (3, 8), 3, 1),
    (avgpool1d, (2, 7), 2, None),
    (avgpool1d, (3, 9), 4, 2),
]


@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: f"{c[0].__name__}" if callable(c)
                         else None)
def test_pooling_against_finite_differences(case: tuple[Any, ...]) -> None:
    maker, shape, size, stride = case
    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    layer = maker(size, stride)
    x = rng.normal(size=(3, *shape))
    check_layer(layer, x, {}, rng)


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(["max", "avg"]), dims=st.integers(1, 2), n=st.integers(1, 2),
       c=st.integers(1, 2), sizes=st.lists(st.integers(1, 3), min_size=2, max_size=2),
       strides=st.lists(st.integers(1, 3), min_size=2, max_size=2),
       extra=st.lists(st.integers(0, 3), min_size=2, max_size=2), seed=st.integers(0, 2**16))
def test_pooling_random_settings(kind: str, dims: int, n: int, c: int, sizes: list[int],
                                 strides: list[int], extra: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    maker = {("max", 1): maxpool1d, ("max", 2): maxpool2d, ("avg", 1): avgpool1d,
             ("avg", 2): avgpool2d}[kind, dims]
    layer = maker(sizes[:dims], strides[:dims])
    x = rng.normal(size=(n, c, *(k + e for k, e in zip(sizes[:dims], extra, strict=False))))
    check_layer(layer, x, {}, rng)


def test_pooling_against_windows_taken_one_by_one() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 7, 6))
    for maker, reduce in ((maxpool2d, np.max), (avgpool2d, np.mean)):
        out, _ = maker((3, 2), (2, 2)).forward(x, {})
        assert out.shape == (2, 3, 3, 3)
        for i in range(3):
            for j in range(3):
                window = x[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 2]
                np.testing.assert_array_equal(out[:, :, i, j], reduce(window, axis=(2, 3)))


def test_max_pooling_routes_a_tie_to_the_first_maximum_in_row_major_order() -> None:
    x = np.array([[[[1.0, 3.0, 2.0, 2.0],
                    [3.0, 3.0, 2.0, 2.0],
                    [0.0, 5.0, 7.0, 1.0],
                    [5.0, 5.0, 1.0, 7.0]]]])
    layer = maxpool2d(2)
    out, cache = layer.forward(x, {})
    np.testing.assert_array_equal(out, [[[[3.0, 2.0], [5.0, 7.0]]]])
    # winners: (0,1) above (1,0) and (1,1); (0,2) of four equal; (2,1) before (3,0);
    # (2,2) before (3,3)
    assert layer.winners(cache)[0, 0].tolist() == [[[0, 1], [0, 2]], [[2, 1], [2, 2]]]
    grad, _ = layer.backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]), cache, {})
    np.testing.assert_array_equal(grad, [[[[0.0, 10.0, 20.0, 0.0],
                                           [0.0, 0.0, 0.0, 0.0],
                                           [0.0, 30.0, 40.0, 0.0],
                                           [0.0, 0.0, 0.0, 0.0]]]])


def test_max_pooling_sums_the_gradients_of_an_element_that_wins_overlapping_windows() -> None:
    x = np.array([[[1.0, 9.0, 2.0, 9.0, 0.0]]])  # conv1d-shaped: 1 channel, length 5
    layer = maxpool1d(3, 1)
    out, cache = layer.forward(x, {})
    np.testing.assert_array_equal(out, [[[9.0, 9.0, 9.0]]])
    assert layer.winners(cache)[0, 0].tolist() == [[1], [1], [3]]  # the first 9 twice
    grad, _ = layer.backward(np.array([[[1.0, 2.0, 4.0]]]), cache, {})
    np.testing.assert_array_equal(grad, [[[0.0, 3.0, 0.0, 4.0, 0.0]]])


def test_average_pooling_shares_the_gradient_equally() -> None:
    layer = avgpool2d(2, 1)
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    out, cache = layer.forward(x, {})
    np.testing.assert_array_equal(out, [[[[2.0, 3.0], [5.0, 6.0]]]])
    grad, _ = layer.backward(np.array([[[[4.0, 8.0], [12.0, 16.0]]]]), cache, {})
    # each window's gradient /4 to each of its elements; the centre is in all four windows
    np.testing.assert_array_equal(grad, [[[[1.0, 3.0, 2.0],
                                           [4.0, 10.0, 6.0],
                                           [3.0, 7.0, 4.0]]]])


def test_pooling_settings() -> None:
    assert maxpool2d(2).stride == (2, 2)
    assert avgpool1d(3, 1).stride == (1,)
    assert maxpool2d(3, 2).output_shape((4, 7, 8)) == (4, 3, 3)
    with pytest.raises(ValueError, match=r"the pooling window \(3\) is larger than the input"):
        maxpool2d(3).output_shape((1, 2, 5))
    with pytest.raises(ValueError, match="size must be at least 1"):
        maxpool1d(0)


# ------------------------------------------------------------------ dropout and flatten


def test_dropout_scales_kept_elements_by_one_over_one_minus_the_rate() -> None:
    x = np.array([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]])  # 2 samples, 2×2
    layer = Dropout(0.5, np.array([[1.0, 0.0], [1.0, 1.0]]))
    assert layer.scale == 2.0
    out, cache = layer.forward(x, {})
    np.testing.assert_array_equal(out, [[[2.0, 0.0], [6.0, 8.0]], [[10.0, 0.0], [14.0, 16.0]]])
    grad, grads = layer.backward(np.ones_like(x), cache, {})
    np.testing.assert_array_equal(grad, [[[2.0, 0.0], [2.0, 2.0]]] * 2)
    assert grads == {}
    quarter = Dropout(0.25, np.array([[[1.0, 1.0]], [[0.0, 1.0]]]))  # a mask per sample
    out, _ = quarter.forward(np.array([[[3.0, 6.0]], [[3.0, 6.0]]]), {})
    np.testing.assert_allclose(out, [[[4.0, 8.0]], [[0.0, 8.0]]], rtol=1e-15)
    rng = np.random.default_rng(3)
    mask = (rng.random((2, 3, 4)) > 0.3).astype(np.float64)
    check_layer(Dropout(0.3, mask), rng.normal(size=(2, 2, 3, 4)), {}, rng)
    assert Dropout(0.0, np.ones(2)).forward(np.array([[1.5, 2.5]]), {})[0].tolist() == [
        [1.5, 2.5]]


def test_dropout_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="rate must be at least 0 and below 1"):
        Dropout(1.0, np.ones(2))
    with pytest.raises(ValueError, match="mask must hold only 0"):
        Dropout(0.5, np.array([1.0, 0.5]))
    with pytest.raises(ValueError, match=r"mask has shape \[2\], the input \[3\]"):
        Dropout(0.5, np.ones(2)).output_shape((3,))


def test_flatten_is_row_major_over_channel_row_column() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 4, 5))
    layer = Flatten()
    out, cache = layer.forward(x, {})
    assert layer.output_shape((3, 4, 5)) == (60,)
    for c, i, j in [(0, 0, 0), (1, 2, 3), (2, 3, 4), (0, 1, 0)]:
        np.testing.assert_array_equal(out[:, (c * 4 + i) * 5 + j], x[:, c, i, j])
    back, _ = layer.backward(out, cache, {})
    np.testing.assert_array_equal(back, x)


# ------------------------------------------------------------------ dense and activations


def test_dense_against_finite_differences_over_samples_and_steps() -> None:
    rng = np.random.default_rng(11)
    for shape, bias in (((3, 4), True), ((2, 3, 4), True), ((3, 4), False)):
        layer = Dense(3, bias)
        x = rng.normal(size=shape)
        check_layer(layer, x, random_params(layer, shape[1:], rng), rng)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_every_activation_as_a_layer_on_tensors(name: str) -> None:
    rng = np.random.default_rng(len(name))
    x = rng.normal(size=(2, 3, 2, 4))
    check_layer(Activate(make_activation(name)), x, {}, rng, rtol=1e-5)


# ------------------------------------------------------------------ whole networks

LOSS_OUTPUTS = [  # the loss and an output activation it goes with
    ("half_squared_error", "identity"),
    ("squared_error", "tanh"),
    ("mean_squared_error", "sigmoid"),
    ("binary_cross_entropy", "sigmoid"),
    ("cross_entropy", "softmax"),
]


def targets_for(loss: str, rng: np.random.Generator, n: int, k: int) -> Array:
    if loss == "cross_entropy":
        return np.eye(k)[rng.integers(0, k, size=n)]
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, size=(n, k)).astype(np.float64)
    return rng.normal(size=(n, k))


def check_network(layers: list[LayerType[Any]], x: Array, loss_name: str,
                  output: str, rng: np.random.Generator) -> None:
    """conv/pool/… layers, then the loss summed over the samples: every gradient of the
    stack against finite differences."""
    loss = make_loss(loss_name)
    shapes = stack_shapes(layers, x.shape[1:])
    params = [{name: rng.normal(size=s) * 0.7 for name, s in p.items()} for _, p in shapes]
    y = targets_for(loss_name, rng, x.shape[0], shapes[-1][0][-1])

    def total() -> float:
        a, caches = forward_stack(layers, params, x)
        return float(np.sum(loss.per_sample(caches[-1].z, a, y, output)))

    a, caches = forward_stack(layers, params, x)
    assert a.shape == (x.shape[0], *shapes[-1][0])
    grad_x, grads = backward_stack(layers, params, caches,
                                   loss.grad_a(caches[-1].z, a, y, output))
    assert grad_x is not None
    np.testing.assert_allclose(grad_x, numeric_gradient(total, x), rtol=1e-5, atol=1e-7)
    for p, g in zip(params, grads, strict=True):
        for name, value in p.items():
            np.testing.assert_allclose(g[name], numeric_gradient(total, value), rtol=1e-5,
                                       atol=1e-7, err_msg=name)
    no_input, same = backward_stack(layers, params, caches, loss.grad_a(caches[-1].z, a, y,
                                                                        output), False)
    assert no_input is None
    for g, h in zip(grads, same, strict=True):
        assert g.keys() == h.keys()
        for name in g:
            np.testing.assert_array_equal(g[name], h[name])


@pytest.mark.parametrize("hidden", ELEMENTWISE)
@pytest.mark.parametrize(("loss", "output"), LOSS_OUTPUTS)
def test_conv_pool_dropout_networks_against_finite_differences(hidden: str, loss: str,
                                                               output: str) -> None:
    rng = np.random.default_rng(len(hidden) * 7 + len(loss))
    mask = (rng.random((3, 2, 2)) > 0.4).astype(np.float64)
    layers: list[LayerType[Any]] = [
        conv2d(3, 2, stride=1, padding=1), Activate(make_activation(hidden)),
        maxpool2d(2, 2) if len(hidden) % 2 else avgpool2d(2, 2),
        Dropout(0.4, mask), Flatten(),
        Dense(3), Activate(make_activation(output)),
    ]
    check_network(layers, rng.normal(size=(3, 2, 3, 3)), loss, output, rng)


@pytest.mark.parametrize(("loss", "output"), LOSS_OUTPUTS)
def test_conv1d_networks_against_finite_differences(loss: str, output: str) -> None:
    rng = np.random.default_rng(len(loss))
    layers: list[LayerType[Any]] = [
        conv1d(2, 3, stride=2, padding=1, bias=False), Activate(make_activation("tanh")),
        conv1d(2, 2), Activate(make_activation("elu")), maxpool1d(2, 1), Flatten(),
        Dense(2), Activate(make_activation(output)),
    ]
    check_network(layers, rng.normal(size=(2, 2, 9)), loss, output, rng)


# ------------------------------------------------------------------ recurrence


def sigma(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def plain_rnn(x: Array, w: Array, u: Array, b: Array, h0: Array, v: Array, c: Array,
              f: Callable[[float], float], df: Callable[[float], float],
              targets: Array, loss_at: str) -> dict[str, Any]:
    """One sample at a time, one step at a time, one unit at a time: the forward pass,
    the half-squared-error loss, and BPTT from the last step back, with identity outputs
    y_t = V·h_t + c. Returns the loss and every gradient."""
    n, steps, d = x.shape
    units, outputs = w.shape[0], v.shape[0]
    total = 0.0
    gw, gu, gb = np.zeros_like(w), np.zeros_like(u), np.zeros_like(b)
    gv, gc, gx = np.zeros_like(v), np.zeros_like(c), np.zeros_like(x)
    for s in range(n):
        hs = [list(h0)]  # hs[t] is h_t, t = 0 … T
        zs: list[list[float]] = [[]]
        ys: list[list[float]] = [[]]
        for t in range(1, steps + 1):
            z = []
            for i in range(units):
                value = sum(w[i, j] * x[s, t - 1, j] for j in range(d))
                value += sum(u[i, j] * hs[t - 1][j] for j in range(units))
                z.append(value + b[i])
            zs.append(z)
            hs.append([f(value) for value in z])
            ys.append([sum(v[o, i] * hs[t][i] for i in range(units)) + c[o]
                       for o in range(outputs)])
        # the loss and ∂L/∂y_t
        gy = [[0.0] * outputs for _ in range(steps + 1)]
        for t in range(1, steps + 1):
            if loss_at == "every" or t == steps:
                target = targets[s, t - 1] if loss_at == "every" else targets[s]
                for o in range(outputs):
                    total += 0.5 * (target[o] - ys[t][o]) ** 2
                    gy[t][o] = ys[t][o] - target[o]
        # BPTT
        carried = [0.0] * units
        for t in range(steps, 0, -1):
            gh = [sum(gy[t][o] * v[o, i] for o in range(outputs)) + carried[i]
                  for i in range(units)]
            gz = [gh[i] * df(zs[t][i]) for i in range(units)]
            for o in range(outputs):
                gc[o] += gy[t][o]
                for i in range(units):
                    gv[o, i] += gy[t][o] * hs[t][i]
            for i in range(units):
                gb[i] += gz[i]
                for j in range(d):
                    gw[i, j] += gz[i] * x[s, t - 1, j]
                    gx[s, t - 1, j] += gz[i] * w[i, j]
                for j in range(units):
                    gu[i, j] += gz[i] * hs[t - 1][j]
            carried = [sum(gz[i] * u[i, j] for i in range(units)) for j in range(units)]
    return {"loss": total, "weights": gw, "recurrent": gu, "bias": gb, "v": gv, "c": gc,
            "x": gx}


@pytest.mark.parametrize("loss_at", ["last", "every"])
@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu"])
def test_rnn_against_a_plain_per_time_step_loop(name: str, loss_at: str) -> None:
    scalar = {"tanh": (math.tanh, lambda z: 1 - math.tanh(z) ** 2),
              "sigmoid": (sigma, lambda z: sigma(z) * (1 - sigma(z))),
              "relu": (lambda z: max(z, 0.0), lambda z: float(z > 0))}[name]
    rng = np.random.default_rng(len(name) + len(loss_at))
    n, steps, d, units, outputs = 2, 4, 3, 2, 2
    x = rng.normal(size=(n, steps, d))
    h0 = rng.normal(size=units)
    rnn = Rnn(units, make_activation(name), initial=h0)
    params = random_params(rnn, (steps, d), rng)
    dense = Dense(outputs)
    dense_params = random_params(dense, (steps, units), rng)
    targets = rng.normal(size=(n, steps, outputs) if loss_at == "every" else (n, outputs))
    h, cache = rnn.forward(x, params)
    y, dense_cache = dense.forward(h, dense_params)
    per_sample, per_step, grad_y = sequence_loss(make_loss("half_squared_error"), "identity",
                                                 y, y, targets, loss_at)
    grad_h, g_dense = dense.backward(grad_y, dense_cache, dense_params)
    grad_x, g_rnn = rnn.backward(grad_h, cache, params)
    plain = plain_rnn(x, params["weights"], params["recurrent"], params["bias"], h0,
                      dense_params["weights"], dense_params["bias"], *scalar, targets, loss_at)
    assert per_sample.shape == (n,)
    assert float(per_sample.sum()) == pytest.approx(plain["loss"], rel=1e-12)
    if loss_at == "last":
        assert not per_step[:, :-1].any()
    for name_, value in (*g_rnn.items(), ("v", g_dense["weights"]), ("c", g_dense["bias"]),
                         ("x", grad_x)):
        np.testing.assert_allclose(value, plain[name_], rtol=1e-10, atol=1e-12,
                                   err_msg=name_)


def test_rnn_worked_example_of_the_issue() -> None:
    """The issue's one-unit rnn, h_t = tanh(0.5·x_t + 0.9·h_{t−1} + 0.1), y_t = 1.5·h_t,
    x = 1, 0.5, −1, target 0.5 at the last step, half squared error: by hand."""
    rnn = Rnn(1, make_activation("tanh"), initial=np.array([0.0]))
    params = {"weights": np.array([[0.5]]), "recurrent": np.array([[0.9]]),
              "bias": np.array([0.1])}
    x = np.array([[[1.0], [0.5], [-1.0]]])
    h, cache = rnn.forward(x, params)
    h1 = math.tanh(0.5 * 1 + 0.9 * 0 + 0.1)
    h2 = math.tanh(0.5 * 0.5 + 0.9 * h1 + 0.1)
    h3 = math.tanh(0.5 * -1 + 0.9 * h2 + 0.1)
    np.testing.assert_allclose(h[0, :, 0], [h1, h2, h3], rtol=1e-15)
    y3 = 1.5 * h3
    grad_h = np.zeros((1, 3, 1))
    grad_h[0, 2, 0] = (y3 - 0.5) * 1.5  # ∂L/∂y_3 · v
    trace = rnn.bptt(grad_h, cache, params)
    gz3 = (y3 - 0.5) * 1.5 * (1 - h3 ** 2)
    gh2 = 0.9 * gz3
    gz2 = gh2 * (1 - h2 ** 2)
    gh1 = 0.9 * gz2
    gz1 = gh1 * (1 - h1 ** 2)
    np.testing.assert_allclose(trace.grad_h[0, :, 0], [gh1, gh2, (y3 - 0.5) * 1.5],
                               rtol=1e-14)
    np.testing.assert_allclose(trace.grad_z[0, :, 0], [gz1, gz2, gz3], rtol=1e-14)
    assert trace.grad_h0[0, 0] == pytest.approx(0.9 * gz1, rel=1e-14)
    _, grads = rnn.backward(grad_h, cache, params)
    # one gradient per shared parameter: the sum over the three steps
    assert grads["weights"][0, 0] == pytest.approx(gz1 * 1 + gz2 * 0.5 + gz3 * -1, rel=1e-14)
    assert grads["recurrent"][0, 0] == pytest.approx(gz1 * 0 + gz2 * h1 + gz3 * h2, rel=1e-14)
    assert grads["bias"][0] == pytest.approx(gz1 + gz2 + gz3, rel=1e-14)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_rnn_against_finite_differences(name: str) -> None:
    rng = np.random.default_rng(len(name) * 3)
    x = rng.normal(size=(3, 4, 2))
    rnn = Rnn(3, make_activation(name), bias=name != "silu",
              initial=rng.normal(size=(3, 3)) if name == "elu" else None)
    check_layer(rnn, x, {k: v * 0.6 for k, v in random_params(rnn, (4, 2), rng).items()},
                rng, rtol=1e-5, alone=rnn.initial is None)


@pytest.mark.parametrize("loss_at", ["last", "every"])
@pytest.mark.parametrize(("loss", "output"), LOSS_OUTPUTS)
def test_rnn_networks_with_every_loss(loss: str, output: str, loss_at: str) -> None:
    rng = np.random.default_rng(len(loss) + len(loss_at))
    n, steps, outputs = 2, 3, 3
    layers: list[LayerType[Any]] = [Rnn(2, make_activation("tanh")), Dense(2),
                                    Activate(make_activation("relu")), Dense(outputs),
                                    Activate(make_activation(output))]
    x = rng.normal(size=(n, steps, 2))
    shapes = stack_shapes(layers, x.shape[1:])
    params = [{k: rng.normal(size=s) for k, s in p.items()} for _, p in shapes]
    y = targets_for(loss, rng, n * steps, outputs).reshape(n, steps, outputs)
    if loss_at == "last":
        y = y[:, -1]
    spec = make_loss(loss)

    def total() -> float:
        a, caches = forward_stack(layers, params, x)
        return float(np.sum(sequence_loss(spec, output, caches[-1].z, a, y, loss_at)[0]))

    a, caches = forward_stack(layers, params, x)
    _, _, grad_a = sequence_loss(spec, output, caches[-1].z, a, y, loss_at)
    grad_x, grads = backward_stack(layers, params, caches, grad_a)
    np.testing.assert_allclose(grad_x, numeric_gradient(total, x), rtol=1e-5, atol=1e-7)
    for p, g in zip(params, grads, strict=True):
        for key, value in p.items():
            np.testing.assert_allclose(g[key], numeric_gradient(total, value), rtol=1e-5,
                                       atol=1e-7, err_msg=key)


def test_rnn_settings() -> None:
    with pytest.raises(ValueError, match="not softmax"):
        Rnn(2, make_activation("softmax"))
    with pytest.raises(ValueError, match="loss_at must be one of last, every"):
        sequence_loss(make_loss("half_squared_error"), "identity", np.zeros((1, 2, 1)),
                      np.zeros((1, 2, 1)), np.zeros((1, 1)), "first")
    rnn = Rnn(4, make_activation("tanh"), bias=False)
    assert rnn.param_shapes((5, 3)) == {"weights": (4, 3), "recurrent": (4, 4)}
    assert rnn.output_shape((5, 3)) == (5, 4)


# ------------------------------------------------------------------ worked by hand


def test_the_issues_convolution_exercise_by_hand() -> None:
    """The network of issue 19's YAML: a 1×4×4 input, one 2×2 kernel K = [[1, 0], [0, −1]],
    bias 0.5, ReLU, max pool 2, dropout (rate 0.5, mask [[1, 0], [1, 1]]), flatten, one
    sigmoid unit with weights [0.1, −0.2, 0.3, 0.4] (no bias), half squared error, target 1.

    The issue's pool has stride 2, which leaves a 1×1 output from the 3×3 convolution, while
    its mask and dense weights need 2×2: the pool here has stride 1 (the next test does
    stride 2). Every number below is worked by hand from the definitions."""
    x = np.array([[[[1.0, 2.0, 0.0, 1.0],
                    [0.0, 1.0, 3.0, 1.0],
                    [2.0, 1.0, 0.0, 0.0],
                    [1.0, 0.0, 1.0, 2.0]]]])
    layers: list[LayerType[Any]] = [
        conv2d(1, 2), Activate(make_activation("relu")), maxpool2d(2, 1),
        Dropout(0.5, np.array([[[1.0, 0.0], [1.0, 1.0]]])), Flatten(), Dense(1, bias=False),
        Activate(make_activation("sigmoid")),
    ]
    params: list[dict[str, Array]] = [
        {"weights": np.array([[[[1.0, 0.0], [0.0, -1.0]]]]), "bias": np.array([0.5])},
        {}, {}, {}, {}, {"weights": np.array([[0.1, -0.2, 0.3, 0.4]])}, {}]
    a, caches = forward_stack(layers, params, x)
    # z_C[i,j] = x[i,j] − x[i+1,j+1] + 0.5
    z_c = [[1 - 1 + 0.5, 2 - 3 + 0.5, 0 - 1 + 0.5],
           [0 - 1 + 0.5, 1 - 0 + 0.5, 3 - 0 + 0.5],
           [2 - 0 + 0.5, 1 - 1 + 0.5, 0 - 2 + 0.5]]
    assert z_c == [[0.5, -0.5, -0.5], [-0.5, 1.5, 3.5], [2.5, 0.5, -1.5]]
    np.testing.assert_array_equal(caches[1].z[0, 0], z_c)
    a_c = [[0.5, 0.0, 0.0], [0.0, 1.5, 3.5], [2.5, 0.5, 0.0]]
    np.testing.assert_array_equal(caches[1].a[0, 0], a_c)
    # pooled: the maximum of each 2×2 window, stride 1
    pooled, pool_cache = layers[2].forward(caches[1].a, {})
    np.testing.assert_array_equal(pooled[0, 0], [[1.5, 3.5], [2.5, 3.5]])
    # the winners: (1,1), (1,2), (2,0), and (1,2) again (0-based)
    assert layers[2].winners(pool_cache)[0, 0].tolist() == [  # type: ignore[attr-defined]
        [[1, 1], [1, 2]], [[2, 0], [1, 2]]]
    # dropout: ×2 where kept
    dropped, _ = layers[3].forward(pooled, {})
    np.testing.assert_array_equal(dropped[0, 0], [[3.0, 0.0], [5.0, 7.0]])
    # the output unit: z = 0.1·3 − 0.2·0 + 0.3·5 + 0.4·7 = 4.6
    z_o = caches[6].z[0, 0]
    assert z_o == pytest.approx(4.6, rel=1e-15)
    a_o = 1 / (1 + math.exp(-4.6))
    assert a[0, 0] == pytest.approx(a_o, rel=1e-15)
    # backward, one layer at a time: ∂L/∂a = a − y, δ = (a − y)·a(1 − a)
    delta = (a_o - 1) * a_o * (1 - a_o)
    grad = a - 1.0
    assert grad[0, 0] == pytest.approx(a_o - 1, rel=1e-15)
    steps = []  # ∂L/∂(the input of each layer), from the top down
    for i in range(len(layers) - 1, -1, -1):
        grad, _ = layers[i].backward(grad, caches[i], params[i])
        steps.insert(0, grad)
    assert steps[6][0, 0] == pytest.approx(delta, rel=1e-14)  # grad.z of the output unit
    # ∂L/∂flat = δ·w
    np.testing.assert_allclose(steps[5][0], [0.1 * delta, -0.2 * delta, 0.3 * delta,
                                             0.4 * delta], rtol=1e-14)
    # ∂L/∂dropped (the flatten's input): the same, as 1×2×2
    np.testing.assert_allclose(steps[4][0, 0], [[0.1 * delta, -0.2 * delta],
                                                [0.3 * delta, 0.4 * delta]], rtol=1e-14)
    # ∂L/∂pooled = δ·w ⊙ mask·2 = [[0.2δ, 0], [0.6δ, 0.8δ]]
    np.testing.assert_allclose(steps[3][0, 0], [[0.2 * delta, 0.0], [0.6 * delta, 0.8 * delta]],
                               rtol=1e-14)
    # ∂L/∂a_C: routed to the winners, (1,2) winning twice gets 0 + 0.8δ; then ReLU passes
    # all three (z > 0 there): ∂L/∂z_C is the same
    grad_z_c = np.array([[0, 0, 0], [0, 0.2, 0.8], [0.6, 0, 0]]) * delta
    np.testing.assert_allclose(steps[2][0, 0], grad_z_c, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(steps[1][0, 0], grad_z_c, rtol=1e-14, atol=1e-16)
    np.testing.assert_array_equal(layers[1].derivative(caches[1])[0, 0],  # type: ignore[attr-defined]
                                  [[1, 0, 0], [0, 1, 1], [1, 1, 0]])
    grad_x, grads = backward_stack(layers, params, caches, a - 1.0)
    assert grad_x is not None
    np.testing.assert_array_equal(grad_x, steps[0])
    np.testing.assert_allclose(grads[5]["weights"], [[3 * delta, 0, 5 * delta, 7 * delta]],
                               rtol=1e-14)
    # ∂L/∂K[p,q] = Σ δ_C[i,j]·x[i+p, j+q]:
    #   K[0,0]: 0.2·x[1,1] + 0.8·x[1,2] + 0.6·x[2,0] = 0.2·1 + 0.8·3 + 0.6·2 = 3.8
    #   K[0,1]: 0.2·x[1,2] + 0.8·x[1,3] + 0.6·x[2,1] = 0.6 + 0.8 + 0.6 = 2.0
    #   K[1,0]: 0.2·x[2,1] + 0.8·x[2,2] + 0.6·x[3,0] = 0.2 + 0 + 0.6 = 0.8
    #   K[1,1]: 0.2·x[2,2] + 0.8·x[2,3] + 0.6·x[3,1] = 0
    np.testing.assert_allclose(grads[0]["weights"][0, 0], np.array([[3.8, 2.0], [0.8, 0.0]])
                               * delta, rtol=1e-14, atol=1e-16)
    assert grads[0]["bias"][0] == pytest.approx(1.6 * delta, rel=1e-14)
    # ∂L/∂x[u,v] = Σ δ_C[i,j]·K[u−i, v−j]: +δ_C at (i,j) (K[0,0] = 1), −δ_C at (i+1,j+1)
    expected_x = np.zeros((4, 4))
    expected_x[:3, :3] += grad_z_c
    expected_x[1:, 1:] -= grad_z_c
    np.testing.assert_allclose(grad_x[0, 0], expected_x, rtol=1e-14, atol=1e-16)


def test_the_convolution_exercise_with_the_issues_stride_2_pool() -> None:
    """As above with max pool 2, stride 2 (the issue's settings): one window, rows and
    columns 0–1 of a_C, whose maximum is 1.5 at (1, 1); the last row and column of a_C get
    no gradient. No dropout; one dense weight 0.1."""
    x = np.array([[[[1.0, 2.0, 0.0, 1.0],
                    [0.0, 1.0, 3.0, 1.0],
                    [2.0, 1.0, 0.0, 0.0],
                    [1.0, 0.0, 1.0, 2.0]]]])
    layers: list[LayerType[Any]] = [
        conv2d(1, [2, 2]), Activate(make_activation("relu")), maxpool2d(2), Flatten(),
        Dense(1, bias=False), Activate(make_activation("sigmoid"))]
    params: list[dict[str, Array]] = [
        {"weights": np.array([[[[1.0, 0.0], [0.0, -1.0]]]]), "bias": np.array([0.5])},
        {}, {}, {}, {"weights": np.array([[0.1]])}, {}]
    a, caches = forward_stack(layers, params, x)
    assert caches[2].argmax.tolist() == [[[[3]]]]  # the window's element 3: (1, 1)
    a_o = 1 / (1 + math.exp(-0.15))  # z = 0.1·1.5
    assert a[0, 0] == pytest.approx(a_o, rel=1e-15)
    delta = (a_o - 1) * a_o * (1 - a_o)
    grad_x, grads = backward_stack(layers, params, caches, a - 1.0)
    # only z_C[1,1] (= 1.5) gets a gradient, 0.1δ: ∂L/∂K[p,q] = 0.1δ·x[1+p, 1+q]
    np.testing.assert_allclose(grads[0]["weights"][0, 0], 0.1 * delta * np.array(
        [[1.0, 3.0], [1.0, 0.0]]), rtol=1e-14)
    expected_x = np.zeros((4, 4))
    expected_x[1, 1] = 0.1 * delta
    expected_x[2, 2] = -0.1 * delta
    np.testing.assert_allclose(grad_x[0, 0], expected_x, rtol=1e-14, atol=1e-18)


def test_the_example_of_docs_layers_md_prints_what_it_says(
        capsys: pytest.CaptureFixture[str]) -> None:
    text = (Path(__file__).resolve().parent.parent.parent / "docs" / "layers.md").read_text(
        encoding="utf-8")
    found = re.search(r"```python\n(.*?)```\n\nprints\n\n```\n(.*?)```", text, re.S)
    assert found is not None
    exec(compile(found.group(1), "docs/layers.md", "exec"), {})
    assert capsys.readouterr().out == found.group(2)


def test_max_pooling_over_a_window_of_more_than_256_elements() -> None:
    x = np.zeros((1, 1, 17, 17))
    x[0, 0, 16, 15] = 1.0  # element 16·17 + 15 = 287 of the one window
    layer = maxpool2d(17)
    out, cache = layer.forward(x, {})
    assert out.tolist() == [[[[1.0]]]]
    assert cache.argmax is not None and cache.argmax.tolist() == [[[[287]]]]
    grad, _ = layer.backward(np.array([[[[2.0]]]]), cache, {})
    assert grad[0, 0, 16, 15] == 2.0 and grad.sum() == 2.0
