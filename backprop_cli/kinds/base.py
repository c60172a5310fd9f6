"""The protocol every kind of exercise file implements, and what it is asked for.

A kind (``kind: network``, ``kind: derivative``, and the ones to come) is one module
in this package with a ``KIND`` object that reads its files, checks their published
values, and renders its worked solution in the formats it supports.
:mod:`backprop_cli.kinds.exercise` holds the registry and dispatches on the file's
``kind:`` key; nothing else chooses by the type of an exercise.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from backprop_cli.checking.report import FileReport
from backprop_cli.files.yamlio import YNode
from backprop_cli.formats import SolveFormat
from backprop_cli.records import record


class Exercise(Protocol):
    """What every loaded exercise has, whatever its kind."""

    @property
    def kind(self) -> str: ...

    @property
    def title(self) -> str: ...


E = TypeVar("E", bound=Exercise)


@record(frozen=True)
class SolveRequest:
    """What `backprop solve` (or the API) asks a kind to write."""

    fmt: SolveFormat
    digits: int = 4
    ascii_only: bool = False
    step: int | None = None  # the step shown in full (networks); None: the first
    round_decimals: int | None = None  # hand-calculation mode asked on the command line
    width: int = 100
    color: bool = False
    patterns: tuple[str, ...] = ()  # with json: only the value keys matching these globs
    decimals: int | None = None  # fixed-point display with N decimals (--decimals)
    handout: bool = False  # the worked solution without published values (--handout)
    statement: bool = False  # the problem and what to compute only (--statement)


class SolveRequestError(ValueError):
    """The request does not fit the exercise (a step past its last, a format it lacks).

    ``option`` names the setting at fault (``--step``), so the command line can say so.
    """

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class ExerciseKind(Protocol[E]):
    """One kind of exercise: read, check and solve its files."""

    @property
    def name(self) -> str:
        """The value of the file's ``kind:`` key."""
        ...

    @property
    def formats(self) -> tuple[SolveFormat, ...]:
        """The `solve` formats this kind writes."""
        ...

    def read(self, root: YNode | None, path: str, *, steps: int | None,
             title_default: str) -> E:
        """The exercise of a parsed file; ProblemError (path:line:col) for any mistake."""
        ...

    def check(self, exercise: E, path: str, min_digits: int | None = None) -> FileReport:
        """The verdict on each published value of the file; never raises for a bad file
        (``min_digits``: ``check --min-digits``, over the file's own)."""
        ...

    def solve(self, exercise: E, request: SolveRequest) -> str:
        """The worked solution as ``request.fmt`` text; SolveRequestError when it cannot."""
        ...
