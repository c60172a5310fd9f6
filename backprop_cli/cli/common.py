"""Helpers shared by the commands: loading with clean errors, writing output."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from backprop_cli.formats import (
    CHECK_FORMATS,
    DIAGRAM_FORMATS,
    REPORT_FORMATS,
    SOLVE_FORMATS,
)

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from backprop_cli.kinds.base import Exercise
    from backprop_cli.model.problem import Problem


class CleanExit(click.ClickException):
    """An error already formatted as ``path:line:col: message``; exit status 1."""

    exit_code = 1

    def show(self, file: object = None) -> None:
        click.echo(self.message, err=True)


@contextmanager
def user_errors(path: str | None = None) -> Iterator[None]:
    """Turn library errors into CleanExit (no traceback)."""
    from backprop_cli.errors import NumericError, ProblemError

    try:
        yield
    except ProblemError as error:
        if path is not None:
            error.with_path(path)
        raise CleanExit(str(error)) from None
    except NumericError as error:
        where = f"{path}: " if path else ""
        raise CleanExit(f"{where}{error}") from None


def load(path: str, steps: int | None = None) -> Problem:
    """A network problem, or a clean exit for anything else."""
    from backprop_cli.kinds.exercise import load_problem

    with user_errors(path):
        return load_problem(path, steps=steps)


def load_exercise(path: str, steps: int | None = None) -> Exercise:
    """Any exercise file (network or derivative), with clean errors."""
    from backprop_cli.kinds.exercise import load_exercise as load_any

    with user_errors(path):
        return load_any(path, steps=steps)



def write_output(text: str, output: str | None) -> None:
    """Write to --output FILE, or to standard output."""
    if output is None or output == "-":
        sys.stdout.write(text)
        if text and not text.endswith("\n"):
            sys.stdout.write("\n")
        return
    path = Path(output)
    try:
        # a course layout's new folder (-o exams/2025_midterm/variant_01.yaml) is made
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as error:
        raise CleanExit(f"{output}: cannot write: {error.strerror or error}") from None


# ---------------------------------------------------------------- shared options
# One definition of each option that several commands take, so that their names,
# ranges and help cannot drift apart.

_FORMAT_CHOICES = {"solve": SOLVE_FORMATS, "check": CHECK_FORMATS, "report": REPORT_FORMATS,
                   "diagram": DIAGRAM_FORMATS}


def format_option(family: str, default: str | None, help: str) -> Callable[[F], F]:
    """``--format`` with the choices of a command family (formats.py lists them)."""
    return click.option("--format", "fmt", type=click.Choice(_FORMAT_CHOICES[family]),
                        default=default, show_default=default is not None, help=help)


def digits_option(default: int = 4) -> Callable[[F], F]:
    """``--digits N``: significant digits of the numbers shown."""
    return click.option("--digits", type=click.IntRange(1, 17), default=default,
                        show_default=True,
                        help="Significant digits of the numbers shown (JSON keeps full "
                             "precision).")
