"""`backprop grade PROBLEM ANSWERS...`: grade a class, error carried forward.

The grading is :mod:`backprop_cli.app.grading`; the writers are
:mod:`backprop_cli.render.grades`. This module reads the options and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from backprop_cli.cli.common import (
    CleanExit,
    format_option,
    load_exercise,
    user_errors,
    write_output,
)

if TYPE_CHECKING:
    from backprop_cli.kinds.base import Exercise


@click.command()
@click.argument("problem", type=click.Path(dir_okay=False))
@click.argument("answers", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--keys", "patterns", multiple=True, metavar="GLOB",
              help="Grade only the value keys matching GLOB (repeatable); default: the "
                   "file's `quiz:` list, else its `expected` keys.")
@click.option("--ecf-credit", type=click.FloatRange(0, 1), default=1.0, show_default=True,
              help="The share of a question's points an answer carried forward earns "
                   "(consistent with the student's own wrong earlier answers).")
@click.option("--min-digits", type=click.IntRange(1, 17), default=3, show_default=True,
              help="Significant digits an answer needs (an exact value always counts).")
@format_option("grade", "text", "text: a table and the class; csv: the gradebook (points per "
                                "question); json: every answer's verdict.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to FILE instead of standard output.")
@click.option("--feedback", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Write each student's marked answers to DIR/<student>.md (Markdown).")
@click.option("--variants", type=click.Path(exists=True, file_okay=False), default=None,
              metavar="DIR", help="Grade each student against their own variant, "
                                  "DIR/<student>.yaml (written by `backprop vary`, or "
                                  "by hand).")
def grade(problem: str, answers: tuple[str, ...], patterns: tuple[str, ...], ecf_credit: float,
          min_digits: int, fmt: str, output: str | None, feedback: str | None,
          variants: str | None) -> None:
    """Grade the class's ANSWERS to PROBLEM, with error carried forward.

    PROBLEM is a dense network, a layered one (conv, pooling, dropout, flatten,
    rnn: keys such as z.C[1,2,3], grad.K[1,1,2,2], a.h#2) or a derivative.
    ANSWERS are files and folders: YAML, one per student (`student: <id>` and
    `answers:`, value key -> number), or CSV, a row per student (a `student`
    column and a column per value key, z.C[1,2,3] quoted or not; an empty cell
    is unanswered). Numbers as students write them: 0.824, -.5, 1e-3, 4/5, 1,8.

    Each answer is judged like a published value in `backprop check`, against
    the student's OWN earlier answers: correct (full points), consistent
    (carried forward: points x --ecf-credit), wrong, imprecise, unanswered,
    invalid (0). Points: the file's `points:` (key or glob -> points), else 1.
    In --keys and points: globs a layered key's brackets are its own:
    'grad.K[*]' is the whole tensor.
    An unreadable answer file is reported and the rest are graded. Exit
    status 0 when the grading ran, 1 for an invalid PROBLEM, 2 for usage.

    \b
    Examples:
      backprop grade problems/grading/exercise.yaml problems/grading/class.csv
      backprop grade problems/grading/conv_exercise.yaml problems/grading/conv_class.csv
      backprop grade exercise.yaml class.csv --format csv -o gradebook.csv
      backprop grade conv.yaml class.csv --keys 'grad.K[*]' --keys 'new.*'
      backprop grade exercise.yaml answers/ --feedback feedback/ --ecf-credit 0.5
      backprop grade exercise.yaml answers/ --variants variants/
    """
    from backprop_cli.app.grading import GradingError, answer_files, file_stem
    from backprop_cli.app.grading import grade as grade_class
    from backprop_cli.render.grades import feedback_markdown, grades_csv, grades_json, grades_text

    exercise = load_exercise(problem)
    if not answer_files(answers):
        raise click.UsageError("no answer files (.yaml, .yml, .csv) in "
                               + ", ".join(answers))
    variant_for = None
    if variants is not None:
        folder = Path(variants)

        def variant_for(student: str) -> Exercise | None:
            for extension in (".yaml", ".yml"):
                path = folder / f"{file_stem(student)}{extension}"
                if path.is_file():
                    from backprop_cli.kinds.exercise import load_exercise as load_variant

                    return load_variant(str(path))
            return None

    try:
        with user_errors(problem):
            book = grade_class(exercise, answers, list(patterns) or None, min_digits=min_digits,
                               ecf_credit=ecf_credit, variants=variant_for)
    except GradingError as error:
        if patterns:
            raise click.BadParameter(str(error), param_hint="--keys") from None
        raise CleanExit(f"{problem}: {error}") from None
    for report in book.reports:
        click.echo(report, err=True)
    writers = {"text": grades_text, "csv": grades_csv, "json": grades_json}
    write_output(writers[fmt](book), output)
    if feedback is not None:
        folder = Path(feedback)
        folder.mkdir(parents=True, exist_ok=True)
        for student in book.students:
            (folder / f"{file_stem(student.student)}.md").write_text(
                feedback_markdown(student), encoding="utf-8")
        count = len(book.students)
        click.echo(f"feedback: {count} file{'s' * (count != 1)} in {folder}/", err=True)
