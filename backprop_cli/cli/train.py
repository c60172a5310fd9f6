"""`backprop train FILE`: many steps of gradient descent; loss table, chart, final state.

The run and the report are :mod:`backprop_cli.app.training`; this module adds the
terminal: a rich progress bar on stderr for long runs, Ctrl-C handled between
two steps, and the --plot figure (:mod:`backprop_cli.app.plotting`).
"""

from __future__ import annotations

import sys

import click

from backprop_cli.cli.common import (
    CleanExit,
    FiniteRange,
    digits_option,
    format_option,
    load_network,
    user_errors,
    write_output,
)

# a bar for runs long enough to wait on, and only where a person watches stderr
PROGRESS_MIN_STEPS = 2000
INTERRUPTED = 130  # the shell's status for a program stopped by Ctrl-C


def check_plot_option(plot: str | None) -> None:
    """Refuse a bad --plot before any work: the suffix (exit 2), matplotlib (exit 1)."""
    if plot is None:
        return
    from backprop_cli.app.plotting import PlotError, check_target, require_matplotlib

    try:
        check_target(plot)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--plot") from None
    try:
        require_matplotlib()
    except PlotError as error:
        raise CleanExit(str(error)) from None


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--steps", type=click.IntRange(min=0), default=None,
              help="Number of updates (default: the file's steps).")
@click.option("--until-loss", type=FiniteRange(min=0), default=None, metavar="X",
              help="Stop early once the loss is at most X.")
@click.option("--rows", type=click.IntRange(min=0), default=11, show_default=True,
              help="Rows of the loss table: first, last and evenly spaced steps (0: all).")
@click.option("--plot", type=click.Path(dir_okay=False, writable=True), default=None,
              metavar="FILE.png|FILE.svg",
              help="Also draw the loss curve with matplotlib (.venv/bin/pip install -e "
                   "'.[plot]').")
@format_option("report", "plain",
               "Output format.")
@digits_option()
@click.option("--progress/--no-progress", default=None,
              help="A progress bar on stderr (default: for long runs on a terminal).")
def train(file: str, steps: int | None, until_loss: float | None, rows: int, plot: str | None,
          fmt: str, digits: int, progress: bool | None) -> None:
    """Train FILE's network: many steps, the loss of each, the state reached.

    Shows a loss table (first, last and evenly spaced steps; step k's loss is
    the loss before update k, final the loss after the last), a chart of the
    loss, and the final parameters and outputs. Ctrl-C stops after the current
    step and prints the state reached (exit status 130).

    Layered networks (conv, pooling, dropout, rnn layers) train too; a
    parameter tensor of more than 12 elements is summed up (shape, norm, min,
    max), and --format json lists every element. Their run keeps no value of
    a step but its loss, so it may run far more steps than solve shows.

    \b
    Examples:
      backprop train problems/003d_chain_trained_to_convergence.yaml
      backprop train problems/030_conv_pool_dropout.yaml --steps 500
      backprop train problems/031_rnn_bptt.yaml --steps 100 --until-loss 1e-12
      backprop train problem.yaml --steps 1000 --until-loss 1e-6
      backprop train problem.yaml --plot loss.png --format json
    """
    from backprop_cli.app.training import StopOnInterrupt, json_document, report_lines
    from backprop_cli.app.training import train as run

    check_plot_option(plot)
    problem = load_network(file, steps=steps, records_values=False)
    total = problem.steps
    show_bar = progress if progress is not None else (
        total >= PROGRESS_MIN_STEPS and sys.stderr.isatty())
    bar = None
    if show_bar and total > 0:
        from backprop_cli.render.progress import ProgressBar

        bar = ProgressBar("training", total, show_loss=True)
    with StopOnInterrupt() as stop, user_errors(file):
        def on_step(step: int, loss: float) -> None:
            stop.check()
            if bar is not None:
                bar.update(step, loss)

        try:
            result = run(problem, until_loss=until_loss, on_step=on_step)
        finally:
            if bar is not None:
                bar.close()
    if fmt == "json":
        from backprop_cli.render.jsonout import dumps

        write_output(dumps(json_document(result, rows, file)), None)
    else:
        write_output("\n".join(report_lines(result, rows, digits)), None)
    if plot is not None:
        from backprop_cli.app.plotting import PlotError, plot_losses

        try:
            plot_losses(result, plot)
        except PlotError as error:
            raise CleanExit(str(error)) from None
        click.echo(f"wrote {plot}", err=True)
    if result.interrupted:
        sys.exit(INTERRUPTED)
