"""`backprop gradcheck FILE`: every analytic gradient against a central finite difference."""

from __future__ import annotations

import sys

import click

from backprop_cli.cli.common import (
    FiniteRange,
    format_option,
    load_network,
    user_errors,
    write_output,
)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--step", "-s", "step", type=FiniteRange(min=0, min_open=True),
              default=1e-6, show_default=True,
              help="Finite-difference step h, scaled by max(1, |p|) for each parameter p.")
@click.option("--tolerance", type=FiniteRange(min=0, min_open=True), default=1e-5,
              show_default=True, help="Largest relative error that passes.")
@format_option("report", "plain",
               "Output format.")
def gradcheck(file: str, step: float, tolerance: float, fmt: str) -> None:
    """Check every gradient of FILE: ∂L/∂p from backpropagation against the central
    difference (L(p + h) − L(p − h)) / 2h, with absolute and relative errors.

    A parameter fails when the two differ by more than the tolerance (relative)
    plus the rounding noise of the difference. A ReLU unit crossing 0 between
    p − h and p + h is a kink, reported but not failed; so is a max-pooling
    window whose winner changes. Exit status 1 when any parameter fails.

    A layered network (conv, pooling, dropout, rnn) is checked element by
    element (K[1,1,2,2], c[1], w); past 60 elements the text report has a row
    per tensor and one per failure (--format json: every element).

    \b
    Examples:
      backprop gradcheck problems/003c_sigmoid_two_inputs.yaml
      backprop gradcheck problems/030_conv_pool_dropout.yaml
      backprop gradcheck problem.yaml --step 1e-5 --tolerance 1e-7
      backprop gradcheck problem.yaml --format json
    """
    from backprop_cli.app.gradcheck import check_gradients, json_document, report_lines

    problem = load_network(file, records_values=False)
    with user_errors(file):
        result = check_gradients(problem, step, tolerance)
    if fmt == "json":
        from backprop_cli.render.jsonout import dumps

        write_output(dumps(json_document(result, file)), None)
    else:
        write_output("\n".join(report_lines(result)), None)
    if not result.passed:
        sys.exit(1)
