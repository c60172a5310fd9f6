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
              help="Inputs, then the units of each layer, joined by '-' (default 2-2-1); "
                   "or layers beyond dense: an input 1x4x4 (conv2d), 1x8 (conv1d) or a "
                   "number, then conv2d:FxKxK, conv1d:FxK (F filters of K; /s2 stride, /p1 "
                   "padding), maxpool2d:K, avgpool2d:K, maxpool1d:K, avgpool1d:K (/s1 "
                   "stride), dropout:RATE, flatten (inserted before a dense layer that "
                   "reads a tensor), rnn:UNITS, or a number (dense units).")
@click.option("--activations", metavar="NAMES", default=None,
              shell_complete=lambda ctx, param, incomplete: _complete_activations(incomplete),
              help="One activation per layer after the inputs (with layers beyond dense: "
                   "per conv, dense and rnn layer), comma separated, or one for all "
                   "(default: relu hidden, tanh in an rnn; output sigmoid, softmax for "
                   "cross_entropy).")
@click.option("--loss", default=None, type=click.Choice(LOSS_NAMES),
              help="The loss (default half_squared_error).")
@click.option("--learning-rate", type=float, default=None,
              help="The learning rate (default 0.1).")
@click.option("--samples", type=click.IntRange(1, 32), default=None,
              help="Number of training samples (default 1).")
@click.option("--sequence-length", type=click.IntRange(1, 12), default=None,
              help="With an rnn layer: the time steps of each sequence (default 3).")
@click.option("--loss-at", type=click.Choice(["last", "every"]), default=None,
              help="With an rnn layer: the loss of the last step (default) or the sum over "
                   "every step.")
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
        learning_rate: float | None, samples: int | None, sequence_length: int | None,
        loss_at: str | None, seed: int | None, nice: bool, allow_dead: bool, no_answers: bool,
        output: str | None, force: bool) -> None:
    """Write a new problem file: a random exercise with its answers, or a template.

    Without options: a commented template with every key of the format. With any
    option: a network drawn with numpy's default_rng(seed), solved, with step 1's
    answers under `expected` (4 significant digits), so the file passes
    `backprop check` and works with `backprop quiz`. With conv, pooling,
    dropout or rnn layers, a tensor of more than 12 values gives its first 12
    answers (row-major: the first filter's); the dropout mask is drawn from the
    seed; ties in max pooling are redrawn where a draw can avoid them.
    docs/format.md ("Generating a layered exercise") has the grammar.

    \b
    Examples:
      backprop new --layers 2-2-1 --activations relu,sigmoid --seed 7 --nice
      backprop new --layers 3-4-3 --loss cross_entropy --seed 1 -o week3.yaml
      backprop new --layers 2-3-1 --seed 12 --nice --no-answers -o sheet.yaml
      backprop new --layers 1x4x4-conv2d:1x2x2-maxpool2d:2-flatten-1 --seed 7 --nice
      backprop new --layers 1x8-conv1d:2x3/s2/p1-avgpool1d:2-dropout:0.5-1 --seed 3
      backprop new --layers 2-rnn:2-1 --sequence-length 3 --loss-at every --seed 5 --nice
      backprop new --layers 2-rnn:2-dropout:0.5-1 --seed 4
      backprop new -o problem.yaml            # the commented template
    """
    from backprop_cli.app.generator import (
        DEFAULT_LAYERS,
        TEMPLATE,
        GeneratorError,
        Options,
        generate,
        parse_layers,
    )
    from backprop_cli.app.layered_generator import is_layered

    if output not in (None, "-") and Path(output).exists() and not force:
        raise CleanExit(f"{output}: the file exists (use --force to overwrite it)")
    chosen = (layers, activations, loss, learning_rate, samples, seed, sequence_length,
              loss_at)
    if all(value is None for value in chosen) and not (nice or allow_dead or no_answers):
        write_output(TEMPLATE, output)
        return
    if layers is not None and is_layered(layers):
        _new_layered(layers, activations, loss, learning_rate, samples, sequence_length,
                     loss_at, seed, nice, allow_dead, no_answers, output)
        return
    for value, option in ((sequence_length, "--sequence-length"), (loss_at, "--loss-at")):
        if value is not None:
            raise click.UsageError(f"{option} is for a network with an rnn layer "
                                   "(--layers 2-rnn:2-1)")
    try:
        shape = parse_layers(layers) if layers is not None else DEFAULT_LAYERS
    except GeneratorError as error:
        raise click.BadParameter(str(error), param_hint="--layers") from None
    names = _activations(activations)
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


def _activations(activations: str | None) -> tuple[str, ...] | None:
    from backprop_cli.app.generator import GeneratorError, parse_activations

    try:
        return parse_activations(activations) if activations is not None else None
    except GeneratorError as error:
        raise click.BadParameter(str(error), param_hint="--activations") from None


def _new_layered(layers: str, activations: str | None, loss: str | None,
                 learning_rate: float | None, samples: int | None, sequence_length: int | None,
                 loss_at: str | None, seed: int | None, nice: bool, allow_dead: bool,
                 no_answers: bool, output: str | None) -> None:
    """`new --layers` with conv, pooling, dropout, flatten or rnn layers."""
    from backprop_cli.app.generator import GeneratorError
    from backprop_cli.app.layered_generator import (
        DEFAULT_SEQUENCE_LENGTH,
        LayeredOptions,
        generate_layered,
        parse_architecture,
    )

    try:
        architecture = parse_architecture(layers)
    except GeneratorError as error:
        raise click.BadParameter(str(error), param_hint="--layers") from None
    if not architecture.sequence:
        for value, option in ((sequence_length, "--sequence-length"), (loss_at, "--loss-at")):
            if value is not None:
                raise click.UsageError(f"{option} is for a network with an rnn layer")
    defaults = LayeredOptions(architecture)
    options = LayeredOptions(
        architecture, activations=_activations(activations), loss=loss or defaults.loss,
        learning_rate=defaults.learning_rate if learning_rate is None else learning_rate,
        seed=seed, nice=nice, allow_dead=allow_dead, samples=samples or 1,
        sequence_length=sequence_length or DEFAULT_SEQUENCE_LENGTH,
        loss_at=loss_at or defaults.loss_at)
    try:
        generated = generate_layered(options)
    except GeneratorError as error:
        raise click.UsageError(str(error)) from None
    write_output(generated.question if no_answers else generated.text, output)
