"""Numeric extremes: saturated units, log(0), overflow in exp, divergence.

Where the mathematics is finite the loss and every gradient are finite (stable
sigmoid, log-sum-exp, softplus, output deltas in closed form); where a value truly
overflows, the run stops with a :class:`NumericError` that says what overflowed at
which step, and JSON never holds NaN or Infinity.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_cli.cli import cli
from backprop_cli.engine import solve
from backprop_cli.errors import NumericError
from backprop_cli.files.loader import parse_problem
from backprop_cli.model.activations import ACTIVATIONS, make_activation
from backprop_cli.model.losses import make_loss
from backprop_cli.render.jsonout import dumps
from tests.netgen import dump

HUGE = [100.0, 500.0, 1000.0, 1e4, 1e300]
# every registered activation with a per-unit derivative (each needs its reference below)
PER_UNIT = [name for name, spec in ACTIVATIONS.items() if not spec.per_layer]


def exact(name: str, z: float) -> tuple[float, float]:
    """f(z) and f'(z), written from their definitions with math's own functions."""
    e = math.exp(-abs(z)) if abs(z) < 745 else 0.0  # e^−|z|, 0 once it underflows
    sigma = 1 / (1 + e) if z >= 0 else e / (1 + e)
    return {
        "identity": (z, 1.0),
        "relu": (max(z, 0.0), 1.0 if z > 0 else 0.0),
        "leaky_relu": (z if z > 0 else 0.01 * z, 1.0 if z > 0 else 0.01),
        "sigmoid": (sigma, sigma * (1 - sigma)),
        "tanh": (math.copysign(1 - 2 * e * e / (1 + e * e), z), 4 * e * e / (1 + e * e) ** 2),
        "softplus": (max(z, 0.0) + math.log1p(e), sigma),
        "elu": (z if z > 0 else math.expm1(z), 1.0 if z > 0 else math.exp(z)),
        "silu": (z * sigma, sigma * (1 + z * (1 - sigma))),
        "step": (1.0 if z >= 0 else 0.0, 0.0),
    }[name]


def no_float_trouble() -> Any:
    """Overflow, 0/0 and division by zero raise inside (underflow to 0 is fine)."""
    return np.errstate(over="raise", invalid="raise", divide="raise")


@pytest.mark.parametrize("name", PER_UNIT)
@pytest.mark.parametrize("size", HUGE)
def test_saturated_activations_are_finite_and_exact(name: str, size: float) -> None:
    act = make_activation(name)
    z = np.array([[-size, size]])
    with no_float_trouble():
        a = act.forward(z)
        d = act.derivative(z, a)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(d))
    for column in (0, 1):
        value, slope = exact(name, float(z[0, column]))
        assert a[0, column] == pytest.approx(value, rel=1e-12, abs=1e-300)
        # f' from a (a(1 − a), 1 − a²) keeps absolute, not relative, precision
        assert d[0, column] == pytest.approx(slope, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("size", HUGE)
def test_saturated_softmax_is_one_hot_and_finite(size: float) -> None:
    z = np.array([[size, -size, 0.0], [size, size, -size]])
    with no_float_trouble():
        a = make_activation("softmax").forward(z)
    tiny = math.exp(-size) if size < 745 else 0.0
    assert a == pytest.approx(np.array([[1.0, tiny * tiny, tiny], [0.5, 0.5, tiny * tiny / 2]]),
                              rel=1e-12, abs=1e-300)
    assert np.all(a.sum(axis=1) == 1.0)


def one_unit(activation: str, loss: str, weight: float, target: Any, *, x: float = 1.0,
             learning_rate: float = 0.1, steps: int = 1, units: int = 1) -> str:
    weights = [[weight]] if units == 1 else [[weight], [-weight]] + [[0.0]] * (units - 2)
    return dump({
        "network": {"inputs": ["x"], "layers": [
            {"units": units, "activation": activation, "weights": weights}]},
        "loss": loss, "learning_rate": learning_rate, "steps": steps,
        "input": [x], "target": target,
    })


def values_of(text: str) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning may escape the engine
        return solve(parse_problem(text)).values


@pytest.mark.parametrize("z", [100.0, 800.0, 1000.0, 1e4])
@pytest.mark.parametrize("y", [0.0, 1.0])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_sigmoid_binary_cross_entropy_saturated(z: float, y: float, sign: float) -> None:
    z *= sign
    values = values_of(one_unit("sigmoid", "binary_cross_entropy", z, [y]))
    a = 1.0 if z > 0 else 0.0 if z < -745 else math.exp(z)
    # L = softplus(z) − y·z: log(0) would make it infinite, the exact value is not
    assert values["loss"] == pytest.approx(max(z, 0.0) - y * z, abs=1e-40)
    assert values["grad.z.o"] == pytest.approx(a - y, abs=1e-40)
    assert values["grad.w_o_x"] == pytest.approx(a - y, abs=1e-40)
    assert math.isfinite(values["new.w_o_x"])
    # ∂L/∂a = (a − y)/(a(1 − a)): −1 or 1 where the output is right, and truly beyond
    # float64 (e^|z|) where it is wrong
    right = (z > 0) == (y == 1.0)
    if right:
        assert values["grad.a.o"] == pytest.approx(-1.0 if y == 1.0 else 1.0)
    elif abs(z) > 710:
        assert values["grad.a.o"] == (math.inf if y == 0.0 else -math.inf)
    else:
        assert math.isfinite(values["grad.a.o"])


@pytest.mark.parametrize("z", [100.0, 1000.0, 1e4])
def test_softmax_cross_entropy_saturated(z: float) -> None:
    # outputs z, −z, 0; the true class is the one at −z: log(a) would be log(0)
    values = values_of(one_unit("softmax", "cross_entropy", z, "o2", units=3))
    assert values["loss"] == pytest.approx(2 * z)
    assert values["grad.z.o1"] == pytest.approx(1.0)
    assert values["grad.z.o2"] == pytest.approx(-1.0)
    for key in ("grad.w_o1_x", "grad.w_o2_x", "grad.w_o3_x", "final.loss"):
        assert math.isfinite(values[key]), key


@pytest.mark.parametrize("z", [100.0, 1000.0])
def test_sigmoid_cross_entropy_saturated(z: float) -> None:
    # two sigmoid outputs at z and −z, target on the second: −log σ(−z) = softplus(z)
    values = values_of(one_unit("sigmoid", "cross_entropy", z, [0.0, 1.0], units=2))
    assert values["loss"] == pytest.approx(z)
    assert values["grad.z.o2"] == pytest.approx(-1.0)  # −y(1 − a)
    assert values["grad.z.o1"] == 0.0
    assert math.isfinite(values["grad.w_o2_x"])


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "softmax", "softplus", "silu", "elu"])
@pytest.mark.parametrize("size", [300.0, 3000.0])
@pytest.mark.parametrize("output", ["identity", "sigmoid"])
def test_saturated_hidden_layers_keep_gradients_finite(hidden: str, size: float,
                                                       output: str) -> None:
    text = dump({
        "network": {"inputs": ["x"], "layers": [
            {"units": 2, "activation": hidden, "weights": [[size], [-size]], "bias": 0.5},
            {"units": 1, "activation": output, "weights": [[1e-3, -1e-3]]}]},
        "loss": "half_squared_error" if output == "identity" else "binary_cross_entropy",
        "learning_rate": 0.1, "steps": 2, "input": [1.0], "target": [1.0],
    })
    values = values_of(text)
    not_finite = {key: v for key, v in values.items() if not math.isfinite(v)}
    assert not_finite == {}


def test_divergence_is_named_with_its_step() -> None:
    text = one_unit("identity", "half_squared_error", 0.5, [1.0], learning_rate=1e6,
                    steps=100)
    with pytest.raises(NumericError) as caught:
        solve(parse_problem(text))
    message = str(caught.value)
    assert message.startswith(f"at step {caught.value.step}, ")
    assert "gradient descent is diverging (the learning rate 1e+06 is too large" in message
    assert 1 < (caught.value.step or 0) < 100


def test_an_update_that_overflows_a_parameter_is_named() -> None:
    text = one_unit("identity", "half_squared_error", 1.0, [0.0], x=1e5, learning_rate=1e300)
    with pytest.raises(NumericError) as caught:
        solve(parse_problem(text))
    assert str(caught.value) == (
        "gradient descent diverged at step 1: its update made w_o_x overflow (beyond "
        "±1.8e308, the largest float64); the learning rate 1e+300 is too large for this "
        "problem; try a smaller one")
    assert caught.value.step == 1


def test_numbers_too_large_in_the_file() -> None:
    text = one_unit("identity", "half_squared_error", 1e300, [0.0], x=1e10)
    with pytest.raises(NumericError) as caught:
        solve(parse_problem(text))
    assert str(caught.value) == (
        "at step 1, z.o overflowed (beyond ±1.8e308, the largest float64): the numbers in the "
        "file are too large to compute with")


def test_a_loss_that_overflows_names_the_output() -> None:
    text = one_unit("identity", "half_squared_error", 1.0, [1e200])
    with pytest.raises(NumericError) as caught:
        solve(parse_problem(text))
    assert str(caught.value) == (
        "at step 1, the loss overflowed (beyond ±1.8e308, the largest float64): output "
        "a.o = 1, target 1e+200; the numbers in the file are too large to compute with")


def test_log_of_zero_outside_the_loader_is_put_in_words() -> None:
    """The loader refuses a relu output with cross-entropy; built by hand, the engine
    still says what happened instead of returning ∞."""
    problem = parse_problem(one_unit("sigmoid", "binary_cross_entropy", -1.0, [1.0]))
    problem.layers[0].activation = make_activation("relu")
    problem.loss = make_loss("binary_cross_entropy")
    with pytest.raises(NumericError) as caught:
        solve(problem)
    assert str(caught.value) == (
        "at step 1, the loss is infinite: binary_cross_entropy takes the log of a.o = 0 "
        "(target 1), and the log needs outputs in (0, 1)")


def _no_constants(name: str) -> float:
    raise AssertionError(f"JSON holds {name}")


def test_json_has_no_nan_or_infinity(tmp_path: Path) -> None:
    path = tmp_path / "saturated.yaml"
    path.write_text(one_unit("sigmoid", "binary_cross_entropy", 1000.0, [0.0]))
    result = CliRunner().invoke(cli, ["solve", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout, parse_constant=_no_constants)
    assert document["values"]["grad.a.o"] is None
    assert document["not_finite"] == {"grad.a.o": "overflow"}
    assert document["values"]["loss"] == 1000.0


def test_json_writer_nulls_any_stray_non_finite_number() -> None:
    text = dumps({"values": {"a": 1.0}, "extra": [math.nan, {"b": -math.inf}]})
    assert json.loads(text, parse_constant=_no_constants) == {
        "values": {"a": 1.0}, "extra": [None, {"b": None}]}


def test_cli_reports_divergence_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "diverges.yaml"
    path.write_text(one_unit("identity", "half_squared_error", 0.5, [1.0], learning_rate=1e6,
                             steps=100))
    result = CliRunner().invoke(cli, ["solve", str(path), "--format", "json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"{path}: at step ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "nan" not in result.stderr.lower()
