"""`backprop solve FILE`: the worked solution (terminal, text, Markdown, LaTeX, HTML, SVG) or
JSON; `--handout` and `--statement` for students."""

from __future__ import annotations

import os
import sys

import click

from backprop_cli.cli.common import (
    digits_option,
    format_option,
    load_exercise,
    user_errors,
    write_output,
)
from backprop_cli.formats import SUFFIX_FORMATS, SolveFormat

PIPE_WIDTH = 100  # columns of plain text written to a pipe or a file
MAX_WIDTH = 1000  # --width and $COLUMNS are capped here: no line of megabytes


def default_format(output: str | None) -> SolveFormat:
    """rich on a terminal; plain in a pipe, in a file or with NO_COLOR set."""
    if output not in (None, "-"):
        return SUFFIX_FORMATS.get(os.path.splitext(str(output))[1].lower(), "plain")
    if os.environ.get("NO_COLOR") or not sys.stdout.isatty():
        return "plain"
    return "rich"


def default_width(fmt: str, output: str | None) -> int:
    if fmt in ("rich", "plain") and output in (None, "-") and sys.stdout.isatty():
        return max(terminal_columns(), 40)
    return PIPE_WIDTH


def terminal_columns() -> int:
    """$COLUMNS, else the terminal's width, else PIPE_WIDTH (shutil's rules; shutil itself
    costs start-up time on every run)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.stdout.fileno()).columns
        except (OSError, ValueError):
            columns = 0
    return min(columns, MAX_WIDTH) if columns > 0 else PIPE_WIDTH


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@format_option("solve", None,
               "Output format (default: rich on a terminal, plain in a pipe or with "
                   "NO_COLOR; with --output, the one its suffix names).")
@digits_option()
@click.option("--decimals", type=click.IntRange(0, 12), default=None, metavar="N",
              help="Show numbers with N decimals (fixed point; the computation is unchanged). "
                   "An equation whose sums would not add up at N decimals gets more.")
@click.option("--handout", is_flag=True,
              help="The worked solution without the file's published values and verdicts.")
@click.option("--statement", is_flag=True,
              help="The problem sheet only: network, data and what to compute.")
@click.option("--ascii", "ascii_only", is_flag=True,
              help="Plain ASCII: dL/dw1, delta_o, y_hat, sigmoid, * (not for markdown).")
@click.option("--step", "step", type=click.IntRange(min=1), default=None, metavar="K",
              help="Show step K in full (default 1); the other steps are a loss table.")
@click.option("--steps", type=click.IntRange(min=0), default=None,
              help="Number of gradient-descent updates (overrides the file).")
@click.option("--round", "round_decimals", type=click.IntRange(0, 12), default=None,
              metavar="N", help="Hand-calculation mode: round every value to N decimals "
                                "when it is produced (overrides the file's round).")
@click.option("--width", type=click.IntRange(min=40), default=None,
              help="Columns for rich, plain and svg (default: the terminal's, or 100; at "
                   "most 1000).")
@click.option("--keys", "patterns", multiple=True, metavar="GLOB",
              help="With --format json: keep only value keys matching GLOB (repeatable).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to FILE instead of standard output.")
def solve(file: str, fmt: SolveFormat | None, digits: int, decimals: int | None, handout: bool,
          statement: bool, ascii_only: bool, step: int | None,
          steps: int | None, round_decimals: int | None, width: int | None,
          patterns: tuple[str, ...], output: str | None) -> None:
    """Solve FILE step by step: forward pass, loss, backward pass, update.

    \b
    Examples:
      backprop solve problems/001b_two_layer_relu_sigmoid.yaml
      backprop solve problem.yaml --format markdown --output solution.md
      backprop solve problem.yaml --handout --decimals 4 -o handout.tex
      backprop solve problem.yaml --statement -o sheet.html
      backprop solve problems/030_conv_pool_dropout.yaml --handout -o conv.tex
      backprop solve problems/031_rnn_bptt.yaml --round 4
      backprop solve problem.yaml --steps 50 --step 50 --digits 6
      backprop solve problem.yaml --format json --keys 'grad.*' --keys final.loss
    """
    if fmt is None and output not in (None, "-"):
        ending = os.path.splitext(str(output))[1].lower()
        if ending and ending not in SUFFIX_FORMATS:
            known = ", ".join(sorted(SUFFIX_FORMATS))
            raise click.BadParameter(f"'{output}': backprop solve writes no {ending} file "
                                     f"(suffixes: {known}; or give --format)",
                                     param_hint="--output")
    fmt = fmt or default_format(output)
    if patterns and fmt != "json":
        raise click.UsageError("--keys selects the values of --format json")
    from backprop_cli.kinds.base import SolveRequest, SolveRequestError
    from backprop_cli.kinds.exercise import kind_of

    exercise = load_exercise(file, steps=steps)
    # expected keys of the file's own steps that --steps left without a value (network kind)
    skipped: list[str] = getattr(exercise, "skipped_expected", None) or []
    if skipped:
        click.echo(f"{file}: notice: --steps {steps} computes no value for {len(skipped)} "
                   f"expected key{'s' * (len(skipped) != 1)} of the file's own steps; "
                   f"skipped: {', '.join(skipped)}", err=True)
    request = SolveRequest(fmt=fmt, digits=digits, ascii_only=ascii_only, step=step,
                           round_decimals=round_decimals,
                           width=min(width or default_width(fmt, output), MAX_WIDTH),
                           color=not os.environ.get("NO_COLOR"), patterns=patterns,
                           decimals=decimals, handout=handout, statement=statement)
    try:
        with user_errors(file):
            text = kind_of(exercise).solve(exercise, request)
    except SolveRequestError as error:
        if error.option in ("--format", "--handout", "--statement", "--decimals"):
            raise click.UsageError(str(error)) from None
        raise click.BadParameter(str(error), param_hint=error.option) from None
    write_output(text, output)
