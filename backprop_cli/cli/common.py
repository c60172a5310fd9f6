"""Helpers shared by the commands: loading with clean errors, writing output."""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from backprop_cli.formats import (
    CHECK_FORMATS,
    DIAGRAM_FORMATS,
    GRADE_FORMATS,
    REPORT_FORMATS,
    SOLVE_FORMATS,
)

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from backprop_cli.kinds.base import Exercise
    from backprop_cli.model.layered import LayeredProblem
    from backprop_cli.model.problem import Problem


class FiniteRange(click.FloatRange):
    """A FloatRange that refuses NaN and infinities (which every comparison lets through)."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


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


def load_network(path: str, steps: int | None = None, *,
                 records_values: bool = True) -> Problem | LayeredProblem:
    """A network problem, dense or layered (conv, pooling, dropout, rnn), or a clean exit
    for anything else. ``records_values=False``: the command keeps no value of every step
    (train, gradcheck, probe, surface), so a layered file's limit on what its run records
    does not apply (files/trust.py, ``unrecorded_run``); the work budget does."""
    from backprop_cli.files.trust import unrecorded_run  # lazy: start-up
    from backprop_cli.kinds.exercise import load_network as load_any  # lazy: start-up

    with user_errors(path):
        if records_values:
            return load_any(path, steps=steps)
        with unrecorded_run():
            return load_any(path, steps=steps)


def load_exercise(path: str, steps: int | None = None) -> Exercise:
    """Any exercise file (network or derivative), with clean errors."""
    from backprop_cli.kinds.exercise import load_exercise as load_any  # lazy: start-up

    with user_errors(path):
        return load_any(path, steps=steps)



def write_output(text: str, output: str | None, commands: bool = False) -> None:
    """Write to --output FILE (atomically, see :func:`write_file`), or to standard output
    (a failed write, a full disk, is a clean error with exit status 1).

    In GitHub Actions the runner reads standard output for workflow commands: text
    with a line that would be one (what a problem file wrote, a description line
    starting with ``::``) is wrapped so that none is, unless ``commands`` (the
    tool's own annotations, already escaped)."""
    if text and not text.endswith("\n"):
        text += "\n"
    if output is None or output == "-":
        if not commands and os.environ.get("GITHUB_ACTIONS") == "true" and (
                _COMMAND_LINE.search(text)):
            from backprop_cli.render.sanitize import github_free_text  # lazy: rare

            text = github_free_text(text)
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            raise  # a reader that left early: click ends quietly
        except OSError as error:
            raise CleanExit(f"backprop: cannot write the output: {error.strerror or error}"
                            ) from None
        return
    write_file(output, text)


# a line GitHub's runner would read as a workflow command: '::' after blanks, or the old
# '##[' form anywhere
_COMMAND_LINE = re.compile(r"^[ \t]*::|##\[", re.MULTILINE)


def write_file(output: str, text: str) -> None:
    """Write ``text`` to ``output`` whole or not at all.

    The text goes to a temporary file beside the target, which is then renamed over
    it: a failed write (full disk) leaves the old file whole, and a symbolic link at
    the target is replaced, never followed. A target that is an input of this run
    (``solve p.yaml -o p.yaml``) is refused.
    """
    import tempfile  # lazy: only for a file

    from backprop_cli.files import trust  # lazy: start-up time

    if trust.is_input(output):
        raise CleanExit(f"{output}: this file is an input of the run (a problem or data file); "
                        "refusing to overwrite it: choose another --output") from None
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise CleanExit(f"{output}: no such folder '{os.path.dirname(output) or '.'}': "
                        "create it first") from None
    if os.path.isdir(output) and not os.path.islink(output):
        raise CleanExit(f"{output}: is a folder, not a file") from None
    try:
        mode = os.lstat(output).st_mode & 0o777 if os.path.isfile(output) and not (
            os.path.islink(output)) else None
    except OSError:
        mode = None
    if mode is None:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    temp = None
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{os.path.basename(output)}.", suffix=".tmp",
                                    dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace", newline="") as handle:
            handle.write(text)
        os.chmod(temp, mode)
        os.replace(temp, output)
        temp = None
    except OSError as error:
        raise CleanExit(f"{output}: cannot write: {error.strerror or error} (any old file is "
                        "kept as it was)") from None
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


# ---------------------------------------------------------------- shared options
# One definition of each option that several commands take, so that their names,
# ranges and help cannot drift apart.

_FORMAT_CHOICES = {"solve": SOLVE_FORMATS, "check": CHECK_FORMATS, "report": REPORT_FORMATS,
                   "diagram": DIAGRAM_FORMATS, "grade": GRADE_FORMATS}


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
