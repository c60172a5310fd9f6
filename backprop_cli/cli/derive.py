"""`backprop derive EXPR`: the derivative of an expression, at a point, against the real change.

Also prints `kind: derivative` problem files for `backprop solve` (the work is
in :mod:`backprop_cli.kinds.derivative`; this module parses options and prints).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import click

from backprop_cli.cli.common import digits_option, format_option, user_errors, write_output

if TYPE_CHECKING:
    from backprop_cli.kinds.derivative import Worked



def parse_assignments(values: tuple[str, ...], option: str) -> dict[str, float]:
    """``x=2``, ``x=3,y=4`` (repeatable) as a mapping; a usage error otherwise."""
    result: dict[str, float] = {}
    for raw in values:
        for part in raw.split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, number = part.partition("=")
            name, number = name.strip(), number.strip().replace("−", "-")
            try:
                value = float(number)
            except ValueError:  # x=pi/4, x=1/3: an expression of numbers and constants
                from backprop_cli.calculus import ExpressionError, constant_value

                try:
                    value = constant_value(number)
                except ExpressionError:
                    value = math.nan
            if not sep or not name or not math.isfinite(value):
                raise click.BadParameter(f"'{part}' is not NAME=NUMBER (e.g. x=2)",
                                         param_hint=option)
            if name in result:
                raise click.BadParameter(f"'{name}' is given twice", param_hint=option)
            result[name] = value
    return result


@click.command()
@click.argument("expression", metavar="EXPR")
@click.option("--at", "at", multiple=True, metavar="NAME=NUMBER",
              help="The point: x=2, or x=3,y=4 (repeatable); a number may be an "
                   "expression of numbers and constants: x=pi/4.")
@click.option("--step", "step", multiple=True, metavar="NAME=NUMBER",
              help="A small change of the variables: the linear prediction of the "
                   "function's change is compared with the actual change.")
@click.option("--chain", "chain", multiple=True, metavar="NAME=EXPR",
              help="An intermediate variable EXPR depends on (repeatable): the chain rule.")
@click.option("--second", is_flag=True,
              help="Also the second derivatives: d²f/dx², and ∂/∂y (∂f/∂x) for each pair "
                   "(the keys derivative2.<x>.<y>, formula2.<x>.<y>).")
@format_option("report", "plain",
               "Output format.")
@digits_option(6)
def derive(expression: str, at: tuple[str, ...], step: tuple[str, ...], chain: tuple[str, ...],
           second: bool, fmt: str, digits: int) -> None:
    """The derivative of EXPR (each partial derivative and the gradient for several
    variables), at a point, with the change it predicts beside the actual change.

    EXPR uses numbers, variables, + - * / ^ (or **), parentheses, and exp, log,
    sin, cos, tanh, sigmoid, sqrt, relu, step, abs, sign, max(a, b), min(a, b);
    `e` is Euler's number (unless --chain or --at names a variable e), `pi` is π.
    Name it with `f(x) = ...` or `z = ...`. The text is parsed, never run as code.

    \b
    Examples:
      backprop derive 'x^3 - 3*x^2 + 2*x + 1' --at x=2 --step x=0.1
      backprop derive 'f(x, y) = x^2 + y^2' --at x=3,y=4 --step x=0.1,y=0.2
      backprop derive 'z = y^2' --chain 'y = 2*x + 3' --at x=2
      backprop derive 'f(x, y) = x^2*y^3' --at x=2,y=1 --second
      backprop derive 'sigmoid(u)' --at u=0.5 --format json
    """
    from backprop_cli.calculus import CONSTANTS, ExpressionError, parse_definition
    from backprop_cli.kinds.derivative import DerivationError, make_derivation, work

    chains: dict[str, str] = {}
    for text in chain:
        try:  # the name only (--chain 'e = ...' declares a variable e): read again below
            definition = parse_definition(text, frozenset(CONSTANTS))
        except ExpressionError as error:
            raise click.BadParameter(error.pointed(text), param_hint="--chain") from None
        if definition.name is None:
            raise click.BadParameter(f"'{text}' is not NAME = EXPR (e.g. 'y = 2*x + 3')",
                                     param_hint="--chain")
        chains[definition.name] = text
    points = parse_assignments(at, "--at") if at else None
    steps = parse_assignments(step, "--step") if step else None
    try:
        exercise = make_derivation(expression, chains, points, steps)
    except ExpressionError as error:
        raise click.BadParameter(error.pointed(expression), param_hint="EXPR") from None
    except DerivationError as error:
        message = str(error)
        for key in ("at", "step"):  # the file's keys are these options here
            if message.startswith(f"{key}:"):
                message = f"--{message}"
        raise click.UsageError(message) from None
    exercise.second = second
    with user_errors():
        worked = work(exercise)
    show(worked, fmt, digits)


def show(worked: Worked, fmt: str, digits: int) -> None:
    """Print a worked exercise: the worked lines, or its JSON document."""
    from backprop_cli.kinds.derivative import json_document, worked_lines
    from backprop_cli.render.jsonout import dumps

    if fmt == "json":
        text = dumps(json_document(worked))
    else:
        text = "\n".join(worked_lines(worked, digits))
    write_output(text, None)
