"""The verdict rule at its boundaries (issue 14): correct, consistent, wrong, imprecise."""

from __future__ import annotations

import math

import pytest

from backprop_cli.checking.verdicts import Operand, Precision, correct_at_once, judge
from backprop_cli.expr import Call, Const, Neg, Power, Ref, mul


def verdict(text: str, exact: float, tolerance: float | None = None,
            min_digits: int | None = None) -> str:
    return judge("k", float(text), Precision.of(text, tolerance), exact,
                 min_digits=min_digits).verdict


# ------------------------------------------------------------------ correct


@pytest.mark.parametrize("text,exact,expected", [
    ("0.824", 0.82351, "correct"),    # half a unit in (0.00049 away)
    ("0.824", 0.82349, "wrong"),      # half a unit out, and not a truncation (too big)
    ("0.824", 0.82499, "correct"),    # truncated: same sign, short by less than a unit
    ("0.824", 0.8251, "wrong"),       # short by more than a unit
    ("-0.176", -0.17609, "correct"),  # truncation of a negative value
    ("-0.176", -0.17509, "wrong"),    # 0.00091 too big: not a truncation
    ("0.826", 0.82491, "wrong"),      # no carried slack any more (issue 14)
    ("0.827", 0.82491, "wrong"),
    ("162", 162.0, "correct"),        # integers: tight
    ("162", 162.004, "wrong"),
    ("162", 162 + 1e-8, "correct"),
    ("0", 1e-31, "correct"),
    ("1.5e-3", 0.00152, "correct"),
    ("1.5e-3", 0.00156, "correct"),   # truncated
    ("1.5e-3", 0.00162, "wrong"),
])
def test_correct_is_rounding_or_truncation(text: str, exact: float, expected: str) -> None:
    assert verdict(text, exact) == expected


def test_many_digits_are_held_to_1e_9_relative() -> None:
    # a spreadsheet's value after 100 chained updates, 10 significant digits
    written = "1234567.891"
    assert Precision.of(written).digits == 10
    assert verdict(written, 1234567.891 + 0.0009) == "correct"   # 7.3e-10 relative
    assert verdict(written, 1234567.891 + 0.0013) == "wrong"     # 1.05e-9 relative
    # 9 digits: half a unit as usual
    assert verdict("1234567.89", 1234567.89 + 0.0049) == "correct"
    assert verdict("1234567.89", 1234567.89 - 0.0051) == "wrong"
    # the case: 3.7e-10 relative on a 10-digit prediction
    assert verdict("0.8249137511", 0.8249137511 * (1 + 3.7e-10)) == "correct"


def test_tolerance_overrides_both_rules() -> None:
    assert verdict("162", 162.05, tolerance=0.1) == "correct"
    assert verdict("0.824", 0.82491, tolerance=1e-5) == "wrong"


def test_correct_at_once_agrees_with_judge() -> None:
    for text, exact in [("0.824", 0.82491), ("0.826", 0.82491), ("0.82", 0.8249),
                        ("0.8", 0.8), ("1.8", 1.80004)]:
        for digits in (None, 3):
            quick = correct_at_once(float(text), Precision.of(text), exact, digits)
            assert quick == (verdict(text, exact, min_digits=digits) == "correct")


# --------------------------------------------------------------- consistent


def softmax_first(z1: str, z2: str) -> dict[str, Operand]:
    return {"z.o1": Operand("z.o1", float(z1), 0.428, Precision.of(z1), z1),
            "z.o2": Operand("z.o2", float(z2), 0.19, Precision.of(z2), z2)}


SOFTMAX = Call("softmax", (Ref("z.o1"), Ref("z.o2")))
EXACT_A = 1 / (1 + math.exp(0.19 - 0.428))  # 0.55922


def test_double_rounding_is_consistent() -> None:
    """The issue's softmax example: a wrong z.o2 = 0.185, then a.o1 = 0.561 (0.56045 from
    the author's own numbers, rounded twice) and loss = 0.579 (−ln 0.561 = 0.57803)."""
    operands = softmax_first("0.428", "0.185")
    result = judge("a.o1", 0.561, Precision.of("0.561"), EXACT_A, SOFTMAX, operands)
    assert result.verdict == "consistent"
    assert result.recomputed == pytest.approx(0.56045, abs=1e-5)
    assert result.reason == "follows from your wrong z.o2 = 0.185 (carried forward)"
    assert result.basis == "wrong"
    # one unit and a half out (the wrong z.o2's rounding moves it only 0.00012)
    assert judge("a.o1", 0.562, Precision.of("0.562"), EXACT_A, SOFTMAX,
                 operands).verdict == "wrong"
    loss = Neg(Call("log", (Ref("a.o1"),)))
    a_o1 = {"a.o1": Operand("a.o1", 0.561, EXACT_A, Precision.of("0.561"), "0.561",
                            judged="wrong")}
    result = judge("loss", 0.579, Precision.of("0.579"), -math.log(EXACT_A), loss, a_o1)
    assert result.verdict == "consistent"


def test_rounded_twice_from_the_exact_value() -> None:
    # exact operands: within one unit of the exact value is consistent, not correct
    z = {"z": Operand("z", 0.5, 0.5, Precision.of("0.5"), "0.5")}
    exact = 0.5 * 1.12090  # 0.56045
    result = judge("a", 0.561, Precision.of("0.561"), exact, mul(Const(1.1209), Ref("z")), z)
    assert result.verdict == "consistent"
    assert result.reason == "rounded twice from 0.56045"


def test_rounded_operands_propagate_and_exact_ones_do_not() -> None:
    formula = mul(Const(100.0), Ref("a"))
    rounded = {"a": Operand("a", 0.824, 0.82491, Precision.of("0.824"), "0.824")}
    # 82.43 is 0.03 from 100·0.824: one unit (0.01) plus 100 × 0.0005 (a's rounding)
    result = judge("f", 82.43, Precision.of("82.43"), 82.491, formula, rounded)
    assert result.verdict == "consistent"
    assert result.reason == "follows from your rounded a = 0.824"
    assert judge("f", 82.47, Precision.of("82.47"), 82.491, formula,
                 rounded).verdict == "wrong"  # 0.07 > 0.06
    exact = {"a": Operand("a", 0.824, 0.824, Precision.of("0.824"), "0.824")}
    assert judge("f", 82.43, Precision.of("82.43"), 82.4, formula,
                 exact).verdict == "wrong"  # written exactly: adds nothing
    assert judge("f", 82.41, Precision.of("82.41"), 82.4, formula,
                 exact).verdict == "consistent"  # one unit: rounded twice


def test_recomputed_operands_add_nothing() -> None:
    formula = mul(Const(100.0), Ref("a"))
    recomputed = {"a": Operand("a", 0.824, 0.82491)}
    assert judge("f", 82.43, Precision.of("82.43"), 82.491, formula,
                 recomputed).verdict == "wrong"


def test_the_reason_names_the_earlier_value_and_whether_rounded_or_wrong() -> None:
    formula = mul(Const(2.0), Ref("a.o"))
    wrong = {"a.o": Operand("a.o", 0.48, 0.47, Precision.of("0.48"), "0.48")}
    result = judge("x", 0.96, Precision.of("0.96"), 0.94, formula, wrong)
    assert (result.verdict, result.reason) == (
        "consistent", "follows from your wrong a.o = 0.48 (carried forward)")
    rounded = {"a.o": Operand("a.o", 0.824, 0.82491, Precision.of("0.824"), "0.824")}
    result = judge("x", 1.648, Precision.of("1.648"), 1.64982, formula, rounded)
    assert (result.verdict, result.reason) == (
        "consistent", "follows from your rounded a.o = 0.824")
    result = judge("x", 1.7, Precision.of("1.70"), 1.64982, formula, rounded)
    assert result.verdict == "wrong"
    assert result.reason == ("wrong even from your own earlier values (they give 1.648), "
                             "which include your rounded a.o = 0.824")
    exact = {"a.o": Operand("a.o", 0.5, 0.5, Precision.of("0.5"), "0.5")}
    assert judge("x", 1.2, Precision.of("1.2"), 1.0, formula,
                 exact).reason == "wrong from the start"


# ---------------------------------------------------------------- imprecise


@pytest.mark.parametrize("text,exact,expected", [
    ("0.8", 0.8, "correct"),        # exactly the value: never imprecise
    ("1.8", 1.80004, "correct"),    # right to 3 digits anyway
    ("0.82", 0.8249, "imprecise"),  # right only at its own 2 digits
    ("0.83", 0.8249, "wrong"),      # wrong even at 2 digits
    ("0.825", 0.8249, "correct"),
    ("0", 0.0, "correct"),
    ("1e-3", 0.00104, "imprecise"),
])
def test_min_digits(text: str, exact: float, expected: str) -> None:
    assert verdict(text, exact, min_digits=3) == expected
    assert verdict(text, exact) == ("correct" if expected == "imprecise" else expected)


def test_imprecise_also_for_a_consistent_value() -> None:
    formula = mul(Const(2.0), Ref("a"))
    wrong = {"a": Operand("a", 0.4, 0.5, Precision.of("0.400"), "0.400")}
    assert judge("x", 0.8, Precision.of("0.8"), 1.0, formula, wrong,
                 min_digits=3).verdict == "consistent"  # 2·0.4, right to 3 digits
    result = judge("x", 0.81, Precision.of("0.81"), 1.0, formula, wrong, min_digits=3)
    assert result.verdict == "imprecise"
    assert result.reason == "0.81 has fewer than 3 significant digits: write at least 3"


def test_a_step_that_overflows_is_judged_without_it() -> None:
    cube = Power(Ref("a"), 3)
    operands = {"a": Operand("a", 1e200, 2.0, Precision.of("1e200"), "1e200")}
    result = judge("b", 9.0, Precision.of("9"), 8.0, cube, operands)
    assert (result.verdict, result.reason, result.recomputed) == ("wrong", "wrong", None)
