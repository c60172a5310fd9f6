"""The expression parser (safety first), the differentiation rules and the simplifier."""

from __future__ import annotations

import contextlib
import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backprop_cli.calculus import (
    MAX_LENGTH,
    ExpressionError,
    constant_value,
    derivative,
    equivalent,
    evaluate,
    expand,
    parse,
    parse_definition,
    sample_points,
    simplify,
    to_ascii,
    to_text,
)


def d(text: str, var: str = "x") -> str:
    return to_text(derivative(parse(text), var))


# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize("text,value", [
    ("2 + 3*4", 14), ("2^3^2", 512), ("-2^2", -4), ("(-2)^2", 4), ("2**3", 8),
    ("3x", 6), ("2(x + 1)", 6), ("(x + 1)(x - 1)", 3), ("x²", 4), ("x⁻¹", 0.5),
    ("6 − 4", 2), ("3·x", 6), ("3×x", 6), ("8 ÷ x", 4), ("x/2/2", 0.5), ("1e-3*x", 0.002),
    ("e^0", 1), ("ln(e)", 1), ("σ(0)", 0.5), ("sqrt(x + 2)", 2), ("relu(-x)", 0),
    ("step(x)", 1), ("+x", 2), ("--x", 2),
])
def test_arithmetic_as_written(text: str, value: float) -> None:
    assert evaluate(parse(text), {"x": 2.0}) == pytest.approx(value)


@pytest.mark.parametrize("text,message", [
    ("__import__('os').system('ls')", "'__import__' is not allowed"),
    ("x.__class__", "'.' is not allowed here"),
    ("().__class__.__bases__", "'.' is not allowed here"),
    ("open('/etc/passwd')", "quotes are not allowed"),
    ("eval(x)", "unknown function 'eval'"),
    ("exec(x)", "unknown function 'exec'"),
    ("foo(x)", "unknown function 'foo' (known: exp, log, sin, cos, tanh, sigmoid, sqrt"),
    ("lambda: 1", "unexpected character ':'"),
    ("x[0]", "unexpected character '['"),
    ("x; y", "unexpected character ';'"),
    ("2^1000", "the exponent is too large"),
    ("9^9^9", "the exponent is too large"),
    ("x^(10^3)", "the exponent is too large"),
    ("x" * (MAX_LENGTH + 1), "too long"),
    ("(" * 100 + "x" + ")" * 100, "nested too deeply"),
    ("-" * 100 + "x", "nested too deeply"),
    ("sin x", "sin needs parentheses"),
    ("exp(1, 2)", "exp takes one argument"),
    ("x +", "ends too early"),
    ("(x + 1", "expected ')'"),
    ("x ^^ 2", "unexpected '^'"),
    ("", "empty"),
])
def test_refused_with_a_clean_message(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_definition(text)
    assert message in caught.value.message


def test_errors_point_at_the_place() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("x^3 - 3*x^^2")
    assert caught.value.position == 10
    assert caught.value.pointed("x^3 - 3*x^^2").splitlines()[-1] == "  " + " " * 10 + "^"


def test_hostile_input_is_cheap() -> None:
    started = time.perf_counter()
    for text in ["((" * 29 + "x" + "))" * 29, "x" + "^2" * 200, "2^" * 60 + "2",
                 "(x+1)^8" * 30, "*".join(["(x+y+z+1)"] * 40)]:
        with contextlib.suppress(ExpressionError):
            expand(parse(text))
    assert time.perf_counter() - started < 5


def test_definitions() -> None:
    f = parse_definition("f(x, y) = x^2 + y^2")
    assert (f.name, f.params) == ("f", ("x", "y"))
    z = parse_definition("z = y^2")
    assert (z.name, z.params) == ("z", None)
    assert parse_definition("x^2").name is None
    with pytest.raises(ExpressionError, match="also uses y"):
        parse_definition("f(x) = x + y")
    with pytest.raises(ExpressionError, match="is a function name"):
        parse_definition("exp = x")


# ------------------------------------------------------------ derivatives


def test_seed_polynomial_by_the_power_rule() -> None:
    """The seed: f(x) = x³ − 3x² + 2x + 1 gives f'(x) = 3x² − 6x + 2, and f'(2) = 2."""
    f = parse("x^3 - 3*x^2 + 2*x + 1")
    df = derivative(f, "x")
    assert to_text(df) == "3x² − 6x + 2"
    assert to_ascii(df) == "3*x^2 - 6*x + 2"
    assert evaluate(df, {"x": 2}) == 2
    assert evaluate(f, {"x": 2}) == 1
    assert evaluate(f, {"x": 2.1}) == pytest.approx(1.231)


def test_seed_partials() -> None:
    """f = x² + y²: ∂f/∂x = 2x, ∂f/∂y = 2y, so (6, 8) at (3, 4); f = x² + y³: 3y²."""
    f = parse("x^2 + y^2")
    assert (d("x^2 + y^2", "x"), d("x^2 + y^2", "y")) == ("2x", "2y")
    assert [evaluate(derivative(f, v), {"x": 3, "y": 4}) for v in "xy"] == [6, 8]
    assert d("x^2 + y^3", "y") == "3y²"


@pytest.mark.parametrize("text,var,expected", [
    ("sigmoid(u)", "u", "σ(u)·(1 − σ(u))"),
    ("1/(1 + exp(-u))", "u", "exp(−u)/(1 + exp(−u))²"),
    ("tanh(x)", "x", "1 − tanh(x)²"),
    ("log(x)", "x", "1/x"),
    ("sqrt(x)", "x", "1/(2·sqrt(x))"),
    ("exp(2*x)", "x", "2·exp(2x)"),
    ("e^x", "x", "exp(x)"),
    ("sin(x^2)", "x", "2x·cos(x²)"),
    ("cos(x)", "x", "−sin(x)"),
    ("relu(x)", "x", "step(x)"),
    ("2^x", "x", "2^x·log(2)"),
    ("x^x", "x", "x^x·(1 + log(x))"),
    ("0.5*(t - y)^2", "y", "y − t"),
    ("h*w2", "w2", "h"),
    ("x/3", "x", "1/3"),
    ("5", "x", "0"),
])
def test_rules(text: str, var: str, expected: str) -> None:
    assert d(text, var) == expected


def test_chain_rule_by_substitution() -> None:
    """dz/dx of z = y², y = 2x + 3: 4(2x + 3), multiplied out 8x + 12."""
    composed = parse("(2*x + 3)^2")
    dz = derivative(composed, "x")
    assert to_text(dz) == "4(2x + 3)"
    assert to_text(expand(dz)) == "8x + 12"


@given(st.floats(-3, 3), st.sampled_from([
    "x^3 - 3*x^2 + 2*x + 1", "sigmoid(2*x - 1)", "tanh(x)^2", "exp(-x^2)", "x*sin(x)",
    "log(1 + x^2)", "(x + 1)/(x^2 + 1)", "sqrt(x^2 + 1)", "x^4/4 - x",
]))
def test_derivatives_agree_with_finite_differences(x: float, text: str) -> None:
    f = parse(text)
    df = derivative(f, "x")
    h = 1e-6
    numerical = (evaluate(f, {"x": x + h}) - evaluate(f, {"x": x - h})) / (2 * h)
    assert evaluate(df, {"x": x}) == pytest.approx(numerical, rel=1e-5, abs=1e-6)


def test_simplification_collects_and_cancels() -> None:
    assert to_text(simplify(parse("x + x + 2*x - 4*x"))) == "0"
    assert to_text(simplify(parse("0.1*x + 0.2*x"))) == "0.3x"  # exact: no 0.30000000000000004
    assert to_text(simplify(parse("x*x*x/x"))) == "x²"
    assert to_text(simplify(parse("-(t - y)"))) == "y − t"
    assert to_text(expand(parse("(x + 1)^2 - (x - 1)^2"))) == "4x"


def test_ascii_form_reads_back_as_the_same_expression() -> None:
    for text in ["x^3 - 3*x^2 + 2*x + 1", "sigmoid(u)*(1 - sigmoid(u))", "1/(2*sqrt(x))",
                 "x^(1/3)", "2^x*log(2)", "exp(-x)/(1 + exp(-x))^2", "-x/3 + y^-2"]:
        node = simplify(parse(text))
        assert simplify(parse(to_ascii(node))) == node, text


def test_undefined_values_are_nan_not_errors() -> None:
    assert math.isnan(evaluate(parse("log(x)"), {"x": -1}))
    assert evaluate(parse("log(x)"), {"x": 0}) == -math.inf
    assert evaluate(parse("exp(x)"), {"x": 1000}) == math.inf
    assert evaluate(parse("1/x"), {"x": 0}) == math.inf
    assert math.isnan(evaluate(parse("x^0.5"), {"x": -4}))


def test_equivalence_of_formulas() -> None:
    points = sample_points(["x"])
    assert equivalent(parse("4*(2*x + 3)"), parse("8*x + 12"), points)
    assert equivalent(parse("sigmoid(x)*(1 - sigmoid(x))"),
                      parse("exp(-x)/(1 + exp(-x))^2"), points)
    assert equivalent(parse("8*x + 13"), parse("8*x + 12"), points) is False


# ------------------------------------------------- kinks, constants, numbers (issue 16)


@pytest.mark.parametrize("text,var,point,formula,value", [
    # the max gate routes the gradient to the larger input (CS231n)
    ("max(x, y)", "x", {"x": 3.0, "y": 1.0}, "step(x − y)", 1.0),
    ("max(x, y)", "y", {"x": 3.0, "y": 1.0}, "1 − step(x − y)", 0.0),
    ("max(x, y)", "y", {"x": -1.0, "y": 2.0}, "1 − step(x − y)", 1.0),
    # at a tie: the second argument's derivative (as ReLU'(0) = 0 for max(x, 0))
    ("max(x, y)", "x", {"x": 2.0, "y": 2.0}, "step(x − y)", 0.0),
    ("max(x, y)", "y", {"x": 2.0, "y": 2.0}, "1 − step(x − y)", 1.0),
    ("max(x, 0)", "x", {"x": 0.0}, "step(x)", 0.0),
    ("min(x, y)", "x", {"x": 1.0, "y": 3.0}, "step(y − x)", 1.0),
    ("min(x, y)", "x", {"x": 2.0, "y": 2.0}, "step(y − x)", 0.0),
    ("min(x, y)", "y", {"x": 2.0, "y": 2.0}, "1 − step(y − x)", 1.0),
    # |x − 3|: −1 left of the kink, +1 right of it, sign(0) = 0 at it
    ("abs(x - 3)", "x", {"x": 1.0}, "sign(x − 3)", -1.0),
    ("abs(x - 3)", "x", {"x": 5.0}, "sign(x − 3)", 1.0),
    ("abs(x - 3)", "x", {"x": 3.0}, "sign(x − 3)", 0.0),
    ("2*abs(x)^2", "x", {"x": -1.5}, "4·abs(x)·sign(x)", -6.0),
])
def test_kinks_take_one_documented_derivative(text: str, var: str, point: dict[str, float],
                                              formula: str, value: float) -> None:
    slope = derivative(parse(text), var)
    assert to_text(slope) == formula
    assert evaluate(slope, point) == value


def test_max_min_abs_values_and_writing() -> None:
    assert evaluate(parse("max(x, 2) + min(x, 2) + abs(-x)"), {"x": 5.0}) == 12.0
    assert to_ascii(parse("max(2x, y + 1)")) == "max(2*x, y + 1)"
    assert to_text(simplify(parse("max(3, 4) + min(3, 4) + abs(-2) + sign(-7)"))) == "8"
    assert to_text(simplify(parse("max(x, x)"))) == "x"
    assert parse(to_ascii(parse("min(x, y)^2"))) == parse("min(x, y)^2")


def test_pi_is_a_constant_and_e_can_be_a_variable() -> None:
    assert to_text(derivative(parse("2*pi*x"), "x")) == "2π"
    assert evaluate(parse("π"), {}) == math.pi
    assert evaluate(parse("e"), {}) == math.e
    assert evaluate(parse("e*x", frozenset({"e"})), {"e": 2.0, "x": 3.0}) == 6.0
    assert to_text(derivative(parse("(a + b)*e", frozenset({"e"})), "e")) == "a + b"
    assert parse_definition("e = (a + b)*(b + 1)", frozenset({"e"})).name == "e"
    assert parse_definition("f(x, e) = e*x").expr == parse("e*x", frozenset({"e"}))
    with pytest.raises(ExpressionError, match="'e' is a constant"):
        parse_definition("e = x + 1")


@pytest.mark.parametrize("text,value", [
    ("-1/243", -1 / 243), ("sqrt(2)/2", math.sqrt(2) / 2),
    ("1 + sin(pi/4)", 1 + math.sin(math.pi / 4)),
    ("0.1 + 0.2", 0.3), ("e^2", math.exp(2)), ("2^-3", 0.125), ("max(1/3, 0.3)", 1 / 3),
])
def test_constant_values(text: str, value: float) -> None:
    assert constant_value(text) == value


@pytest.mark.parametrize("text,message,position", [
    ("2*x", "'x' is not a number: a number may be an expression of numbers and the "
            "constants e and pi", 2),
    ("pie/4", "'pie' is not a number (did you mean 'pi'?)", 0),
    ("sqr(2)", "unknown function 'sqr' (did you mean 'sqrt'?)", 0),
    ("1/3 +", "the expression ends too early", 5),
    ("sqrt(-1)", "the expression is undefined (not a real number)", None),
    ("1/0", "the expression is not a finite number", None),
    ("max(1)", "max takes two arguments: max(a, b)", 5),
    ("2^1000", "the exponent is too large", 1),
])
def test_constant_value_errors(text: str, message: str, position: int | None) -> None:
    with pytest.raises(ExpressionError) as caught:
        constant_value(text)
    assert caught.value.message.startswith(message)
    assert caught.value.position == position


@given(st.floats(-5, 5), st.floats(-5, 5), st.sampled_from(["max", "min"]),
       st.sampled_from(["abs(x - y)", "x*y", "x - 2y"]))
def test_kinks_off_the_kink_agree_with_finite_differences(x: float, y: float, gate: str,
                                                           inner: str) -> None:
    text = f"{gate}(x^2, {inner}) + abs(x + 1)"
    tree = parse(text)
    point = {"x": x, "y": y}
    h = 1e-6
    for var in ("x", "y"):
        up, down = dict(point), dict(point)
        up[var] += h
        down[var] -= h
        slope = evaluate(derivative(tree, var), point)
        left = (evaluate(tree, point) - evaluate(tree, down)) / h
        right = (evaluate(tree, up) - evaluate(tree, point)) / h
        # A kink within h: the documented one-sided choice, tested above. Its one-sided
        # slopes may differ by little (max(x², x·y) where 2x ≈ y), so any difference past the
        # one-sided quotients' own error (h·f''/2, about 1e-5 here) marks one.
        if abs(left - right) > 1e-4 * max(1.0, abs(left)):
            continue
        assert slope == pytest.approx((left + right) / 2, rel=1e-4, abs=1e-4)


@given(st.integers(0, 3), st.integers(0, 3), st.integers(-3, 3), st.floats(-2, 2),
       st.floats(-2, 2))
def test_mixed_second_derivatives_agree(i: int, j: int, c: int, x: float, y: float) -> None:
    tree = parse(f"{c}*x^{i}*y^{j} + sin(x*y) + x^2*y")
    xy = derivative(derivative(tree, "x"), "y")
    yx = derivative(derivative(tree, "y"), "x")
    point = {"x": x, "y": y}
    assert evaluate(xy, point) == pytest.approx(evaluate(yx, point), rel=1e-12, abs=1e-12)
