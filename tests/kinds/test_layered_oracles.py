"""Layered exercises against numbers the engine did not make.

problems/033-044 carry worked numbers published by others (d2l, CS231n, Deep-ML, ...): the
engine must reproduce each one, or report it as an erratum where the source is wrong.
problems/030-032 were worked by hand for issue 19: their values are recomputed here from
the formulas, one window and one time step at a time in plain NumPy loops (nothing of
backprop_cli's engine), and must match both the files and the engine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_cli.cli import cli
from backprop_cli.engine.layered import solve_layered
from backprop_cli.kinds.exercise import load_exercise
from backprop_cli.kinds.layered import LayeredKind
from backprop_cli.model.layered import LayeredProblem
from tests.conftest import PROBLEMS

Array = np.ndarray


# ------------------------------------------------------------------ the formulas, by loops


def correlate(x: Array, kernels: Array, bias: Array | None = None, stride: tuple[int, int] = (1, 1),
              padding: tuple[int, int] = (0, 0)) -> Array:
    """z[f,i,j] = Σ_c,p,q K[f,c,p,q]·xp[c, i·sh + p, j·sw + q] + b[f], xp = x zero-padded.

    x is C×H×W and the kernels F×C×kh×kw (a 1-D convolution: H = kh = 1, no row padding)."""
    xp = np.pad(x, ((0, 0), (padding[0],) * 2, (padding[1],) * 2))
    f_count, _, kh, kw = kernels.shape
    rows = (xp.shape[1] - kh) // stride[0] + 1
    cols = (xp.shape[2] - kw) // stride[1] + 1
    z = np.zeros((f_count, rows, cols))
    for f in range(f_count):
        for i in range(rows):
            for j in range(cols):
                window = xp[:, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw]
                z[f, i, j] = float(np.sum(window * kernels[f])) + (0.0 if bias is None else bias[f])
    return z


def correlate_backward(x: Array, kernels: Array, grad_z: Array, stride: tuple[int, int] = (1, 1),
                       padding: tuple[int, int] = (0, 0)) -> tuple[Array, Array, Array]:
    """∂L/∂K[f,c,p,q] = Σ_i,j δ[f,i,j]·xp[c, i·sh + p, j·sw + q]; ∂L/∂xp gets δ[f,i,j]·K[f]
    added over each window; the padding's share is cut off. Returns (dK, db, dx)."""
    xp = np.pad(x, ((0, 0), (padding[0],) * 2, (padding[1],) * 2))
    grad_k = np.zeros_like(kernels, dtype=float)
    grad_xp = np.zeros_like(xp, dtype=float)
    _, _, kh, kw = kernels.shape
    for f, i, j in np.ndindex(*grad_z.shape):
        rows = slice(i * stride[0], i * stride[0] + kh)
        cols = slice(j * stride[1], j * stride[1] + kw)
        grad_k[f] += grad_z[f, i, j] * xp[:, rows, cols]
        grad_xp[:, rows, cols] += grad_z[f, i, j] * kernels[f]
    grad_x = grad_xp[:, padding[0]:grad_xp.shape[1] - padding[0],
                     padding[1]:grad_xp.shape[2] - padding[1]]
    return grad_k, grad_z.sum(axis=(1, 2)), grad_x


def pool(x: Array, size: tuple[int, int], stride: tuple[int, int], mode: str,
         grad_out: Array | None = None) -> tuple[Array, Array]:
    """Max or average of each window (C×H×W); with grad_out, ∂L/∂x: max pooling gives each
    window's gradient to its first maximum in row-major order, average pooling 1/(kh·kw) of
    it to every element."""
    channels, height, width = x.shape
    rows = (height - size[0]) // stride[0] + 1
    cols = (width - size[1]) // stride[1] + 1
    out = np.zeros((channels, rows, cols))
    grad_x = np.zeros_like(x, dtype=float)
    for c, i, j in np.ndindex(channels, rows, cols):
        top, left = i * stride[0], j * stride[1]
        window = x[c, top:top + size[0], left:left + size[1]]
        g = 0.0 if grad_out is None else grad_out[c, i, j]
        if mode == "max":
            out[c, i, j] = window.max()
            p, q = divmod(int(np.argmax(window)), size[1])  # the first maximum, row-major
            grad_x[c, top + p, left + q] += g
        else:
            out[c, i, j] = window.mean()
            grad_x[c, top:top + size[0], left:left + size[1]] += g / window.size
    return out, grad_x


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


# ------------------------------------------------------------------ precision of a printed number


def agrees(text: str, value: float) -> bool:
    """`value` printed as `text`: rounded to its last digit, or truncated there (a source
    that cuts digits off); an integer exactly."""
    if not any(mark in text for mark in ".eE"):
        return abs(value - float(text)) <= 1e-9 * max(1.0, abs(value))
    published = Decimal(text)
    unit = float(Decimal(1).scaleb(published.as_tuple().exponent))  # type: ignore[arg-type]
    rounded = abs(value - float(published)) <= unit / 2 * (1 + 1e-9)
    truncated = (value * float(published) >= 0
                 and 0 <= abs(value) - abs(float(published)) < unit)
    return rounded or truncated


def test_agrees_reads_the_precision_a_number_is_printed_with() -> None:
    assert agrees("0.4621", 0.46211716) and agrees("0.9750", 0.97504) and agrees("19", 19.0)
    assert agrees("0.824", 0.82491)  # truncated
    assert not agrees("0.7790", 0.78033) and not agrees("19", 19.5)
    assert agrees("-3.726e-4", -3.7264e-4) and not agrees("-3.726e-4", -3.7364e-4)


# ------------------------------------------------------------------ published numbers

# The numbers as each source prints them (the file's `expected` must hold the same text);
# where and why, in each file's description. Keys outside these are ours and say so.
PUBLISHED: dict[str, dict[str, str]] = {
    # d2l 1.0.3, §7.2.1, Fig. 7.2.1 and its equations
    "033_d2l_corr2d": {"z.Y[1,1,1]": "19", "z.Y[1,1,2]": "25", "z.Y[1,2,1]": "37",
                       "z.Y[1,2,2]": "43"},
    # d2l 1.0.3, §7.4.1 (Fig. 7.4.1: 56; corr2d_multi_in) and §7.4.2 (corr2d_multi_in_out)
    "034_d2l_conv2d_channels": {
        "z.Y[1,1,1]": "56", "z.Y[1,1,2]": "72", "z.Y[1,2,1]": "104", "z.Y[1,2,2]": "120",
        "z.Y[2,1,1]": "76", "z.Y[2,1,2]": "100", "z.Y[2,2,1]": "148", "z.Y[2,2,2]": "172",
        "z.Y[3,1,1]": "96", "z.Y[3,1,2]": "128", "z.Y[3,2,1]": "192", "z.Y[3,2,2]": "224"},
    # Deep-ML problem 41, example.json
    "035_deepml_conv2d_stride_padding": {
        "z.C[1,1,1]": "1", "z.C[1,1,2]": "1", "z.C[1,1,3]": "-4", "z.C[1,2,1]": "9",
        "z.C[1,2,2]": "7", "z.C[1,2,3]": "-4", "z.C[1,3,1]": "0", "z.C[1,3,2]": "14",
        "z.C[1,3,3]": "16"},
    # Lexai Labs, "Conv2D backward (dx, dW)", Example 1
    "036_lexailabs_conv2d_backward": {
        "grad.W[1,1,1,1]": "0", "grad.W[1,1,1,2]": "1", "grad.W[1,1,2,1]": "4",
        "grad.W[1,1,2,2]": "5", "grad.input.x[1,1,1]": "1", "grad.input.x[1,1,2]": "2",
        "grad.input.x[1,2,1]": "3", "grad.input.x[1,2,2]": "4", "grad.input.x[1,1,3]": "0",
        "grad.input.x[1,3,3]": "0", "grad.input.x[1,4,4]": "0"},
    # CS231n notes, "Spatial arrangement" figure, right half (S = 2) and left half (S = 1)
    "037_cs231n_conv1d_stride_2": {"z.C[1,1]": "-2", "z.C[1,2]": "1", "z.C[1,3]": "1"},
    "038_cs231n_conv1d_stride_1": {"z.C[1,1]": "-2", "z.C[1,2]": "2", "z.C[1,3]": "1",
                                   "z.C[1,4]": "2", "z.C[1,5]": "1"},
    # CS231n notes, "Pooling Layer" figure (max pool 2×2, stride 2)
    "039_cs231n_maxpool": {"a.P[1,1,1]": "6", "a.P[1,1,2]": "8", "a.P[1,2,1]": "3",
                           "a.P[1,2,2]": "4"},
    # d2l 1.0.3, §7.5.1: Fig. 7.5.1's equations (max) and pool2d(X, (2, 2), 'avg')
    "040_d2l_maxpool": {"a.P[1,1,1]": "4", "a.P[1,1,2]": "5", "a.P[1,2,1]": "7",
                        "a.P[1,2,2]": "8"},
    "041_d2l_avgpool": {"a.P[1,1,1]": "2", "a.P[1,1,2]": "3", "a.P[1,2,1]": "5",
                        "a.P[1,2,2]": "6"},
    # Deep-ML problem 151, example.json: forward output and backward of [0.1, 0.2, 0.3, 0.4]
    "042_deepml_dropout": {
        "a.D[1,1]": "2", "a.D[1,2]": "0", "a.D[1,3]": "6", "a.D[1,4]": "0",
        "grad.input.x[1,1]": "0.2", "grad.input.x[1,2]": "0", "grad.input.x[1,3]": "0.6",
        "grad.input.x[1,4]": "0"},
    # Deep-ML problem 151, tests.json's first case: rate 0.2, upstream [[0.5, 0.2], [1, 2]]
    "046_deepml_dropout_rate_0_2": {
        "a.D[1,1,1]": "1.25", "a.D[1,1,2]": "0", "a.D[1,2,1]": "3.75", "a.D[1,2,2]": "5",
        "grad.input.x[1,1,1]": "0.625", "grad.input.x[1,1,2]": "0",
        "grad.input.x[1,2,1]": "1.25", "grad.input.x[1,2,2]": "2.5"},
    # Deep-ML problem 54, learn.md's worked example
    "043_deepml_rnn_forward": {"z.h#1": "0.5", "a.h#1": "0.4621", "z.h#2": "1.3697",
                               "a.h#2": "0.8781", "z.h#3": "2.2025", "a.h#3": "0.9750"},
    # Deep-ML problem 54, tests.json's third case (two units, three inputs)
    "045_deepml_rnn_two_units": {"a.h1#2": "0.7474", "a.h2#2": "0.9302"},
    # PracHub, "Backpropagation Through Time (BPTT) - Complete Walkthrough"
    "044_prachub_rnn_bptt": {
        "a.h#1": "0.4621", "a.y#1": "0.9242", "z.h#2": "1.04621", "a.h#2": "0.7790",
        "a.y#2": "1.558", "loss#1": "0.00288", "loss#2": "0.0978", "loss": "0.1007",
        "grad.a.y#2": "-0.442", "grad.a.h#2": "-0.884", "dadz.h#2": "0.3931",
        "grad.z.h#2": "-0.3475"},
}

# The published numbers that are wrong, and the right ones at the source's precision.
ERRATA: dict[str, dict[str, float]] = {
    "043_deepml_rnn_forward": {"a.h#2": 0.8786, "z.h#3": 2.2029, "a.h#3": 0.9759},
    "044_prachub_rnn_bptt": {
        "a.h#2": 0.7803, "a.y#2": 1.561, "loss#1": 0.00287, "loss#2": 0.0965, "loss": 0.0994,
        "grad.a.y#2": -0.439, "grad.a.h#2": -0.879, "dadz.h#2": 0.3911, "grad.z.h#2": -0.3436},
}

FILES = {stem: PROBLEMS / f"{stem}.yaml" for stem in PUBLISHED}


def _problem(stem: str) -> LayeredProblem:
    problem = load_exercise(FILES[stem])
    assert isinstance(problem, LayeredProblem)
    return problem


# Each source's numbers from the formulas, by loops: the oracle's own check of the
# transcription (and of every erratum) without the engine.

def _corr2d() -> dict[str, float]:
    z = correlate(np.arange(9.0).reshape(1, 3, 3), np.array([[[[0.0, 1], [2, 3]]]]))
    return dict(zip(PUBLISHED["033_d2l_corr2d"], z.ravel(), strict=True))


def _channels() -> dict[str, float]:
    x = np.stack([np.arange(9.0).reshape(3, 3), np.arange(1.0, 10).reshape(3, 3)])
    k = np.array([[[0.0, 1], [2, 3]], [[1, 2], [3, 4]]])
    z = correlate(x, np.stack([k, k + 1, k + 2]))  # d2l's K, K + 1, K + 2
    return dict(zip(PUBLISHED["034_d2l_conv2d_channels"], z.ravel(), strict=True))


def _strided() -> dict[str, float]:
    z = correlate(np.arange(1.0, 17).reshape(1, 4, 4), np.array([[[[1.0, 0], [-1, 1]]]]),
                  stride=(2, 2), padding=(1, 1))
    return dict(zip(PUBLISHED["035_deepml_conv2d_stride_padding"], z.ravel(), strict=True))


def _conv_backward() -> dict[str, float]:
    grad_z = np.zeros((1, 3, 3))
    grad_z[0, 0, 0] = 1.0
    grad_k, _, grad_x = correlate_backward(np.arange(16.0).reshape(1, 4, 4),
                                           np.array([[[[1.0, 2], [3, 4]]]]), grad_z)
    keys = list(PUBLISHED["036_lexailabs_conv2d_backward"])
    return {**dict(zip(keys[:4], grad_k.ravel(), strict=True)),
            **dict(zip(keys[4:], [grad_x[0, 0, 0], grad_x[0, 0, 1], grad_x[0, 1, 0],
                                  grad_x[0, 1, 1], grad_x[0, 0, 2], grad_x[0, 2, 2],
                                  grad_x[0, 3, 3]], strict=True))}


def _conv1d(stem: str, stride: int) -> Callable[[], dict[str, float]]:
    def values() -> dict[str, float]:
        z = correlate(np.array([[[1.0, 2, -1, 1, -3]]]), np.array([[[[1.0, 0, -1]]]]),
                      np.array([0.0]), stride=(1, stride), padding=(0, 1))
        return dict(zip(PUBLISHED[stem], z.ravel(), strict=True))
    return values


def _pool(stem: str, x: Array, size: int, stride: int, mode: str) -> Callable[[], dict[str, float]]:
    def values() -> dict[str, float]:
        out, _ = pool(x, (size, size), (stride, stride), mode)
        return dict(zip(PUBLISHED[stem], out.ravel(), strict=True))
    return values


def _dropout(stem: str, x: list[float], mask: list[float], rate: float,
             upstream: list[float]) -> Callable[[], dict[str, float]]:
    def values() -> dict[str, float]:
        kept = np.array(mask) / (1 - rate)  # inverted dropout: kept elements scaled up
        out = np.array(x) * kept
        grad_x = np.array(upstream) * kept
        return dict(zip(PUBLISHED[stem], [*out, *grad_x], strict=True))
    return values


def _rnn_forward() -> dict[str, float]:
    h, found = 0.0, []
    for x in (1.0, 2.0, 3.0):
        z = 0.5 * x + 0.8 * h
        h = math.tanh(z)
        found += [z, h]
    return dict(zip(PUBLISHED["043_deepml_rnn_forward"], found, strict=True))


def _rnn_two_units() -> dict[str, float]:
    wx = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    wh = np.array([[0.7, 0.8], [0.9, 1.0]])
    h = np.zeros(2)
    for x in ([0.1, 0.2, 0.3], [0.4, 0.5, 0.6]):
        h = np.tanh(wx @ np.array(x) + wh @ h + np.array([0.1, 0.2]))
    return dict(zip(PUBLISHED["045_deepml_rnn_two_units"], h, strict=True))


def _bptt() -> dict[str, float]:
    h1 = math.tanh(0.5 * 1)
    z2 = 0.5 * 2 + 0.1 * h1
    h2 = math.tanh(z2)
    y1, y2 = 2 * h1, 2 * h2
    loss1, loss2 = (y1 - 1) ** 2 / 2, (y2 - 2) ** 2 / 2
    grad_y2 = y2 - 2
    grad_h2 = grad_y2 * 2  # nothing comes back from a step 3
    tanh_slope = 1 - h2 ** 2
    return dict(zip(PUBLISHED["044_prachub_rnn_bptt"],
                    [h1, y1, z2, h2, y2, loss1, loss2, loss1 + loss2, grad_y2, grad_h2,
                     tanh_slope, grad_h2 * tanh_slope], strict=True))


X_POOL = np.array([[[1.0, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]]])
X_09 = np.arange(9.0).reshape(1, 3, 3)
FROM_THE_FORMULAS: dict[str, Callable[[], dict[str, float]]] = {
    "033_d2l_corr2d": _corr2d,
    "034_d2l_conv2d_channels": _channels,
    "035_deepml_conv2d_stride_padding": _strided,
    "036_lexailabs_conv2d_backward": _conv_backward,
    "037_cs231n_conv1d_stride_2": _conv1d("037_cs231n_conv1d_stride_2", 2),
    "038_cs231n_conv1d_stride_1": _conv1d("038_cs231n_conv1d_stride_1", 1),
    "039_cs231n_maxpool": _pool("039_cs231n_maxpool", X_POOL, 2, 2, "max"),
    "040_d2l_maxpool": _pool("040_d2l_maxpool", X_09, 2, 1, "max"),
    "041_d2l_avgpool": _pool("041_d2l_avgpool", X_09, 2, 1, "avg"),
    "042_deepml_dropout": _dropout("042_deepml_dropout", [1, 2, 3, 4], [1, 0, 1, 0], 0.5,
                                   [0.1, 0.2, 0.3, 0.4]),
    "046_deepml_dropout_rate_0_2": _dropout("046_deepml_dropout_rate_0_2", [1, 2, 3, 4],
                                            [1, 0, 1, 1], 0.2, [0.5, 0.2, 1, 2]),
    "043_deepml_rnn_forward": _rnn_forward,
    "045_deepml_rnn_two_units": _rnn_two_units,
    "044_prachub_rnn_bptt": _bptt,
}


def _published_or_erratum(stem: str, key: str, value: float) -> None:
    text = PUBLISHED[stem][key]
    if key in ERRATA.get(stem, {}):
        assert not agrees(text, value), (stem, key, "the erratum is not one")
        assert agrees(str(ERRATA[stem][key]), value), (stem, key, value)
    else:
        assert agrees(text, value), (stem, key, text, value)


@pytest.mark.parametrize("stem", PUBLISHED)
def test_the_formulas_reproduce_each_published_number_or_its_erratum(stem: str) -> None:
    computed = FROM_THE_FORMULAS[stem]()
    assert list(computed) == list(PUBLISHED[stem])
    for key, value in computed.items():
        _published_or_erratum(stem, key, value)


@pytest.mark.parametrize("stem", PUBLISHED)
def test_the_engine_reproduces_each_published_number_or_its_erratum(stem: str) -> None:
    values = solve_layered(_problem(stem)).values
    computed = FROM_THE_FORMULAS[stem]()
    for key in PUBLISHED[stem]:
        _published_or_erratum(stem, key, values[key])
        assert values[key] == pytest.approx(computed[key], rel=1e-12, abs=1e-12), key


@pytest.mark.parametrize("stem", PUBLISHED)
def test_each_file_publishes_the_sources_numbers_and_marks_its_own(stem: str) -> None:
    expected = _problem(stem).expected
    published = {key: entry.text for key, entry in expected.items() if key in PUBLISHED[stem]}
    assert published == PUBLISHED[stem]
    errata = {key: entry.erratum for key, entry in expected.items() if entry.erratum is not None}
    assert errata == ERRATA.get(stem, {})
    ours = [entry for key, entry in expected.items() if key not in PUBLISHED[stem]]
    assert all(entry.note and "ours" in entry.note for entry in ours), stem
    assert "https://" in (_problem(stem).description or "")  # the source, named


@pytest.mark.parametrize("stem", PUBLISHED)
def test_check_passes_and_reports_the_wrong_published_numbers_as_errata(stem: str) -> None:
    report = LayeredKind().check(_problem(stem), str(FILES[stem]))
    assert report.status == "passed"
    verdicts = {result.key: result.verdict for result in report.results}
    assert {key for key, verdict in verdicts.items() if verdict == "erratum"} == set(
        ERRATA.get(stem, {}))
    assert set(verdicts.values()) <= {"correct", "erratum"}


def test_check_names_the_errata_on_the_command_line() -> None:
    result = CliRunner().invoke(cli, ["check", str(FILES["043_deepml_rnn_forward"]), "-v"])
    assert result.exit_code == 0, result.output
    assert "passed (6 values: 3 correct, 3 errata)" in result.output
    assert "! a.h#3 = 0.9750 (erratum)" in result.output


@pytest.mark.parametrize("fmt", LayeredKind.formats)
@pytest.mark.parametrize("stem", PUBLISHED)
def test_solve_writes_every_format_of_the_kind(stem: str, fmt: str) -> None:
    result = CliRunner().invoke(cli, ["solve", str(FILES[stem]), "--format", fmt])
    assert result.exit_code == 0, result.output
    if fmt == "json":
        assert set(PUBLISHED[stem]) <= set(json.loads(result.output)["values"])


# ------------------------------------------------------------------ 030-032, worked by hand


def _within_file_precision(path: Path, computed: dict[str, float]) -> None:
    problem = load_exercise(path)
    assert isinstance(problem, LayeredProblem)
    assert set(problem.expected) == set(computed)
    for key, entry in problem.expected.items():
        assert agrees(entry.text, computed[key]), (key, entry.text, computed[key])
    values = solve_layered(problem).values
    for key, value in computed.items():
        assert values[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key


def test_030_conv_pool_dropout_from_the_formulas() -> None:
    x = np.array([[[1.0, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 0], [1, 0, 1, 2]]])
    kernel = np.array([[[[1.0, 0], [0, -1]]]])
    weights = np.array([0.1, -0.2, 0.3, 0.4])
    mask, scale = np.array([[[1.0, 0], [1, 1]]]), 1 / (1 - 0.5)
    z_c = correlate(x, kernel, np.array([0.5]))
    a_c = np.maximum(z_c, 0)
    pooled, _ = pool(a_c, (2, 2), (1, 1), "max")
    dropped = pooled * mask * scale
    z_o = float(weights @ dropped.ravel())
    a_o = sigmoid(z_o)
    loss = (a_o - 1) ** 2 / 2
    grad_z_o = (a_o - 1) * a_o * (1 - a_o)
    grad_dropped = (weights * grad_z_o).reshape(1, 2, 2)
    grad_pooled = grad_dropped * mask * scale
    _, grad_a_c = pool(a_c, (2, 2), (1, 1), "max", grad_pooled)
    grad_z_c = grad_a_c * (z_c > 0)
    grad_k, grad_c, _ = correlate_backward(x, kernel, grad_z_c)
    _within_file_precision(PROBLEMS / "030_conv_pool_dropout.yaml", {
        "z.C[1,1,1]": z_c[0, 0, 0], "z.C[1,2,3]": z_c[0, 1, 2], "a.C[1,3,3]": a_c[0, 2, 2],
        "a.P[1,1,1]": pooled[0, 0, 0], "a.P[1,2,2]": pooled[0, 1, 1],
        "a.D[1,1,2]": dropped[0, 0, 1], "a.D[1,2,2]": dropped[0, 1, 1],
        "z.o": z_o, "a.o": a_o, "loss": loss, "grad.z.o": grad_z_o,
        "grad.a.D[1,2,2]": grad_dropped[0, 1, 1], "grad.a.P[1,1,2]": grad_pooled[0, 0, 1],
        "grad.a.C[1,2,3]": grad_a_c[0, 1, 2], "grad.z.C[1,3,1]": grad_z_c[0, 2, 0],
        "grad.K[1,1,1,1]": grad_k[0, 0, 0, 0], "grad.K[1,1,2,2]": grad_k[0, 0, 1, 1],
        "grad.c[1]": grad_c[0], "grad.W5[1,4]": grad_z_o * dropped[0, 1, 1],
        "new.K[1,1,1,2]": kernel[0, 0, 0, 1] - 0.1 * grad_k[0, 0, 0, 1]})


def test_031_rnn_bptt_from_the_formulas() -> None:
    w, u, b, v = 0.5, 0.9, 0.1, 1.5
    xs = (1.0, 0.5, -1.0)
    z, h = [], [0.0]  # h[t] after step t, h[0] the initial state
    for x in xs:
        z.append(w * x + u * h[-1] + b)
        h.append(math.tanh(z[-1]))
    y3 = v * h[3]
    grad_y3 = y3 - 0.5
    grad_h = {3: grad_y3 * v}  # the loss is at the last step only
    grad_z = {3: grad_h[3] * (1 - h[3] ** 2)}
    for t in (2, 1):  # back through u
        grad_h[t] = u * grad_z[t + 1]
        grad_z[t] = grad_h[t] * (1 - h[t] ** 2)
    grad_w = sum(grad_z[t] * xs[t - 1] for t in (1, 2, 3))
    grad_u = sum(grad_z[t] * h[t - 1] for t in (1, 2, 3))
    grad_b = sum(grad_z[t] for t in (1, 2, 3))
    _within_file_precision(PROBLEMS / "031_rnn_bptt.yaml", {
        "z.h#1": z[0], "a.h#1": h[1], "z.h#2": z[1], "a.h#2": h[2], "z.h#3": z[2],
        "a.h#3": h[3], "a.y#3": y3, "loss": grad_y3 ** 2 / 2, "grad.a.y#3": grad_y3,
        "grad.a.h#3": grad_h[3], "grad.z.h#3": grad_z[3], "grad.a.h#2": grad_h[2],
        "grad.z.h#2": grad_z[2], "grad.a.h#1": grad_h[1], "grad.z.h#1": grad_z[1],
        "grad.w": grad_w, "grad.u": grad_u, "grad.b": grad_b, "grad.v": grad_y3 * h[3],
        "new.w": w - 0.1 * grad_w, "new.u": u - 0.1 * grad_u})


def test_032_conv1d_stride_padding_avgpool_from_the_formulas() -> None:
    x = np.array([[[1.0, 3, 2, 0, 4]]])  # one channel, one row
    kernel = np.array([[[[1.0, -1, 2]]]])
    weights, bias = np.array([0.2, -0.4]), 0.1
    z_c = correlate(x, kernel, np.array([0.5]), stride=(1, 2), padding=(0, 1))
    a_c = np.maximum(z_c, 0)
    pooled, _ = pool(a_c, (1, 2), (1, 1), "avg")
    z_o = float(weights @ pooled.ravel()) + bias
    grad_z_o = z_o - 1  # half squared error, identity output
    grad_pooled = (weights * grad_z_o).reshape(1, 1, 2)
    _, grad_a_c = pool(a_c, (1, 2), (1, 1), "avg", grad_pooled)
    grad_z_c = grad_a_c * (z_c > 0)
    grad_k, grad_c, grad_x = correlate_backward(x, kernel, grad_z_c, stride=(1, 2),
                                                padding=(0, 1))
    grad_w = grad_z_o * pooled.ravel()
    _within_file_precision(PROBLEMS / "032_conv1d_stride_padding_avgpool.yaml", {
        "z.C[1,1]": z_c[0, 0, 0], "z.C[1,2]": z_c[0, 0, 1], "z.C[1,3]": z_c[0, 0, 2],
        "a.C[1,3]": a_c[0, 0, 2], "a.P[1,1]": pooled[0, 0, 0], "a.P[1,2]": pooled[0, 0, 1],
        "z.o": z_o, "loss": grad_z_o ** 2 / 2, "grad.z.o": grad_z_o,
        "grad.W[1,1]": grad_w[0], "grad.W[1,2]": grad_w[1], "grad.b[1]": grad_z_o,
        "grad.a.P[1,1]": grad_pooled[0, 0, 0], "grad.a.P[1,2]": grad_pooled[0, 0, 1],
        "grad.a.C[1,1]": grad_a_c[0, 0, 0], "grad.a.C[1,2]": grad_a_c[0, 0, 1],
        "grad.a.C[1,3]": grad_a_c[0, 0, 2], "grad.z.C[1,3]": grad_z_c[0, 0, 2],
        "grad.K[1,1,1]": grad_k[0, 0, 0, 0], "grad.K[1,1,2]": grad_k[0, 0, 0, 1],
        "grad.K[1,1,3]": grad_k[0, 0, 0, 2], "grad.c[1]": grad_c[0],
        "grad.input.x[1,1]": grad_x[0, 0, 0], "grad.input.x[1,2]": grad_x[0, 0, 1],
        "grad.input.x[1,3]": grad_x[0, 0, 2], "grad.input.x[1,4]": grad_x[0, 0, 3],
        "grad.input.x[1,5]": grad_x[0, 0, 4],
        "new.K[1,1,1]": kernel[0, 0, 0, 0] - 0.1 * grad_k[0, 0, 0, 0],
        "new.W[1,1]": weights[0] - 0.1 * grad_w[0]})
