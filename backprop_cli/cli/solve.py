"""`backprop solve FILE`: the worked solution (terminal, text, Markdown, HTML, SVG) or JSON."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from backprop_cli.cli.common import load_exercise, user_errors, write_output

FORMATS = ("rich", "plain", "markdown", "html", "svg", "json")
# --output FILE without --format: the format its suffix names
SUFFIX_FORMATS = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
                  ".svg": "svg", ".json": "json", ".txt": "plain"}
PIPE_WIDTH = 100  # columns of plain text written to a pipe or a file
MAX_WIDTH = 1000  # --width and $COLUMNS are capped here: no line of megabytes
# values in one JSON document without --keys: past this, --keys is asked for (issue 18)
MAX_JSON_VALUES = 2_000_000


def default_format(output: str | None) -> str:
    """rich on a terminal; plain in a pipe, in a file or with NO_COLOR set."""
    if output not in (None, "-"):
        return SUFFIX_FORMATS.get(Path(str(output)).suffix.lower(), "plain")
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
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output format (default: rich on a terminal, plain in a pipe or with "
                   "NO_COLOR; with --output, the one its suffix names).")
@click.option("--digits", type=click.IntRange(1, 17), default=4, show_default=True,
              help="Significant digits of the numbers shown (JSON keeps full precision).")
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
              help="Columns for rich, plain, html and svg (default: the terminal's, or 100; "
                   "at most 1000).")
@click.option("--keys", "patterns", multiple=True, metavar="GLOB",
              help="With --format json: keep only value keys matching GLOB (repeatable).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to FILE instead of standard output.")
def solve(file: str, fmt: str | None, digits: int, ascii_only: bool, step: int | None,
          steps: int | None, round_decimals: int | None, width: int | None,
          patterns: tuple[str, ...], output: str | None) -> None:
    """Solve FILE step by step: forward pass, loss, backward pass, update.

    \b
    Examples:
      backprop solve problems/001b_two_layer_relu_sigmoid.yaml
      backprop solve problem.yaml --format markdown --output solution.md
      backprop solve problem.yaml --steps 50 --step 50 --digits 6
      backprop solve problem.yaml --format json --keys 'grad.*' --keys final.loss
    """
    fmt = fmt or default_format(output)
    if patterns and fmt != "json":
        raise click.UsageError("--keys selects the values of --format json")
    from backprop_cli.model.problem import Problem

    problem = load_exercise(file, steps=steps)
    if not isinstance(problem, Problem):
        # `kind: derivative` exercises: backprop_cli/cli/derive.py
        from backprop_cli.cli.derive import solve_loaded

        solve_loaded(problem, fmt, digits, patterns, output)
        return
    if round_decimals is not None:
        problem.round = round_decimals
    if fmt == "json":
        values = max(problem.steps, 1) * problem.n_samples * (
            problem.n_parameters * 3 + sum(layer.size for layer in problem.layers) * 5)
        if not patterns and values > MAX_JSON_VALUES:
            raise click.UsageError(f"the JSON of every value would hold about {values:,} values: "
                                   "choose the ones you need with --keys (e.g. --keys "
                                   "'final.*' --keys 'step1.*')")
        from backprop_cli.engine.passes import solve as run
        from backprop_cli.render.jsonout import dumps, solution_document

        with user_errors(file):
            solution = run(problem, patterns or None)
        write_output(dumps(solution_document(solution)), output)
        return
    last = max(problem.steps, 1)
    if step is not None and step > last:
        raise click.BadParameter(f"the problem runs {problem.steps} step"
                                 f"{'s' * (problem.steps != 1)}; K must be at most {last}",
                                 param_hint="--step")
    from backprop_cli.render import RenderOptions, render_problem, solve_for_display

    options = RenderOptions(fmt=fmt, digits=digits, ascii_only=ascii_only, step=step or 1,
                            width=min(width or default_width(fmt, output), MAX_WIDTH),
                            color=not os.environ.get("NO_COLOR"))
    with user_errors(file):
        solution = solve_for_display(problem, options.step)
        text = render_problem(problem, solution, options)
    write_output(text, output)
