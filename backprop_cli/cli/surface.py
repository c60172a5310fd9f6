"""`backprop surface FILE P Q`: the loss over two parameters, with the gradient-descent path."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from backprop_cli.cli.common import (
    CleanExit,
    digits_option,
    format_option,
    load_network,
    user_errors,
    write_output,
)
from backprop_cli.cli.train import check_plot_option

if TYPE_CHECKING:
    from backprop_cli.app.surface import Surface

TERMINAL_SIZE = (61, 21)  # columns × rows of the shaded map (characters are tall)
FIGURE_SIZE = (121, 101)


def _range(value: str | None, option: str) -> tuple[float, float] | None:
    if value is None:
        return None
    from backprop_cli.app.surface import SurfaceError, parse_range

    try:
        return parse_range(value)
    except SurfaceError as error:
        raise click.BadParameter(str(error), param_hint=option) from None


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("x_name", metavar="P")
@click.argument("y_name", metavar="Q")
@click.option("--steps", type=click.IntRange(min=0), default=None,
              help="Updates on the path (default: the file's steps).")
@click.option("--plot", type=click.Path(dir_okay=False, writable=True), default=None,
              metavar="FILE.png|FILE.svg",
              help="Draw the figure with matplotlib instead of the terminal map.")
@click.option("--kind", type=click.Choice(["contour", "surface"]), default="contour",
              show_default=True, help="With --plot: filled contours, or a 3-D surface.")
@click.option("--x-range", "x_range", default=None, metavar="LO:HI",
              help="Range of P (default: the path's, with a margin).")
@click.option("--y-range", "y_range", default=None, metavar="LO:HI",
              help="Range of Q (default: the path's, with a margin).")
@click.option("--train-others", is_flag=True,
              help="Let the other parameters move on the path too (the map stays a slice "
                   "at their starting values).")
@format_option("report", "plain",
               "Output format (json: the grid and the path).")
@digits_option()
def surface(file: str, x_name: str, y_name: str, steps: int | None, plot: str | None, kind: str,
            x_range: str | None, y_range: str | None, train_others: bool, fmt: str,
            digits: int) -> None:
    """The loss of FILE over two parameters P and Q (the others fixed at their
    starting values), with the path gradient descent takes from the file's start.

    Without --plot, a shaded map in the terminal: darker is higher loss, S the
    start, • each step, E the end.

    A layered network's (conv, pooling, dropout, rnn) parameters are its
    elements' keys: quote the bracketed ones for the shell ('K[1,1,1,1]').

    \b
    Examples:
      backprop surface problems/003d_chain_trained_to_convergence.yaml w1 w2
      backprop surface problems/031_rnn_bptt.yaml w u --steps 50
      backprop surface problems/030_conv_pool_dropout.yaml 'K[1,1,1,1]' 'W5[1,4]' \\
        --x-range -2:2 --y-range -2:2
      backprop surface problems/003d_chain_trained_to_convergence.yaml w1 w2 --plot surface.png
      backprop surface problem.yaml w1 b1 --steps 200 --x-range -1:1 --format json
    """
    from backprop_cli.app.surface import SurfaceError, json_document, loss_surface

    check_plot_option(plot)
    ranges = _range(x_range, "--x-range"), _range(y_range, "--y-range")
    problem = load_network(file, records_values=False)
    size = FIGURE_SIZE if plot is not None else TERMINAL_SIZE
    try:
        with user_errors(file):
            result = loss_surface(problem, x_name, y_name, steps, size, *ranges,
                                  train_others=train_others)
    except SurfaceError as error:
        if "parameter" in str(error):
            raise click.BadParameter(str(error), param_hint="P, Q") from None
        raise CleanExit(f"{file}: {error}") from None
    if fmt == "json":
        from backprop_cli.render.jsonout import dumps

        write_output(dumps(json_document(result, file)), None)
    else:
        write_output("\n".join(_lines(result, digits, plot is None)), None)
    if plot is not None:
        from backprop_cli.app.plotting import PlotError, plot_surface

        try:
            plot_surface(result, plot, kind)
        except PlotError as error:
            raise CleanExit(str(error)) from None
        click.echo(f"wrote {plot}", err=True)


def _lines(result: Surface, digits: int, with_map: bool) -> list[str]:
    from backprop_cli.app.surface import terminal_map
    from backprop_cli.numfmt import format_number

    def num(value: float) -> str:
        return format_number(value, digits)

    x, y = result.x_name, result.y_name
    lines = [result.problem.title]
    if result.fixed:
        held = ", ".join(f"{k} = {num(v)}" for k, v in list(result.fixed.items())[:8])
        more = f" and {len(result.fixed) - 8} more" if len(result.fixed) > 8 else ""
        moving = "moving on the path" if result.train_others else "fixed"
        lines.append(f"the other parameters {moving}, the map at {held}{more}")
    lines.append("")
    if with_map:
        lines += terminal_map(result, 3)
        lines.append("")
    (x0, y0), (x1, y1) = result.start, result.end
    loss0, loss1 = float(result.path_loss[0]), float(result.path_loss[-1])
    lines.append(f"start  {x} = {num(x0)}, {y} = {num(y0)}, loss {num(loss0)}")
    lines.append(f"end    {x} = {num(x1)}, {y} = {num(y1)}, loss {num(loss1)} "
                 f"after {result.steps_run} step{'s' * (result.steps_run != 1)}")
    mx, my, ml = result.minimum
    lines.append(f"lowest grid point  {x} = {num(mx)}, {y} = {num(my)}, loss {num(ml)}")
    if result.stopped:
        lines.append(f"stopped early: {result.stopped}")
    return lines
