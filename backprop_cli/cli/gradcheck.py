"""`backprop gradcheck FILE`: every analytic gradient against a central finite difference."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from backprop_cli.cli.common import format_option, load, user_errors, write_output

if TYPE_CHECKING:
    from backprop_cli.app.gradcheck import GradCheck



@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--step", "-s", "step", type=click.FloatRange(min=0, min_open=True),
              default=1e-6, show_default=True,
              help="Finite-difference step h, scaled by max(1, |p|) for each parameter p.")
@click.option("--tolerance", type=click.FloatRange(min=0, min_open=True), default=1e-5,
              show_default=True, help="Largest relative error that passes.")
@format_option("report", "plain",
               "Output format.")
def gradcheck(file: str, step: float, tolerance: float, fmt: str) -> None:
    """Check every gradient of FILE: ∂L/∂p from backpropagation against the central
    difference (L(p + h) − L(p − h)) / 2h, with absolute and relative errors.

    A parameter fails when the two differ by more than the tolerance (relative)
    plus the rounding noise of the difference. A ReLU unit crossing 0 between
    p − h and p + h is a kink, reported but not failed. Exit status 1 when any
    parameter fails.

    \b
    Examples:
      backprop gradcheck problems/003c_sigmoid_two_inputs.yaml
      backprop gradcheck problem.yaml --step 1e-5 --tolerance 1e-7
      backprop gradcheck problem.yaml --format json
    """
    from backprop_cli.app.gradcheck import check_gradients

    problem = load(file)
    with user_errors(file):
        result = check_gradients(problem, step, tolerance)
    if fmt == "json":
        from backprop_cli.render.jsonout import dumps

        write_output(dumps(_document(result, file)), None)
    else:
        write_output("\n".join(_lines(result)), None)
    if not result.passed:
        sys.exit(1)


def _finite(value: float) -> float | None:
    import math

    return value if math.isfinite(value) else None


def _document(result: GradCheck, path: str) -> dict[str, object]:
    return {
        "file": path,
        "title": result.problem.title,
        "step": result.step,
        "tolerance": result.tolerance,
        "passed": result.passed,
        "loss": _finite(result.loss),
        "parameters": [{"name": c.name, "value": c.value, "analytic": _finite(c.analytic),
                        "numerical": _finite(c.numerical), "h": c.h,
                        "abs_error": _finite(c.abs_error), "rel_error": _finite(c.rel_error),
                        "verdict": c.verdict} for c in result.checks],
        "values": {k: _finite(v) for k, v in result.values().items()},
    }


def _lines(result: GradCheck) -> list[str]:
    from backprop_cli.numfmt import format_number

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
