"""`backprop quiz FILE`: ask for each value, judge every answer, end with a score.

The questions, verdicts and feedback come from :mod:`backprop_cli.app.quiz`; this
module only reads lines from standard input and prints. Piped input works the
same as typing, and is echoed after the prompt so a transcript reads like a
session.
"""

from __future__ import annotations

import sys

import click
from click.shell_completion import CompletionItem

from backprop_cli.cli.common import CleanExit, load_exercise, user_errors

MAX_ANSWER = 1000  # characters in one typed answer


def _complete_keys(ctx: click.Context, param: click.Parameter,
                   incomplete: str) -> list[CompletionItem]:
    """Shell completion of --keys: the value keys of the FILE given before it."""
    from backprop_cli.app.quiz import QuizSession
    from backprop_cli.errors import ProblemError
    from backprop_cli.kinds.base import QuizError
    from backprop_cli.kinds.exercise import load_exercise

    # while an option's value is being completed, click may leave FILE unparsed in args
    file = ctx.params.get("file") or next(iter(ctx.args), None)
    if not file:
        return []
    try:  # the kind's own questions: a dense network's, a layered one's, a derivative's
        exercise = load_exercise(file)
        askable = QuizSession(exercise).material.askable
    except (ProblemError, QuizError, OSError):
        return []
    return [CompletionItem(key) for key in askable if key.startswith(incomplete)]


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--keys", "patterns", multiple=True, metavar="GLOB", shell_complete=_complete_keys,
              help="Ask only for value keys matching GLOB (repeatable); default: the file's "
                   "`quiz:` list, else step 1's z, a, loss, deltas, gradients and updates.")
@click.option("--no-given", is_flag=True, help="Do not print the given values first.")
def quiz(file: str, patterns: tuple[str, ...], no_given: bool) -> None:
    """Quiz yourself on FILE: type each value; right, carried forward or wrong.

    Values are asked in computation order. An answer is judged like a published
    value in `backprop check`, at the precision you type it (give at least 3
    significant digits: 0.824, -0.0455, 1.8, 1/2); a wrong earlier answer is
    carried forward, so one slip costs one mark. After a wrong answer the step
    is shown with the numbers substituted. Enter or 'skip' skips a question, '?'
    shows its formula, 'q' stops with the score so far. Exit status 0 when the
    quiz ends, 1 when FILE is invalid.

    \b
    Examples:
      backprop quiz problems/001b_two_layer_relu_sigmoid.yaml
      backprop quiz problem.yaml --keys 'grad.*'
      printf '1.8\\n0.9\\nq\\n' | backprop quiz problem.yaml --no-given
    """
    from backprop_cli.app.quiz import QuizSession
    from backprop_cli.kinds.base import QuizError

    exercise = load_exercise(file)
    try:
        with user_errors(file):
            session = QuizSession(exercise, list(patterns) or None)
    except QuizError as error:
        raise click.BadParameter(str(error), param_hint="--keys") from None
    stdin = sys.stdin
    echo = not stdin.isatty()  # piped answers do not appear on the terminal by themselves
    total = len(session.questions)
    click.echo(exercise.title)
    if not no_given:
        click.echo("\n".join(session.given()))
    if session.note:
        click.echo(session.note)
    click.echo(f"{total} question{'s' * (total != 1)} in computation order. Type a number "
               "(0.824, -.5, 1e-3, 1/2); Enter to skip, '?' for the formula, 'q' to stop.")
    while (question := session.current) is not None:
        click.echo(f"[{question.number}/{total}] {question.prompt}", nl=False)
        line = stdin.readline(MAX_ANSWER + 1)  # bounded: `quiz < /dev/zero` never fills memory
        if not line:  # end of input: as if the student stopped
            click.echo()
            break
        if len(line) > MAX_ANSWER or "\x00" in line:
            click.echo()
            raise CleanExit("backprop quiz: standard input is not answers (a line over "
                            f"{MAX_ANSWER} characters, or binary data)")
        answer = line.rstrip("\r\n")
        if echo:
            click.echo(answer)
        feedback = session.answer(answer)
        for text in feedback.lines:
            click.echo(f"  {text}")
    click.echo(session.score.line())
