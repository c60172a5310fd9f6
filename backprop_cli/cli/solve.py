"""`backprop solve FILE`: the worked solution, or every value as JSON."""

from __future__ import annotations

import click

from backprop_cli.cli.common import load, user_errors, write_output

FORMATS = ("plain", "json")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output format (default: plain).")
@click.option("--keys", "patterns", multiple=True, metavar="GLOB",
              help="Keep only value keys matching GLOB (repeatable), e.g. 'grad.*'.")
@click.option("--steps", type=click.IntRange(min=0), default=None,
              help="Number of gradient-descent updates (overrides the file).")
@click.option("--digits", type=click.IntRange(1, 17), default=4, show_default=True,
              help="Significant digits in human-readable output.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to FILE instead of standard output.")
def solve(file: str, fmt: str | None, patterns: tuple[str, ...], steps: int | None,
          digits: int, output: str | None) -> None:
    """Solve FILE: forward pass, backward pass and update, with every value.

    \b
    Examples:
      backprop solve problems/001_two_layer_relu_sigmoid.yaml
      backprop solve problem.yaml --format json --keys 'grad.*' --keys final.loss
      backprop solve problem.yaml --steps 100 --format json --keys final.loss
    """
    from backprop_cli.engine import solve as run

    problem = load(file, steps=steps)
    with user_errors(file):
        solution = run(problem, patterns or None)
    fmt = fmt or "plain"
    if fmt == "json":
        from backprop_cli.jsonout import dumps, solution_document

        write_output(dumps(solution_document(solution)), output)
        return
    from backprop_cli.numbers import format_number

    width = max((len(k) for k in solution.values), default=0)
    lines = [f"{problem.title}", ""]
    lines += [f"{key.ljust(width)}  {format_number(value, digits)}"
              for key, value in solution.values.items()]
    write_output("\n".join(lines), output)
