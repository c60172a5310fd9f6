"""Hand-calculation mode: every value rounded when produced, formulas reproducing it."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import assume, given
from hypothesis import strategies as st

from backprop_cli.checking.checker import check_values
from backprop_cli.cli import cli
from backprop_cli.engine import make_engine, solve
from backprop_cli.engine.handcalc import RoundingEngine
from backprop_cli.errors import NumericError
from backprop_cli.expr import Round
from backprop_cli.files.loader import parse_problem
from backprop_cli.kinds.exercise import load_problem
from backprop_cli.model.formulas import Formulas
from backprop_cli.model.keyspace import all_keys, parse_key
from backprop_cli.model.losses import LOSSES
from backprop_cli.render.formula_text import substituted
from backprop_cli.rounding import round_array, round_value
from tests.conftest import PROBLEMS
from tests.engine.test_engine import tie_two_weights
from tests.netgen import dump, problem_documents

SEED_003C = PROBLEMS / "003c_sigmoid_two_inputs.yaml"
ROUNDED_003H = PROBLEMS / "003h_sigmoid_two_inputs_rounded.yaml"


@pytest.mark.parametrize("value,decimals,rounded", [
    (0.5 * 0.2469, 4, 0.1235),  # 0.12345 on paper, 0.123449999… in binary: up, as on paper
    (-0.12345, 4, -0.1235),  # halves away from zero
    (0.37754, 4, 0.3775),
    (0.23499375, 4, 0.235),
    (2.5, 0, 3.0),
    (1234.56785, 4, 1234.5679),
    (0.1 + 0.2, 1, 0.3),
    (-0.00004, 4, 0.0),  # and never −0
    (1e300, 4, 1e300),  # no digit left to round
])
def test_round_value_as_on_paper(value: float, decimals: int, rounded: float) -> None:
    result = round_value(value, decimals)
    assert result == rounded
    assert math.copysign(1.0, result) == math.copysign(1.0, rounded)


def test_round_value_keeps_infinities_and_nan() -> None:
    assert round_value(math.inf, 3) == math.inf
    assert round_value(-math.inf, 3) == -math.inf
    assert math.isnan(round_value(math.nan, 3))


@given(st.lists(st.floats(allow_nan=False, allow_infinity=True, width=64), min_size=1,
                max_size=50), st.integers(0, 12))
def test_round_array_is_round_value_bit_for_bit(values: list[float], decimals: int) -> None:
    array = np.array(values)
    rounded = round_array(array, decimals)
    expected = [round_value(v, decimals) for v in values]
    assert [float(v).hex() for v in rounded] == [v.hex() for v in expected]
    round_array(array, decimals, out=array)  # in place, the same numbers
    assert array.tolist() == rounded.tolist()


@given(st.floats(-1e6, 1e6), st.integers(0, 8))
def test_round_value_is_the_nearest_decimal_and_idempotent(value: float, decimals: int) -> None:
    result = round_value(value, decimals)
    unit = 10.0 ** -decimals
    if abs(value) >= 2.0 ** 46 * unit:  # too few binary digits below the last decimal
        assert result == value
        return
    # half a unit, and the slack that takes 0.123449999… (binary for 0.12345) as a half
    assert abs(result - value) <= (0.5 + 2e-9) * unit + 2.0 ** -49 * abs(value)
    assert round_value(result, decimals) == result
    assert result == float(f"{result:.{decimals}f}")  # the float of a decimal with N digits


# ------------------------------------------------------------------- engine

LOG_LOSSES = {name for name, spec in LOSSES.items() if spec.logs_of}


def rounded_solution(document: dict[str, Any]) -> tuple[Any, dict[str, float]]:
    problem = parse_problem(dump(document))
    try:
        values = solve(problem).values
    except NumericError:  # an output rounded to 0 or 1 under a log loss: log 0
        assume(False)
        raise
    # Adam after ŝ rounded to 0 divides by ε alone: huge steps, no hand calculation
    assume(all(abs(v) < 1e6 for v in values.values()))
    if problem.loss.name in LOG_LOSSES:
        # a·log a with a rounded to exactly 0 or 1: the engine takes 0·log 0 as 0, the
        # formula as undefined; such a file is not a hand calculation anyway
        outputs = [k for k in values if (p := parse_key(k, problem)) is not None
                   and p.kind == "a" and p.name in problem.output_names]
        assume(all(0.0 < values[k] < 1.0 for k in outputs))
    return problem, values


@given(st.data())
def test_every_value_is_rounded_and_its_formula_reproduces_it_exactly(
        data: st.DataObject) -> None:
    """round: N — every value produced is on the N-decimal grid, and evaluating its
    formula on the recorded values gives exactly that number (what the checker uses)."""
    document = data.draw(problem_documents(training=True))
    if data.draw(st.booleans()):
        tie_two_weights(document, data)
    decimals = data.draw(st.integers(1, 6))
    document["round"] = decimals
    problem, values = rounded_solution(document)
    assert isinstance(make_engine(problem), RoundingEngine)
    keys = all_keys(problem)
    assert set(keys) == set(values)
    formulas = Formulas(problem)
    for key in keys:
        value = values[key]
        if key.startswith(("input.", "target.")) or not math.isfinite(value):
            continue  # the data are used as given
        assert round_value(value, decimals) == value, key
        expr = formulas.for_key(key)
        if expr is not None:
            assert expr.evaluate(values) == value, key


@given(problem_documents(training=True))
def test_rounding_stays_close_to_the_exact_values(document: dict[str, Any]) -> None:
    """6 decimals change the first step's numbers by little (rounding, not a new model)."""
    document["steps"] = None
    document["epochs"] = None
    exact_problem = parse_problem(dump(document))
    try:
        exact = solve(exact_problem, ["loss", "grad.*"]).values
    except NumericError:
        assume(False)
        raise
    document["round"] = 6
    problem, rounded = rounded_solution(document)
    if problem.loss.name in LOG_LOSSES:  # 1/(a(1 − a)) magnifies rounding near 0 and 1
        assume(all(0.01 < rounded[f"a.{o}{problem.sample_suffix(k)}"] < 0.99
                   for o in problem.output_names for k in problem.batch(1)))
    for key, value in exact.items():
        if parse_key(key, exact_problem) is None or not math.isfinite(value):
            continue
        assume(abs(value) < 100)
        assert rounded[key] == pytest.approx(value, rel=1e-3, abs=1e-3), key


def test_starting_parameters_are_rounded_and_data_are_not() -> None:
    problem = parse_problem("""
network: {inputs: [x], layers: [{units: [o], weights: [[0.123456]], weight_names: [[w]]}]}
loss: half_squared_error
learning_rate: 0.1
input: [0.333333]
target: 1
round: 3
""")
    values = solve(problem).values
    assert values["w"] == 0.123
    assert values["input.x"] == 0.333333
    assert values["z.o"] == round_value(0.123 * 0.333333, 3) == 0.041


# ---------------------------------------------------------- the problem file


def test_003h_matches_the_seed_digit_for_digit_where_it_uses_4_decimals() -> None:
    seed = load_problem(SEED_003C)
    values = solve(load_problem(ROUNDED_003H)).values
    for key in ("a.h1", "dadz.h1", "final.a.h1", "final.a.y", "final.loss"):
        assert values[key] == seed.expected[key].value, key
        assert len(seed.expected[key].text.split(".")[1]) == 4  # the seed wrote 4 decimals


def test_003h_values_by_hand() -> None:
    """The steps a student writes, each rounded to 4 decimals before it is used."""
    v = solve(load_problem(ROUNDED_003H)).values
    assert v["z.y"] == 0.1888  # 0.5 · 0.3775 = 0.18875: a half, rounded up
    assert v["a.y"] == round(1 / (1 + math.exp(-0.1888)), 4) == 0.5471
    assert v["dadz.y"] == round(0.5471 * (1 - 0.5471), 4) == 0.2478
    assert v["grad.z.y"] == -0.1122  # −0.4529 · 0.2478 = −0.11222862
    assert v["grad.w3"] == -0.0424  # −0.1122 · 0.3775 = −0.0423555
    assert v["new.w2"] == -0.2974  # −0.3 − 0.1 · (−0.0264) = −0.29736
    assert v["final.z.h1"] == -0.4935  # 0.1013 − 2 · 0.2974


def test_checker_marks_errors_carried_forward_in_rounded_arithmetic() -> None:
    """A wrong a.h1, then z.y computed right from it: z.y is consistent, not wrong."""
    text = ROUNDED_003H.read_text()
    text = text.replace("  a.h1: 0.3775\n", "  a.h1: 0.3785\n").replace(
        "  z.y: 0.1888\n", "  z.y: 0.1893\n")  # 0.5 · 0.3785 = 0.18925 → 0.1893
    problem = parse_problem(text, "003h.yaml")
    results = {r.key: r for r in check_values(problem, solve(problem).values)}
    assert results["a.h1"].verdict == "wrong"
    assert results["z.y"].verdict == "consistent"
    assert results["z.y"].recomputed == 0.1893
    assert isinstance(results["z.y"].formula, Round)
    assert substituted(results["z.y"].formula, results["z.y"].operands)[0] == "w3*a.h1"


def test_round_option_of_solve_and_json() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["solve", str(SEED_003C), "--round", "4", "--format", "json",
                                 "--keys", "z.y", "--keys", "final.loss"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["values"] == {"z.y": 0.1888, "final.loss": 0.1023}
    assert document["round"] == 4
    exact = runner.invoke(cli, ["solve", str(SEED_003C), "--format", "json", "--keys", "z.y"])
    assert json.loads(exact.output)["values"]["z.y"] != 0.1888
    bad = runner.invoke(cli, ["solve", str(SEED_003C), "--round", "13"])
    assert bad.exit_code == 2


def test_worked_solution_renders_rounded_formulas() -> None:
    result = CliRunner().invoke(cli, ["solve", str(ROUNDED_003H), "--format", "plain"])
    assert result.exit_code == 0, result.output
    assert "0.5·0.3775" in result.output and "0.1888" in result.output


# ------------------------------------------------- issue 17: one rounding rule

SEED_001B = PROBLEMS / "001b_two_layer_relu_sigmoid.yaml"


def test_a_shown_step_is_exact_then_kept_by_the_one_rule() -> None:
    """0.7·(−0.025) is −0.0175 exactly (the float is −0.0174999…): it was shown as −0.017
    and kept as −0.018 on the same line."""
    text = CliRunner().invoke(cli, ["solve", str(SEED_001B), "--round", "3",
                                    "--format", "plain"]).output
    assert "  ∂L/∂a_h2 = v2·δ_o = 0.7·(−0.025) = −0.0175 = −0.018   ✗" in text
    assert "  ŷ = σ(z_o) = σ(1.55) = 0.824914 = 0.825" in text  # the calculator, then kept
    assert "  δ_o = ∂L/∂ŷ·σ′(z_o) = −0.175·0.144 = −0.0252 = −0.025" in text


def test_rounding_that_erases_every_update_is_a_warning() -> None:
    text = CliRunner().invoke(cli, ["solve", str(SEED_001B), "--round", "3",
                                    "--format", "plain"]).output
    assert "w1ⁿᵉʷ = w1 − η·∂L/∂w1 = 0.5 − 0.01·(−0.01) = 0.5 + 0.0001 = 0.5001 = 0.5" in text
    assert ("Warning: rounding to 3 decimals erases every update: each change is smaller than "
            "half a unit of the\nlast decimal kept") in text
    kept = CliRunner().invoke(cli, ["solve", str(SEED_001B), "--round", "5",
                                    "--format", "plain"]).output
    assert "erases" not in kept


def test_hand_calculation_has_one_rounding_rule_in_check_too() -> None:
    """Issue 17: with round: 3, 0.7·(−0.025) = −0.0175 is kept as −0.018 (halves away
    from zero). −0.017 is the other rounding of the same number: in hand-calculation
    mode it is wrong, not 'consistent' (no double-rounding slack: the rule rounds once);
    a value that follows exactly from a wrong earlier one is still carried forward."""
    base = SEED_001B.read_text().split("expected:")[0] + "round: 3\nexpected:\n"
    problem = parse_problem(base + "  grad.z.o: -0.025\n  grad.a.h2: -0.017\n", "r.yaml")
    verdicts = {r.key: r.verdict for r in check_values(problem, solve(problem).values)}
    assert verdicts == {"grad.z.o": "correct", "grad.a.h2": "wrong"}
    problem = parse_problem(base + "  grad.z.o: -0.025\n  grad.a.h2: -0.018\n", "r.yaml")
    verdicts = {r.key: r.verdict for r in check_values(problem, solve(problem).values)}
    assert verdicts == {"grad.z.o": "correct", "grad.a.h2": "correct"}
    # δ_o wrong (−0.030), then ∂L/∂a_h2 = 0.7·(−0.030) = −0.021 exactly from it
    problem = parse_problem(base + "  grad.z.o: -0.030\n  grad.a.h2: -0.021\n", "r.yaml")
    verdicts = {r.key: r.verdict for r in check_values(problem, solve(problem).values)}
    assert verdicts == {"grad.z.o": "wrong", "grad.a.h2": "consistent"}
