"""Gradient check: every analytic gradient against a central finite difference.

For each parameter p the backward pass gives ∂L/∂p; the central difference

    (L(p + h) − L(p − h)) / (2h),   h = step · max(1, |p|)

measures the same slope from two forward passes (error O(h²), no backward
pass involved). They agree when

    |analytic − numerical| ≤ tolerance · max(|analytic|, |numerical|) + noise

where noise = 10·ε·max(|L|, 1)/h bounds the rounding error of subtracting two
nearly equal losses in float64 (ε = 2.2e-16; at least ε/h, since the values
inside the network are of order 1 even where the loss is 0), so a gradient
that is 0 up to rounding is not failed for noise.

A ReLU-like unit whose pre-activation z changes sign between p − h and p + h
puts a kink between the two points: the difference quotient then averages two
slopes and cannot be compared. Such parameters get the verdict ``kink``, not a
failure (ReLU'(0) is 0 by convention, so z = 0 exactly is always a kink).

Value keys: ``grad.<p>`` (analytic), ``numgrad.<p>``, ``abs_error.<p>``,
``rel_error.<p>``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from backprop_cli.engine.paramspace import Point, exact
from backprop_cli.model.keys import value_key
from backprop_cli.model.problem import Problem
from backprop_cli.numfmt import format_number
from backprop_cli.render.jsonout import finite_only

DEFAULT_STEP = 1e-6
DEFAULT_TOLERANCE = 1e-5
EPSILON = float(np.finfo(np.float64).eps)


@dataclass
class ParameterCheck:
    name: str
    value: float
    analytic: float
    numerical: float
    h: float
    verdict: str  # ok | fail | kink
    noise: float = 0.0  # differences below this are rounding, not error

    @property
    def zero(self) -> bool:
        """Both gradients are 0 up to rounding: a relative error means nothing."""
        return max(abs(self.analytic), abs(self.numerical)) <= self.noise

    @property
    def abs_error(self) -> float:
        return abs(self.analytic - self.numerical)

    @property
    def rel_error(self) -> float:
        scale = max(abs(self.analytic), abs(self.numerical))
        return 0.0 if scale == 0 else self.abs_error / scale


@dataclass
class GradCheck:
    problem: Problem
    step: float
    tolerance: float
    loss: float
    checks: list[ParameterCheck] = field(default_factory=list)

    @property
    def failed(self) -> list[ParameterCheck]:
        return [c for c in self.checks if c.verdict == "fail"]

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def largest_rel_error(self) -> float:
        compared = [c.rel_error for c in self.checks if c.verdict != "kink" and not c.zero]
        return max(compared, default=0.0)

    def values(self) -> dict[str, float]:
        """The value keys of the check, parameter by parameter."""
        values: dict[str, float] = {}
        for c in self.checks:
            values[value_key("grad", c.name)] = c.analytic
            values[f"numgrad.{c.name}"] = c.numerical
            values[f"abs_error.{c.name}"] = c.abs_error
            values[f"rel_error.{c.name}"] = c.rel_error
        return values


def _nonsmooth_layers(problem: Problem) -> list[int]:
    """Layers whose activation has a kink at z = 0."""
    kinked = []
    for li, layer in enumerate(problem.layers):
        if layer.activation.kinked:
            kinked.append(li)
    return kinked


def check_gradients(problem: Problem, step: float = DEFAULT_STEP,
                    tolerance: float = DEFAULT_TOLERANCE) -> GradCheck:
    """Compare ∂L/∂p with the central difference for every parameter of ``problem``."""
    problem = exact(problem)
    point = Point(problem)
    loss, analytic = point.gradients()
    kinked = _nonsmooth_layers(problem)
    result = GradCheck(problem, step, tolerance, loss)
    for name in problem.parameters:
        value = point.get(name)
        h = step * max(1.0, abs(value))
        point.set(name, value + h)
        plus = point.forward()
        point.set(name, value - h)
        minus = point.forward()
        point.set(name, value)
        numerical = (plus.loss - minus.loss) / (2.0 * h)
        crossed = any(np.any((plus.z[li] > 0) != (minus.z[li] > 0)) for li in kinked)
        a = analytic[name]
        noise = 10.0 * EPSILON * max(abs(plus.loss), abs(minus.loss), 1.0) / h
        if crossed:
            verdict = "kink"
        elif not (math.isfinite(a) and math.isfinite(numerical)):
            verdict = "fail"
        elif abs(a - numerical) <= tolerance * max(abs(a), abs(numerical)) + noise:
            verdict = "ok"
        else:
            verdict = "fail"
        result.checks.append(ParameterCheck(name, value, a, numerical, h, verdict, noise))
    return result

def json_document(result: GradCheck, path: str) -> dict[str, object]:
    """JSON: every parameter's two gradients and their errors (null for what is not
    finite: JSON has no NaN or Infinity)."""
    return finite_only({
        "file": path,
        "title": result.problem.title,
        "step": result.step,
        "tolerance": result.tolerance,
        "passed": result.passed,
        "loss": result.loss,
        "parameters": [{"name": c.name, "value": c.value, "analytic": c.analytic,
                        "numerical": c.numerical, "h": c.h,
                        "abs_error": c.abs_error, "rel_error": c.rel_error,
                        "verdict": c.verdict} for c in result.checks],
        "values": dict(result.values()),
    })


def report_lines(result: GradCheck) -> list[str]:
    """The text report: a row per parameter, then the verdict."""
    lines = [result.problem.title,
             f"central differences, h = {result.step:g}·max(1, |p|); a gradient passes when "
             f"the relative error is at most {result.tolerance:g}", ""]
    header = ("parameter", "value", "analytic ∂L/∂p", "numerical", "abs error", "rel error", "")
    rows = [header]
    for c in result.checks:
        mark = {"ok": "ok", "fail": "FAIL", "kink": "kink"}[c.verdict]
        relative = "(both 0)" if c.zero else f"{c.rel_error:.1e}"
        rows.append((c.name, format_number(c.value, 6), format_number(c.analytic, 10),
                     format_number(c.numerical, 10), f"{c.abs_error:.1e}", relative, mark))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                          strict=True)).rstrip())
    lines.append("")
    kinks = [c.name for c in result.checks if c.verdict == "kink"]
    if kinks:
        lines.append(f"kink: a ReLU unit crosses 0 between p − h and p + h for "
                     f"{', '.join(kinks)}; the difference quotient averages two slopes there "
                     "and is not compared")
    if result.failed:
        lines.append(f"{len(result.failed)} of {len(result.checks)} gradients disagree: "
                     f"{', '.join(c.name for c in result.failed)}")
    else:
        compared = len(result.checks) - len(kinks)
        if all(c.zero for c in result.checks if c.verdict != "kink"):
            lines.append(f"all {compared} compared gradients are 0 up to rounding (the "
                         "parameters are at a stationary point of the loss)")
        else:
            lines.append(f"all {compared} compared gradients agree (largest relative error "
                         f"{result.largest_rel_error:.1e})")
    return lines
