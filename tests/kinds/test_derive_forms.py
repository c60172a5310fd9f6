"""Derivative exercises as people publish them (issue 16): ∂f/∂q at an intermediate node,
max, min and abs with their kinks, second derivatives, fractions, a variable named e."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from backprop_cli.cli import cli
from backprop_cli.errors import ProblemError
from backprop_cli.kinds.derivative import check, make_derivation, parse, work, worked_lines


def verdicts(text: str) -> dict[str, str]:
    return {r.key: r.verdict for r in check(parse(text))}


# ------------------------------------------- ∂f/∂q at an intermediate variable q

# CS231n, "Backpropagation, Intuitions": f(x, y, z) = (x + y)·z with q = x + y, at
# x = −2, y = 5, z = −4: q = 3, f = −12, ∂f/∂q = z = −4, ∂f/∂z = q = 3, ∂f/∂x = ∂f/∂y = −4
CS231N = """\
kind: derivative
function: "f = q*z"
chain: {q: "x + y"}
at: {x: -2, y: 5, z: -4}
expected:
  value.q: 3
  value: -12
  derivative.q: -4
  derivative.z: 3
  derivative.x: -4
  derivative.y: -4
  formula.q: "z"
"""


def test_the_total_derivative_at_an_intermediate_node() -> None:
    worked = work(make_derivation("f = q*z", {"q": "x + y"}, {"x": -2, "y": 5, "z": -4}))
    assert worked.values["derivative.q"] == -4
    assert worked.formulas["formula.q"] == "z"
    assert verdicts(CS231N) == {key: "correct" for key in (
        "formula.q", "value.q", "value", "derivative.q", "derivative.x", "derivative.y",
        "derivative.z")}


def test_the_intermediate_derivative_through_several_paths() -> None:
    # f = g², g = q + r, q = x·y, r = q + 1: ∂f/∂q = 2g·(∂g/∂q + ∂g/∂r·∂r/∂q) = 2g·2 = 4g
    exercise = make_derivation("f = g^2", {"g": "q + r", "r": "q + 1", "q": "x*y"},
                               {"x": 2, "y": 3})
    worked = work(exercise)
    assert worked.values["value.g"] == 13  # q = 6, r = 7
    assert worked.values["derivative.g"] == 26
    assert worked.values["derivative.r"] == 26
    assert worked.values["derivative.q"] == 52
    assert worked.values["derivative.x"] == 52 * 3
    lines = worked_lines(worked)
    assert "∂f/∂q = df/dg · ∂g/∂q + df/dg · ∂g/∂r · dr/dq = (2g)·(1) + (2g)·(1)·(1) = 4g" in (
        lines)
    assert "  ∂f/∂q = 26 · 1 + 26 · 1 · 1 = 52" in lines


def test_an_intermediate_derivative_carries_an_authors_error_forward() -> None:
    text = CS231N.replace("  derivative.q: -4\n", "  derivative.f.q: -5\n  derivative.q: -5\n")
    text = text.replace("derivative.x: -4", "derivative.x: -5")
    got = verdicts(text)
    assert got["derivative.f.q"] == "wrong"
    assert got["derivative.q"] == "consistent"  # the author's own ∂f/∂q = −5
    assert got["derivative.x"] == "consistent"  # −5 · 1


# ------------------------------------------------------------- max, min, abs

# CS231n, "Patterns in backward flow": f = 2·(x·y + max(z, w)) at x = 3, y = −4, z = 2,
# w = −1: the max gate routes the gradient to z (2) and none to w (0); ∂f/∂x = 2y = −8,
# ∂f/∂y = 2x = 6
MAX_GATE = """\
kind: derivative
function: "f(x, y, z, w) = 2*(x*y + max(z, w))"
at: {x: 3, y: -4, z: 2, w: -1}
expected:
  value: -20
  derivative.x: -8
  derivative.y: 6
  derivative.z: 2
  derivative.w: 0
  formula.z: "2*step(z - w)"
"""


def test_the_max_gate_routes_the_gradient_to_the_larger_input() -> None:
    assert set(verdicts(MAX_GATE).values()) == {"correct"}


@pytest.mark.parametrize("z,w,dz,dw", [(2, -1, 2, 0), (-1, 2, 0, 2), (2, 2, 0, 2)])
def test_max_at_and_off_the_kink(z: float, w: float, dz: float, dw: float) -> None:
    # at the tie z = w the derivative of the second argument: as ReLU'(0) = 0 for max(z, 0)
    worked = work(make_derivation("f(z, w) = 2*max(z, w)", at={"z": z, "w": w}))
    assert (worked.values["derivative.z"], worked.values["derivative.w"]) == (dz, dw)


@pytest.mark.parametrize("x,slope", [(1, -1), (3, 0), (5, 1)])
def test_abs_at_and_off_the_kink(x: float, slope: float) -> None:
    worked = work(make_derivation("f(x) = abs(x - 3) + min(x, 3)", at={"x": x}))
    # |x − 3|′ = sign(x − 3), 0 at the kink; min(x, 3)′ = 1 below 3, 0 from 3 on
    assert worked.values["derivative.x"] == slope + (1 if x < 3 else 0)
    assert worked.formulas["formula.x"] == "sign(x - 3) + step(3 - x)"


# --------------------------------------------------------- second derivatives


def test_second_derivative_of_a_polynomial() -> None:
    # f = x³ − 3x² + 2x + 1: f' = 3x² − 6x + 2, f'' = 6x − 6 = 6 at x = 2
    text = ("kind: derivative\nfunction: \"f(x) = x^3 - 3*x^2 + 2*x + 1\"\nat: {x: 2}\n"
            "expected:\n  derivative2.x.x: 6\n  formula2.x.x: \"6*x - 6\"\n")
    assert verdicts(text) == {"formula2.x.x": "correct", "derivative2.x.x": "correct"}
    lines = worked_lines(work(parse(text).derivation))
    assert "f''(x) = 6x − 6" in lines
    assert "  f''(2) = 6(2) − 6 = 6" in lines


def test_second_derivatives_of_a_product() -> None:
    # f = x²y³: f_x = 2xy³, f_y = 3x²y²; ∂/∂x f_x = 2y³, ∂/∂y f_x = 6xy² = ∂/∂x f_y, ∂/∂y f_y = 6x²y
    text = ("kind: derivative\nfunction: \"f(x, y) = x^2*y^3\"\nat: {x: 2, y: 1}\n"
            "expected:\n  derivative2.x.x: 2\n  derivative2.x.y: 12\n  derivative2.y.x: 12\n"
            "  derivative2.y.y: 24\n  formula2.x.y: \"6*x*y^2\"\n  formula2.y.y: \"6*x*y\"\n")
    got = verdicts(text)
    assert got.pop("formula2.y.y") == "wrong"  # 6x²y
    assert set(got.values()) == {"correct"}
    worked = work(parse(text).derivation)
    assert worked.formulas["formula2.y.y"] == "6*x^2*y"
    lines = worked_lines(worked)
    assert "∂/∂y(∂f/∂x) = 6xy²" in lines
    assert "  ∂²f/∂y² = 6(2)²·1 = 24" in lines


def test_second_derivatives_only_when_asked() -> None:
    text = "kind: derivative\nfunction: \"x^3\"\nat: {x: 2}\nexpected:\n  derivative.x: 12\n"
    worked = work(parse(text).derivation)
    assert not worked.seconds
    assert "derivative2.x.x" not in worked.values


def test_second_derivative_through_a_chain() -> None:
    # z = y², y = 2x + 3: dz/dx = 8x + 12, d²z/dx² = 8
    worked = work(make_derivation("z = y^2", {"y": "2*x + 3"}, {"x": 2}))
    assert not worked.seconds
    exercise = make_derivation("z = y^2", {"y": "2*x + 3"}, {"x": 2})
    exercise.second = True
    worked = work(exercise)
    assert worked.values["derivative2.x.x"] == 8
    assert "d²z/dx² = 8" in worked_lines(worked)


# ------------------------------------------------------ fractions and constants

FRACTION = """\
kind: derivative
function: "f(x) = 1/(3*x)"
at: {x: 9}
expected:
  value: "1/27"
  derivative.x: "-1/243"
"""


def test_expected_values_may_be_fractions() -> None:
    # f = 1/(3x): f(9) = 1/27, f'(x) = −1/(3x²) = −1/243 at 9
    assert verdicts(FRACTION) == {"value": "correct", "derivative.x": "correct"}
    # a fraction is exact; a decimal is judged at the precision written
    assert verdicts(FRACTION.replace('"-1/243"', '"-1/242"'))["derivative.x"] == "wrong"
    assert verdicts(FRACTION.replace('"-1/243"', "-0.004115"))["derivative.x"] == "correct"
    assert verdicts(FRACTION.replace('"-1/243"', '"-0.004115 + 0"'))["derivative.x"] == "wrong"
    point = FRACTION.replace("at: {x: 9}", 'at: {x: "sqrt(81)"}')
    assert verdicts(point) == {"value": "correct", "derivative.x": "correct"}


def test_pi_in_a_point_and_an_answer() -> None:
    text = ("kind: derivative\nfunction: \"f(x) = sin(x)\"\nat: {x: \"pi/4\"}\n"
            "expected:\n  derivative.x: \"sqrt(2)/2\"\n  value: 0.7071\n")
    assert verdicts(text) == {"value": "correct", "derivative.x": "correct"}


# ---------------------------------------------------------- a variable named e

# colah, "Calculus on Computational Graphs": e = (a + b)·(b + 1) at a = 2, b = 1, with
# c = a + b = 3 and d = b + 1 = 2: e = 6, ∂e/∂a = 2, ∂e/∂b = 5, ∂e/∂c = d = 2, ∂e/∂d = c = 3
COLAH = """\
kind: derivative
function: "e = c*d"
chain: {c: "a + b", d: "b + 1"}
at: {a: 2, b: 1}
expected:
  value: 6
  derivative.c: 2
  derivative.d: 3
  derivative.a: 2
  derivative.b: 5
  formula.b: "2*b + a + 1"
"""


def test_a_function_named_e_is_no_constant() -> None:
    assert set(verdicts(COLAH).values()) == {"correct"}
    lines = worked_lines(work(parse(COLAH).derivation))
    assert lines[:4] == ["e = cd", "c = a + b", "d = b + 1",
                         "note: e is a variable of this exercise, not Euler's number e"]


@pytest.mark.parametrize("declared", [
    'function: "f(x, e) = e*x^2"\nat: {x: 3, e: 2}',  # by f(x, e)
    'function: "f = e*x^2"\nat: {x: 3, e: 2}',  # by at
    'function: "f = e*x^2"\nchain: {e: "2*u"}\nat: {x: 3, u: 1}',  # by chain
])
def test_a_declared_e_shadows_eulers_number(declared: str) -> None:
    text = f"kind: derivative\n{declared}\nexpected:\n  derivative.x: 12\n  formula.x: \"2*e*x\"\n"
    assert verdicts(text) == {"formula.x": "correct", "derivative.x": "correct"}
    assert "note: e is a variable of this exercise" in "\n".join(
        worked_lines(work(parse(text).derivation)))


def test_an_undeclared_e_is_eulers_number() -> None:
    worked = work(make_derivation("f = e*x^2", at={"x": 3}))
    assert worked.values["derivative.x"] == 6 * math.e
    assert not worked.derivation.shadowed
    assert not any(line.startswith("note:") for line in worked_lines(worked))


def test_the_derive_command_declares_e_by_chain() -> None:
    result = CliRunner().invoke(cli, ["derive", "f = e^2", "--chain", "e = (a + b)*(b + 1)",
                                      "--at", "a=2,b=1", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["notes"] == ["note: e is a variable of this exercise, not Euler's number e"]
    assert (doc["values"]["derivative.a"], doc["values"]["derivative.b"]) == (24, 60)


# --------------------------------------------------------------------- errors


@pytest.mark.parametrize("text,message", [
    ("kind: derivative\nfunction: x^2\nat: {x: \"2y\"}\n",
     "<t>:3:11: at 'x' \"2y\": 'y' is not a number: a number may be an expression of numbers "
     "and the constants e and pi"),
    ("kind: derivative\nfunction: x^2\nat: {x: 1}\nexpected:\n  value: \"1/(1-1)\"\n",
     "<t>:5:10: expected 'value' \"1/(1-1)\": the expression is not a finite number"),
    ("kind: derivative\nfunction: x^2\nat: {x: 1}\nexpected:\n  derivative.x: \"sqr(4)\"\n",
     "<t>:5:18: expected 'derivative.x' \"sqr(4)\": unknown function 'sqr' (did you mean "
     "'sqrt'?)"),
    ("kind: derivative\nfunction: \"max(x)\"\n",
     "<t>:2:17: function: max takes two arguments: max(a, b)"),
    ("kind: derivative\nfunction: x^2\nat: {x: 1}\nexpected:\n  derivative2.x.z: 2\n",
     "<t>:5:3: expected: unknown value key 'derivative2.x.z' (did you mean 'derivative2.x.x'?)"),
    ("kind: derivative\nfunction: \"f = x + pie\"\nat: {x: 1}\n",
     "<t>:3:5: at: give a value for pie"),
])
def test_errors_name_the_place(text: str, message: str) -> None:
    with pytest.raises(ProblemError) as caught:
        parse(text, "<t>")
    assert str(caught.value).startswith(message)


def test_a_negative_value_subtracted_is_written_in_parentheses() -> None:
    lines = worked_lines(work(make_derivation("f(z, w) = max(z, w) - w", at={"z": 2, "w": -1})))
    assert "  f(2, −1) = max(2, −1) − (−1) = 3" in lines
    assert "  ∂f/∂z = step(2 − (−1)) = 1" in lines


PUBLISHED = ["cs231n_chain_q_x_plus_y", "cs231n_max_gate", "colah_computational_graph_e"]


@pytest.mark.parametrize("stem", PUBLISHED)
def test_the_published_exercises_check(stem: str) -> None:
    from backprop_cli.kinds.derivative import load
    from tests.conftest import PROBLEMS

    problem = load(PROBLEMS / f"{stem}.yaml")
    assert problem.derivation.description is not None  # names its source
    results = check(problem)
    assert results and all(r.verdict == "correct" for r in results), [
        (r.key, r.verdict) for r in results]


def test_the_derive_command_reads_a_point_written_as_an_expression() -> None:
    result = CliRunner().invoke(cli, ["derive", "sin(x)", "--at", "x=pi/4", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["values"]["derivative.x"] == math.cos(math.pi / 4)
    result = CliRunner().invoke(cli, ["derive", "sin(x)", "--at", "x=pi/q"])
    assert result.exit_code == 2
    assert "'x=pi/q' is not NAME=NUMBER" in result.output


def test_init_uniform_bounds_may_be_expressions() -> None:
    from backprop_cli.files.loader import parse_problem

    text = """
network:
  inputs: [x1, x2]
  layers:
    - units: [o]
      activation: sigmoid
      weights: {init: uniform, seed: 1, low: "-1/sqrt(2)", high: "1/sqrt(2)"}
loss: half_squared_error
learning_rate: 0.1
input: [1, 2]
target: 1
"""
    weights = parse_problem(text).layers[0].weights
    assert weights.shape == (1, 2) and abs(weights).max() <= 1 / math.sqrt(2)


def test_the_derive_command_gives_second_derivatives_on_request() -> None:
    result = CliRunner().invoke(cli, ["derive", "f(x, y) = x^2*y^3", "--at", "x=2,y=1",
                                      "--second"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "∂/∂y(∂f/∂x) = 6xy²" in lines
    assert "  ∂²f/∂x² = 2(1)³ = 2" in lines
    plain = CliRunner().invoke(cli, ["derive", "f(x, y) = x^2*y^3", "--at", "x=2,y=1"])
    assert "∂²" not in plain.output


def test_the_quiz_asks_for_second_derivatives_when_the_file_does(tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text("kind: derivative\nfunction: \"f(x, y) = x^2*y^3\"\nat: {x: 2, y: 1}\n"
                    "expected:\n  derivative2.x.y: 12\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["quiz", str(path), "--keys", "derivative2.x.*"],
                                input="?\n3\n12\n")
    lines = result.output.splitlines()
    assert "[1/2] derivative2.x.x (∂/∂x (∂f/∂x) at the point) = ?" in lines
    assert "  ∂/∂x (∂f/∂x) = 2*y^3" in lines
    assert "  ✗ wrong: derivative2.x.x = 2" in lines
    assert "  ✓ right (derivative2.x.y = 12)" in lines
