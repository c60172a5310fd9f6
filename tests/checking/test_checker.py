"""Verdicts: correct, consistent (error carried forward), wrong, erratum."""

from __future__ import annotations

import re

import pytest

from backprop_cli.checking.checker import Precision, check_values, first_wrong
from backprop_cli.engine import solve
from backprop_cli.files.loader import parse_problem
from backprop_cli.kinds.exercise import load_problem
from tests.conftest import PROBLEMS, seed_files

CHAIN = """
network:
  inputs: [x]
  layers:
    - {units: [h], weights: [[2]], weight_names: [[w1]]}
    - {units: [y], weights: [[0.5]], weight_names: [[w2]]}
loss: half_squared_error
learning_rate: 0.01
input: [2]
target: 20
expected:
"""


def verdicts(text: str) -> dict[str, str]:
    problem = parse_problem(text)
    return {r.key: r.verdict for r in check_values(problem, solve(problem).values)}


@pytest.mark.parametrize("text,exact,agrees", [
    ("0.824", 0.82491, True),     # truncated to three decimals
    ("0.825", 0.82491, True),     # rounded
    ("0.823", 0.82491, False),     # no carried slack: that is for `consistent`
    ("0.826", 0.82491, False),
    ("0.821", 0.82491, False),
    ("-0.0229", -0.022759, False),  # 1.4 units off: consistent at best
    ("-0.0228", -0.022759, True),   # rounded
    ("-0.0461", -0.045518, False),
    ("162", 162.0, True),
    ("162", 162.004, False),       # integers are judged tightly
    ("0", 1e-31, True),
    ("0", 1e-3, False),
    ("1.5e-3", 0.00152, True),
    ("1.5e-3", 0.00162, False),
])
def test_precision_as_written(text: str, exact: float, agrees: bool) -> None:
    assert Precision.of(text).agrees(float(text), exact) is agrees


def test_tolerance_overrides() -> None:
    assert Precision.of("162", 0.1).agrees(162.0, 162.05)
    assert not Precision.of("0.824", 1e-5).agrees(0.824, 0.82491)


def test_correct_consistent_wrong() -> None:
    # exact: a.y = 2, loss = 162, grad.w2 = -72, new.w2 = 1.22
    result = verdicts(CHAIN + "  a.h: 4\n  a.y: 2.5\n  loss: 153.125\n  grad.w2: -70\n"
                      "  new.w2: 1.200\n  final.a.y: 5\n")
    assert result == {
        "a.h": "correct",
        "a.y": "wrong",          # a slip: 4 · 0.5 is 2
        "loss": "consistent",    # ½(20 − 2.5)² from the author's own ŷ
        "grad.w2": "consistent",  # (2.5 − 20) · 4
        "new.w2": "consistent",  # 0.5 − 0.01 · (−70)
        "final.a.y": "wrong",    # neither 5.3192 nor x·w1'·w2' from the author's numbers
    }


def test_error_carried_forward_through_the_chain() -> None:
    result = verdicts(CHAIN + "  a.y: 2.5\n  grad.a.y: -17.5\n  grad.w2: -70\n"
                      "  grad.w1: -17.5\n  new.w1: 2.175\n")
    assert result["a.y"] == "wrong"
    assert result["grad.a.y"] == "consistent"  # 2.5 − 20
    assert result["grad.w2"] == "consistent"   # −17.5 · h (h = 4, recomputed)
    assert result["grad.w1"] == "consistent"   # −17.5 · x · w2 = −17.5
    assert result["new.w1"] == "consistent"    # 2 − 0.01 · (−17.5)


def test_a_new_slip_after_a_carried_error_is_wrong() -> None:
    result = verdicts(CHAIN + "  a.y: 2.5\n  grad.a.y: -17.5\n  grad.w2: -71\n")
    assert result == {"a.y": "wrong", "grad.a.y": "consistent", "grad.w2": "wrong"}


def test_first_wrong_is_in_computation_order_not_file_order() -> None:
    problem = parse_problem(CHAIN + "  new.w1: 3\n  a.h: 5\n  loss: 162\n")
    results = check_values(problem, solve(problem).values)
    assert [r.key for r in results] == ["a.h", "loss", "new.w1"]
    wrong = first_wrong(results)
    assert wrong is not None and wrong.key == "a.h"


def test_erratum_entries() -> None:
    text = CHAIN + ("  loss: {value: 160, erratum: 162}\n"         # right: wrong value, right fix
                    "  grad.w2: {value: -72, erratum: -72}\n"      # published value is right
                    "  grad.w1: {value: -20, erratum: -19}\n")     # the fix is wrong too
    problem = parse_problem(text)
    results = {r.key: r for r in check_values(problem, solve(problem).values)}
    assert results["loss"].verdict == "erratum"
    assert results["grad.w2"].verdict == "wrong"
    assert "published value is right" in (results["grad.w2"].reason or "")
    assert results["grad.w1"].verdict == "wrong"
    assert "correction is not right" in (results["grad.w1"].reason or "")


def test_seed_001b_without_its_errata_marks() -> None:
    """The tool finds the document's mistakes by itself: the slip, the wrong formula,
    and the values that merely carry them forward."""
    text = (PROBLEMS / "001b_two_layer_relu_sigmoid.yaml").read_text()
    text = re.sub(r":\n    value: (\S+)\n    erratum: \S+\n    note: [^\n]+", r": \1", text)
    problem = parse_problem(text)
    assert all(e.erratum is None for e in problem.expected.values())
    results = check_values(problem, solve(problem).values)
    verdict = {r.key: r.verdict for r in results}
    assert first_wrong(results).key == "grad.v1"  # type: ignore[union-attr]
    assert [k for k, v in verdict.items() if v == "wrong"] == [
        "grad.v1", "grad.a.h1", "grad.a.h2"]
    for key in ("grad.z.h1", "grad.z.h2", "grad.w1", "grad.w2", "grad.w3", "grad.w4",
                "new.v1"):
        assert verdict[key] == "consistent", key
    by_key = {r.key: r for r in results}
    # the wrong formula: from the author's own numbers δ_o·v1 = (−0.176·0.145)·0.4
    assert by_key["grad.a.h1"].recomputed == pytest.approx(-0.176 * 0.145 * 0.4)


@pytest.mark.parametrize("path", seed_files(), ids=lambda p: p.stem)
def test_seed_files_pass_with_their_errata(path) -> None:  # type: ignore[no-untyped-def]
    from backprop_cli.kinds.exercise import load_problem

    problem = load_problem(path)
    results = check_values(problem, solve(problem).values)
    assert results and first_wrong(results) is None


def test_seed_errata_found() -> None:
    from backprop_cli.kinds.exercise import load_problem

    errata = {}
    for path in seed_files():
        problem = load_problem(path)
        for r in check_values(problem, solve(problem).values):
            if r.verdict == "erratum":
                errata[f"{path.stem}:{r.key}"] = r.erratum
    assert errata == {
        "001b_two_layer_relu_sigmoid:grad.v1": -0.04552,
        "001b_two_layer_relu_sigmoid:grad.a.h1": -0.01012,
        "001b_two_layer_relu_sigmoid:grad.a.h2": -0.0177,
        "001b_two_layer_relu_sigmoid:grad.z.h1": -0.01012,
        "001b_two_layer_relu_sigmoid:grad.z.h2": -0.0177,
        "001b_two_layer_relu_sigmoid:grad.w1": -0.01012,
        "001b_two_layer_relu_sigmoid:grad.w2": -0.02023,
        "001b_two_layer_relu_sigmoid:grad.w3": -0.0177,
        "001b_two_layer_relu_sigmoid:grad.w4": -0.0354,
        "001b_two_layer_relu_sigmoid:new.v1": 0.4004552,
        "003a_chain_x_w1_w2:final.loss": 107.76,
        "003c_sigmoid_two_inputs:dadz.y": 0.24779,
        "003c_sigmoid_two_inputs:grad.z.y": -0.11223,
        "003c_sigmoid_two_inputs:grad.w3": -0.04237,
    }


def test_seed_verdicts_and_reasons() -> None:
    """The seeds' values that are not simply correct (issue 14's closing table)."""
    found = {}
    for path in seed_files():
        problem = load_problem(path)
        for r in check_values(problem, solve(problem).values):
            if r.verdict not in ("correct", "erratum"):
                found[f"{path.stem}:{r.key}"] = (r.verdict, r.reason)
    assert found == {
        "001b_two_layer_relu_sigmoid:dadz.o": (
            "consistent", "follows from your rounded a.o = 0.824"),
        "001b_two_layer_relu_sigmoid:loss": (
            "consistent", "follows from your rounded a.o = 0.824"),
        "001b_two_layer_relu_sigmoid:grad.a.o": (
            "consistent", "follows from your rounded a.o = 0.824"),
        "001b_two_layer_relu_sigmoid:grad.v2": (
            "consistent", "follows from your rounded grad.a.o = -0.176 and your rounded "
                          "dadz.o = 0.145"),
        "001b_two_layer_relu_sigmoid:new.v2": (
            "consistent", "follows from your rounded grad.v2 = -0.0229"),
        "003c_sigmoid_two_inputs:z.y": (
            "consistent", "follows from your rounded a.h1 = 0.3775"),
        "003c_sigmoid_two_inputs:grad.w2": (
            "consistent", "follows from your rounded grad.z.h1 = -0.01318"),
    }


def test_a_value_carried_from_a_wrong_one_names_it() -> None:
    problem = parse_problem(CHAIN + "  a.y: 2.5\n  loss: 153.125\n  grad.a.y: 17.5\n")
    by_key = {r.key: r for r in check_values(problem, solve(problem).values)}
    assert by_key["a.y"].reason == "wrong from the start"
    assert by_key["loss"].reason == "follows from your wrong a.y = 2.5 (carried forward)"
    # wrong, and the sign slip named on the author's own numbers (2.5 − 20 = −17.5)
    diagnosis = by_key["grad.a.y"].diagnosis
    assert diagnosis is not None and (diagnosis.code, diagnosis.message) == (
        "sign", "17.5 = −(−17.5): the sign is flipped")


SOFTMAX = """
network:
  inputs: [x]
  layers:
    - {units: [o1, o2], activation: softmax, weights: [[0.428], [0.19]],
       weight_names: [[u1], [u2]]}
loss: cross_entropy
learning_rate: 0.1
input: [1]
target: [1, 0]
expected:
  z.o1: 0.428
  z.o2: 0.185
  a.o1: 0.561
  loss: 0.579
"""


def test_the_issues_softmax_example_is_double_rounding_not_wrong() -> None:
    """A wrong z.o2 = 0.185, then a.o1 = 0.561 (0.56045 from the author's numbers, rounded
    twice) and loss = 0.579 (−ln 0.561 = 0.57803): each follows from what came before."""
    problem = parse_problem(SOFTMAX)
    by_key = {r.key: r for r in check_values(problem, solve(problem).values)}
    assert {k: r.verdict for k, r in by_key.items()} == {
        "z.o1": "correct", "z.o2": "wrong", "a.o1": "consistent", "loss": "consistent"}
    assert by_key["z.o2"].reason == "wrong from the start"
    assert by_key["a.o1"].reason == "follows from your wrong z.o2 = 0.185 (carried forward)"
    assert by_key["loss"].reason == ("follows from your wrong a.o1 = 0.561 and your wrong "
                                     "z.o2 = 0.185 (carried forward)")


@pytest.mark.parametrize("relative,verdict", [(3.7e-10, "correct"), (5e-9, "wrong")])
def test_ten_digits_after_many_updates_are_held_to_1e_9(relative: float, verdict: str) -> None:
    """A spreadsheet's weight after 30 chained updates, written with 10 significant digits:
    float noise of 3.7e-10 relative is no slip; 5e-9 is."""
    path = PROBLEMS / "003d_chain_trained_to_convergence.yaml"
    exact = solve(load_problem(path)).values["final.w1"]
    text = f"{exact * (1 + relative):.10g}"
    assert len(text.replace(".", "")) == 10
    problem = parse_problem(path.read_text().split("expected:")[0]
                            + f"expected:\n  final.w1: {text}\n")
    (result,) = check_values(problem, solve(problem).values)
    assert result.verdict == verdict
