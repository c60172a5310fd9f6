"""Issue 16's network conventions: error terms, changes, input gradients, layouts,
names, the step activation and the perceptron rule, ``loss: none``, epochs' losses,
predictions and accuracy."""

from __future__ import annotations

import copy
import math
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backprop_cli.engine import solve
from backprop_cli.engine.passes import Engine
from backprop_cli.files.loader import parse_problem
from backprop_cli.model.formulas import Formulas
from backprop_cli.model.keyspace import all_keys
from backprop_cli.model.problem import Problem
from tests.netgen import dump, problem_documents

ONE_NEURON: dict[str, Any] = {
    "network": {"inputs": ["x"], "layers": [{"units": ["o"], "weights": [[0.5]],
                                             "bias": [0.1]}]},
    "loss": "half_squared_error", "learning_rate": 0.1, "input": [2.0], "target": [1.0],
}


def load(document: dict[str, Any]) -> Problem:
    return parse_problem(dump(document))


def test_error_change_and_input_gradient_by_hand() -> None:
    """z = 0.5·2 + 0.1 = 1.1, ∂L/∂a = a − y = 0.1 = δ; error = −δ = −0.1;
    ∂L/∂w = δ·x = 0.2, Δw = −η·0.2 = −0.02; ∂L/∂x = w·δ = 0.05."""
    document = copy.deepcopy(ONE_NEURON)
    document["expected"] = {"error.o": -0.1, "change.w_o_x": -0.02, "change.b_o": -0.01,
                            "grad.input.x": 0.05}
    problem = load(document)
    values = solve(problem).values
    assert values["error.o"] == pytest.approx(-0.1)
    assert values["change.w_o_x"] == pytest.approx(-0.02)
    assert values["change.b_o"] == pytest.approx(-0.01)
    assert values["grad.input.x"] == pytest.approx(0.05)
    # only asked for: a file that names none of them gets none of them
    assert not any(key.startswith(("error.", "change.", "grad.input."))
                   for key in solve(load(ONE_NEURON)).values)


def _input_loss(problem: Problem, k: int, j: int, h: float) -> float:
    shifted = copy.deepcopy(problem)
    shifted.inputs[k, j] += h
    engine = Engine(shifted)
    return float(engine.forward().sample_losses[k])


@settings(max_examples=60, deadline=None)
@given(problem_documents(share=False, freeze=False))
def test_input_gradient_against_finite_differences(document: dict[str, Any]) -> None:
    """grad.input.<x>(@k) is ∂L_k/∂x: sample k's own loss, whatever the reduction."""
    document["expected"] = {}
    document["quiz"] = ["grad.input.*"]
    problem = load(document)
    values = solve(problem).values
    for k in range(problem.n_samples):
        suffix = problem.sample_suffix(k)
        for name in problem.input_names:
            z = [values[f"z.{u}{suffix}"] for layer in problem.layers for u in layer.units]
            assume(all(abs(v) > 1e-3 for v in z))  # away from the kinks of ReLU and step
            j = problem.input_names.index(name)
            h = 1e-6
            numeric = (_input_loss(problem, k, j, h) - _input_loss(problem, k, j, -h)) / (2 * h)
            assert values[f"grad.input.{name}{suffix}"] == pytest.approx(
                numeric, rel=1e-4, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(problem_documents(training=True))
def test_convention_keys_follow_their_formulas(document: dict[str, Any]) -> None:
    updates = load(document).steps > 0  # steps: 0 has no change. keys
    document["quiz"] = ["error.*", "grad.input.*", *(["change.*"] if updates else [])]
    problem = load(document)
    values = solve(problem).values
    formulas = Formulas(problem)
    keys = all_keys(problem)
    assert set(keys) == set(values)
    for key in keys:
        if key.split(".")[0].removeprefix("final") not in ("error", "change", "grad"):
            continue
        expr = formulas.for_key(key)
        if expr is None or math.isinf(values[key]):
            continue
        assert expr.evaluate(values) == pytest.approx(values[key], rel=1e-9, abs=1e-12), key


def test_change_and_error_with_rounding_match_their_formulas() -> None:
    document = copy.deepcopy(ONE_NEURON)
    document["round"] = 3
    document["learning_rate"] = 0.35
    document["quiz"] = ["change.*", "error.*"]
    problem = load(document)
    values = solve(problem).values
    assert values["change.w_o_x"] == -0.07  # rounded, not 0.43 − 0.5 in binary
    assert values["error.o"] == -0.1
    assert np.isfinite(values["change.b_o"])


# ------------------------------------------------------------------ layouts


def relaid(document: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """The same network with each layer written in a drawn layout: ``weights_by: input``
    (transposed) and/or ``bias: {in_weights: first|last}`` (the bias inside each row)."""
    document = copy.deepcopy(document)
    for layer in document["network"]["layers"]:
        weights = [list(row) for row in layer["weights"]]
        names = [list(row) for row in layer["weight_names"]]
        bias = layer.get("bias")
        if isinstance(bias, list) and data.draw(st.booleans()):
            at = data.draw(st.sampled_from(["first", "last"]))
            for row, name_row, value, name in zip(weights, names, bias, layer["bias_names"],
                                                  strict=True):
                row.insert(0 if at == "first" else len(row), value)
                name_row.insert(0 if at == "first" else len(name_row), name)
            layer["bias"] = {"in_weights": at}
            del layer["bias_names"]
        if data.draw(st.booleans()):
            weights = [list(col) for col in zip(*weights, strict=True)]
            names = [list(col) for col in zip(*names, strict=True)]
            layer["weights_by"] = "input"
        layer["weights"] = weights
        layer["weight_names"] = names
    return document


@settings(max_examples=80, deadline=None)
@given(problem_documents(training=True), st.data())
def test_every_layout_gives_the_default_layouts_values(document: dict[str, Any],
                                                       data: st.DataObject) -> None:
    default = load(document)
    other = load(relaid(document, data))
    for layer, same in zip(default.layers, other.layers, strict=True):
        assert np.array_equal(layer.weights, same.weights)
        assert layer.weight_names == same.weight_names
        assert layer.bias_names == same.bias_names
    assert solve(other).values == solve(default).values  # bit for bit


def test_a_keras_kernel_with_its_bias_last_row() -> None:
    """X·W with W (2 inputs × 3 units) and the bias as the last row; by hand:
    z_h1 = 0.1·1 + 0.2·2 + 0.01 = 0.51, z_h3 = 0.5 + 1.2 + 0.03 = 1.73."""
    document = {
        "network": {"inputs": ["x1", "x2"], "layers": [{
            "units": ["h1", "h2", "h3"], "weights_by": "input",
            "weights": [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6], [0.01, 0.02, 0.03]],
            "bias": {"in_weights": "last"}}]},
        "loss": "half_squared_error", "learning_rate": 0.1, "steps": 0,
        "input": [1, 2], "target": [0, 0, 0],
    }
    values = solve(load(document)).values
    assert values["z.h1"] == pytest.approx(0.51)
    assert values["z.h3"] == pytest.approx(1.73)
    assert values["b_h2"] == 0.02
    assert values["w_h2_x2"] == 0.4


# -------------------------------------------------------------------- names


def test_numbered_units_and_inputs_have_keys_by_number() -> None:
    document = {
        "network": {"inputs": [1, 2], "layers": [
            {"units": [3, 4], "weights": [[1, 0], [0, 2]]},
            {"units": ["loss"], "weights": [[1, 1]]}]},  # a unit may be named loss
        "loss": "half_squared_error", "learning_rate": 0.1, "steps": 0,
        "input": {1: 1.0, 2: 3.0}, "target": [0.0],
        "expected": {"a.4": 6.0, "z.loss": 7.0, "input.2": 3.0, "w_4_2": 2.0},
    }
    problem = load(document)
    assert problem.input_names == ["1", "2"]
    assert problem.layers[0].units == ["3", "4"]
    values = solve(problem).values
    assert values["a.4"] == 6.0 and values["a.loss"] == 7.0 and values["loss"] == 24.5


@pytest.mark.parametrize("name", ["a", "m", "v", "s", "z", "e", "new", "grad", "final",
                                  "input", "target", "dadz", "change", "error"])
def test_any_name_but_loss_for_a_parameter(name: str) -> None:
    """A parameter, an input or a unit named like a key's kind (issue 16)."""
    as_parameter = copy.deepcopy(ONE_NEURON)
    as_parameter["network"]["layers"][0]["weight_names"] = [[name]]
    as_input = copy.deepcopy(ONE_NEURON)
    as_input["network"]["inputs"] = [name]
    as_unit = copy.deepcopy(ONE_NEURON)
    as_unit["network"]["layers"][0]["units"] = [name]
    for document in (as_parameter, as_input, as_unit):
        values = solve(load(document)).values
        assert values["loss"] == pytest.approx(0.005)  # ½·(1.1 − 1)²
    assert solve(load(as_parameter)).values[f"grad.{name}"] == pytest.approx(0.2)
    assert solve(load(as_unit)).values[f"grad.z.{name}"] == pytest.approx(0.1)


def test_a_parameter_named_loss_is_refused() -> None:
    document = copy.deepcopy(ONE_NEURON)
    document["network"]["layers"][0]["weight_names"] = [["loss"]]
    with pytest.raises(Exception, match="weight name 'loss' would have the loss's key"):
        load(document)


# ------------------------------------------------------ step and the perceptron

AND: dict[str, Any] = {
    "learning_rule": "perceptron",
    "network": {"inputs": ["x1", "x2"], "layers": [
        {"units": ["o"], "activation": "step", "weights": [[0, 0]], "bias": [0]}]},
    "learning_rate": 1, "epochs": 3,
    "samples": [{"input": [0, 0], "target": 0}, {"input": [0, 1], "target": 0},
                {"input": [1, 0], "target": 0}, {"input": [1, 1], "target": 1}],
}

# The AND table worked by hand: (w1, w2, b) after each sample, y = step(z) with step(0) = 1.
# Epoch 1: (0,0) z=0 y=1 wrong → b −1; (0,1) z=−1 ok; (1,0) z=−1 ok; (1,1) z=−1 wrong → +x.
# Epoch 2: (0,0) z=0 wrong; (0,1) z=0 wrong; (1,0) z=−1 ok; (1,1) z=−1 wrong.
# Epoch 3: (0,0) z=−1 ok; (0,1) z=0 wrong; (1,0) z=0 wrong; (1,1) z=−2 wrong.
AND_TABLE = [(0, 0, -1), (0, 0, -1), (0, 0, -1), (1, 1, 0),
             (1, 1, -1), (1, 0, -2), (1, 0, -2), (2, 1, -1),
             (2, 1, -1), (2, 0, -2), (1, 0, -3), (2, 1, -2)]


def test_the_perceptron_rule_against_a_hand_worked_table() -> None:
    problem = load(AND)
    assert problem.steps == 12 and problem.batch_size == 1
    values = solve(problem).values
    for step, (w1, w2, b) in enumerate(AND_TABLE, start=1):
        prefix = "" if step == 1 else f"step{step}."
        assert (values[f"{prefix}new.w_o_x1"], values[f"{prefix}new.w_o_x2"],
                values[f"{prefix}new.b_o"]) == (w1, w2, b), step
    assert [values[f"epoch{k}.errors"] for k in (1, 2, 3)] == [2, 3, 3]
    # ½ per misclassified sample: epoch 1 sums 1.0 over its 4 steps, a mean of 0.25
    assert values["epoch1.loss_sum"] == 1.0 and values["epoch1.loss"] == 0.25
    assert values["epoch2.loss_sum"] == 1.5


def test_step_at_zero_and_a_forward_only_step_network() -> None:
    document = copy.deepcopy(AND)
    del document["learning_rule"]
    document["loss"] = "half_squared_error"
    document["steps"] = 0
    del document["epochs"]
    values = solve(load(document)).values
    assert [values[f"a.o@{k}"] for k in (1, 2, 3, 4)] == [1.0, 1.0, 1.0, 1.0]  # z = 0: 1
    document["network"]["layers"][0]["activation"] = {"name": "step", "at_zero": 0}
    values = solve(load(document)).values
    assert [values[f"a.o@{k}"] for k in (1, 2, 3, 4)] == [0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(("change", "message"), [
    ({"learning_rule": "perceptrn"}, "unknown learning_rule 'perceptrn' (did you mean "
                                     "'perceptron'?)"),
    ({"batch_size": 2}, "online: one sample per update"),
    ({"optimizer": "adam"}, "it takes no optimizer"),
])
def test_the_perceptron_says_what_it_needs(change: dict[str, Any], message: str) -> None:
    document = {**copy.deepcopy(AND), **change}
    with pytest.raises(Exception, match=re.escape(message)):
        load(document)


def test_the_perceptron_needs_one_layer_of_step_units() -> None:
    document = copy.deepcopy(AND)
    document["network"]["layers"][0]["activation"] = "sigmoid"
    with pytest.raises(Exception, match="needs the step activation"):
        load(document)
    document = copy.deepcopy(AND)
    document["network"]["layers"].insert(0, {"units": 2, "activation": "step",
                                             "weights": [[0, 0], [0, 0]]})
    document["network"]["layers"][1]["weights"] = [[0, 0]]
    with pytest.raises(Exception, match="single layer of step units"):
        load(document)


def test_epoch_losses_are_the_mean_and_sum_of_the_step_losses() -> None:
    document = copy.deepcopy(ONE_NEURON)
    del document["input"], document["target"]
    document["samples"] = [{"input": [1.0], "target": 1.0}, {"input": [2.0], "target": 0.0},
                           {"input": [-1.0], "target": 0.5}]
    document["batch_size"] = 2
    document["epochs"] = 2
    problem = load(document)
    solution = solve(problem)
    values = solution.values
    losses = solution.losses.tolist()
    assert values["epoch1.loss"] == pytest.approx((losses[0] + losses[1]) / 2)
    assert values["epoch2.loss_sum"] == pytest.approx(losses[2] + losses[3])
    assert "epoch1.errors" not in values  # only the perceptron counts errors
    checked = copy.deepcopy(document)
    checked["expected"] = {"epoch2.loss": round(values["epoch2.loss"], 6)}
    assert solve(load(checked), ["epoch2.loss"]).values["epoch2.loss"] == values["epoch2.loss"]


# ------------------------------------------------------------------ loss: none


@settings(max_examples=60, deadline=None)
@given(problem_documents(freeze=False), st.data())
def test_upstream_is_the_loss_whose_gradient_it_is(document: dict[str, Any],
                                                   data: st.DataObject) -> None:
    """loss: none with upstream g gives the gradients of half_squared_error with target
    t when g = a − t (its ∂L/∂a), for the same forward pass: one step, every sample."""
    document["loss"] = "half_squared_error"
    document["steps"] = 0
    last = document["network"]["layers"][-1]
    last["activation"] = data.draw(st.sampled_from(["identity", "sigmoid", "tanh", "relu"]))
    problem = load(document)
    values = solve(problem).values
    outputs = problem.output_names
    upstream = [[values[f"a.{o}{problem.sample_suffix(k)}"]
                 - values[f"target.{o}{problem.sample_suffix(k)}"] for o in outputs]
                for k in range(problem.n_samples)]
    given = copy.deepcopy(document)
    given["loss"] = "none"
    if "samples" in given:
        given["upstream"] = upstream
        given["samples"] = [{"input": s["input"]} for s in given["samples"]]
    else:
        given["upstream"] = upstream[0]
        del given["target"]
    other = load(given)
    got = solve(other).values
    for name in problem.parameters:
        assert got[f"grad.{name}"] == pytest.approx(values[f"grad.{name}"], rel=1e-12,
                                                    abs=1e-15), name
    assert not any(key.endswith("loss") or ".loss@" in key or key.startswith("loss")
                   for key in got)


def test_cs231n_sigmoid_neuron_by_hand() -> None:
    """w = (2, −3, −3), x = (−1, −2): z = 1, σ(1) = 0.7311, δ = σ(1)(1 − σ(1)) = 0.1966;
    dw = δ·(x0, x1, 1), dx = δ·(w0, w1); one update with η = 0.1 moves w0 by +0.01966."""
    document = {
        "network": {"inputs": ["x0", "x1"], "layers": [{
            "units": ["f"], "activation": "sigmoid", "weights": [[2, -3]],
            "weight_names": [["w0", "w1"]], "bias": [-3], "bias_names": ["w2"]}]},
        "loss": "none", "upstream": 1, "learning_rate": 0.1, "input": [-1, -2],
        "quiz": ["grad.input.*"],
    }
    values = solve(load(document)).values
    delta = math.exp(-1) / (1 + math.exp(-1)) ** 2
    assert values["grad.w0"] == pytest.approx(-delta)
    assert values["grad.w2"] == pytest.approx(delta)
    assert values["grad.input.x1"] == pytest.approx(-3 * delta)
    assert values["new.w0"] == pytest.approx(2 + 0.1 * delta)
    assert "loss" not in values and "final.loss" not in values


@pytest.mark.parametrize(("change", "message"), [
    ({"target": 1}, "loss: none has no target: give upstream"),
    ({}, "missing required key 'upstream'"),
    ({"upstream": [1, 2]}, "upstream has 2 values but needs 1"),
])
def test_loss_none_says_what_it_needs(change: dict[str, Any], message: str) -> None:
    document = copy.deepcopy(ONE_NEURON)
    del document["target"]
    document["loss"] = "none"
    document.update(change)
    with pytest.raises(Exception, match=re.escape(message)):
        load(document)


# ---------------------------------------------------- predictions and accuracy

PREDICT: dict[str, Any] = {
    "network": {"inputs": ["x1", "x2"], "layers": [
        {"units": ["o"], "activation": "sigmoid", "weights": [[1, -1]], "bias": [0]}]},
    "loss": "binary_cross_entropy", "learning_rate": 0.1, "steps": 0,
    "samples": [{"input": [1, 0], "target": 1}, {"input": [0, 1], "target": 1},
                {"input": [2, 1], "target": 1}],
    "predict": [{"input": [3, 1], "target": 1}, {"input": [0, 2], "target": 0},
                {"input": [1, 1], "target": 1}],
}


def test_predictions_and_accuracy_by_hand() -> None:
    """z = x1 − x2. Samples: z = 1, −1, 1: classes 1, 0, 1 against 1, 1, 1: 2/3.
    Rows: z = 2, −2, 0: σ = 0.8808, 0.1192, 0.5 (≥ 0.5: class 1): all right."""
    values = solve(load(PREDICT)).values
    assert values["final.accuracy"] == pytest.approx(2 / 3)
    assert values["predict.z.o@1"] == 2.0
    assert values["predict.a.o@2"] == pytest.approx(1 / (1 + math.exp(2)))
    assert values["predict.accuracy"] == 1.0
    document = copy.deepcopy(PREDICT)
    document["threshold"] = 0.6  # row 3 (a = 0.5) becomes class 0
    assert solve(load(document)).values["predict.accuracy"] == pytest.approx(2 / 3)


def test_predictions_use_the_final_parameters() -> None:
    document = copy.deepcopy(PREDICT)
    document["steps"] = 3
    document["predict"] = [[3, 1], {"x1": 0, "x2": 2}]  # rows without targets
    problem = load(document)
    values = solve(problem).values
    w1, w2, b = values["final.w_o_x1"], values["final.w_o_x2"], values["final.b_o"]
    assert values["predict.z.o@1"] == pytest.approx(3 * w1 + w2 + b)
    assert values["predict.z.o@2"] == pytest.approx(2 * w2 + b)
    assert "predict.accuracy" not in values


def test_argmax_accuracy_over_several_outputs() -> None:
    document = {
        "network": {"inputs": ["x"], "layers": [
            {"units": ["a", "b", "c"], "activation": "softmax", "weights": [[1], [0], [-1]]}]},
        "loss": "cross_entropy", "learning_rate": 0.1, "steps": 0,
        "samples": [{"input": [1], "target": "a"}, {"input": [-1], "target": "c"},
                    {"input": [1], "target": "b"}, {"input": [-2], "target": "a"}],
        "expected": {"final.accuracy": 0.5},
    }
    assert solve(load(document)).values["final.accuracy"] == 0.5


def test_a_quoted_number_names_a_numbered_output_unit() -> None:
    """With units 1 and 2, target "2" (quoted) is unit 2 for cross_entropy; a bare
    number is a value (one number for two outputs: refused)."""
    document: dict[str, Any] = {
        "network": {"inputs": ["x"], "layers": [
            {"units": [1, 2], "activation": "softmax", "weights": [[1], [-1]]}]},
        "loss": "cross_entropy", "learning_rate": 0.1, "input": [1], "target": "2",
    }
    problem = load(document)
    assert problem.targets.tolist() == [[0.0, 1.0]]
    assert problem.target_labels == ["2"]
    document["target"] = 2
    with pytest.raises(Exception, match="target is one number but the network has 2 outputs"):
        load(document)


def test_predict_rows_from_a_csv_file(tmp_path: Any) -> None:
    (tmp_path / "rows.csv").write_text("x1,x2,o\n3,1,1\n0,2,1\n", encoding="utf-8")
    document = copy.deepcopy(PREDICT)
    document["predict"] = {"file": "rows.csv"}
    path = tmp_path / "p.yaml"
    path.write_text(dump(document), encoding="utf-8")
    problem = parse_problem(path.read_text(encoding="utf-8"), str(path))
    values = solve(problem).values
    assert values["predict.z.o@2"] == -2.0
    assert values["predict.accuracy"] == 0.5  # row 2: a = 0.12, class 0, target 1


def test_the_perceptron_rule_does_not_depend_on_the_loss() -> None:
    document = copy.deepcopy(AND)
    document["loss"] = "squared_error"  # ∂L/∂a = 2(y − t): the rule still steps by y − t
    values = solve(load(document)).values
    assert (values["final.w_o_x1"], values["final.w_o_x2"], values["final.b_o"]) == (2, 1, -2)
    assert values["epoch1.loss_sum"] == 2.0  # (t − y)² summed: the misclassified samples
