"""The carried pass of a layered network (engine/layered_carry.py): each value worked from
the given values before it, against numbers worked by hand and the exact run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.checking.checker import CarriedForward
from backprop_cli.engine import solve
from backprop_cli.engine.layered import solve_layered
from backprop_cli.engine.layered_carry import carry_layered
from backprop_cli.kinds.exercise import load_exercise, parse_exercise
from backprop_cli.model.formulas import Formulas
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.model.problem import Problem
from tests.conftest import PROBLEMS
from tests.engine.test_layered_batches import conv_network, rnn_network
from tests.kinds.test_layered import DENSE

CONV = PROBLEMS / "030_conv_pool_dropout.yaml"
RNN = PROBLEMS / "031_rnn_bptt.yaml"
CONV1D = PROBLEMS / "032_conv1d_stride_padding_avgpool.yaml"


def load(path: Path, steps: int | None = None) -> LayeredProblem:
    text = path.read_text(encoding="utf-8").split("expected:")[0]
    problem = parse_exercise(text, path.name, steps=steps)
    assert isinstance(problem, LayeredProblem)
    return problem


def layered(text: str) -> LayeredProblem:
    problem = parse_exercise(text, "t.yaml")
    assert isinstance(problem, LayeredProblem)
    return problem


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


# ------------------------------------------------------------------ by hand


def test_a_wrong_z_gives_its_activation_and_derivative() -> None:
    carried = carry_layered(load(CONV), {"z.C[1,1,1]": 0.9, "z.C[1,1,2]": -2.0},
                            ["a.C[1,1,1]", "dadz.C[1,1,1]", "a.C[1,1,2]", "dadz.C[1,1,2]"])
    # ReLU of the given z, not of the exact 0.5 and −0.5
    assert carried == {"a.C[1,1,1]": 0.9, "dadz.C[1,1,1]": 1.0, "a.C[1,1,2]": 0.0,
                       "dadz.C[1,1,2]": 0.0}


def test_the_pooling_winner_is_chosen_among_the_given_values() -> None:
    # a.C = [[0.5, 0, 0], [0, 1.5, 3.5], [2.5, 0.5, 0]] exactly (the file's description);
    # with a.C[1,2,3] = 0.2 the window of P[1,1,2], {0, 0, 1.5, 0.2}, has its maximum 1.5
    # at C[1,2,2], which then also wins P[1,1,1] {0.5, 0, 0, 1.5} and P[1,2,2]
    # {1.5, 0.2, 0.5, 0}; C[1,3,1] wins P[1,2,1] {0, 1.5, 2.5, 0.5}
    given = {"a.C[1,2,3]": 0.2, "grad.a.P[1,1,1]": 0.1, "grad.a.P[1,1,2]": 0.2,
             "grad.a.P[1,2,1]": 0.3, "grad.a.P[1,2,2]": 0.4}
    carried = carry_layered(load(CONV), given, ["a.P[1,1,2]", "a.P[1,2,2]", "grad.a.C[1,2,2]",
                                                "grad.a.C[1,2,3]", "grad.a.C[1,3,1]"])
    assert carried["a.P[1,1,2]"] == 1.5 and carried["a.P[1,2,2]"] == 1.5
    assert carried["grad.a.C[1,2,2]"] == pytest.approx(0.1 + 0.2 + 0.4)  # three windows
    assert carried["grad.a.C[1,2,3]"] == 0.0  # it wins none now
    assert carried["grad.a.C[1,3,1]"] == pytest.approx(0.3)


def test_average_pooling_and_the_conv1d_kernel_gradient_read_the_given_values() -> None:
    # 032: padded x = [0, 1, 3, 2, 0, 4, 0], stride 2: the windows of z.C[1,1..3] are
    # [0, 1, 3], [3, 2, 0], [0, 4, 0]; a.C = [5.5, 1.5, 0] exactly
    carried = carry_layered(load(CONV1D), {"a.C[1,2]": 3.5}, ["a.P[1,1]", "a.P[1,2]"])
    assert carried == {"a.P[1,1]": (5.5 + 3.5) / 2, "a.P[1,2]": (3.5 + 0) / 2}
    # δ = grad.z.C: exactly [−0.05, 0.05, 0]; given δ_2 = 1 instead
    carried = carry_layered(load(CONV1D), {"grad.z.C[1,2]": 1.0},
                            ["grad.K[1,1,1]", "grad.K[1,1,2]", "grad.K[1,1,3]", "grad.c[1]"])
    assert carried["grad.K[1,1,1]"] == pytest.approx(-0.05 * 0 + 1 * 3 + 0 * 0)
    assert carried["grad.K[1,1,2]"] == pytest.approx(-0.05 * 1 + 1 * 2 + 0 * 4)
    assert carried["grad.K[1,1,3]"] == pytest.approx(-0.05 * 3 + 1 * 0 + 0 * 0)
    assert carried["grad.c[1]"] == pytest.approx(-0.05 + 1 + 0)


def test_the_kernel_gradient_sums_the_given_deltas_times_the_windows() -> None:
    # x = [[1, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 0], [1, 0, 1, 2]]; δ = 1 at (1,1), 2 at
    # (2,3), 0 elsewhere: ∂L/∂K[p,q] = 1·x[p,q] + 2·x[1+p, 2+q]
    deltas = {f"grad.z.C[1,{i},{j}]": 0.0 for i in (1, 2, 3) for j in (1, 2, 3)}
    deltas |= {"grad.z.C[1,1,1]": 1.0, "grad.z.C[1,2,3]": 2.0}
    carried = carry_layered(load(CONV), deltas, ["grad.K[1,1,1,1]", "grad.K[1,1,1,2]",
                                                 "grad.K[1,1,2,2]", "grad.c[1]"])
    assert carried == {"grad.K[1,1,1,1]": 1 * 1 + 2 * 3, "grad.K[1,1,1,2]": 1 * 2 + 2 * 1,
                       "grad.K[1,1,2,2]": 1 * 1 + 2 * 0, "grad.c[1]": 3.0}


def test_grad_z_is_the_given_grad_a_times_the_given_derivative() -> None:
    given = {"grad.a.C[1,1,2]": 5.0, "grad.a.C[1,2,2]": 5.0, "dadz.C[1,3,1]": 0.5,
             "grad.a.C[1,3,1]": 4.0}
    carried = carry_layered(load(CONV), given, ["grad.z.C[1,1,2]", "grad.z.C[1,2,2]",
                                                "grad.z.C[1,3,1]"])
    # z.C[1,1,2] = −0.5: ReLU' = 0; z.C[1,2,2] = 1.5: 1; and a given f' of 0.5
    assert carried == {"grad.z.C[1,1,2]": 0.0, "grad.z.C[1,2,2]": 5.0,
                       "grad.z.C[1,3,1]": 2.0}


def test_a_wrong_kernel_gradient_gives_its_update() -> None:
    # K[1,1,1,2] = 0, η = 0.1
    carried = carry_layered(load(CONV), {"grad.K[1,1,1,2]": 0.5},
                            ["new.K[1,1,1,2]", "change.K[1,1,1,2]"])
    assert carried["new.K[1,1,1,2]"] == pytest.approx(0 - 0.1 * 0.5)
    assert carried["change.K[1,1,1,2]"] == pytest.approx(-0.05)
    # the change reads the given new value, not the gradient
    carried = carry_layered(load(CONV), {"new.K[1,1,1,2]": 0.3}, ["change.K[1,1,1,2]"])
    assert carried["change.K[1,1,1,2]"] == pytest.approx(0.3 - 0)


def test_the_recurrence_reads_the_given_state() -> None:
    # z_t = w·x_t + u·h_{t−1} + b with w = 0.5, u = 0.9, b = 0.1, x = 1, 0.5, −1
    given = {"z.h#1": 0.75, "a.h#1": 0.6351}
    carried = carry_layered(load(RNN), given, ["a.h#1", "z.h#2"])
    assert carried["a.h#1"] == pytest.approx(math.tanh(0.75))
    assert carried["z.h#2"] == pytest.approx(0.5 * 0.5 + 0.9 * 0.6351 + 0.1)
    # BPTT: the loss is at step 3 only, so ∂L/∂h_2 = u·∂L/∂z_3
    carried = carry_layered(load(RNN), {"grad.z.h#3": -0.3}, ["grad.a.h#2"])
    assert carried["grad.a.h#2"] == pytest.approx(0.9 * -0.3)


def test_step_two_starts_from_the_given_new_values() -> None:
    # h_0 = 0: step 2's z.h#1 = new.w·x_1 + new.b
    carried = carry_layered(load(RNN, steps=2), {"new.w": 0.4, "new.b": 0.2},
                            ["step2.w", "step2.z.h#1"])
    assert carried["step2.w"] == 0.4
    assert carried["step2.z.h#1"] == pytest.approx(0.4 * 1 + 0.2)
    # a given step-2 parameter stands over step 1's new value
    carried = carry_layered(load(RNN, steps=2), {"new.w": 0.4, "step2.w": 0.45, "new.b": 0.2},
                            ["step2.z.h#1"])
    assert carried["step2.z.h#1"] == pytest.approx(0.45 * 1 + 0.2)


def test_unknown_keys_are_left_out() -> None:
    assert carry_layered(load(CONV), {"z.Q[1,1,1]": 1.0, "z.C[9,9,9]": 1.0},
                         ["a.C[1,1,1]", "z.Q[1,1,1]", "step7.z.C[1,1,1]"]) == {
        "a.C[1,1,1]": 0.5}


# ------------------------------------------------------------------ against the exact run


def assert_carries_the_exact_values(problem: LayeredProblem) -> None:
    """Given the exact values, every key's carried value is its exact value; given none,
    the pass is the run itself."""
    exact = solve_layered(problem).values
    for values in (exact, {}):
        carried = carry_layered(problem, values, exact)
        assert carried.keys() == exact.keys()
        for key, value in exact.items():
            assert math.isclose(carried[key], value, rel_tol=1e-12, abs_tol=1e-15), (
                key, carried[key], value)


@pytest.mark.parametrize("path", [CONV, RNN, CONV1D], ids=lambda p: p.stem)
def test_the_problems_carry_their_exact_values(path: Path) -> None:
    problem = load_exercise(path)
    assert isinstance(problem, LayeredProblem)
    assert_carries_the_exact_values(problem)


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_random_conv_networks_carry_their_exact_values(data: st.DataObject) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 10**6)))
    dims = data.draw(st.sampled_from([1, 2]))
    size = data.draw(st.integers(4, 5))
    kernel = data.draw(st.integers(1, 3))
    stride = data.draw(st.integers(1, 2))
    padding = data.draw(st.integers(0, 1))
    samples = data.draw(st.integers(1, 3))
    batch_size = data.draw(st.integers(1, samples))  # the steps' batches (3 steps)
    pool = data.draw(st.sampled_from(["max", "avg"]))
    loss, out_act, outputs = data.draw(st.sampled_from([
        ("half_squared_error", "identity", 1), ("cross_entropy", "softmax", 3)]))
    optimizer = data.draw(st.sampled_from(["", "optimizer: momentum\n",
                                           "optimizer: adam\nweight_decay: 0.01\n"]))
    conv_out = (size + 2 * padding - kernel) // stride + 1
    spatial = conv_out - 1 if conv_out >= 2 else conv_out
    pool_layer = f"    - {{type: {pool}pool{dims}d, size: 2, stride: 1}}\n" if (
        conv_out >= 2) else ""
    weights = rng.normal(0, 0.5, (2, 1, *([kernel] * dims))).round(2).tolist()
    dense = rng.normal(0, 0.5, (outputs, 2 * spatial**dims)).round(2).tolist()
    # a mask per sample, which follows its sample into its batch
    masks = rng.integers(0, 2, (samples, 2, *([spatial] * dims))).tolist()
    dropout = (f"    - {{type: dropout, rate: 0.5, mask: {masks}}}\n"
               if data.draw(st.booleans()) else "")
    rows = []
    for _ in range(samples):
        target = [0.0] * outputs
        target[int(rng.integers(outputs))] = 1.0
        rows.append(f"  - {{input: {rng.normal(0, 1, [1] + [size] * dims).round(1).tolist()}, "
                    f"target: {target}}}\n")
    text = (f"network:\n  inputs: {{shape: {[1] + [size] * dims}}}\n  layers:\n"
            f"    - {{type: conv{dims}d, filters: 2, kernel: {kernel}, stride: {stride}, "
            f"padding: {padding}, weights: {weights}, bias: 0.1, activation: tanh}}\n"
            f"{pool_layer}{dropout}    - {{type: flatten}}\n"
            f"    - {{units: {outputs}, activation: {out_act}, weights: {dense}}}\n"
            f"loss: {loss}\nlearning_rate: 0.1\nsteps: 3\nbatch_size: {batch_size}\n"
            f"{optimizer}samples:\n" + "".join(rows))
    assert_carries_the_exact_values(layered(text))


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_random_rnns_carry_their_exact_values(data: st.DataObject) -> None:
    samples = data.draw(st.integers(0, 2))  # 0: one sequence written inline
    text = rnn_network(data, samples, initial=True, learning_rate=0.1) + "steps: 3\n"
    if samples:
        text += f"batch_size: {data.draw(st.integers(1, samples))}\n"
    assert_carries_the_exact_values(layered(text))


# ------------------------------------------------------------------ against the dense checker

@settings(max_examples=25, deadline=None)
@given(st.data())
def test_a_dense_network_as_layers_carries_as_the_dense_checker_recomputes(
        data: st.DataObject) -> None:
    """The dense checker recomputes each value with its formula from the author's values
    (checking/checker.py's CarriedForward), an independent implementation of the same
    rule: on a dense network written as layers, the carried pass gives the same."""
    text = DENSE.format(optimizer="")  # SGD: three steps over two samples
    dense = parse_exercise(text, "d.yaml")
    assert isinstance(dense, Problem)
    typed = layered(text.replace("    - units:", "    - type: dense\n      units:"))
    exact = solve_layered(typed).values
    dense_exact = solve(dense).values
    keys = [key for key in exact if key in dense_exact and not key.startswith(
        ("input.", "target.", "final."))]
    chosen = data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=6, unique=True))
    given = {key: exact[key] + data.draw(st.sampled_from([-0.5, 0.25, 1.0])) for key in chosen}
    carried = carry_layered(typed, given, keys)
    recomputed = CarriedForward(dense, dense_exact, Formulas(dense))
    recomputed.author.clear()
    recomputed.author.update(given)
    for key in keys:
        if key in given:  # its own value: what the formula gives from the others
            formula = Formulas(dense).for_key(key)
            want = dense_exact[key] if formula is None else formula.evaluate(  # data: itself
                {ref: recomputed.value(ref) for ref in formula.refs()})
        else:
            want = recomputed.value(key)
        assert math.isclose(carried[key], want, rel_tol=1e-9, abs_tol=1e-12), (
            key, carried[key], want)


# ------------------------------------------------------------------ hand-calculation mode


def assert_carries_bit_for_bit(problem: LayeredProblem) -> None:
    """In hand-calculation mode each value is the rounded result of its step from the
    rounded values before it: given them, the carried pass reproduces every one exactly."""
    exact = solve_layered(problem).values
    for values in (exact, {}):
        carried = carry_layered(problem, values, exact)
        assert carried.keys() == exact.keys()
        for key, value in exact.items():
            assert carried[key] == value, (key, carried[key], value)


@pytest.mark.parametrize("path", [CONV, RNN, CONV1D], ids=lambda p: p.stem)
@pytest.mark.parametrize("decimals", [2, 4])
def test_rounded_problems_carry_their_values_exactly(path: Path, decimals: int) -> None:
    problem = load(path)
    problem.round = decimals
    assert_carries_bit_for_bit(problem)


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_random_rounded_networks_carry_their_values_exactly(data: st.DataObject) -> None:
    samples = data.draw(st.integers(1, 3))
    text = data.draw(st.sampled_from([conv_network, rnn_network]))(data, samples)
    # (not Adam: a rounded s of 0 makes its step m/ε, the numbers overflow)
    optimizer = data.draw(st.sampled_from(["", "optimizer: momentum\nweight_decay: 0.01\n"]))
    text += (f"steps: 2\nbatch_size: {data.draw(st.integers(1, samples))}\n{optimizer}"
             f"round: {data.draw(st.integers(4, 6))}\n")  # 0.00 outputs: log 0
    assert_carries_bit_for_bit(layered(text))
