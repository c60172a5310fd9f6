"""`backprop export moodle PROBLEM...`: exercises as questions for an LMS (Moodle XML)."""

from __future__ import annotations

import click

from backprop_cli.cli.common import CleanExit, user_errors, write_output


@click.group()
def export() -> None:
    """Export exercises and their answers for a learning platform.

    \b
    Examples:
      backprop export moodle problems/grading/exercise.yaml -o quiz.xml
      backprop export moodle variants/ --output quiz.xml
    """


@export.command()
@click.argument("problems", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to FILE (quiz.xml) instead of standard output.")
@click.option("--cloze", is_flag=True,
              help="One cloze question per problem with every asked value (default: a "
                   "numerical question per value).")
@click.option("--keys", "patterns", multiple=True, metavar="GLOB",
              help="Ask only for the value keys matching GLOB (repeatable); default: the "
                   "file's `quiz:` list, else its `expected` keys.")
@click.option("--min-digits", type=click.IntRange(1, 17), default=3, show_default=True,
              help="Significant digits an answer needs: the tolerance is one unit of the "
                   "last of them.")
def moodle(problems: tuple[str, ...], output: str | None, cloze: bool,
           patterns: tuple[str, ...], min_digits: int) -> None:
    """Write PROBLEMS as Moodle XML questions (Question bank > Import > Moodle XML).

    Each problem file becomes a question category with a numerical question per
    asked value (or, with --cloze, one cloze question): the statement (network
    table, input, target, what to compute) and the exact answer with a
    tolerance of one unit of the last of --min-digits significant digits. A
    folder of variants (`backprop vary`) becomes one category, a cloze question
    per variant: add "a random question" from it to a quiz. A layered network
    (conv, pooling, dropout, rnn) asks its quiz's questions (without `quiz:` or
    `expected`, the first ones `backprop quiz` asks), stated as the quiz states
    them; in --keys the brackets are the keys' own (grad.K[*]: a whole tensor).
    Exit status 0, 1 for an invalid problem, 2 for usage.

    \b
    Examples:
      backprop export moodle problems/grading/exercise.yaml -o quiz.xml
      backprop export moodle problems/grading/exercise.yaml --cloze -o quiz.xml
      backprop export moodle problems/030_conv_pool_dropout.yaml --keys 'grad.K[*]' -o quiz.xml
      backprop export moodle variants/ -o quiz.xml
    """
    from backprop_cli.app.export import moodle_quiz
    from backprop_cli.app.grading import GradingError

    try:
        with user_errors():
            text = moodle_quiz(problems, list(patterns) or None,
                               "cloze" if cloze else "numerical", min_digits)
    except GradingError as error:
        if patterns:
            raise click.BadParameter(str(error), param_hint="--keys") from None
        raise CleanExit(str(error)) from None
    write_output(text, output)
