"""One rule for charts, whichever command draws them (solve's sparkline, train's and
surface's charts): the log scale and the evenly spaced rows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backprop_cli.render.plain import sparkline
from backprop_cli.render.textplot import LOG_SPAN, Scale, log_scaled, spaced


def test_a_loss_falling_500_times_is_log_scaled_everywhere() -> None:
    losses = [0.5 * 0.002 ** (k / 9) for k in range(10)]  # 0.5 down to 0.001: 500×
    assert round(losses[0] / losses[-1]) == 500
    assert log_scaled(losses)
    assert Scale.fit(losses).log  # train's and surface's charts
    linear = [1.0, 0.5, 0.2]
    assert not log_scaled(linear) and not Scale.fit(linear).log


def test_log_scale_boundary_and_signs() -> None:
    assert not log_scaled([LOG_SPAN, 1.0])  # exactly the span: linear
    assert log_scaled([LOG_SPAN * 1.01, 1.0])
    assert not log_scaled([1000.0, -1.0, 1.0])  # a negative value: never log
    assert log_scaled([1000.0, 0.0, 1.0])  # zeros allowed (a loss that reaches 0)
    assert not log_scaled([5.0])


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1))
def test_the_chart_scale_follows_the_rule(values: list[float]) -> None:
    assert Scale.fit(values).log == log_scaled(values)


@given(st.integers(0, 500), st.integers(2, 60))
def test_spaced_rows_include_first_and_last(count: int, wanted: int) -> None:
    rows = spaced(count, wanted)
    assert rows == sorted(set(rows))
    assert len(rows) == min(count, wanted) or count <= wanted
    if count:
        assert rows[0] == 0 and rows[-1] == count - 1


def test_sparkline_draws_the_same_data_on_the_same_scale() -> None:
    losses = [10.0 ** -k for k in range(6)]
    assert log_scaled(losses)
    line = sparkline(losses, 6, ascii_only=False)
    assert len(line) == 6 and line[0] != line[-1]


def test_sparkline_of_subnormal_or_overflowed_values_draws_without_error() -> None:
    """Found by hypothesis: a loss of 7.6e-156 squared is subnormal; its span made the
    scale factor infinite (round(inf) raised)."""
    assert len(sparkline([5e-310, 0.0, 2e-310], 3, ascii_only=False)) == 3
    assert len(sparkline([1e308, -1e308, 0.0], 3, ascii_only=True)) == 3
    assert len(sparkline([float("inf"), 1.0, float("nan")], 3, ascii_only=False)) == 3
