"""Properties of the rule: what a person writes by rounding or truncating is never wrong."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from backprop_cli.checking.verdicts import Operand, Precision, judge
from backprop_cli.expr import Const, Ref, mul

values = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False) | st.floats(
    min_value=-1e4, max_value=-1e-3, allow_nan=False)


def written(value: float, decimals: int, rounding: str = ROUND_HALF_UP) -> str:
    return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=rounding))


def verdict(text: str, exact: float) -> str:
    return judge("k", float(text), Precision.of(text), exact).verdict


@given(values, st.integers(1, 12))
def test_rounded_or_truncated_is_correct(exact: float, decimals: int) -> None:
    # a value within 1e-9 units of a decimal boundary is taken as on it (as rounding.py
    # rounds): 1.999999999998 is 2, whose truncation is 2.0, not 1.9
    scaled = Decimal(repr(exact)).scaleb(decimals)
    assume(abs(scaled - scaled.to_integral_value()) > Decimal("1e-6"))
    for rounding in (ROUND_HALF_UP, ROUND_DOWN):
        text = written(exact, decimals, rounding)
        assume(float(text) != 0)
        assert verdict(text, exact) == "correct", text


@given(values, st.integers(1, 4), st.sampled_from([-2, 2]))
def test_two_units_off_is_wrong(exact: float, decimals: int, units: int) -> None:
    # 1.5 to 2.5 units from the exact value, below 10 significant digits
    text = str(Decimal(written(exact, decimals)) + Decimal(units).scaleb(-decimals))
    assume(float(text) != 0 and Precision.of(text).digits < 10)
    assert verdict(text, exact) == "wrong", text


@given(values, st.integers(1, 4), st.floats(0.5, 3.0), st.integers(1, 5))
def test_the_authors_own_rounded_step_is_never_wrong(exact: float, decimals: int,
                                                      factor: float, shown: int) -> None:
    """A value computed from the author's rounded operand, then rounded (once or twice),
    is correct or consistent."""
    operand_text = written(exact, decimals)
    a = Operand("a", float(operand_text), exact, Precision.of(operand_text), operand_text)
    formula = mul(Const(factor), Ref("a"))
    step = factor * float(operand_text)
    for text in (written(step, shown), written(float(written(step, shown + 1)), shown)):
        assume(float(text) != 0)
        result = judge("b", float(text), Precision.of(text), factor * exact, formula, {"a": a})
        assert result.verdict in ("correct", "consistent"), (text, result)
