"""`backprop new`: a generated exercise with its answer key, or a commented template."""

from __future__ import annotations

from pathlib import Path

import click
from click.shell_completion import CompletionItem

from backprop_cli.cli.common import CleanExit, write_output
from backprop_cli.model.losses import LOSS_NAMES


def _complete_activations(incomplete: str) -> list[CompletionItem]:
    """Shell completion of the last name in a comma-separated list."""
    from backprop_cli.model.activations import ACTIVATION_NAMES

    done, _, last = incomplete.rpartition(",")
    head = f"{done}," if done else ""
    return [CompletionItem(head + name) for name in ACTIVATION_NAMES if name.startswith(last)]


@click.command()
@click.option("--layers", metavar="SHAPE", default=None,
              help="Inputs, then the units of each layer, joined by '-' (default 2-2-1).")
@click.option("--activations", metavar="NAMES", default=None,
              shell_complete=lambda ctx, param, incomplete: _complete_activations(incomplete),
              help="One activation per layer after the inputs, comma separated, or one for "
                   "all (default: relu hidden; output sigmoid, softmax for cross_entropy).")
@click.option("--loss", default=None, type=click.Choice(LOSS_NAMES),
              help="The loss (default half_squared_error).")
@click.option("--learning-rate", type=float, default=None,
              help="The learning rate (default 0.1).")
@click.option("--samples", type=click.IntRange(1, 32), default=None,
              help="Number of training samples (default 1).")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Random seed: the same seed gives the same exercise (default: a new one, "
                   "written into the file).")
@click.option("--nice", is_flag=True,
              help="Friendly numbers: tenths for weights, small whole inputs, no saturation.")
@click.option("--allow-dead", is_flag=True,
              help="Allow dead ReLU units (z <= 0), which pass no gradient down.")
@click.option("--no-answers", is_flag=True,
              help="Leave out `expected` (a sheet to hand out; quiz and solve still work).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to FILE instead of standard output.")
@click.option("--force", is_flag=True, help="Overwrite --output FILE if it exists.")
def new(layers: str | None, activations: str | None, loss: str | None,
        learning_rate: float | None, samples: int | None, seed: int | None, nice: bool,
        allow_dead: bool, no_answers: bool, output: str | None, force: bool) -> None:
    """Write a new problem file: a random exercise with its answers, or a template.

    Without options: a commented template with every key of the format. With any
    option: a network drawn with numpy's default_rng(seed), solved, with step 1's
    answers under `expected` (4 significant digits), so the file passes
    `backprop check` and works with `backprop quiz`.

    \b
    Examples:
      backprop new --layers 2-2-1 --activations relu,sigmoid --seed 7 --nice
      backprop new --layers 3-4-3 --loss cross_entropy --seed 1 -o week3.yaml
      backprop new --layers 2-3-1 --seed 12 --nice --no-answers -o sheet.yaml
      backprop new -o problem.yaml            # the commented template
    """
    from backprop_cli.app.generator import (
        DEFAULT_LAYERS,
        TEMPLATE,
        GeneratorError,
        Options,
        generate,
        parse_activations,
        parse_layers,
    )

    if output not in (None, "-") and Path(output).exists() and not force:
        raise CleanExit(f"{output}: the file exists (use --force to overwrite it)")
    chosen = (layers, activations, loss, learning_rate, samples, seed)
    if all(value is None for value in chosen) and not (nice or allow_dead or no_answers):
        write_output(TEMPLATE, output)
        return
    try:
        shape = parse_layers(layers) if layers is not None else DEFAULT_LAYERS
    except GeneratorError as error:
        raise click.BadParameter(str(error), param_hint="--layers") from None
    try:
        names = parse_activations(activations) if activations is not None else None
    except GeneratorError as error:
        raise click.BadParameter(str(error), param_hint="--activations") from None
    defaults = Options()
    options = Options(
        layers=shape, activations=names, loss=loss or defaults.loss,
        learning_rate=defaults.learning_rate if learning_rate is None else learning_rate,
        seed=seed, nice=nice, allow_dead=allow_dead, samples=samples or 1)
    try:
        generated = generate(options)
    except GeneratorError as error:
        raise click.UsageError(str(error)) from None
    write_output(generated.question if no_answers else generated.text, output)
