"""The engine's fast path gives the same numbers, bit for bit, as the recorded one.

The engine writes the common activations and losses into preallocated buffers
(engine._sigmoid_into and friends) and skips work nobody reads when a run
records nothing per step. Neither may change a single bit of any value.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backprop_cli.engine import passes as engine
from backprop_cli.engine import solve
from backprop_cli.engine.passes import Engine, Recorder
from backprop_cli.errors import NumericError
from backprop_cli.files.loader import parse_problem
from backprop_cli.model.activations import make_activation
from backprop_cli.model.losses import make_loss
from tests.netgen import dump, problem_documents

EXTREMES = np.array([0.0, -0.0, 1e-300, -1e-300, 5e-324, 1.0, -1.0, 20.0, -20.0, 36.9, -36.9,
                     709.0, -709.0, 745.0, -745.0, 1e308, -1e308, np.inf, -np.inf])


def arrays() -> st.SearchStrategy[np.ndarray]:
    values = st.floats(allow_nan=False, allow_infinity=True, width=64)
    return st.lists(values, min_size=1, max_size=12).map(lambda v: np.array(v).reshape(1, -1))


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal bits, NaN included (and -0.0 is not 0.0)."""
    return a.shape == b.shape and bool(np.all(a.view(np.uint64) == b.view(np.uint64)))


@given(arrays())
def test_sigmoid_kernel_equals_the_activation(z: np.ndarray) -> None:
    sigmoid = make_activation("sigmoid")
    for values in (z, EXTREMES.reshape(1, -1), np.linspace(-50, 50, 1001).reshape(7, 143)):
        out, tmp = np.empty_like(values), np.empty_like(values)
        a = sigmoid.forward(values)
        assert same(engine._sigmoid_into(values, out, tmp), a)
        assert same(engine._sigmoid_derivative_into(a, np.empty_like(a)),
                    sigmoid.derivative(values, a))


@given(arrays())
def test_tanh_derivative_kernel_equals_the_activation(z: np.ndarray) -> None:
    tanh = make_activation("tanh")
    a = tanh.forward(z)
    assert same(np.tanh(z, out=np.empty_like(z)), a)
    assert same(engine._tanh_derivative_into(a, np.empty_like(a)), tanh.derivative(z, a))


@given(st.integers(1, 5), st.integers(1, 4), st.data())
def test_half_squared_error_kernel_equals_the_loss(n: int, width: int,
                                                   data: st.DataObject) -> None:
    values = st.floats(-1e6, 1e6, allow_nan=False)
    a = np.array(data.draw(st.lists(values, min_size=n * width, max_size=n * width)))
    y = np.array(data.draw(st.lists(values, min_size=n * width, max_size=n * width)))
    a, y = a.reshape(n, width), y.reshape(n, width)
    expected = make_loss("half_squared_error").per_sample(a, a, y, "identity")
    got = engine._half_squared_error_into(a, y, np.empty(n), np.empty_like(a))
    assert same(got, expected)


@given(problem_documents(), st.integers(0, 4))
def test_recording_nothing_changes_nothing(document: dict, steps: int) -> None:
    """final.* alone (no per-step recording) equals final.* of a full recording."""
    document["steps"] = steps
    problem = parse_problem(dump(document))
    full = solve(problem)
    lean = Engine(problem).run(Recorder(["final.*"]))
    assert lean.values == {k: v for k, v in full.values.items() if k.startswith("final.")}
    assert np.array_equal(lean.losses, full.losses, equal_nan=True)


@given(problem_documents())
def test_forward_returns_fresh_buffers(document: dict) -> None:
    """Engine.forward() without a pass gives arrays no later pass overwrites."""
    problem = parse_problem(dump(document))
    eng = Engine(problem)
    first = eng.forward()
    kept = [a.copy() for a in first.a]
    eng.forward()
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(first.a, kept, strict=True))


def test_later_steps_are_skipped_only_when_no_pattern_can_match() -> None:
    assert not Recorder(["final.loss"]).may_want_later_steps()
    assert not Recorder(["grad.*", "loss"]).may_want_later_steps()
    for patterns in (["*"], ["step3.loss"], ["s*"], ["?tep2.*"], ["[s]tep2.loss"]):
        assert Recorder(patterns).may_want_later_steps(), patterns
    assert Recorder(None).may_want_later_steps()


@pytest.mark.parametrize(("patterns", "prefix", "expected"), [
    (["final.loss"], "final.", False),  # 'loss' is reserved: no parameter has that name
    (["final.w1"], "final.", True),
    (["final.grad.*"], "final.", False),
    (["final.*"], "final.", True),
    (["*"], "step2.", True),
    (["grad.w*"], "grad.", True),
    (["grad.z.*"], "grad.", False),
    (["loss"], "", False),
])
def test_parameter_keys_are_skipped_only_when_no_pattern_can_match(
        patterns: list[str], prefix: str, expected: bool) -> None:
    assert Recorder(patterns).may_match_name(prefix) is expected


@given(problem_documents(training=True), st.integers(0, 3), st.sampled_from([None, 2, 6]))
def test_whole_keys_are_read_directly_with_the_recorded_numbers(
        document: dict, steps: int, decimals: int | None) -> None:
    """A check's whole keys (engine._DirectKeys) equal the same keys of a full recording,
    bit for bit, with any optimizer, batches, shared and frozen parameters, rounding:
    every key of the problem at once, and some keys alone."""
    from backprop_cli.model.keyspace import ordered_keys

    if document.get("epochs") is None:
        document["steps"] = steps
    document["round"] = decimals
    problem = parse_problem(dump(document))
    try:
        full = solve(problem)
    except NumericError:
        return  # an overflow: reported in words, whichever keys were asked for
    keys = list(ordered_keys(problem))
    assert Recorder(keys).exact == keys
    direct = solve(problem, keys)
    assert set(direct.values) == set(full.values)
    for key, value in direct.values.items():
        assert same(np.array(value), np.array(full.values[key])), key
    # alone: a sample of keys, and every gradient of step 1 and final values (what the
    # engine computes for a record only depends on which of these are asked)
    alone_keys = {*keys[:: max(1, len(keys) // 7)],
                  *(k for k in keys if k.startswith(("grad.", "final.dadz.")))}
    for key in sorted(alone_keys):
        alone = solve(problem, [key])
        assert list(alone.values) == [key]
        assert same(np.array(alone.values[key]), np.array(full.values[key])), key
    assert np.array_equal(direct.losses, full.losses, equal_nan=True)


FROZEN_AND_COMBINED = """
network:
  inputs: [x1, x2]
  layers:
    - units: [h1, h2]
      activation: sigmoid
      weights: [[0.1, 0.2], [0.3, 0.1]]
      weight_names: [[w1, w2], [w3, w1]]
      bias: 0.5
      bias_names: b1
    - units: [o]
      activation: sigmoid
      weights: [[0.5, 0.6]]
      bias: [0.1]
      bias_names: [b2]
loss: binary_cross_entropy
learning_rate: 0.5
freeze: [b1, b2, w1]
input: [0.3, 0.9]
target: [1]
"""


@pytest.mark.parametrize("key", ["grad.a.o", "grad.b1", "grad.b2", "grad.w1", "grad.w2",
                                 "final.dadz.h1", "final.loss", "new.w1", "b1"])
def test_keys_that_need_the_full_backward_pass_alone(key: str) -> None:
    """What the backward pass computes only for a record (the output's ∂L/∂a when loss
    and activation combine, frozen biases, a frozen shared weight's sum) and the final
    f'(z), each asked alone: the same number as in a full recording."""
    problem = parse_problem(FROZEN_AND_COMBINED)
    alone = solve(problem, [key]).values
    assert list(alone) == [key]
    assert same(np.array(alone[key]), np.array(solve(problem).values[key]))
