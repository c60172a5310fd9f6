"""Optimizers, weight decay, mini-batches and epochs against finite differences,
the formulas, and an independent trainer (tests/reftrain.py)."""

from __future__ import annotations

import copy
import fnmatch
import math
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from backprop_cli.engine import solve
from backprop_cli.engine.passes import Engine, Recorder
from backprop_cli.errors import ProblemError
from backprop_cli.files.loader import parse_problem
from backprop_cli.kinds.exercise import load_problem
from backprop_cli.model.formulas import Formulas
from backprop_cli.model.keyspace import all_keys, parse_key
from backprop_cli.model.optimizers import Optimizer
from backprop_cli.model.problem import Problem
from tests.conftest import PROBLEMS
from tests.engine.test_engine import KINKED, tie_two_weights
from tests.netgen import dump, problem_documents
from tests.reftrain import train

BASE = """
network:
  inputs: [x1, x2]
  layers:
    - units: [h1, h2]
      activation: tanh
      weights: [[0.5, -0.4], [0.3, 0.8]]
      weight_names: [[w1, w2], [w3, w4]]
      bias: [0.1, -0.2]
      bias_names: [b1, b2]
    - units: [o]
      activation: sigmoid
      weights: [[0.7, -0.6]]
      weight_names: [[w5, w6]]
      bias: 0.05
      bias_names: [b3]
loss: binary_cross_entropy
learning_rate: 0.3
samples:
  - {input: [0, 0], target: 0}
  - {input: [0, 1], target: 1}
  - {input: [1, 0], target: 1}
  - {input: [1, 1], target: 0}
  - {input: [0.5, 0.5], target: 1}
"""


def training_problem(extra: str) -> Problem:
    return parse_problem(BASE + extra)


def batch_loss(problem: Problem, params: dict[str, float], batch: range) -> float:
    """The mean (or sum) loss of the samples ``batch`` at the parameters ``params``."""
    shifted = copy.deepcopy(problem)
    for name, value in params.items():
        for use in shifted.parameters[name].uses:
            layer = shifted.layers[use.layer]
            if use.is_bias:
                assert layer.bias is not None
                layer.bias[use.row] = value
            else:
                layer.weights[use.row, use.col] = value
    shifted.inputs = problem.inputs[batch.start:batch.stop]
    shifted.targets = problem.targets[batch.start:batch.stop]
    shifted.batch_size = None
    return Engine(shifted).forward().loss


def near_kink(problem: Problem, values: dict[str, float]) -> bool:
    for key, value in values.items():
        parts = parse_key(key, problem)
        if parts is None or parts.kind != "z" or parts.step is None:
            continue
        layer = next(layer for layer in problem.layers if parts.name in layer.units)
        if layer.activation.name in KINKED and abs(value) < 1e-3:
            return True
    return False


# ------------------------------------------------------------ property tests


@given(st.data())
def test_each_steps_gradient_is_the_finite_difference_of_its_batch_loss(
        data: st.DataObject) -> None:
    """Gradients do not depend on the optimizer: at every step, with every optimizer and
    batch size, grad.<param> is the central difference of that step's batch loss."""
    document = data.draw(problem_documents(training=True))
    if data.draw(st.booleans()):
        tie_two_weights(document, data)
    problem = parse_problem(dump(document))
    try:
        values = solve(problem).values
    except Exception as error:  # an optimizer may diverge on a random network
        assume(False)
        raise AssertionError from error
    assume(not near_kink(problem, values))
    h = 1e-6
    for step in range(1, max(problem.steps, 1) + 1):
        prefix = "" if step == 1 else f"step{step}."
        params = {name: values[f"{prefix}{name}"] for name in problem.parameters}
        assume(all(abs(v) < 1e3 for v in params.values()))
        batch = problem.batch(step)
        for name in problem.parameters:
            up = batch_loss(problem, {**params, name: params[name] + h}, batch)
            down = batch_loss(problem, {**params, name: params[name] - h}, batch)
            numeric = (up - down) / (2 * h)
            analytic = values[f"{prefix}grad.{name}"]
            # the difference's own rounding: a loss of 1e12 (a random identity network
            # grown by a large learning rate) leaves it a few units of eps·L/h
            noise = 8 * 2.0**-52 * max(abs(up), abs(down)) / (2 * h)
            assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-6 + noise), (
                step, name)


@given(st.data())
def test_every_update_value_follows_from_its_formula(data: st.DataObject) -> None:
    """v, m, s, m̂, ŝ and new of every step, and every other value, from their formulas."""
    document = data.draw(problem_documents(training=True))
    if data.draw(st.booleans()):
        tie_two_weights(document, data)
    problem = parse_problem(dump(document))
    try:
        values = solve(problem).values
    except Exception as error:
        assume(False)
        raise AssertionError from error
    keys = all_keys(problem)
    assert set(keys) == set(values)
    assert all(parse_key(key, problem) is not None for key in keys)
    formulas = Formulas(problem)
    log_loss = problem.loss.name in ("binary_cross_entropy", "cross_entropy")
    for key in keys:
        expr = formulas.for_key(key)
        if expr is None or not math.isfinite(values[key]):
            continue
        kind = parse_key(key, problem).kind  # type: ignore[union-attr]
        # a saturated output: the engine takes log-losses from z, the formula from
        # log(1 − a), which loses digits to cancellation (not an error of the update)
        rel = 1e-6 if log_loss and kind in ("loss", "grad.a") else 1e-9
        assert expr.evaluate(values) == pytest.approx(values[key], rel=rel, abs=1e-12), key


@given(st.data())
def test_frozen_and_shared_parameters_with_every_optimizer(data: st.DataObject) -> None:
    document = data.draw(problem_documents(training=True))
    tie_two_weights(document, data)
    problem = parse_problem(dump(document))
    engine = Engine(problem)
    try:
        solution = engine.run()
    except Exception as error:
        assume(False)
        raise AssertionError from error
    values = solution.values
    kinds = problem.optimizer.kinds
    for name, param in problem.parameters.items():
        flat = [engine._flat_index(u.layer, u.row, u.col) for u in param.uses]
        # a shared parameter: one value and one state at all its uses
        assert len({float(engine.params[i]) for i in flat}) == 1, name
        for kind in ("v", "m", "s"):
            if kind in engine.state:
                assert len({float(engine.state[kind][i]) for i in flat}) == 1, (kind, name)
        if param.frozen:
            assert values[f"final.{name}"] == param.value
            for step in range(1, problem.steps + 1):
                prefix = "" if step == 1 else f"step{step}."
                assert all(values[f"{prefix}{kind}.{name}"] == 0.0 for kind in kinds)
                assert values[f"{prefix}new.{name}"] == param.value


@given(problem_documents(training=True))
def test_recorder_keeps_exactly_the_matching_keys_with_optimizers_and_batches(
        document: dict[str, Any]) -> None:
    problem = parse_problem(dump(document))
    try:
        full = solve(problem).values
    except Exception as error:
        assume(False)
        raise AssertionError from error
    for pattern in ("v.*", "m.*", "step2.*", "*@2", "final.*", "mhat.*", "new.*"):
        subset = solve(problem, [pattern]).values
        assert subset == {k: v for k, v in full.items() if fnmatch.fnmatchcase(k, pattern)}


# ------------------------------------------------------ the optimizers' rules


@pytest.mark.parametrize("settings", [
    "optimizer: sgd",
    "optimizer: {name: momentum, beta: 0.9}",
    "optimizer: {name: adam, beta1: 0.9, beta2: 0.999, epsilon: 1e-8}",
    "optimizer: {name: adam, beta1: 0.8, beta2: 0.99, epsilon: 1e-3}\nweight_decay: 0.1",
    "optimizer: {name: momentum, beta: 0.5}\nweight_decay: 0.05\nbatch_size: 2",
    "optimizer: sgd\nweight_decay: 0.2\nbatch_size: 3\nreduction: mean",
])
def test_engine_matches_an_independent_trainer(settings: str) -> None:
    problem = training_problem(f"{settings}\nepochs: 4\n")
    values = solve(problem).values
    trace = train(problem)
    assert problem.steps == 4 * problem.batches_per_epoch
    for step in range(1, problem.steps + 1):
        assert_step_matches(problem, values, trace, step, rel=1e-12)
    assert values["final.loss"] == pytest.approx(trace.final_loss, rel=1e-12)


def assert_step_matches(problem: Problem, values: dict[str, float], trace: Any, step: int,
                        rel: float) -> None:
    """The batch loss, the new parameters and the optimizer state of ``step``."""
    prefix = "" if step == 1 else f"step{step}."
    assert values[f"{prefix}loss"] == pytest.approx(trace.losses[step - 1], rel=rel)
    for name, param in problem.parameters.items():
        use = param.uses[0]
        source = (trace.biases[step - 1][use.layer] if use.is_bias
                  else trace.weights[step - 1][use.layer])
        assert source is not None
        where = (use.row,) if use.is_bias else (use.row, use.col)
        assert values[f"{prefix}new.{name}"] == pytest.approx(
            float(source[where]), rel=rel, abs=1e-15), (step, name)
        for kind in problem.optimizer.kinds:
            if kind in ("mhat", "shat"):
                continue
            state = trace.state[step - 1][kind][use.layer][1 if use.is_bias else 0]
            assert values[f"{prefix}{kind}.{name}"] == pytest.approx(
                float(state[where]), rel=rel, abs=1e-15), (step, kind, name)


def test_momentum_first_step_is_a_gradient_step_and_then_accumulates() -> None:
    problem = training_problem("optimizer: {name: momentum, beta: 0.9}\nsteps: 2\n")
    v = solve(problem).values
    assert v["v.w1"] == pytest.approx(-0.3 * v["grad.w1"])
    assert v["new.w1"] == pytest.approx(0.5 + v["v.w1"])
    assert v["step2.v.w1"] == pytest.approx(0.9 * v["v.w1"] - 0.3 * v["step2.grad.w1"])
    assert v["step2.new.w1"] == pytest.approx(v["new.w1"] + v["step2.v.w1"])


def test_adam_first_step_moves_each_parameter_by_about_the_learning_rate() -> None:
    problem = training_problem("optimizer: adam\nsteps: 1\n")
    v = solve(problem).values
    for name in problem.parameters:
        g = v[f"grad.{name}"]
        assert v[f"mhat.{name}"] == pytest.approx(g)  # m̂₁ = g
        assert v[f"shat.{name}"] == pytest.approx(g * g)  # ŝ₁ = g²
        moved = v[f"new.{name}"] - v[name]  # η·g/(|g| + ε): about η against g's sign
        assert moved == pytest.approx(-0.3 * g / (abs(g) + 1e-8), rel=1e-9)
        assert abs(moved) == pytest.approx(0.3, rel=1e-4)


def test_weight_decay_reaches_weights_not_biases_and_not_the_gradient() -> None:
    plain = solve(training_problem("steps: 1\n")).values
    decayed = solve(training_problem("steps: 1\nweight_decay: 0.5\n")).values
    assert decayed["grad.w1"] == plain["grad.w1"]  # grad is the loss's alone
    assert decayed["new.w1"] == pytest.approx(plain["new.w1"] - 0.3 * 0.5 * 0.5)
    assert decayed["new.b1"] == plain["new.b1"]


def test_updater_does_not_allocate_per_step_state() -> None:
    """The optimizer state lives in the same arrays from step to step."""
    engine = Engine(training_problem("optimizer: adam\nsteps: 3\n"))
    arrays = {kind: id(array) for kind, array in engine.state.items()}
    engine.run(Recorder(["final.loss"]))
    assert {kind: id(array) for kind, array in engine.state.items()} == arrays
    assert engine._updater is not None and engine._updater.t == 3


# --------------------------------------------------------- batches and epochs


def test_batches_run_in_file_order_and_keys_name_the_sample() -> None:
    problem = training_problem("batch_size: 2\nepochs: 2\n")
    assert problem.batches_per_epoch == 3 and problem.steps == 6
    assert [list(problem.batch(s)) for s in range(1, 7)] == [
        [0, 1], [2, 3], [4], [0, 1], [2, 3], [4]]
    values = solve(problem).values
    assert "step2.z.h1@3" in values and "step2.z.h1@1" not in values
    assert "step3.loss@5" in values and "step3.loss@4" not in values
    assert all(f"final.a.o@{k}" in values for k in range(1, 6))
    assert parse_key("step2.grad.w1@4", problem) is not None
    assert parse_key("step2.grad.w1@1", problem) is None
    assert parse_key("z.h1@3", problem) is None  # step 1 holds samples 1 and 2
    assert parse_key("input.x1@5", problem) is not None  # data keys: every sample
    # a batch of one: its loss is that sample's, its gradient that sample's
    assert values["step3.loss"] == values["step3.loss@5"]
    assert values["step3.grad.w1"] == values["step3.grad.w1@5"]
    # the mean over the batch: step 2 is the mean of samples 3 and 4
    assert values["step2.loss"] == pytest.approx(
        (values["step2.loss@3"] + values["step2.loss@4"]) / 2)


def test_full_batch_is_the_default_and_epochs_are_then_steps() -> None:
    problem = training_problem("epochs: 3\n")
    assert problem.batch_size is None and problem.steps == 3
    same = training_problem("batch_size: 5\nepochs: 3\n")
    assert solve(problem).values == solve(same).values


def test_steps_override_wins_over_epochs() -> None:
    problem = parse_problem(BASE + "batch_size: 2\nepochs: 10\n", steps=4)
    assert problem.steps == 4


# ------------------------------------------------------------ loader errors


@pytest.mark.parametrize("extra,message", [
    ("optimizer: adma\n", "unknown optimizer 'adma' (did you mean 'adam'?)"),
    ("optimizer: nesterov\n", "(did you mean 'momentum'?)"),
    ("optimizer: {name: momentum, beta1: 0.9}\n",
     "unknown key 'beta1' in optimizer momentum (did you mean 'beta'?)"),
    ("optimizer: {name: adam, beta: 0.9}\n", "unknown key 'beta' in optimizer adam"),
    ("optimizer: {beta: 0.9}\n", "missing required key 'name' in optimizer"),
    ("optimizer: {name: momentum, beta: 1.0}\n", "optimizer beta must be below 1"),
    ("optimizer: {name: adam, epsilon: 0}\n", "optimizer epsilon must be greater than 0"),
    ("weight_decay: -0.1\n", "weight_decay must not be negative"),
    ("batch_size: 6\n", "batch_size is 6 but there are only 5 samples"),
    ("batch_size: 0\n", "batch_size must be at least 1"),
    ("epochs: 2\nsteps: 3\n", "give either 'steps' or 'epochs', not both"),
    ("round: 13\n", "round (decimals) must be at most 12"),
    ("round: 2.5\n", "round (decimals) must be a whole number"),
    ("optimiser: adam\n", "unknown key 'optimiser' in the problem (did you mean 'optimizer'?)"),
])
def test_training_keys_are_validated(extra: str, message: str) -> None:
    with pytest.raises(ProblemError) as caught:
        parse_problem(BASE + extra, "p.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("p.yaml:")
    assert caught.value.mark is not None


def test_optimizer_words_are_names_too() -> None:
    """Issue 16: a unit v, a parameter m (keys a.v, m, m.m): only 'loss' is refused."""
    text = BASE.replace("units: [h1, h2]", "units: [v, h2]").replace("[w5, w6]", "[m, w6]")
    problem = parse_problem(text)
    assert "v" in problem.unit_set and "m" in problem.parameters
    with pytest.raises(ProblemError, match="'loss' would have the loss's key"):
        parse_problem(BASE.replace("[w5, w6]", "[loss, w6]"))


def test_weight_decay_refuses_a_parameter_that_is_a_weight_and_a_bias() -> None:
    text = BASE.replace("bias_names: [b3]", "bias_names: [w1]")
    text = text.replace("bias: 0.05", "bias: 0.5")  # w1 starts at 0.5 too
    assert parse_problem(text).parameters["w1"].uses[-1].is_bias
    with pytest.raises(ProblemError, match="'w1' is both"):
        parse_problem(text + "weight_decay: 0.1\n")


def test_optimizer_values_have_keys_only_where_they_exist() -> None:
    momentum = training_problem("optimizer: {name: momentum}\nsteps: 2\n")
    assert parse_key("v.w1", momentum) is not None
    assert parse_key("step2.v.b3", momentum) is not None
    assert parse_key("step3.v.w1", momentum) is None  # no third update
    assert parse_key("final.v.w1", momentum) is None
    assert parse_key("v.w1@1", momentum) is None
    assert parse_key("m.w1", momentum) is None
    adam = training_problem("optimizer: adam\n")
    assert all(parse_key(f"{kind}.w1", adam) is not None
               for kind in ("m", "s", "mhat", "shat"))
    assert parse_key("v.w1", adam) is None
    assert parse_key("v.w1", training_problem("")) is None
    assert Optimizer("adam").kinds == ("m", "s", "mhat", "shat")


def test_expected_values_of_optimizer_keys_are_checked() -> None:
    from backprop_cli.checking.checker import check_values

    problem = training_problem("optimizer: {name: momentum, beta: 0.9}\nsteps: 2\n")
    values = solve(problem).values
    text = BASE + ("optimizer: {name: momentum, beta: 0.9}\nsteps: 2\nexpected:\n"
                   f"  v.w5: {values['v.w5']:.6f}\n"
                   f"  step2.v.w5: {values['step2.v.w5'] + 0.01:.6f}\n")
    results = {r.key: r for r in check_values(parse_problem(text), values)}
    assert results["v.w5"].verdict == "correct"
    assert results["step2.v.w5"].verdict == "wrong"
    assert results["step2.v.w5"].formula is not None


# ------------------------------------------------------------- problem files


@pytest.mark.parametrize("name", ["010_xor_csv_momentum", "011_product_npy_adam",
                                  "012_three_classes_init"])
def test_problem_files_match_the_independent_trainer(name: str) -> None:
    problem = load_problem(PROBLEMS / f"{name}.yaml")
    values = solve(problem).values
    trace = train(problem)
    assert values["final.loss"] == pytest.approx(trace.final_loss, rel=1e-9)
    for step in (1, 2, 3, problem.steps):
        assert_step_matches(problem, values, trace, step, rel=1e-9)


def test_xor_is_learnt() -> None:
    values = solve(load_problem(PROBLEMS / "010_xor_csv_momentum.yaml")).values
    outputs = [values[f"final.a.y@{k}"] for k in range(1, 5)]
    assert [round(a) for a in outputs] == [0, 1, 1, 0]


@pytest.mark.parametrize("name,patterns,expected_keys", [
    ("010_xor_csv_momentum", ["v.*", "step2.v.w1", "step2.loss@3"],
     {"v.w1", "v.b3", "step2.v.w1", "step2.loss@3"}),
    ("011_product_npy_adam", ["mhat.b_y", "shat.b_y", "step200.m.*"],
     {"mhat.b_y", "shat.b_y", "step200.m.w_h1_x1", "step200.m.b_y"}),
])
def test_json_output_has_the_optimizer_keys(name: str, patterns: list[str],
                                            expected_keys: set[str]) -> None:
    import json

    from click.testing import CliRunner

    from backprop_cli.cli import cli

    args = ["solve", str(PROBLEMS / f"{name}.yaml"), "--format", "json"]
    for pattern in patterns:
        args += ["--keys", pattern]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "NaN" not in result.output and "Infinity" not in result.output
    values = json.loads(result.output)["values"]
    assert expected_keys <= set(values)
    assert all(isinstance(v, float) and math.isfinite(v) for v in values.values())
    assert list(values) == sorted(values, key=list(all_keys(load_problem(
        PROBLEMS / f"{name}.yaml"))).index)  # in computation order
