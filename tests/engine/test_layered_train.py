"""engine/layered_train.py: a long run of a layered network, its losses against NumPy loops
written here, memory flat in the steps."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from backprop_cli.engine.layered import solve_layered
from backprop_cli.engine.layered_train import train_layered
from backprop_cli.errors import NumericError
from backprop_cli.files import trust
from backprop_cli.kinds.exercise import load_exercise
from backprop_cli.model.layered import LayeredProblem
from tests.conftest import PROBLEMS

CONV = PROBLEMS / "030_conv_pool_dropout.yaml"
RNN = PROBLEMS / "031_rnn_bptt.yaml"


def layered(path: Path, steps: int | None = None) -> LayeredProblem:
    problem = load_exercise(path, steps=steps)
    assert isinstance(problem, LayeredProblem)
    return problem


def conv_by_hand(steps: int) -> list[float]:
    """Problem 030 written out: 2×2 kernel on the 4×4 input, ReLU, max pool 2×2 stride 1
    (the first maximum of each window), dropout mask ×2, a sigmoid unit without bias, half
    squared error against 1, learning rate 0.1. The loss before each update and after
    the last."""
    x = np.array([[1, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 0], [1, 0, 1, 2]], dtype=float)
    kernel, bias = np.array([[1.0, 0.0], [0.0, -1.0]]), 0.5
    weights = np.array([0.1, -0.2, 0.3, 0.4])
    keep = np.array([[1.0, 0.0], [1.0, 1.0]]) * 2  # mask / (1 − rate)
    losses = []
    for _ in range(steps + 1):
        z = np.array([[np.sum(kernel * x[i:i + 2, j:j + 2]) + bias for j in range(3)]
                      for i in range(3)])
        a = np.maximum(z, 0.0)
        winners = [[divmod(int(np.argmax(a[i:i + 2, j:j + 2])), 2) for j in range(2)]
                   for i in range(2)]
        pooled = np.array([[a[i + r, j + s] for j, (r, s) in enumerate(row)]
                           for i, row in enumerate(winners)])
        flat = (pooled * keep).ravel()
        out = 1.0 / (1.0 + np.exp(-(weights @ flat)))
        losses.append(0.5 * (out - 1.0) ** 2)
        delta = (out - 1.0) * out * (1.0 - out)
        grad_pooled = (delta * weights).reshape(2, 2) * keep
        grad_a = np.zeros((3, 3))
        for i, row in enumerate(winners):
            for j, (r, s) in enumerate(row):
                grad_a[i + r, j + s] += grad_pooled[i, j]
        grad_z = grad_a * (z > 0)
        grad_kernel = sum(grad_z[i, j] * x[i:i + 2, j:j + 2] for i in range(3) for j in range(3))
        kernel = kernel - 0.1 * grad_kernel
        bias -= 0.1 * grad_z.sum()
        weights = weights - 0.1 * delta * flat
    return losses


def rnn_by_hand(steps: int) -> list[float]:
    return rnn_run_by_hand(steps)[0]


def rnn_run_by_hand(steps: int) -> tuple[list[float], dict[str, float], list[float]]:
    """Problem 031 written out: h_t = tanh(w·x_t + u·h_{t−1} + b), y_t = v·h_t, half squared
    error at the last step against 0.5, BPTT, learning rate 0.1. The losses, and the
    parameters and outputs y_1..y_3 after ``steps`` updates."""
    w, u, b, v = 0.5, 0.9, 0.1, 1.5
    xs = [1.0, 0.5, -1.0]
    losses = []
    for _ in range(steps + 1):
        reached = {"w": w, "u": u, "b": b, "v": v}
        hs = [0.0]
        for x in xs:
            hs.append(float(np.tanh(w * x + u * hs[-1] + b)))
        outputs = [v * h for h in hs[1:]]
        error = v * hs[-1] - 0.5
        losses.append(0.5 * error ** 2)
        grad_v, grad_h = error * hs[-1], v * error
        grad_w = grad_u = grad_b = 0.0
        for t in range(len(xs), 0, -1):
            grad_z = grad_h * (1.0 - hs[t] ** 2)
            grad_w += grad_z * xs[t - 1]
            grad_u += grad_z * hs[t - 1]
            grad_b += grad_z
            grad_h = u * grad_z
        w, u, b, v = w - 0.1 * grad_w, u - 0.1 * grad_u, b - 0.1 * grad_b, v - 0.1 * grad_v
    return losses, reached, outputs


RANDOM_CONV = """\
network:
  inputs: {{shape: [2, 5, 5]}}
  layers:
    - type: conv2d
      filters: 2
      kernel: 3
      stride: 2
      padding: 1
      weights: {kernel}
      bias: {bias}
      activation: tanh
    - type: avgpool2d
      size: 2
      stride: 1
    - type: flatten
    - units: [p, q, r]
      activation: softmax
      weights: {dense}
      bias: 0.1
loss: cross_entropy
learning_rate: 0.5
samples:
  - {{input: {x1}, target: [1, 0, 0]}}
  - {{input: {x2}, target: [0, 0, 1]}}
"""


def random_conv(tmp_path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    path = tmp_path / f"random{seed}.yaml"
    path.write_text(RANDOM_CONV.format(
        kernel=rng.normal(size=(2, 2, 3, 3)).round(3).tolist(),
        bias=rng.normal(size=2).round(3).tolist(),
        dense=rng.normal(size=(3, 8)).round(3).tolist(),
        x1=rng.normal(size=(2, 5, 5)).round(2).tolist(),
        x2=rng.normal(size=(2, 5, 5)).round(2).tolist()), encoding="utf-8")
    return path


def test_the_conv_exercise_trains_as_the_loop_written_out() -> None:
    run = train_layered(layered(CONV), steps=40)
    assert run.steps_run == 40 and run.stopped is None and not run.interrupted
    assert run.losses.shape == (41,)
    assert run.losses == pytest.approx(conv_by_hand(40), rel=1e-12)
    assert run.final.loss == run.losses[-1]


def test_the_rnn_exercise_trains_as_bptt_written_out() -> None:
    run = train_layered(layered(RNN), steps=25)
    assert run.losses == pytest.approx(rnn_by_hand(25), rel=1e-9, abs=1e-30)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_random_conv_network_follows_the_worked_runs_losses(tmp_path: Path,
                                                              seed: int) -> None:
    """The step losses solve_layered records (its worked passes, every value kept)."""
    path = random_conv(tmp_path, seed)
    worked = solve_layered(layered(path, steps=4)).values
    expected = [worked[key] for key in ("loss", "step2.loss", "step3.loss", "step4.loss",
                                        "final.loss")]
    run = train_layered(layered(path), steps=4)
    assert run.losses == pytest.approx(expected, rel=1e-12)
    final = run.final.params[0]["weights"]
    assert final.ravel() == pytest.approx(
        [worked[f"final.W1[{f},{c},{i},{j}]"] for f in range(1, 3) for c in range(1, 3)
         for i in range(1, 4) for j in range(1, 4)], rel=1e-12)


def test_until_loss_stops_before_the_update_past_the_target() -> None:
    losses = conv_by_hand(30)
    target = (losses[12] + losses[13]) / 2  # the loss after 13 updates is the first below
    run = train_layered(layered(CONV), steps=30, until_loss=target)
    assert run.steps_run == 13
    assert run.stopped == f"loss {losses[13]:.6g} reached {target:g} after 13 updates"
    assert run.losses == pytest.approx(losses[:14], rel=1e-12)


def test_a_keyboard_interrupt_from_on_step_keeps_the_update_made() -> None:
    def stop_at_4(step: int, loss: float) -> None:
        if step == 4:
            raise KeyboardInterrupt

    run = train_layered(layered(CONV), steps=30, on_step=stop_at_4)
    assert run.interrupted and run.steps_run == 4
    assert run.stopped == "interrupted after 4 of 30 steps"
    assert run.losses == pytest.approx(conv_by_hand(4), rel=1e-12)


def test_a_diverging_run_is_a_numeric_error(tmp_path: Path) -> None:
    path = tmp_path / "fast.yaml"
    path.write_text(RNN.read_text(encoding="utf-8").replace("learning_rate: 0.1",
                                                            "learning_rate: 1e300"))
    with pytest.raises(NumericError, match="diverging"):
        train_layered(layered(path), steps=5)


def test_memory_is_flat_in_the_steps() -> None:
    """Only the loss curve grows (8 bytes a step): the passes are not kept (each step's
    would be thousands of values; the peak moves by some 100 kB with when the garbage
    collector runs)."""
    problem = layered(CONV)
    peaks = []
    for steps in (30, 300):
        train_layered(problem, steps=2)  # warm: numpy's first allocations
        tracemalloc.start()
        train_layered(problem, steps=steps)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] - peaks[0] < 8 * 270 + 256 * 1024


def test_a_long_run_is_read_past_the_recording_limit_only_for_training(tmp_path: Path) -> None:
    """solve keeps every value of every step and refuses this run; train keeps none."""
    from backprop_cli.errors import ProblemError

    path = random_conv(tmp_path, 5)
    path.write_text(path.read_text(encoding="utf-8") + "steps: 30000\n", encoding="utf-8")
    with pytest.raises(ProblemError, match="over the limit of 2,000,000"):
        load_exercise(path)
    with trust.unrecorded_run():
        problem = layered(path)
    assert problem.steps == 30000 and not trust.run_unrecorded()
    path.write_text(path.read_text(encoding="utf-8") + "expected: {loss: 1}\n",
                    encoding="utf-8")
    with trust.unrecorded_run():
        assert layered(path).expected == {}  # not listed: train does not use it
    path.write_text(path.read_text(encoding="utf-8").replace("steps: 30000", "steps: 900000"))
    with trust.unrecorded_run(), pytest.raises(ProblemError, match="over the work budget"):
        layered(path)  # the work budget still holds
