"""`gradcheck`, `probe` and `surface` on layered networks (conv, pooling, dropout, rnn):
the same options, formats and exit codes as on dense networks, over element keys."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_cli.app.gradcheck import MAX_ROWS, check_gradients, report_lines
from backprop_cli.app.probe import Nudge, NudgeError, parse_nudge, probe
from backprop_cli.app.surface import SurfaceError, loss_surface
from backprop_cli.cli import cli
from backprop_cli.engine.layers import Conv, Rnn
from backprop_cli.kinds.exercise import load_network, parse_exercise
from backprop_cli.model.layered import LayeredProblem
from tests.conftest import PROBLEMS
from tests.engine.test_layered_loss import TIE, conv_pool_loss

CONV = PROBLEMS / "030_conv_pool_dropout.yaml"
RNN = PROBLEMS / "031_rnn_bptt.yaml"
CONV1D = PROBLEMS / "032_conv1d_stride_padding_avgpool.yaml"

# every number a power of two or a small integer: the central difference of this
# quadratic loss is exact in floating point, so the report's errors are exactly 0.
# z = [1·1 − 1·2 + 0.5, 1·2 − 1·3 + 0.5] = [−0.5, −0.5], pooled −0.5, o = 2·(−0.5) = −1,
# L = ½(−1 − 1)² = 2, ∂L/∂o = −2: ∂L/∂W = −2·(−0.5) = 1, ∂L/∂b = −2; each z gets
# −2·2/2 = −2: ∂L/∂K[1,1,1] = −2·(1 + 2) = −6, ∂L/∂K[1,1,2] = −2·(2 + 3) = −10,
# ∂L/∂c = −2·2 = −4
SMALL = """\
title: "A conv1d, average pooling and a linear unit"
network:
  inputs: {shape: [1, 3]}
  layers:
    - {type: conv1d, name: C, filters: 1, kernel: 2, weights: [[[1, -1]]], weight_name: K,
       bias: 0.5, bias_name: c, activation: identity}
    - {type: avgpool1d, name: P, size: 2}
    - {type: flatten}
    - {units: [o], weights: [[2]], weight_name: W, bias: [0], bias_name: b}
loss: half_squared_error
learning_rate: 0.125
input: [[1, 2, 3]]
target: [1]
"""
DYADIC_STEP = "0.0009765625"  # 2⁻¹⁰: h and p ± h exact


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


def layered(text: str) -> LayeredProblem:
    problem = parse_exercise(text, "t.yaml")
    assert isinstance(problem, LayeredProblem)
    return problem


def small_file(tmp_path: Path) -> str:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return str(path)


# ------------------------------------------------------------ random networks


def _array(rng: np.random.Generator, *shape: int) -> Any:
    return np.round(rng.normal(0, 0.6, shape), 3).tolist()


def _samples(rng: np.random.Generator, n: int, shape: tuple[int, ...], key: str,
             targets: list[Any]) -> str:
    rows = [f"  - {{{key}: {json.dumps(_array(rng, *shape))}, "
            f"{'targets' if key == 'sequence' and isinstance(targets[i][0], list) else 'target'}"
            f": {json.dumps(targets[i])}}}" for i in range(n)]
    return "samples:\n" + "\n".join(rows) + "\n"


def conv2d_network(rng: np.random.Generator, activation: str, pool: str) -> str:
    """conv2d (2 filters 2×2, stride [1, 2], padding 1) on 1×4×5, pooling 2 stride 1,
    dropout, flatten, dense 3 softmax with cross-entropy, 3 samples averaged."""
    # conv: (4 + 2 − 2)/1 + 1 = 5 rows, (5 + 2 − 2)//2 + 1 = 3 columns; pool: 4 × 2
    mask = rng.integers(0, 2, (2, 4, 2)).tolist()
    classes = np.eye(3)[rng.integers(0, 3, 3)].tolist()
    return f"""network:
  inputs: {{shape: [1, 4, 5]}}
  layers:
    - {{type: conv2d, filters: 2, kernel: 2, stride: [1, 2], padding: 1, activation: {activation},
       weights: {json.dumps(_array(rng, 2, 1, 2, 2))}, bias: {json.dumps(_array(rng, 2))}}}
    - {{type: {pool}, size: 2, stride: 1}}
    - {{type: dropout, rate: 0.25, mask: {json.dumps(mask)}}}
    - {{type: flatten}}
    - {{units: [p, q, r], activation: softmax, weights: {json.dumps(_array(rng, 3, 16))},
       bias: {json.dumps(_array(rng, 3))}}}
loss: cross_entropy
reduction: mean
learning_rate: 0.1
""" + _samples(rng, 3, (1, 4, 5), "input", classes)


def conv1d_network(rng: np.random.Generator, activation: str, pool: str) -> str:
    """conv1d (3 filters, kernel 3, stride 2, padding 1) on 2×7, pooling 2, dense 1
    sigmoid with binary cross-entropy, 2 samples summed."""
    # conv: (7 + 2 − 3)//2 + 1 = 4; pool 2: 2 → 3·2 = 6 values
    return f"""network:
  inputs: {{shape: [2, 7]}}
  layers:
    - {{type: conv1d, filters: 3, kernel: 3, stride: 2, padding: 1, activation: {activation},
       weights: {json.dumps(_array(rng, 3, 2, 3))}, bias: 0.1}}
    - {{type: {pool}, size: 2}}
    - {{type: flatten}}
    - {{units: [o], activation: sigmoid, weights: {json.dumps(_array(rng, 1, 6))}}}
loss: binary_cross_entropy
reduction: sum
learning_rate: 0.1
""" + _samples(rng, 2, (2, 7), "input", [[1], [0]])


def rnn_network(rng: np.random.Generator, activation: str, loss_at: str) -> str:
    """rnn of 2 units over 3 steps of 2 inputs, a dense unit after it, 2 samples."""
    targets = ([_array(rng, 3, 1), _array(rng, 3, 1)] if loss_at == "every"
               else [_array(rng, 1), _array(rng, 1)])
    return f"""network:
  inputs: [x1, x2]
  layers:
    - {{type: rnn, units: [h1, h2], activation: {activation},
       weights: {json.dumps(_array(rng, 2, 2))}, recurrent: {json.dumps(_array(rng, 2, 2))},
       bias: {json.dumps(_array(rng, 2))}, initial: {json.dumps(_array(rng, 2))}}}
    - {{units: [y], activation: tanh, weights: {json.dumps(_array(rng, 1, 2))}, bias: [0.2]}}
loss: half_squared_error
loss_at: {loss_at}
learning_rate: 0.1
""" + _samples(rng, 2, (3, 2), "sequence", targets)


RANDOM = [(conv2d_network, "relu", "maxpool2d"), (conv2d_network, "tanh", "avgpool2d"),
          (conv2d_network, "elu", "maxpool2d"), (conv1d_network, "sigmoid", "maxpool1d"),
          (conv1d_network, "leaky_relu", "avgpool1d"), (rnn_network, "tanh", "last"),
          (rnn_network, "sigmoid", "every"), (rnn_network, "relu", "every")]


@pytest.mark.parametrize("make, activation, other", RANDOM,
                         ids=[f"{m.__name__}-{a}-{o}" for m, a, o in RANDOM])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_layered_networks_pass(make: Any, activation: str, other: str,
                                      seed: int) -> None:
    problem = layered(make(np.random.default_rng(seed), activation, other))
    result = check_gradients(problem)
    assert result.passed, [(c.name, c.analytic, c.numerical) for c in result.failed]
    assert len(result.checks) == sum(p.values.size for _, p in problem.parameters())
    assert sum(c.verdict == "kink" for c in result.checks) <= 1  # a kink is rare at h = 1e-6


# ------------------------------------------------------------------ gradcheck


@pytest.mark.parametrize("args", [["gradcheck"], ["probe", "x=+1"], ["surface", "x", "y"]])
def test_an_exercise_without_a_network_is_still_refused(args: list[str]) -> None:
    derivative = PROBLEMS / "003e_derivative_polynomial.yaml"
    result = run(args[0], str(derivative), *args[1:])
    assert result.exit_code == 1
    assert result.output == (f"{derivative}: a derivative exercise (kind: derivative) has no "
                             "network; use backprop solve, check or derive\n")


@pytest.mark.parametrize("path", [CONV, RNN, CONV1D], ids=lambda p: p.stem)
def test_the_layered_problems_pass_the_gradient_check(path: Path) -> None:
    result = check_gradients(load_network(path))
    assert result.passed and not any(c.verdict == "kink" for c in result.checks)
    assert result.largest_rel_error < 1e-6
    assert run("gradcheck", str(path)).exit_code == 0


def test_element_keys_as_the_issue_writes_them() -> None:
    names = [c.name for c in check_gradients(load_network(CONV)).checks]
    assert names[:5] == ["K[1,1,1,1]", "K[1,1,1,2]", "K[1,1,2,1]", "K[1,1,2,2]", "c[1]"]
    assert names[-1] == "W5[1,4]"
    assert [c.name for c in check_gradients(load_network(RNN)).checks] == ["w", "u", "b", "v"]
    values = check_gradients(load_network(RNN)).values()
    assert set(values) == {f"{kind}.{p}" for kind in ("grad", "numgrad", "abs_error",
                                                      "rel_error") for p in "wubv"}


@pytest.mark.parametrize("layer, path, broken", [
    (Conv, CONV, ["K[1,1,1,1]", "K[1,1,1,2]", "K[1,1,2,1]"]),  # K[1,1,2,2]'s is 0
    (Rnn, RNN, ["w"])])  # the rnn's "weights" are W_xh: w (u is its "recurrent")
def test_a_broken_backward_pass_fails(layer: Any, path: Path, broken: list[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A layer's ∂L/∂W off by 1%: the check must see it, and exit with status 1."""
    real = layer.backward

    def backward(self: Any, grad_out: Any, cache: Any, params: Any) -> Any:
        grad_in, grads = real(self, grad_out, cache, params)
        return grad_in, {**grads, "weights": grads["weights"] * 1.01}

    monkeypatch.setattr(layer, "backward", backward)
    result = check_gradients(load_network(path))
    assert [c.name for c in result.failed] == broken
    assert result.failed[0].rel_error == pytest.approx(0.01 / 1.01, rel=1e-4)
    output = run("gradcheck", str(path))
    assert output.exit_code == 1
    assert f"{len(broken)} of " in output.output and ", ".join(broken) in output.output


def test_a_max_pooling_winner_that_changes_is_a_kink() -> None:
    """TIE: o = W·max(z1, z2), z1 = K1·1 + K2·2, z2 = K1·2 + K2·1, both 3 at K = [1, 1];
    ∂L/∂o = 3 − 1 = 2. The first maximum wins: ∂L/∂K1 = 2·1 = 2; the second would give
    2·2 = 4, and the difference quotient across the tie averages them: 3."""
    result = check_gradients(layered(TIE))
    k1 = result.checks[0]
    assert (k1.name, k1.verdict, k1.kinks, k1.analytic) == ("K[1,1,1]", "kink", ("pooling",), 2)
    assert k1.numerical == pytest.approx(3, rel=1e-6)
    assert [c.verdict for c in result.checks] == ["kink", "kink", "ok"]
    assert result.passed
    lines = report_lines(result)
    assert lines[-2] == ("kink: a max-pooling window's winner changes between p − h and p + h "
                         "for K[1,1,1], K[1,1,2]; the difference quotient averages two slopes "
                         "there and is not compared")
    assert lines[-1].startswith("all 1 compared gradients agree")


def test_gradcheck_plain_output_of_a_small_file(tmp_path: Path) -> None:
    """The numbers worked by hand above SMALL; with h a power of two they are exact."""
    result = run("gradcheck", small_file(tmp_path), "--step", DYADIC_STEP)
    assert result.exit_code == 0
    assert result.output == """\
A conv1d, average pooling and a linear unit
central differences, h = 0.000976562·max(1, |p|); a gradient passes when the relative \
error is at most 1e-05

parameter  value  analytic ∂L/∂p  numerical  abs error  rel error
K[1,1,1]   1      −6              −6         0.0e+00    0.0e+00    ok
K[1,1,2]   −1     −10             −10        0.0e+00    0.0e+00    ok
c[1]       0.5    −4              −4         0.0e+00    0.0e+00    ok
W[1,1]     2      1               1          0.0e+00    0.0e+00    ok
b[1]       0      −2              −2         0.0e+00    0.0e+00    ok

all 5 compared gradients agree (largest relative error 0.0e+00)
"""


def test_gradcheck_json_of_a_layered_file(tmp_path: Path) -> None:
    result = run("gradcheck", str(CONV1D), "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["passed"] is True
    assert [p["name"] for p in document["parameters"]] == [
        "K[1,1,1]", "K[1,1,2]", "K[1,1,3]", "c[1]", "W[1,1]", "W[1,2]", "b[1]"]
    # 032's gradients, worked by hand in its file
    assert document["values"]["grad.K[1,1,1]"] == pytest.approx(0.15)
    assert document["values"]["grad.W[1,1]"] == pytest.approx(-1.75)
    tie = tmp_path / "tie.yaml"
    tie.write_text(TIE)
    document = json.loads(run("gradcheck", str(tie), "--format", "json").output)
    assert [(p["verdict"], p.get("kinks")) for p in document["parameters"]] == [
        ("kink", ["pooling"]), ("kink", ["pooling"]), ("ok", None)]


def test_a_large_network_has_a_row_per_tensor(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = layered(conv2d_network(np.random.default_rng(5), "tanh", "avgpool2d"))
    result = check_gradients(problem)
    assert len(result.checks) == 8 + 2 + 48 + 3 > MAX_ROWS
    lines = report_lines(result)
    assert lines[3].split() == ["parameters", "elements", "ok", "kink", "fail", "largest",
                                "rel", "error"]
    assert lines[4].split()[:7] == ["W1[1,1,1,1]", "…", "W1[2,1,2,2]", "8", "8", "0", "0"]
    assert lines[7].split()[:7] == ["b5[1]", "…", "b5[3]", "3", "3", "0", "0"]
    assert len(lines) == 10 and lines[-1].startswith("all 61 compared gradients agree")
    real = Conv.backward

    def backward(self: Any, grad_out: Any, cache: Any, params: Any) -> Any:
        grad_in, grads = real(self, grad_out, cache, params)
        return grad_in, {**grads, "bias": grads["bias"] + 1.0}

    monkeypatch.setattr(Conv, "backward", backward)
    lines = report_lines(check_gradients(problem))
    assert lines[5].split()[:7] == ["b1[1]", "…", "b1[2]", "2", "0", "0", "2"]
    assert lines[lines.index("failed:") + 2].startswith("b1[1] ")
    assert lines[-1].startswith("2 of 61 gradients disagree: b1[1], b1[2]")


# ------------------------------------------------------------------------ probe


def test_bracketed_keys_are_read() -> None:
    assert parse_nudge("K[1,1,2,2]+=0.1") == Nudge("K[1,1,2,2]", change=0.1)
    assert parse_nudge("c[1] -= 0.05") == Nudge("c[1]", change=-0.05)
    assert parse_nudge("W5[1,4]:=-0.3") == Nudge("W5[1,4]", value=-0.3)
    assert parse_nudge("K[1,1,2,2]=0.5") == Nudge("K[1,1,2,2]", value=0.5)
    for bad in ("K[0,1]+=1", "K[1,]+=1", "K[]+=1", "K[1,1]]+=1", "K[a]=1", "grad.K[1]+=1",
                "K[1,1+=1"):
        with pytest.raises(NudgeError):
            parse_nudge(bad)


def test_probe_actual_change_is_the_forward_pass_written_out() -> None:
    result = probe(load_network(CONV), [parse_nudge("K[1,1,2,2]+=0.25"),
                                        parse_nudge("c[1]-=0.125"), parse_nudge("W5[1,1]=0.5")])
    k, w = np.array([[1.0, 0.0], [0.0, -1.0]]), np.array([0.1, -0.2, 0.3, 0.4])
    start = conv_pool_loss(k, 0.5, w)
    k[1, 1], w[0] = -0.75, 0.5
    moved = conv_pool_loss(k, 0.375, w)
    assert result.loss == pytest.approx(start, rel=1e-13)
    assert result.actual == pytest.approx(moved - start, rel=1e-10)
    grads = {m.name: m.gradient for m in result.moved}
    assert result.predicted == pytest.approx(grads["K[1,1,2,2]"] * 0.25
                                             + grads["c[1]"] * -0.125
                                             + grads["W5[1,1]"] * 0.4)


def test_probe_of_an_rnn_is_its_recurrence_written_out() -> None:
    def loss(w: float, u: float) -> float:  # 031: h_t = tanh(w·x_t + u·h_{t−1} + 0.1)
        h = 0.0
        for x in (1.0, 0.5, -1.0):
            h = math.tanh(w * x + u * h + 0.1)
        return 0.5 * (1.5 * h - 0.5) ** 2

    result = probe(load_network(RNN), [parse_nudge("w-=0.1"), parse_nudge("u+=0.05")])
    assert result.actual == pytest.approx(loss(0.4, 0.95) - loss(0.5, 0.9), rel=1e-12)
    # ∂L/∂w as the difference quotient of the written-out loss
    h = 1e-6
    slope = (loss(0.5 + h, 0.9) - loss(0.5 - h, 0.9)) / (2 * h)
    assert result.moved[0].gradient == pytest.approx(slope, rel=1e-7)


def test_probe_plain_output_of_a_small_file(tmp_path: Path) -> None:
    """K[1,1,2] −1 → −0.5: z = [1 − 1 + 0.5, 2 − 1.5 + 0.5] = [0.5, 1], pooled 0.75,
    o = 1.5, L = ½·0.5² = 0.125; predicted −10·0.5 = −5, actual 0.125 − 2 = −1.875."""
    result = run("probe", small_file(tmp_path), "K[1,1,2]+=0.5")
    assert result.exit_code == 0
    assert result.output == """\
A conv1d, average pooling and a linear unit

K[1,1,2]: −1 → −0.5 (ΔK[1,1,2] = +0.5), ∂L/∂K[1,1,2] = −10

predicted  ΔL ≈ ∂L/∂K[1,1,2]·ΔK[1,1,2] = (−10)·0.5 = −5
actual     ΔL = L(K[1,1,2] = −0.5) − L = 0.125 − 2 = −1.875
difference actual − predicted = 3.125

If K[1,1,2] grows by 0.5 the loss should drop by about 5; it drops by 1.875.
"""


def test_probe_usage_errors_on_a_layered_file() -> None:
    unknown = run("probe", str(CONV), "K[1,1,3,3]+=0.1")
    assert unknown.exit_code == 2
    assert "no parameter 'K[1,1,3,3]' (did you mean 'K[1,1,2,2]'" in unknown.output
    assert run("probe", str(RNN), "w=+1", "w=+2").exit_code == 2
    assert run("probe", str(RNN), "grad.w+=1").exit_code == 2
    document = json.loads(run("probe", str(RNN), "u=+0.01", "--format", "json").output)
    assert document["nudges"][0]["name"] == "u" and document["values"]["nudged.u"] == 0.91


def test_a_bracketed_key_through_the_shell_quoted() -> None:
    """What a user types: the key in quotes, so that the shell neither globs nor splits it."""
    command = (f"{sys.executable} -m backprop_cli probe {CONV1D} 'K[1,1,1]+=0.1' "
               "--format json")
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
    document = json.loads(out.stdout)
    assert document["nudges"][0]["name"] == "K[1,1,1]"
    # 032 by hand: K[1,1,1] meets x = 0, 3, 0 in the three windows, so z.C[1,2] grows by
    # 0.3: a.P = [3.65, 0.9], o = 0.73 − 0.36 + 0.1 = 0.47, L = ½·0.53² = 0.14045
    assert document["values"]["nudged.loss"] == pytest.approx(0.14045, rel=1e-12)


# ---------------------------------------------------------------------- surface


def rnn_loss(w: float, u: float, b: float = 0.1, v: float = 1.5) -> float:
    h = 0.0
    for x in (1.0, 0.5, -1.0):
        h = math.tanh(w * x + u * h + b)
    return 0.5 * (v * h - 0.5) ** 2


def test_surface_grid_is_the_loss_written_out() -> None:
    surface = loss_surface(load_network(RNN), "w", "u", steps=20, size=(9, 7))
    for j, i in ((0, 0), (3, 4), (6, 8), (2, 7)):
        assert surface.loss[j, i] == pytest.approx(rnn_loss(surface.xs[i], surface.ys[j]),
                                                   rel=1e-12)
    assert surface.fixed == {"b": 0.1, "v": 1.5}
    assert surface.path_loss[0] == pytest.approx(rnn_loss(0.5, 0.9), rel=1e-12)
    assert surface.final["final.b"] == 0.1 and surface.final["final.v"] == 1.5
    assert np.all(np.diff(surface.path_loss) < 0)
    conv = loss_surface(load_network(CONV), "K[1,1,1,1]", "W5[1,4]", size=(5, 4),
                        x_range=(0, 2), y_range=(-1, 1))
    k, w = np.array([[1.0, 0.0], [0.0, -1.0]]), np.array([0.1, -0.2, 0.3, 0.4])
    for j, i in ((0, 0), (3, 4), (1, 2)):
        k[0, 0], w[3] = conv.xs[i], conv.ys[j]
        assert conv.loss[j, i] == pytest.approx(conv_pool_loss(k, 0.5, w), rel=1e-12)


def test_surface_path_is_gradient_descent_and_others_may_train() -> None:
    problem = load_network(RNN)
    held = loss_surface(problem, "w", "u", steps=1, size=(3, 3))
    # one SGD step: w − 0.1·∂L/∂w, u − 0.1·∂L/∂u with 031's gradients (0.11889, −0.24774)
    assert held.end == pytest.approx((0.5 - 0.1 * 0.118886278, 0.9 + 0.1 * 0.2477389237))
    both = loss_surface(problem, "w", "u", steps=10, size=(3, 3), train_others=True)
    assert both.final["final.v"] != 1.5 and both.train_others


def test_surface_errors_on_a_layered_file(tmp_path: Path) -> None:
    problem = load_network(CONV)
    with pytest.raises(SurfaceError, match=r"no parameter 'K\[1,1,3,1\]' \(did you mean"):
        loss_surface(problem, "K[1,1,3,1]", "c[1]")
    with pytest.raises(SurfaceError, match="two different"):
        loss_surface(problem, "c[1]", "c[1]")
    result = run("surface", str(CONV), "K[1,1,9,9]", "c[1]")
    assert result.exit_code == 2 and "no parameter 'K[1,1,9,9]'" in result.output
    # h_t = h_{t−1} + x_t with α = 10¹⁰: each step multiplies the error by about 10¹⁰
    blow = tmp_path / "blow.yaml"
    blow.write_text("""network:
  inputs: [x]
  layers:
    - {type: rnn, units: [h], activation: identity, weights: [[1]], recurrent: [[1]]}
    - {units: [y], weights: [[1]]}
sequence: [[1], [1]]
target: [0]
learning_rate: 1e10
loss: half_squared_error
steps: 20
""")
    result = run("surface", str(blow), "W1[1,1]", "U1[1,1]")
    assert result.exit_code == 1
    assert result.output.startswith(f"{blow}: gradient descent did not stay finite: the "
                                    "numbers overflow at step ")


def test_surface_plain_output_of_a_small_file(tmp_path: Path) -> None:
    """One step with α = 1/8 from K[1,1,1] = 1, c = 0.5 (gradients −6 and −4): K[1,1,1] =
    1 + 6/8 = 1.75, c = 0.5 + 4/8 = 1; z = [1.75 − 2 + 1, 3.5 − 3 + 1] = [0.75, 1.5],
    pooled 1.125, o = 2.25, L = ½·1.25² = 0.78125."""
    result = run("surface", small_file(tmp_path), "K[1,1,1]", "c[1]", "--steps", "1")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[:2] == ["A conv1d, average pooling and a linear unit",
                         "the other parameters fixed, the map at K[1,1,2] = −1, W[1,1] = 2, "
                         "b[1] = 0"]
    assert lines[-3:] == ["start  K[1,1,1] = 1, c[1] = 0.5, loss 2",
                          "end    K[1,1,1] = 1.75, c[1] = 1, loss 0.7812 after 1 step",
                          "lowest grid point  K[1,1,1] = 1.75, c[1] = 0.375, loss 0"]
    assert sum(line.count("S") for line in lines[3:24]) == 1
    document = json.loads(run("surface", small_file(tmp_path), "K[1,1,1]", "c[1]", "--steps",
                              "1", "--format", "json").output)
    assert document["path"] == [{"step": 0, "x": 1, "y": 0.5, "loss": 2},
                                {"step": 1, "x": 1.75, "y": 1, "loss": 0.78125}]
    assert document["values"] == {"final.K[1,1,1]": 1.75, "final.c[1]": 1,
                                  "final.loss": 0.78125}


def test_surface_plot_of_a_layered_file(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "surface.png"
    result = run("surface", str(CONV), "K[1,1,1,1]", "W5[1,4]", "--plot", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"\x89PNG")


def test_surface_plot_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    target = tmp_path / "surface.png"
    result = run("surface", str(RNN), "w", "u", "--plot", str(target))
    assert result.exit_code == 1 and "--plot needs matplotlib" in result.output
    assert not target.exists()


@pytest.mark.parametrize("args", [["gradcheck", "{file}"], ["probe", "{file}", "c[1]+=0.1"],
                                  ["surface", "{file}", "K[1,1,1,1]", "c[1]", "--steps", "2"]],
                         ids=lambda args: args[0])
def test_commands_that_record_nothing_take_a_run_too_long_to_record(
        tmp_path: Path, args: list[str]) -> None:
    """14,000 steps of the conv exercise are more than `solve` may record; gradcheck, probe
    and surface keep no value of every step, so only the work budget holds them."""
    path = tmp_path / "long.yaml"
    path.write_text(CONV.read_text(encoding="utf-8").replace(
        "learning_rate: 0.1\n", "learning_rate: 0.1\nsteps: 14000\n"), encoding="utf-8")
    assert CliRunner().invoke(cli, ["solve", str(path)]).exit_code == 1
    result = CliRunner().invoke(cli, [arg.format(file=path) for arg in args])
    assert result.exit_code == 0, result.output
