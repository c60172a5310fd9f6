"""The slip catalogue: each code reproduced on a real step, and none when two fit."""

from __future__ import annotations

import pytest

from backprop_cli.checking.checker import KeyResult, check_values
from backprop_cli.engine import solve
from backprop_cli.files.loader import parse_problem
from tests.conftest import PROBLEMS

# Seed 001b's network (2-2-1, ReLU then sigmoid, ½SE, η = 0.01) without its answers.
NETWORK = (PROBLEMS / "001b_two_layer_relu_sigmoid.yaml").read_text().split("expected:")[0]

# exact: z.o = 1.55, a.o = 0.82491, grad.a.o = −0.17509, dadz.o = 0.14443,
# grad.z.o = −0.025288, grad.v1 = −0.045518, new.v2 = 0.70022759
EXACT_ANSWERS = "  z.h1: 1.8\n  z.h2: 0.9\n  a.h1: 1.8\n  a.h2: 0.9\n  z.o: 1.55\n"


def results(expected: str) -> dict[str, KeyResult]:
    problem = parse_problem(NETWORK + "expected:\n" + EXACT_ANSWERS + expected)
    return {r.key: r for r in check_values(problem, solve(problem).values)}


def diagnosed(expected: str, key: str) -> tuple[str, str] | None:
    result = results(expected)[key]
    assert result.verdict == "wrong", (result.verdict, result.reason)
    return None if result.diagnosis is None else (result.diagnosis.code,
                                                  result.diagnosis.message)


@pytest.mark.parametrize("expected,key,code,message", [
    ("  a.o: 0.82491\n  grad.a.o: 0.17509\n", "grad.a.o", "sign",
     "0.17509 = −(−0.1751): the sign is flipped"),
    ("  a.o: 0.82491\n  loss: 0.030656\n", "loss", "factor_2",
     "0.030656 = 2·0.01533: twice the value (a factor ½ left out)"),
    ("  a.o: 0.82491\n  grad.a.o: -0.17509\n  grad.z.o: -0.17509\n", "grad.z.o",
     "missing_derivative", "−0.17509 = grad.a.o = −0.1751: the delta without its activation's "
     "derivative dadz.o (0.1444) left out"),
    ("  a.o: 0.82491\n  grad.a.o: -0.17509\n  grad.v1: -0.31516\n", "grad.v1",
     "missing_derivative", "−0.31516 = (−0.1751)·1.8 = −0.3152: ∂L/∂a in place of δ "
     "(grad.a.o for grad.z.o)"),
    ("  grad.z.o: -0.025288\n  grad.v2: -0.022759\n  new.v2: 0.69977241\n", "new.v2",
     "update_sign", "0.69977241 = 0.7 − 0.01·0.02276 = 0.6998: the gradient added, not "
     "subtracted"),
    ("  grad.z.o: -0.025288\n  grad.v2: -0.022759\n  new.v2: 0.722759\n", "new.v2",
     "no_learning_rate", "0.722759 = 0.7 − 1·(−0.02276) = 0.7228: the learning rate "
     "η = 0.01 left out"),
    ("  grad.z.o: -0.025288\n  grad.v2: -0.022759\n  new.v2: 0.7000022759\n", "new.v2",
     "learning_rate_twice", "0.7000022759 = 0.7 − 0.0001·(−0.02276) = 0.7: the learning "
     "rate η = 0.01 applied twice"),
    ("  grad.z.o: -0.025288\n  grad.a.h1: -0.0101270\n", "grad.a.h1", "new_weight",
     "−0.010127 = 0.4005·(−0.02529) = −0.01013: back-propagated through the updated "
     "weights (new.v1 = 0.4005 for v1)"),
    ("  a.o: 0.82491\n  dadz.o: 0.21187\n", "dadz.o", "derivative_at_a",
     "0.21187 = 0.6953·(1 − 0.6953) = 0.2119: the derivative taken at a.o = 0.8249 instead "
     "of z.o"),
    ("  grad.z.h1: -0.01012\n  grad.z.h2: -0.01012\n", "grad.z.h2", "other_unit",
     "−0.01012 = grad.z.h1 = −0.01012: another unit's value"),
])
def test_each_slip_is_named(expected: str, key: str, code: str, message: str) -> None:
    assert diagnosed(expected, key) == (code, message)


def test_transposed_weights() -> None:
    # a 2-2 layer read transposed: z_h2 = w2·x1 + w4·x2 + b2 = 0.6 + 0.6 + 0.1
    text = NETWORK.replace("weights: [[0.5, 0.6], [0.2, 0.3]]",
                           "weights: [[0.5, 0.6], [0.25, 0.3]]")
    problem = parse_problem(text + "expected:\n  z.h2: 1.3\n")
    (result,) = check_values(problem, solve(problem).values)
    assert result.diagnosis is not None
    assert result.diagnosis.code == "transposed"
    assert result.diagnosis.message == (
        "1.3 = 0.6·1 + 0.3·2 + 0.1 = 1.3: the weights read transposed (w2 = 0.6 for w3)")


def test_log_base() -> None:
    text = NETWORK.replace("loss: half_squared_error", "loss: binary_cross_entropy")
    problem = parse_problem(text + "expected:\n  a.o: 0.82491\n  loss: 0.083597\n")
    by_key = {r.key: r for r in check_values(problem, solve(problem).values)}
    diagnosis = by_key["loss"].diagnosis
    assert diagnosis is not None and diagnosis.code == "log_base"
    assert diagnosis.message.endswith("log₁₀ in place of the natural log (ln gives 0.1925)")


def test_a_value_two_slips_fit_gets_none() -> None:
    # z.h1 = 0.9 is half of 1.8 (factor_2) and z.h2's value (other_unit): no diagnosis
    problem = parse_problem(NETWORK + "expected:\n  z.h1: 0.90\n")
    (wrong,) = check_values(problem, solve(problem).values)
    assert wrong.verdict == "wrong" and wrong.diagnosis is None
    # and 0.9 for z.h1 in a network where z.h2 is not 0.9: factor_2 alone
    other = parse_problem(NETWORK.replace("bias: [0.1, 0.1]", "bias: [0.1, 0.2]")
                          + "expected:\n  z.h1: 0.90\n")
    (named,) = check_values(other, solve(other).values)
    assert named.diagnosis is not None and named.diagnosis.code == "factor_2"


def test_a_wrong_value_no_slip_explains_gets_none() -> None:
    assert diagnosed("  a.o: 0.82491\n  grad.a.o: -0.300\n", "grad.a.o") is None
