"""`backprop vary PROBLEM`: a variant of the exercise for each student, new numbers."""

from __future__ import annotations

import click

from backprop_cli.cli.common import CleanExit, load_network, user_errors


@click.command()
@click.argument("problem", type=click.Path(dir_okay=False))
@click.option("--count", type=click.IntRange(1, 10_000), default=None,
              help="This many variants, for students s01, s02, ...")
@click.option("--students", "roster", type=click.Path(exists=True, dir_okay=False),
              default=None, metavar="ROSTER.csv",
              help="A variant for each student of a CSV roster (its `student` column).")
@click.option("--seed", type=click.IntRange(min=0), required=True,
              help="The same seed and student id always give the same variant.")
@click.option("--output", "-o", type=click.Path(file_okay=False), required=True,
              metavar="DIR", help="Write DIR/<student>.yaml (the folder is made).")
def vary(problem: str, count: int | None, roster: str | None, seed: int, output: str) -> None:
    """Write a variant of PROBLEM for each student: the same exercise, new numbers.

    Topology, names, activations, loss, learning rate, questions (`quiz:`) and
    `points:` stay; weights, biases, inputs and targets are drawn as `backprop
    new --nice` draws them (tenths, small whole inputs, no dead or saturated
    unit, no zero loss), from the seed and the student's id. Each file has its
    `expected` answers and passes `backprop check`; grade the class with
    `backprop grade PROBLEM ANSWERS --variants DIR`.

    A network with conv, pooling, dropout or rnn layers keeps its layers and
    settings; its weights, recurrent weights, biases, inputs or sequences,
    targets and dropout masks (at the file's rate) are redrawn as `backprop new
    --nice --layers` draws them (no dead, saturated or tied unit).

    \b
    Examples:
      backprop vary problems/grading/exercise.yaml --count 3 --seed 7 -o variants/
      backprop vary exercise.yaml --students roster.csv --seed 2026 -o variants/
      backprop vary problems/030_conv_pool_dropout.yaml --count 2 --seed 7 -o variants/
    """
    from backprop_cli.app.variants import (
        VariantError,
        numbered_students,
        read_roster,
        write_variants,
    )

    if (count is None) == (roster is None):
        raise click.UsageError("give one of --count N and --students ROSTER.csv")
    exercise = load_network(problem)  # dense or layered (or the reason it has none)
    if roster is not None:
        with user_errors(roster):
            students = read_roster(roster)
        if not students:
            raise CleanExit(f"{roster}: no students in the roster")
    else:
        assert count is not None
        students = numbered_students(count)
    try:
        with user_errors(problem):
            written = write_variants(exercise, students, seed, output)
    except VariantError as error:
        raise CleanExit(f"{problem}: {error}") from None
    click.echo(f"{len(written)} variant{'s' * (len(written) != 1)} of {problem} in "
               f"{output.rstrip('/')}/ (seed {seed})", err=True)
