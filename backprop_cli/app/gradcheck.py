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
failure (ReLU'(0) is 0 by convention, so z = 0 exactly is always a kink). In a
layered network (conv, pooling, dropout, rnn: :mod:`backprop_cli.engine.layered_loss`)
so is a max-pooling window whose winner changes between the two points. Its
parameters are its elements' keys (``K[1,1,2,2]``, ``c[1]``, ``w``); a network of more
than :data:`MAX_ROWS` of them gets a table per tensor in the text report, with a row
for each failure (JSON has every one).

Value keys: ``grad.<p>`` (analytic), ``numgrad.<p>``, ``abs_error.<p>``,
``rel_error.<p>``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import numpy as np

from backprop_cli.engine.layered_loss import ACTIVATION_KINK, POOLING_KINK, LayeredLoss
from backprop_cli.engine.paramspace import Point, exact
from backprop_cli.engine.passes import Pass
from backprop_cli.model.keys import value_key
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.model.problem import Problem
from backprop_cli.numfmt import format_number
from backprop_cli.render.jsonout import finite_only

DEFAULT_STEP = 1e-6
DEFAULT_TOLERANCE = 1e-5
EPSILON = float(np.finfo(np.float64).eps)
MAX_ROWS = 60  # a layered network's text report: past this, a table per tensor
MAX_NAMED = 12  # parameters named in one of its sentences


@dataclass
class ParameterCheck:
    name: str
    value: float
    analytic: float
    numerical: float
    h: float
    verdict: str  # ok | fail | kink
    noise: float = 0.0  # differences below this are rounding, not error
    kinks: tuple[str, ...] = ()  # with verdict kink: ACTIVATION_KINK, POOLING_KINK

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
    problem: Problem | LayeredProblem
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


class _HasLoss(Protocol):
    @property
    def loss(self) -> float: ...


PassT = TypeVar("PassT", bound=_HasLoss)
PassT_co = TypeVar("PassT_co", bound=_HasLoss, covariant=True)


class _Movable(Protocol[PassT_co]):
    """Parameters moved by name, and a forward pass where they are (paramspace.Point,
    layered_loss.LayeredLoss)."""

    def get(self, name: str) -> float: ...

    def set(self, name: str, value: float) -> None: ...

    def forward(self) -> PassT_co: ...


def check_gradients(problem: Problem | LayeredProblem, step: float = DEFAULT_STEP,
                    tolerance: float = DEFAULT_TOLERANCE) -> GradCheck:
    """Compare ∂L/∂p with the central difference for every parameter of ``problem``."""
    if isinstance(problem, LayeredProblem):
        layered = LayeredLoss(problem)
        loss, analytic = layered.gradients()
        result = GradCheck(problem, step, tolerance, loss)
        _compare(result, layered, analytic, layered.kinks_between)
        return result
    problem = exact(problem)
    point = Point(problem)
    loss, analytic = point.gradients()
    kinked = _nonsmooth_layers(problem)
    result = GradCheck(problem, step, tolerance, loss)

    def crossed(plus: Pass, minus: Pass) -> list[str]:
        if any(np.any((plus.z[li] > 0) != (minus.z[li] > 0)) for li in kinked):
            return [ACTIVATION_KINK]
        return []

    _compare(result, point, analytic, crossed)
    return result


def _compare(result: GradCheck, point: _Movable[PassT], analytic: dict[str, float],
             kinks_between: Callable[[PassT, PassT], list[str]]) -> None:
    """Each parameter's analytic gradient against its central difference, in order."""
    step, tolerance = result.step, result.tolerance
    for name, a in analytic.items():
        value = point.get(name)
        h = step * max(1.0, abs(value))
        point.set(name, value + h)
        plus = point.forward()
        point.set(name, value - h)
        minus = point.forward()
        point.set(name, value)
        numerical = (plus.loss - minus.loss) / (2.0 * h)
        kinks = kinks_between(plus, minus)
        noise = 10.0 * EPSILON * max(abs(plus.loss), abs(minus.loss), 1.0) / h
        if kinks:
            verdict = "kink"
        elif not (math.isfinite(a) and math.isfinite(numerical)):
            verdict = "fail"
        elif abs(a - numerical) <= tolerance * max(abs(a), abs(numerical)) + noise:
            verdict = "ok"
        else:
            verdict = "fail"
        result.checks.append(ParameterCheck(name, value, a, numerical, h, verdict, noise,
                                            tuple(kinks)))

def json_document(result: GradCheck, path: str) -> dict[str, object]:
    """JSON: every parameter's two gradients and their errors (null for what is not
    finite: JSON has no NaN or Infinity); a layered network's kinks say what they are."""
    layered = isinstance(result.problem, LayeredProblem)
    parameters: list[dict[str, object]] = []
    for c in result.checks:
        entry: dict[str, object] = {
            "name": c.name, "value": c.value, "analytic": c.analytic,
            "numerical": c.numerical, "h": c.h, "abs_error": c.abs_error,
            "rel_error": c.rel_error, "verdict": c.verdict}
        if layered and c.kinks:
            entry["kinks"] = list(c.kinks)
        parameters.append(entry)
    return finite_only({
        "file": path,
        "title": result.problem.title,
        "step": result.step,
        "tolerance": result.tolerance,
        "passed": result.passed,
        "loss": result.loss,
        "parameters": parameters,
        "values": dict(result.values()),
    })


def report_lines(result: GradCheck) -> list[str]:
    """The text report: a row per parameter (a layered network of more than
    :data:`MAX_ROWS`: a row per tensor, then one per failure), then the verdict."""
    layered = isinstance(result.problem, LayeredProblem)
    lines = [result.problem.title,
             f"central differences, h = {result.step:g}·max(1, |p|); a gradient passes when "
             f"the relative error is at most {result.tolerance:g}", ""]
    if layered and len(result.checks) > MAX_ROWS:
        assert isinstance(result.problem, LayeredProblem)
        lines += _table(_tensor_rows(result, result.problem))
        if result.failed:
            lines += ["", "failed:"]
            lines += _table(_element_rows(result.failed[:MAX_ROWS]))
            if len(result.failed) > MAX_ROWS:
                lines.append(f"and {len(result.failed) - MAX_ROWS} more (--format json "
                             "lists every one)")
    else:
        lines += _table(_element_rows(result.checks))
    lines.append("")
    limit = MAX_NAMED if layered else None
    kinks = [c for c in result.checks if c.verdict == "kink"]
    activation = [c.name for c in kinks if ACTIVATION_KINK in c.kinks]
    pooling = [c.name for c in kinks if POOLING_KINK in c.kinks]
    if activation:
        lines.append(f"kink: a ReLU unit crosses 0 between p − h and p + h for "
                     f"{_names(activation, limit)}; the difference quotient averages two "
                     "slopes there and is not compared")
    if pooling:
        lines.append(f"kink: a max-pooling window's winner changes between p − h and p + h "
                     f"for {_names(pooling, limit)}; the difference quotient averages two "
                     "slopes there and is not compared")
    if result.failed:
        lines.append(f"{len(result.failed)} of {len(result.checks)} gradients disagree: "
                     f"{_names([c.name for c in result.failed], limit)}")
    else:
        compared = len(result.checks) - len(kinks)
        if all(c.zero for c in result.checks if c.verdict != "kink"):
            lines.append(f"all {compared} compared gradients are 0 up to rounding (the "
                         "parameters are at a stationary point of the loss)")
        else:
            lines.append(f"all {compared} compared gradients agree (largest relative error "
                         f"{result.largest_rel_error:.1e})")
    return lines


_MARKS = {"ok": "ok", "fail": "FAIL", "kink": "kink"}


def _element_rows(checks: list[ParameterCheck]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [
        ("parameter", "value", "analytic ∂L/∂p", "numerical", "abs error", "rel error", "")]
    for c in checks:
        relative = "(both 0)" if c.zero else f"{c.rel_error:.1e}"
        rows.append((c.name, format_number(c.value, 6), format_number(c.analytic, 10),
                     format_number(c.numerical, 10), f"{c.abs_error:.1e}", relative,
                     _MARKS[c.verdict]))
    return rows


def _tensor_rows(result: GradCheck, problem: LayeredProblem) -> list[tuple[str, ...]]:
    """A row per parameter tensor: its elements, how many pass, kink and fail."""
    rows: list[tuple[str, ...]] = [
        ("parameters", "elements", "ok", "kink", "fail", "largest rel error")]
    checks = iter(result.checks)
    for _, param in problem.parameters():
        keys = param.element_keys()
        mine = [next(checks) for _ in keys]
        compared = [c.rel_error for c in mine if c.verdict != "kink" and not c.zero]
        counts = {verdict: sum(c.verdict == verdict for c in mine)
                  for verdict in ("ok", "kink", "fail")}
        rows.append((keys[0] if len(keys) == 1 else f"{keys[0]} … {keys[-1]}", str(len(keys)),
                     str(counts["ok"]), str(counts["kink"]), str(counts["fail"]),
                     f"{max(compared):.1e}" if compared else "(all 0)"))
    return rows


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    """Columns left-aligned, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                      ).rstrip() for row in rows]


def _names(names: list[str], limit: int | None) -> str:
    """``a, b, c``; past ``limit``, the first ones and how many more."""
    if limit is None or len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"
