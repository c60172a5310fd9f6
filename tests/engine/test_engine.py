"""The engine against central finite differences, the formulas, and the seed numbers."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from backprop_cli.engine import solve
from backprop_cli.engine.passes import Engine, Recorder
from backprop_cli.files.loader import parse_problem
from backprop_cli.model.formulas import Formulas
from backprop_cli.model.keyspace import all_keys, parse_key
from backprop_cli.model.problem import Problem
from tests.conftest import seed_files
from tests.netgen import dump, problem_documents

KINKED = {"relu", "leaky_relu", "elu"}


def loss_at(problem: Problem, name: str, delta: float) -> float:
    """The batch loss with parameter ``name`` moved by ``delta`` at every use."""
    shifted = copy.deepcopy(problem)
    for use in shifted.parameters[name].uses:
        layer = shifted.layers[use.layer]
        if use.is_bias:
            assert layer.bias is not None
            layer.bias[use.row] += delta
        else:
            layer.weights[use.row, use.col] += delta
    return Engine(shifted).forward().loss


def near_kink(problem: Problem, values: dict[str, float]) -> bool:
    for layer in problem.layers:
        if layer.activation.name in KINKED:
            for unit in layer.units:
                for k in range(problem.n_samples):
                    if abs(values[f"z.{unit}{problem.sample_suffix(k)}"]) < 1e-3:
                        return True
    return False


def tie_two_weights(document: dict, data: st.DataObject) -> None:
    """Give two weights of one layer the same name and value: one shared parameter."""
    layer = data.draw(st.sampled_from(document["network"]["layers"]))
    cells = [(r, c) for r, row in enumerate(layer["weights"]) for c in range(len(row))]
    if len(cells) < 2:
        return
    (r1, c1), (r2, c2) = data.draw(st.lists(st.sampled_from(cells), min_size=2, max_size=2,
                                            unique=True))
    layer["weights"][r2][c2] = layer["weights"][r1][c1]
    dropped = layer["weight_names"][r2][c2]
    layer["weight_names"][r2][c2] = layer["weight_names"][r1][c1]
    if document.get("freeze") == [dropped]:
        document["freeze"] = [layer["weight_names"][r1][c1]]


@given(st.data())
def test_gradients_match_central_finite_differences(data: st.DataObject) -> None:
    document = data.draw(problem_documents())
    if data.draw(st.booleans()):
        tie_two_weights(document, data)
    problem = parse_problem(dump(document))
    solution = solve(problem)
    assume(not near_kink(problem, solution.values))
    h = 1e-6
    for name in problem.parameters:
        analytic = solution.values[f"grad.{name}"]
        numeric = (loss_at(problem, name, h) - loss_at(problem, name, -h)) / (2 * h)
        assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-6), name


@given(st.data())
def test_every_value_follows_from_its_formula(data: st.DataObject) -> None:
    """The one description of each step reproduces the engine's numbers, all steps."""
    document = data.draw(problem_documents())
    if data.draw(st.booleans()):
        tie_two_weights(document, data)
    problem = parse_problem(dump(document))
    solution = solve(problem)
    formulas = Formulas(problem)
    keys = all_keys(problem)
    assert set(keys) == set(solution.values)
    slack = saturation_slack(problem, solution.values)
    for key in keys:
        expr = formulas.for_key(key)
        if expr is None:
            continue
        expected = solution.values[key]
        got = expr.evaluate(solution.values)
        if math.isinf(expected):
            continue
        parts = parse_key(key, problem)
        allowance = slack if parts is not None and parts.kind == "loss" else 0.0
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12 + allowance), key


def saturation_slack(problem: Problem, values: dict[str, float]) -> float:
    """What a loss written from the outputs a (log a, log(1 − a)) may lose to rounding when
    an output saturates: 1 − a keeps only the digits a leaves, so log(1 − a) is off by up to
    eps/(1 − a) per term. The engine computes the loss from z, without that cancellation;
    its formula, evaluated on the rounded a, cannot."""
    outputs = problem.output_set
    worst = 0.0
    for key, value in values.items():
        parts = parse_key(key, problem)
        if parts is None or parts.kind != "a" or parts.name not in outputs:
            continue
        if 0.0 < value < 1.0:
            worst = max(worst, 1.0 / min(value, 1.0 - value))
    return 4 * 2.0**-52 * worst * len(outputs) * max(problem.n_samples, 1)


@given(problem_documents())
def test_frozen_parameters_do_not_move_and_shared_stay_equal(document: dict) -> None:
    problem = parse_problem(dump(document))
    solution = solve(problem)
    for name, param in problem.parameters.items():
        if param.frozen:
            assert solution.values[f"final.{name}"] == param.value
        else:
            moved = param.value - problem.learning_rate * solution.values[f"grad.{name}"]
            if problem.steps >= 1:
                assert solution.values[f"new.{name}"] == pytest.approx(moved, abs=1e-15)


@given(problem_documents())
def test_recorder_patterns_keep_exactly_the_matching_keys(document: dict) -> None:
    problem = parse_problem(dump(document))
    full = solve(problem).values
    for pattern in ("final.loss", "grad.*", "step2.*", "new.*", "*@1", "loss"):
        subset = solve(problem, [pattern]).values
        import fnmatch

        assert subset == {k: v for k, v in full.items() if fnmatch.fnmatchcase(k, pattern)}


@given(problem_documents())
def test_every_recorded_key_parses(document: dict) -> None:
    problem = parse_problem(dump(document))
    for key in solve(problem).values:
        assert parse_key(key, problem) is not None, key


def test_loss_history_has_one_entry_per_step_plus_final() -> None:
    problem = parse_problem(dump({
        "network": {"inputs": 1, "layers": [{"units": 1, "weights": [[0.5]]}]},
        "loss": "half_squared_error", "learning_rate": 0.1, "steps": 5,
        "input": [1.0], "target": [2.0],
    }))
    solution = Engine(problem).run(Recorder(["final.loss"]))
    assert solution.losses.shape == (6,)
    assert solution.losses[-1] == solution.values["final.loss"]
    assert np.all(np.diff(solution.losses) < 0)


def test_softmax_cross_entropy_saturated_stays_finite() -> None:
    problem = parse_problem(dump({
        "network": {"inputs": 1, "layers": [
            {"units": 3, "activation": "softmax", "weights": [[1000.0], [-1000.0], [0.0]]}]},
        "loss": "cross_entropy", "learning_rate": 0.1,
        "input": [1.0], "target": "o2",
    }))
    values = solve(problem).values
    assert values["loss"] == pytest.approx(2000.0)
    assert all(math.isfinite(values[f"grad.w_o{i}_x1"]) for i in (1, 2, 3))


def test_sigmoid_binary_cross_entropy_saturated_stays_finite() -> None:
    problem = parse_problem(dump({
        "network": {"inputs": 1, "layers": [
            {"units": 1, "activation": "sigmoid", "weights": [[800.0]]}]},
        "loss": "binary_cross_entropy", "learning_rate": 0.1,
        "input": [1.0], "target": 0.0,
    }))
    values = solve(problem).values
    assert values["loss"] == pytest.approx(800.0)
    assert values["grad.w_o_x1"] == pytest.approx(1.0)


@pytest.mark.parametrize("path", seed_files(), ids=lambda p: p.stem)
def test_seed_answers(path) -> None:  # type: ignore[no-untyped-def]
    """Each published right value, and each erratum's correction, to the digits written."""
    from backprop_cli.kinds.exercise import load_problem

    problem = load_problem(path)
    values = solve(problem).values
    assert problem.expected
    for key, entry in problem.expected.items():
        value, text = (entry.erratum, entry.erratum_text) if entry.erratum is not None else (
            entry.value, entry.text)
        assert value is not None and text is not None
        assert "e" not in text.lower()  # the seeds write plain decimals
        decimals = len(text.split(".", 1)[1]) if "." in text else 0
        # the precision written, with rounding carried from earlier steps (3 units)
        assert abs(values[key] - value) <= 3 * 10.0 ** -decimals + 1e-12, key
        if entry.erratum is not None:  # a published value that is not right to its digits
            assert abs(values[key] - entry.value) > 10.0 ** -decimals, key


@given(problem_documents(training=True), st.integers(0, 3))
def test_key_rank_sorts_keys_as_they_are_listed(document: dict, steps: int) -> None:
    """keys.key_rank (how the checker orders a file's answers) follows ordered_keys, with
    samples, mini-batches, optimizers and shared parameters."""
    from backprop_cli.model.keyspace import key_rank, ordered_keys

    if document.get("epochs") is None:
        document["steps"] = steps
    problem = parse_problem(dump(document))
    listed = list(ordered_keys(problem))
    ranks = []
    for key in listed:
        parts = parse_key(key, problem)
        assert parts is not None, key
        ranks.append(key_rank(parts, problem))
    assert all(a < b for a, b in itertools.pairwise(ranks)), "ranks out of order"


@given(problem_documents())
def test_the_key_index_and_the_key_grammar_agree(document: dict) -> None:
    """The listed keys are exactly the keys parse_key accepts (near misses included)."""
    from backprop_cli.model.keyspace import key_index, ordered_keys

    problem = parse_problem(dump(document))
    listed = list(ordered_keys(problem))
    assert len(listed) == len(set(listed))
    index = key_index(problem)
    assert index is not None and list(index) == listed
    near = {f"{prefix}{key}" for key in listed[:40] for prefix in ("step2.", "step9.", "final.")}
    near |= {key + "@1" for key in listed[:40]} | {key.replace("@1", "@9") for key in listed}
    for key in near | set(listed):
        assert (parse_key(key, problem) is not None) == (key in index), key
