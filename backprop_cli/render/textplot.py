"""Charts drawn with characters: a loss curve and a shaded contour map.

They are plain Unicode text (block and shade characters, no colour, no cursor
movement), so they read the same on a terminal, in a pipe, in a file and in a
CI log. Numbers on the axes use :func:`~backprop_cli.numfmt.format_number`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from backprop_cli.numfmt import format_number
from backprop_cli.records import record

BLOCKS = " ▁▂▃▄▅▆▇█"
SHADES = " ·░▒▓█"  # low to high


def spaced(count: int, wanted: int) -> list[int]:
    """``wanted`` indices of ``range(count)``, evenly spaced, first and last included."""
    if count <= 0:
        return []
    if wanted >= count or count == 1:
        return list(range(count))
    wanted = max(wanted, 2)
    picked = {round(i * (count - 1) / (wanted - 1)) for i in range(wanted)}
    return sorted(picked)


# Values spanning more than this ratio (all of them non-negative) are drawn on a log
# scale: a loss falling 500× shows its whole fall, the same in every chart and sparkline.
LOG_SPAN = 100


def log_scaled(values: Sequence[float]) -> bool:
    """Whether values are best drawn on a log scale: none negative, and the positive
    finite ones spanning more than :data:`LOG_SPAN`."""
    finite = [v for v in values if math.isfinite(v)]
    positive = [v for v in finite if v > 0]
    return (len(positive) > 1 and all(v >= 0 for v in finite)
            and max(positive) > LOG_SPAN * min(positive))


@record(frozen=True)
class Scale:
    """Maps values to [0, 1], linearly or on a log scale."""

    low: float
    high: float
    log: bool

    @classmethod
    def fit(cls, values: Sequence[float], log: bool | None = None) -> Scale:
        finite = [v for v in values if math.isfinite(v)]
        if not finite:
            return cls(0.0, 1.0, False)
        low, high = min(finite), max(finite)
        positive = [v for v in finite if v > 0]
        if log is None:
            # losses fall over many orders of magnitude: a log axis shows all of it
            log = log_scaled(finite)
        if log and positive:
            return cls(min(positive), max(positive), True)
        return cls(low, high, False)

    def __call__(self, value: float) -> float:
        if self.log:
            if value <= self.low:
                return 0.0
            span = math.log10(self.high) - math.log10(self.low)
            return 0.0 if span == 0 else (math.log10(value) - math.log10(self.low)) / span
        span = self.high - self.low
        return 0.5 if span == 0 else (value - self.low) / span


def loss_chart(values: Sequence[float], width: int = 60, height: int = 8, digits: int = 3,
               x_name: str = "updates") -> list[str]:
    """A bar chart of ``values[k]`` against k, one column per (evenly sampled) k."""
    if not values:
        return []
    columns = spaced(len(values), width)
    sampled = [values[i] for i in columns]
    scale = Scale.fit(sampled)
    eighths = height * 8
    heights = []
    for value in sampled:
        if not math.isfinite(value) or (scale.log and value == 0):
            heights.append(0)  # a loss of 0 has no height on a log scale: no bar, not a floor
        else:
            # at least one eighth, so the lowest value is still a visible bar
            heights.append(max(1, round(scale(value) * eighths)))
    top = format_number(scale.high, digits)
    bottom = format_number(scale.low, digits)
    label_width = max(len(top), len(bottom))
    lines = []
    for row in range(height, 0, -1):
        cells = []
        for h in heights:
            filled = h - (row - 1) * 8
            cells.append(BLOCKS[min(max(filled, 0), 8)])
        label = top if row == height else bottom if row == 1 else ""
        lines.append(f"{label.rjust(label_width)} ┤{''.join(cells)}".rstrip())
    lines.append(f"{' ' * label_width} └{'─' * len(heights)}")
    left, right = str(columns[0]), str(columns[-1])
    gap = max(len(heights) - len(left) - len(right) - len(x_name), 2)
    lines.append(f"{' ' * (label_width + 2)}{left}{' ' * (gap // 2)}{x_name}"
                 f"{' ' * (gap - gap // 2)}{right}")
    zero = next((k for k, value in enumerate(values) if value == 0), None)
    if scale.log and zero is not None:
        step = x_name.removesuffix("s")
        lines.append(f"{' ' * (label_width + 2)}(no bar: the loss is 0, first at {step} {zero})")
    return lines


def shaded_map(grid: Sequence[Sequence[float]], marks: Mapping[tuple[int, int], str],
               x_ticks: tuple[float, float], y_ticks: tuple[float, float],
               x_name: str, y_name: str, digits: int = 3) -> list[str]:
    """A contour map: ``grid[row][col]`` shaded by level (row 0 at the top), ``marks`` on top.

    The levels are evenly spaced on a log scale when the values span orders of
    magnitude (a loss valley), else linearly; a legend gives their bounds.
    """
    flat = [v for row in grid for v in row]
    scale = Scale.fit(flat)
    levels = len(SHADES)
    lines = []
    rows = len(grid)
    top, bottom = format_number(y_ticks[1], digits), format_number(y_ticks[0], digits)
    label_width = max(len(top), len(bottom), len(y_name))
    for r, row in enumerate(grid):
        cells = []
        for c, value in enumerate(row):
            if (r, c) in marks:
                cells.append(marks[(r, c)])
            elif not math.isfinite(value):
                cells.append("?")
            else:
                cells.append(SHADES[min(int(scale(value) * levels), levels - 1)])
        label = top if r == 0 else bottom if r == rows - 1 else y_name if r == rows // 2 else ""
        lines.append(f"{label.rjust(label_width)} │{''.join(cells)}")
    cols = len(grid[0]) if grid else 0
    lines.append(f"{' ' * label_width} └{'─' * cols}")
    left, right = format_number(x_ticks[0], digits), format_number(x_ticks[1], digits)
    middle = x_name
    gap = max(cols - len(left) - len(right) - len(middle), 2)
    lines.append(f"{' ' * (label_width + 2)}{left}{' ' * (gap // 2)}{middle}"
                 f"{' ' * (gap - gap // 2)}{right}")
    bounds = []
    for k in range(levels):
        low = _level_value(scale, k / levels)
        bounds.append(f"{SHADES[k] if SHADES[k] != ' ' else '(blank)'} ≥ "
                      f"{format_number(low, digits)}")
    lines.append("levels: " + ", ".join(bounds) + (" (log scale)" if scale.log else ""))
    return lines


def _level_value(scale: Scale, fraction: float) -> float:
    if scale.log:
        return float(10 ** (math.log10(scale.low)
                            + fraction * (math.log10(scale.high) - math.log10(scale.low))))
    return scale.low + fraction * (scale.high - scale.low)
