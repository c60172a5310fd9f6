"""Symbols, numbers and line breaking of the worked solution."""

from __future__ import annotations

import pytest

from backprop_cli.engine import solve
from backprop_cli.expr import Ref, reduce_innermost, render
from backprop_cli.files.loader import parse_problem
from backprop_cli.kinds.exercise import load_problem
from backprop_cli.model.formulas import Formulas
from backprop_cli.numfmt import (
    digits_to_show_step,
    digits_to_tell_apart,
    format_decimals,
    format_number,
)
from backprop_cli.render.notation import (
    AsciiNotation,
    LatexNotation,
    UnicodeNotation,
    latex_name,
    unicode_name,
)
from backprop_cli.render.text import layout_equation
from backprop_cli.render.values import DisplayValues
from tests.conftest import PROBLEMS

SEED = load_problem(PROBLEMS / "001b_two_layer_relu_sigmoid.yaml")
BATCH = parse_problem("""
network:
  inputs: [x1]
  layers:
    - {units: [h1, h2], activation: tanh, weights: [[0.5], [0.2]]}
    - {units: [o1, o2], activation: softmax, weights: [[1, 2], [3, 4]]}
loss: cross_entropy
learning_rate: 0.1
steps: 2
samples:
  - {input: [1], target: o1}
  - {input: [2], target: o2}
""")


@pytest.mark.parametrize(("name", "unicode", "latex"), [
    ("w_1^4", "w₁⁴", "w_{1}^{4}"),
    ("W_2", "W₂", "W_{2}"),
    ("w1", "w1", "w_{1}"),
    ("w_h1_x1", "w_h1_x1", "w_{h1,x1}"),
    ("b_o", "b_o", "b_{o}"),
    ("out", "out", r"\mathit{out}"),
])
def test_author_names(name: str, unicode: str, latex: str) -> None:
    assert unicode_name(name) == unicode
    assert latex_name(name) == latex


@pytest.mark.parametrize(("key", "unicode", "ascii_text", "latex"), [
    ("z.h1", "z_h1", "z_h1", "z_{h1}"),
    ("a.h1", "a_h1", "a_h1", "a_{h1}"),
    ("a.o", "ŷ", "y_hat", r"\hat{y}"),
    ("target.o", "y", "y", "y"),
    ("input.x1", "x1", "x1", "x_{1}"),
    ("grad.z.o", "δ_o", "delta_o", r"\delta_{o}"),
    ("grad.a.h1", "∂L/∂a_h1", "dL/da_h1", r"\frac{\partial L}{\partial a_{h1}}"),
    ("grad.a.o", "∂L/∂ŷ", "dL/dy_hat", r"\frac{\partial L}{\partial \hat{y}}"),
    ("grad.v1", "∂L/∂v1", "dL/dv1", r"\frac{\partial L}{\partial v_{1}}"),
    ("dadz.o", "σ′(z_o)", "sigmoid'(z_o)", r"\sigma'(z_{o})"),
    ("dadz.h1", "ReLU′(z_h1)", "ReLU'(z_h1)", r"\operatorname{ReLU}'(z_{h1})"),
    ("new.w1", "w1ⁿᵉʷ", "w1_new", r"w_{1}^{\text{new}}"),
    ("final.loss", "Lⁿᵉʷ", "L_new", r"L^{\text{new}}"),
])
def test_symbols_of_keys(key: str, unicode: str, ascii_text: str, latex: str) -> None:
    assert UnicodeNotation(SEED).symbol(key) == unicode
    assert AsciiNotation(SEED).symbol(key) == ascii_text
    assert LatexNotation(SEED).symbol(key) == latex


def test_a_sections_own_step_is_unmarked() -> None:
    final = UnicodeNotation(SEED, context=None)
    assert final.symbol("final.a.o") == "ŷ"
    assert final.symbol("final.v1") == "v1"


def test_sample_and_step_marks() -> None:
    notation = UnicodeNotation(BATCH)
    assert notation.symbol("z.h1@2") == "z_h1⁽²⁾"
    assert notation.symbol("grad.w_o1_h1@2") == "∂L⁽²⁾/∂w_o1_h1"
    assert notation.symbol("target.o1@1") == "y_o1⁽¹⁾"
    assert notation.symbol("step2.loss") == "L [step 2]"
    assert UnicodeNotation(BATCH, context=2).symbol("step2.loss") == "L"
    assert LatexNotation(BATCH).symbol("z.h1@2") == "z_{h1}^{(2)}"


def test_textbook_negatives_and_worked_out_lines() -> None:
    formulas = Formulas(SEED)
    values = solve(SEED).values
    notation = UnicodeNotation(SEED)
    grad = formulas.for_key("grad.v1")
    assert grad is not None
    assert render(grad, notation, values) == "−0.02529·1.8"  # a leading minus needs no brackets
    grad_a = formulas.for_key("grad.a.h1")
    assert grad_a is not None
    assert render(grad_a, notation, values) == "0.4·(−0.02529)"
    loss = formulas.for_key("loss")
    assert loss is not None
    reduced = reduce_innermost(loss, values)
    assert reduced is not None and render(reduced, notation, values) == "½·0.1751²"
    assert render(Ref("b1"), notation, values) == "0.1"


def test_other_notations_keep_their_brackets() -> None:
    """The check reports' key notation is not textbook: (−2)*2 stays as it was."""
    from backprop_cli.render.formula_text import KeyNotation

    formulas = Formulas(SEED)
    grad = formulas.for_key("grad.v1")
    assert grad is not None
    assert render(grad, KeyNotation(4), solve(SEED).values).startswith("(-0.02529)*")


@pytest.mark.parametrize(("value", "text"), [
    (0.82491373, "0.8249"), (2.0, "2"), (-0.0, "0"), (-1e-7, "−1e-7"),
    (1.234e-7, "1.234e-7"), (0.000123456, "0.0001235"), (123456.7, "123457"),
])
def test_format_number(value: float, text: str) -> None:
    assert format_number(value, 4) == text


def test_decimals_and_digits_for_changes() -> None:
    assert format_decimals(0.18875, 4) == "0.1888"
    assert format_decimals(0.235, 4) == "0.235"
    assert format_decimals(-0.00001, 4) == "0"
    assert digits_to_show_step(0.4004552, 0.0004552, 4) == 7
    assert digits_to_tell_apart(0.5, 0.5000001, 4) == 7


def test_long_equations_break_before_equals_first() -> None:
    parts = ["w1·x1 + w2·x2 + w3·x3 + w4·x4 + b1", "0.5·1 + 0.6·2 + 0.7·3 + 0.8·4 + 0.1",
             "0.5 + 1.2 + 2.1 + 3.2 + 0.1", "7.1"]
    lines = layout_equation("z_h1", parts, [("✓ published: 7.1", "mark")], width=60)
    text = ["".join(t for t, _ in line) for line in lines]
    assert text[0] == "z_h1 = w1·x1 + w2·x2 + w3·x3 + w4·x4 + b1"
    assert text[1].startswith("     = 0.5·1") and all(len(t) <= 60 for t in text)
    assert text[-1].endswith("✓ published: 7.1")


def test_rounding_noise_is_shown_as_the_exact_zero() -> None:
    """0.4·3 + (−0.6)·(−1) + 0.2 = 2.0000000000000004: ŷ − y is 0, not 4.4e-16."""
    problem = load_problem(PROBLEMS / "001a_single_neuron_identity.yaml")
    raw = solve(problem).values
    assert raw["loss"] != 0.0
    shown = DisplayValues(raw, Formulas(problem))
    assert shown["loss"] == 0.0 and shown["grad.w1"] == 0.0
    assert shown["z.y"] == raw["z.y"]  # pre-activations are never cleaned
    assert "loss" in shown.cleaned


def test_a_real_small_value_is_not_noise() -> None:
    problem = parse_problem("""
network:
  inputs: 1
  layers: [{units: 1, activation: sigmoid, weights: [[-40]]}]
loss: half_squared_error
learning_rate: 0.1
input: [1]
target: 0
""")
    raw = solve(problem).values
    shown = DisplayValues(raw, Formulas(problem))
    assert shown["dadz.o"] == raw["dadz.o"] != 0  # σ(−40)·(1 − σ(−40)) ≈ 4e-18: tiny but real
