"""The protocol every kind of exercise file implements, and what it is asked for.

A kind (``kind: network``, ``kind: derivative``, and the ones to come) is one module
in this package with a ``KIND`` object that reads its files, checks their published
values, and renders its worked solution in the formats it supports.
:mod:`backprop_cli.kinds.exercise` holds the registry and dispatches on the file's
``kind:`` key; nothing else chooses by the type of an exercise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from backprop_cli.checking.checker import KeyResult
from backprop_cli.checking.report import FileReport
from backprop_cli.checking.verdicts import Precision
from backprop_cli.files.yamlio import YNode
from backprop_cli.formats import SolveFormat
from backprop_cli.records import record
from backprop_cli.render.marks import VERDICT_SYMBOLS


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


class QuizError(Exception):
    """A pattern asked for that matches no computed value (a usage error of the quiz)."""


class QuizMaterial(Protocol):
    """What `backprop quiz` (and grading) asks of one exercise, whatever its kind: the
    questions in computation order, their exact values, hints, and the verdict on a
    student's answer, their own earlier answers standing where an author's values stand
    in `check` (errors carried forward)."""

    @property
    def title(self) -> str: ...

    @property
    def keys(self) -> list[str]:
        """The value keys asked, in computation order."""
        ...

    @property
    def note(self) -> str | None:
        """What the questions leave out and how to ask for it (None: nothing)."""
        ...

    @property
    def askable(self) -> list[str]:
        """Every value key a quiz on the exercise may ask for (``--keys``), in computation
        order: what the shell completes."""
        ...

    def fresh(self) -> QuizMaterial:
        """The same quiz with no answer given yet, for the next student (grading a class):
        what depends on the exercise alone (its values, the questions) is shared, not
        worked out again."""
        ...

    def given(self) -> list[str]:
        """The lines that state what the student is given."""
        ...

    def describe(self, key: str) -> str:
        """The question in words and the worked solution's symbol."""
        ...

    def exact(self, key: str) -> float: ...

    def judge(self, key: str, value: float, typed: Precision, text: str) -> KeyResult | None:
        """The verdict on an answer typed at ``typed`` precision; None when it is right
        only to fewer significant digits than the quiz asks for."""
        ...

    def accept(self, key: str, value: float, typed: Precision, text: str) -> None:
        """The judged answer becomes the student's value of ``key`` for later questions."""
        ...

    def hint(self, key: str) -> str:
        """The formula of ``key``."""
        ...

    def explain(self, result: KeyResult) -> list[str]:
        """The feedback lines on a verdict."""
        ...


def check_document_options(request: SolveRequest) -> None:
    """SolveRequestError for options that do not fit together: --handout with --statement
    (two documents), or an option that shapes a document for people with --format json."""
    if request.handout and request.statement:
        raise SolveRequestError("--handout and --statement are two documents: give one",
                                "--handout")
    if request.fmt != "json":
        return
    for given, option in ((request.handout, "--handout"), (request.statement, "--statement"),
                          (request.decimals is not None, "--decimals")):
        if given:
            raise SolveRequestError(f"{option} shapes a document for people; "
                                    "--format json has every value at full precision", option)


def shown_step(request: SolveRequest, steps: int) -> int:
    """The step a worked solution shows in full (``--step K``, default 1): one of the
    ``steps`` the exercise runs (step 1 when it runs none); SolveRequestError otherwise."""
    last = max(steps, 1)
    step = request.step or 1
    if step > last:
        raise SolveRequestError(f"the problem runs {steps} step{'s' * (steps != 1)}; K must "
                                f"be at most {last}", "--step")
    return step


class ExerciseKind(Protocol[E]):
    """One kind of exercise: read, check, solve and quiz its files."""

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

    def quiz(self, exercise: E, patterns: Sequence[str] | None, limit: int, digits: int,
             min_digits: int) -> QuizMaterial:
        """The quiz on ``exercise``: the keys matching ``patterns`` (the file's own quiz
        list, or the exercise's default questions, at most ``limit``, when None);
        QuizError for a pattern that matches no computed value."""
        ...


def verdict_lines(result: KeyResult, exact: str) -> list[str]:
    """The feedback on a verdict that every kind's quiz gives alike: the mark, the words,
    the exact value (``exact``, as the quiz writes numbers), and the slip when one is
    named. A kind adds its step with the student's numbers after these."""
    mark = VERDICT_SYMBOLS[result.verdict]
    if result.verdict == "correct":
        return [f"{mark} right ({result.key} = {exact})"]
    if result.verdict == "consistent":
        return [f"{mark} right from your earlier answers: {result.reason}; "
                f"the exact value is {exact}"]
    lines = [f"{mark} wrong: {result.key} = {exact}"]
    if result.diagnosis is not None:
        lines.append(f"  {result.diagnosis.message}")
    return lines
