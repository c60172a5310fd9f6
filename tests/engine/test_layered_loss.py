"""engine/layered_loss.py: a layered network's loss where its parameters are moved by key,
its gradient, the finite-difference passes from the moved layer on, and the descent path."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from backprop_cli.engine.layered import solve_layered
from backprop_cli.engine.layered_loss import ACTIVATION_KINK, POOLING_KINK, LayeredLoss
from backprop_cli.errors import NumericError
from backprop_cli.kinds.exercise import load_network, parse_exercise
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.records import replace
from tests.conftest import PROBLEMS

CONV = PROBLEMS / "030_conv_pool_dropout.yaml"
RNN = PROBLEMS / "031_rnn_bptt.yaml"
CONV1D = PROBLEMS / "032_conv1d_stride_padding_avgpool.yaml"
LAYERED = [CONV, RNN, CONV1D]

# conv1d (kernel 2) on x = [1, 2, 1], max pooling over both outputs: at K = [1, 1] the two
# outputs tie at 3 (1·1 + 1·2 and 1·2 + 1·1), and moving K[1,1,1] by ±h makes the first
# (−h) or the second (+h: 3 + h against 3 + 2h) the winner
TIE = """\
network:
  inputs: {shape: [1, 3]}
  layers:
    - {type: conv1d, name: C, filters: 1, kernel: 2, weights: [[[1, 1]]], weight_name: K,
       activation: identity}
    - {type: maxpool1d, name: P, size: 2}
    - {type: flatten}
    - {units: [o], weights: [[1]], weight_name: W}
loss: half_squared_error
learning_rate: 0.1
input: [[1, 2, 1]]
target: [1]
"""


def layered(text: str) -> LayeredProblem:
    problem = parse_exercise(text, "t.yaml")
    assert isinstance(problem, LayeredProblem)
    return problem


def load(path: Path) -> LayeredProblem:
    problem = load_network(path)
    assert isinstance(problem, LayeredProblem)
    return problem


def conv_pool_loss(k: np.ndarray, c: float, w: np.ndarray) -> float:
    """030 written out: a 2×2 cross-correlation, ReLU, 2×2 max pooling with stride 1,
    dropout mask [[1, 0], [1, 1]] scaled by 1/(1 − 0.5), a sigmoid unit, ½(a − 1)²."""
    x = np.array([[1, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 0], [1, 0, 1, 2]], dtype=float)
    z = np.array([[np.sum(k * x[i:i + 2, j:j + 2]) + c for j in range(3)] for i in range(3)])
    a = np.maximum(z, 0)
    pooled = np.array([[a[i:i + 2, j:j + 2].max() for j in range(2)] for i in range(2)])
    dropped = pooled * np.array([[1, 0], [1, 1]]) * 2
    out = 1 / (1 + math.exp(-float(w @ dropped.ravel())))
    return 0.5 * (out - 1) ** 2


def test_the_loss_is_the_networks_written_out() -> None:
    point = LayeredLoss(load(CONV))
    k = np.array([[1.0, 0.0], [0.0, -1.0]])
    w = np.array([0.1, -0.2, 0.3, 0.4])
    assert point.loss() == pytest.approx(conv_pool_loss(k, 0.5, w), rel=1e-14)
    point.set("K[1,1,2,1]", 0.3)  # filter 1, channel 1, row 2, column 1
    point.set("W5[1,2]", 0.25)
    k[1, 0], w[1] = 0.3, 0.25
    assert point.get("K[1,1,2,1]") == 0.3
    assert point.loss() == pytest.approx(conv_pool_loss(k, 0.5, w), rel=1e-14)
    assert point.names == ["K[1,1,1,1]", "K[1,1,1,2]", "K[1,1,2,1]", "K[1,1,2,2]", "c[1]",
                           "W5[1,1]", "W5[1,2]", "W5[1,3]", "W5[1,4]"]
    assert [point.layer_of(n) for n in ("K[1,1,2,2]", "c[1]", "W5[1,1]")] == [0, 0, 4]


@pytest.mark.parametrize("path", LAYERED, ids=lambda p: p.stem)
def test_loss_and_gradients_are_the_solutions(path: Path) -> None:
    """The same numbers as `solve` shows: the wiring of keys to elements."""
    problem = load(path)
    values = solve_layered(problem).values
    loss, grads = LayeredLoss(problem).gradients()
    assert loss == values["loss"]
    assert grads == {name: values[f"grad.{name}"] for name in LayeredLoss(problem).names}


@pytest.mark.parametrize("path", LAYERED, ids=lambda p: p.stem)
def test_a_pass_from_the_moved_layer_is_the_full_pass_bit_for_bit(path: Path) -> None:
    problem = load(path)
    point = LayeredLoss(problem)
    point.loss()  # every layer's input kept
    for name in point.names:
        value = point.get(name)
        point.set(name, value + 0.125)
        moved = point.forward()
        assert moved.start == point.layer_of(name)
        fresh = LayeredLoss(problem)
        fresh.set(name, value + 0.125)  # its first pass: from the first layer
        assert moved.loss == fresh.forward().loss, name
        point.set(name, value)
        assert point.loss() == LayeredLoss(problem).loss()


def test_the_file_is_not_changed() -> None:
    problem = load(CONV)
    before = [param.values.copy() for _, param in problem.parameters()]
    point = LayeredLoss(problem)
    point.set("K[1,1,1,1]", 9.0)
    point.descend(3, ["c[1]"])
    assert all(np.array_equal(param.values, old)
               for (_, param), old in zip(problem.parameters(), before, strict=True))


def test_a_tie_in_max_pooling_is_a_kink_and_a_relu_crossing_another() -> None:
    point = LayeredLoss(layered(TIE))
    point.loss()
    h = 1e-6
    point.set("K[1,1,1]", 1 + h)
    plus = point.forward()
    point.set("K[1,1,1]", 1 - h)
    minus = point.forward()
    assert point.kinks_between(plus, minus) == [POOLING_KINK]
    point.set("K[1,1,1]", 1)
    point.set("W[1,1]", 1 + h)  # after the pooling: no winner moves
    plus = point.forward()
    point.set("W[1,1]", 1 - h)
    assert point.kinks_between(plus, point.forward()) == []
    # 030's z.C[1,1,1] = 1·1 + 0·2 + 0·0 − 1·1 + c = c: the ReLU's input crosses 0 when
    # c moves across 0
    relu = LayeredLoss(load(CONV))
    relu.set("c[1]", h)
    plus = relu.forward()
    relu.set("c[1]", -h)
    assert ACTIVATION_KINK in relu.kinks_between(plus, relu.forward())
    relu.set("c[1]", 0.5 + h)  # where 030 has it: no z.C is near 0
    plus = relu.forward()
    relu.set("c[1]", 0.5 - h)
    assert relu.kinks_between(plus, relu.forward()) == []


@pytest.mark.parametrize("path", LAYERED, ids=lambda p: p.stem)
def test_descent_is_the_files_training(path: Path) -> None:
    problem = replace(load(path), steps=4)
    final = solve_layered(problem).values
    names = LayeredLoss(problem).names
    run = LayeredLoss(problem).descend(4, names[:2])
    assert run.final == {name: final[f"final.{name}"] for name in names}
    assert run.losses[-1] == final["final.loss"]
    assert run.losses[0] == final["loss"] and run.losses[1] == final["step2.loss"]
    assert list(run.path[0]) == [LayeredLoss(problem).get(n) for n in names[:2]]
    assert list(run.path[2]) == [final[f"step3.{n}"] for n in names[:2]]


def test_descent_moves_only_the_chosen_parameters() -> None:
    problem = load(RNN)
    run = LayeredLoss(problem).descend(5, ["w", "u"], moving=("w", "u"))
    assert run.final["b"] == 0.1 and run.final["v"] == 1.5
    assert run.final["w"] != 0.5 and run.final["u"] != 0.9
    assert np.all(np.diff(run.losses) < 0)  # downhill, step after step
    # and with the file's own freeze: a frozen chosen parameter does not move either
    frozen = replace(problem, freeze=["u"])
    assert LayeredLoss(frozen).descend(5, ["u"], moving=("w", "u")).final["u"] == 0.9


def test_an_overflowing_descent_is_a_numeric_error() -> None:
    problem = replace(load(CONV1D), learning_rate=1e155)
    with pytest.raises(NumericError):
        LayeredLoss(problem).descend(5, ["c[1]"])
