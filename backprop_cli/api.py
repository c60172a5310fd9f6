"""The Python API: load, solve and check exercises from a script or a notebook.

A facade over the layers below: :mod:`backprop_cli.kinds` reads any exercise file
and writes its worked solution through the kind's ``solve`` (the code
``backprop solve`` runs, with the same :class:`~backprop_cli.kinds.base.SolveRequest`),
:mod:`backprop_cli.app.batch_check` judges many files as ``backprop check`` does. So
a script gets the very documents the command line prints::

    >>> import backprop_cli as bp
    >>> solution = bp.solve("problems/001b_two_layer_relu_sigmoid.yaml")
    >>> solution.to_markdown() == solution.to_markdown(digits=4)  # `solve --format markdown`
    True

Importing this module is light: the loader and NumPy load on the first
:func:`load` or :func:`solve`, rich only when something is rendered. Hence the
imports inside functions below, each marked ``# lazy:``. The command line
(:mod:`backprop_cli.cli`) sits above this module; nothing here imports click.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import PurePath
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from backprop_cli.errors import NumericError, ProblemError, suggest

if TYPE_CHECKING:
    from backprop_cli.app.grading import Gradebook, StudentGrade
    from backprop_cli.checking.checker import KeyResult
    from backprop_cli.checking.report import FileError, FileReport
    from backprop_cli.formats import SolveFormat
    from backprop_cli.kinds.base import Exercise

__all__ = ["CheckReport", "FileCheck", "GradeReport", "NumericError", "ProblemError", "Solution",
           "check", "grade", "load", "loads", "solve"]

PathLike = str | os.PathLike[str]

# The defaults and bounds of `backprop solve`'s options (backprop_cli/cli/solve.py).
DIGITS = 4
MIN_DIGITS, MAX_DIGITS = 1, 17
WIDTH = 100  # the CLI's width in a pipe or a file
MIN_WIDTH = 40


def load(path: PathLike) -> Exercise:
    """Read an exercise file (a network problem or a ``kind: derivative`` exercise).

    Raises :class:`ProblemError` for any mistake in the file, with ``.path``,
    ``.line``, ``.column`` and ``.message`` (``str(error)`` is the
    ``path:line:col: message`` line the command line prints).

    Example::

        >>> import backprop_cli as bp
        >>> problem = bp.load("problems/001b_two_layer_relu_sigmoid.yaml")
        >>> problem.title
        'Seed 001, exercise 2: 2-2-1 network, ReLU hidden, sigmoid output'
    """
    from backprop_cli.kinds.exercise import load_exercise  # lazy: the loader imports NumPy

    return load_exercise(os.fspath(path))


def loads(text: str, *, path: str = "<input>") -> Exercise:
    """Read an exercise from the text of a problem file; ``path`` names it in errors
    and in :meth:`Solution.to_json` (and gives an untitled problem its title, as
    :func:`load` does).

    Example::

        >>> import backprop_cli as bp
        >>> text = '''
        ... network:
        ...   inputs: [x]
        ...   layers: [{units: [y], activation: identity, weights: [[0.5]], bias: 0}]
        ... loss: half_squared_error
        ... learning_rate: 0.1
        ... input: [2]
        ... target: 1.5
        ... '''
        >>> bp.solve(bp.loads(text)).values["loss"]
        0.125
    """
    from backprop_cli.kinds.exercise import parse_exercise  # lazy: the loader imports NumPy

    # untitled: named after the file, as load() names it (Path.stem), or 'problem'
    title = "problem" if path == "<input>" else PurePath(path).stem or "problem"
    try:
        return parse_exercise(text, path, title_default=title)
    except ProblemError as error:
        raise error.with_path(path) from None


def solve(problem: Exercise | PathLike, *, steps: int | None = None,
          keys: Sequence[str] | None = None) -> Solution:
    """Solve an exercise (loaded, or the path of its file) and return its :class:`Solution`.

    ``steps`` overrides the number of gradient-descent updates (``solve --steps``);
    ``keys`` keeps only the value keys matching these globs in :attr:`Solution.values`
    and :meth:`Solution.to_json` (``solve --format json --keys``). Raises
    :class:`ProblemError` for a bad file and :class:`NumericError` when a value
    overflows or becomes undefined.

    Example::

        >>> import backprop_cli as bp
        >>> solution = bp.solve("problems/001b_two_layer_relu_sigmoid.yaml", keys=["grad.*"])
        >>> list(solution.values)[:2]
        ['grad.a.o', 'grad.z.o']
    """
    # lazy: the loader and the engine import NumPy, only needed from the first solve
    from backprop_cli.kinds.exercise import KINDS, load_exercise

    patterns = _patterns(keys)
    if isinstance(problem, (str, os.PathLike)):
        exercise = load_exercise(os.fspath(problem), steps=steps)
    elif getattr(problem, "kind", None) in KINDS:
        exercise = problem if steps is None else _with_steps(problem, steps)
    else:
        raise TypeError(f"solve() takes a problem from bp.load() or bp.loads(), or the path "
                        f"of a problem file, not {type(problem).__name__}")
    solution = Solution(exercise)
    solution._solve_values(tuple(patterns))
    return solution


def _patterns(keys: Sequence[str] | None) -> list[str]:
    if keys is None:
        return []
    if isinstance(keys, str):  # one glob rather than its characters
        return [keys]
    patterns = list(keys)
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise TypeError(f"keys must be strings (globs such as 'grad.*'), found {pattern!r}")
    return patterns


def _with_steps(exercise: Exercise, steps: int) -> Exercise:
    """``exercise`` run for ``steps`` updates, as ``load(path, steps=)`` reads it (a copy;
    the other kinds have no steps and ignore them, as ``solve --steps`` does)."""
    # lazy: the loader and the model import NumPy
    from backprop_cli.files.fields import MAX_STEPS
    from backprop_cli.model.keyspace import parse_key
    from backprop_cli.model.problem import Problem
    from backprop_cli.records import replace

    if not isinstance(exercise, Problem) or steps == exercise.steps:
        return exercise
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be an integer between 0 and {MAX_STEPS:,}, "
                         f"found {steps!r}")
    # as the loader does with `solve --steps`: an answer of a step not run is skipped (the
    # override removed it, not the file) and listed in skipped_expected
    kept = {key: entry for key, entry in exercise.expected.items()
            if parse_key(key, replace(exercise, steps=steps, expected={})) is not None}
    skipped = [key for key in exercise.expected if key not in kept]
    return replace(exercise, steps=steps, expected=kept,
                   skipped_expected=[*exercise.skipped_expected, *skipped])


def _check_range(name: str, value: int, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (
            high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name}= must be an integer {bounds}, found {value!r}")


def _as_printed(text: str) -> str:
    """The text as the command line writes it: ending with a newline."""
    return text if text.endswith("\n") else text + "\n"


def _html_fragment(document: str) -> str:
    """The inside of a whole HTML page's ``<body>``: what a notebook cell can show
    without the page's styles leaking into the notebook."""
    start = document.find("<body")
    end = document.rfind("</body>")
    if start < 0 or end < 0:
        return document
    return document[document.index(">", start) + 1:end].strip() + "\n"


class Solution:
    """A solved exercise: its values, and its worked solution in every format of
    ``backprop solve``.

    Made by :func:`solve`. Each ``to_*`` method returns the document
    ``backprop solve --format ...`` prints with the same options (``to_text`` is
    ``--format plain``). In Jupyter a solution shows itself as Markdown with the
    math typeset (``_repr_markdown_``) or as HTML (``_repr_html_``), in a rich
    console as the ``--format rich`` rendering (``__rich__``), and ``print()``
    writes the plain text.

    Example::

        >>> import backprop_cli as bp
        >>> solution = bp.solve("problems/001b_two_layer_relu_sigmoid.yaml")
        >>> round(solution.values["final.loss"], 5)
        0.01527
        >>> print(solution.to_text(digits=6))  # doctest: +ELLIPSIS
        Seed 001, exercise 2: 2-2-1 network, ReLU hidden, sigmoid output
        ...
    """

    def __init__(self, problem: Exercise) -> None:
        self._problem = problem
        self._json = ""
        self._values: MappingProxyType[str, float | None] = MappingProxyType({})

    def _solve_values(self, patterns: tuple[str, ...]) -> None:
        """Run the exercise for its values: the document of ``solve --format json``."""
        self._json = self._solve("json", patterns=patterns)
        self._values = MappingProxyType(json.loads(self._json)["values"])

    @property
    def problem(self) -> Exercise:
        """The exercise solved (as :func:`load` returns it)."""
        return self._problem

    @property
    def title(self) -> str:
        """The exercise's title."""
        return self._problem.title

    @property
    def values(self) -> MappingProxyType[str, float | None]:
        """Every value key and its value, read-only, in computation order: the
        ``values`` of ``solve --format json`` (None for a value that is not finite,
        JSON's null)."""
        return self._values

    # ------------------------------------------------------------ documents

    def to_json(self) -> str:
        """``backprop solve --format json``: every value at full precision.

        Example::

            >>> import json, backprop_cli as bp
            >>> solution = bp.solve("problems/001b_two_layer_relu_sigmoid.yaml")
            >>> json.loads(solution.to_json())["values"] == dict(solution.values)
            True
        """
        return self._json

    def to_text(self, *, digits: int = DIGITS, ascii: bool = False, step: int | None = None,
                width: int = WIDTH, decimals: int | None = None, handout: bool = False,
                statement: bool = False) -> str:
        """``backprop solve --format plain``: the worked solution as plain text.

        ``digits`` significant digits, ``ascii`` for ``--ascii``, ``step`` the
        step shown in full (default 1), ``width`` in columns; ``decimals`` (fixed
        point), ``handout`` (no published values) and ``statement`` (the problem
        sheet) as ``solve``'s options of those names.

        Example::

            >>> import backprop_cli as bp
            >>> text = bp.solve("problems/001b_two_layer_relu_sigmoid.yaml").to_text(ascii=True)
            >>> "dL/dw" in text
            True
        """
        return self._render("plain", digits, ascii, step, width, decimals, handout, statement)

    def to_markdown(self, *, digits: int = DIGITS, step: int | None = None,
                    decimals: int | None = None, handout: bool = False,
                    statement: bool = False) -> str:
        """``backprop solve --format markdown``: Markdown with LaTeX math (``$...$``).

        Example::

            >>> import backprop_cli as bp
            >>> bp.solve("problems/001b_two_layer_relu_sigmoid.yaml").to_markdown()[:2]
            '# '
        """
        return self._render("markdown", digits, False, step, WIDTH, decimals, handout,
                            statement)

    def to_html(self, *, digits: int = DIGITS, ascii: bool = False, step: int | None = None,
                width: int = WIDTH, decimals: int | None = None, handout: bool = False,
                statement: bool = False) -> str:
        """``backprop solve --format html``: a whole HTML page (network problems).

        Example::

            >>> import backprop_cli as bp
            >>> page = bp.solve("problems/001b_two_layer_relu_sigmoid.yaml").to_html()
            >>> page.startswith("<!doctype html>")
            True
        """
        return self._render("html", digits, ascii, step, width, decimals, handout, statement)

    def to_svg(self, *, digits: int = DIGITS, ascii: bool = False, step: int | None = None,
               width: int = WIDTH) -> str:
        """``backprop solve --format svg``: the terminal rendering as an SVG image
        (network problems).

        Example::

            >>> import backprop_cli as bp
            >>> "<svg" in bp.solve("problems/001b_two_layer_relu_sigmoid.yaml").to_svg()
            True
        """
        return self._render("svg", digits, ascii, step, width, None, False, False)

    def to_latex(self, *, digits: int = DIGITS, step: int | None = None,
                 decimals: int | None = None, handout: bool = False,
                 statement: bool = False) -> str:
        """``backprop solve --format latex``: a standalone LaTeX document (amsmath) that
        compiles with pdflatex (network problems).

        Example::

            >>> import backprop_cli as bp
            >>> tex = bp.solve("problems/001b_two_layer_relu_sigmoid.yaml").to_latex(handout=True)
            >>> tex.split("{")[0], "published" in tex
            ('\\\\documentclass[11pt,fleqn]', False)
        """
        return self._render("latex", digits, False, step, WIDTH, decimals, handout, statement)

    def _render(self, fmt: SolveFormat, digits: int, ascii: bool, step: int | None,
                width: int, decimals: int | None, handout: bool, statement: bool) -> str:
        """The document ``solve --format fmt`` writes with these options."""
        _check_range("digits", digits, MIN_DIGITS, MAX_DIGITS)
        _check_range("width", width, MIN_WIDTH)
        if step is not None:
            _check_range("step", step, 1)
        if decimals is not None:
            _check_range("decimals", decimals, 0, 12)
        return _as_printed(self._solve(fmt, digits=digits, ascii_only=ascii, step=step,
                                       width=width, decimals=decimals, handout=handout,
                                       statement=statement))

    def _solve(self, fmt: SolveFormat, *, digits: int = DIGITS, ascii_only: bool = False,
               step: int | None = None, width: int = WIDTH, color: bool = False,
               patterns: tuple[str, ...] = (), decimals: int | None = None,
               handout: bool = False, statement: bool = False) -> str:
        """What ``backprop solve`` writes with these options: the exercise's kind's
        ``solve`` with the same :class:`~backprop_cli.kinds.base.SolveRequest`."""
        # lazy: the kinds load the engine (NumPy) and the writers (rich for html and svg)
        from backprop_cli.kinds.base import SolveRequest, SolveRequestError
        from backprop_cli.kinds.exercise import kind_of

        request = SolveRequest(fmt=fmt, digits=digits, ascii_only=ascii_only, step=step,
                               width=width, color=color, patterns=patterns, decimals=decimals,
                               handout=handout, statement=statement)
        try:
            return kind_of(self._problem).solve(self._problem, request)
        except SolveRequestError as error:
            if error.option == "--step":
                raise ValueError(f"step={step}: {error}") from None
            raise

    def _has_format(self, fmt: SolveFormat) -> bool:
        from backprop_cli.kinds.exercise import kind_of  # lazy: as in _solve()

        return fmt in kind_of(self._problem).formats

    # ------------------------------------------------------------ display

    def _repr_markdown_(self) -> str:
        """Jupyter: the Markdown document, its math typeset by the notebook."""
        return self.to_markdown()

    def _repr_html_(self) -> str | None:
        """Jupyter: the HTML document's body (None for a kind without an HTML form:
        the notebook then shows the Markdown)."""
        if not self._has_format("html"):
            return None
        return _html_fragment(self.to_html())

    def __rich__(self) -> object:
        """rich: the ``--format rich`` rendering, at the width of the console."""
        from backprop_cli.render import rich_display  # lazy: rich only to render

        return rich_display.ConsoleWide(
            lambda width: self._solve("rich", width=max(width, MIN_WIDTH), color=True))

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython in a terminal: the plain text."""
        printer.text(self.to_text().rstrip("\n"))

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        count = len(self._values)
        return f"<Solution of {self.title!r}: {count} value{'s' * (count != 1)}>"


# ------------------------------------------------------------------ checking


class FileCheck:
    """The check of one file in a :class:`CheckReport`.

    ``file`` is the path, ``status`` ``'passed'``, ``'failed'`` or ``'invalid'``,
    ``results`` the verdict on each expected value (``.key``, ``.expected``,
    ``.actual``, ``.verdict``, ``.line``, ``.column``, ``.passed``), ``errors``
    why an invalid file could not be checked (``.message``, ``.line``, ``.column``).

    Example::

        >>> import backprop_cli as bp
        >>> checked = bp.check("problems/001b_two_layer_relu_sigmoid.yaml").files[0]
        >>> checked.status, checked.results[0].verdict
        ('passed', 'correct')
    """

    def __init__(self, report: FileReport) -> None:
        self._report = report

    @property
    def file(self) -> str:
        """The file's path, as found."""
        return self._report.path

    @property
    def status(self) -> str:
        """``'passed'``, ``'failed'`` or ``'invalid'``."""
        return self._report.status

    @property
    def passed(self) -> bool:
        """Whether every expected value passed."""
        return self._report.status == "passed"

    @property
    def title(self) -> str | None:
        """The exercise's title (None when the file could not be read)."""
        return self._report.title

    @property
    def results(self) -> tuple[KeyResult, ...]:
        """The verdict on each expected value, in the file's order."""
        return tuple(self._report.results)

    @property
    def errors(self) -> tuple[FileError, ...]:
        """Why an invalid file could not be checked."""
        return tuple(self._report.errors)

    def __repr__(self) -> str:
        return f"<FileCheck {self.file!r}: {self.status}>"


class _TextReport:
    """How a report displays itself: Markdown in Jupyter, its text in a terminal and in
    rich (the same text the command prints)."""

    def to_text(self) -> str:
        raise NotImplementedError

    def to_markdown(self) -> str:
        raise NotImplementedError

    def _repr_markdown_(self) -> str:
        """Jupyter: the Markdown table."""
        return self.to_markdown()

    def __rich__(self) -> object:
        """rich: the text report."""
        from backprop_cli.render import rich_display  # lazy: rich only to render

        return rich_display.text_renderable(self.to_text())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython in a terminal: the text report."""
        printer.text(self.to_text().rstrip("\n"))

    def __str__(self) -> str:
        return self.to_text()


class CheckReport(_TextReport):
    """The judgement of the ``expected`` answers of many files: ``backprop check``.

    ``passed`` is True when every file passed (the command's exit status 0);
    ``files`` has a :class:`FileCheck` per file. It shows itself in Jupyter as
    a Markdown table and prints as the command's text report.

    Example::

        >>> import backprop_cli as bp
        >>> report = bp.check("problems/")
        >>> report.passed, len(report.files) > 10
        (True, True)
    """

    def __init__(self, reports: list[FileReport]) -> None:
        self._reports = reports
        self._files = tuple(FileCheck(report) for report in reports)

    @property
    def files(self) -> tuple[FileCheck, ...]:
        """Each file's check, in the order of the paths."""
        return self._files

    @property
    def passed(self) -> bool:
        """Whether every file passed."""
        return all(checked.passed for checked in self._files)

    def to_text(self, *, verbose: bool = False, show_errata: bool = False) -> str:
        """``backprop check`` (text, no colour); ``verbose`` and ``show_errata`` as
        ``--verbose`` and ``--show-errata``.

        Example::

            >>> import backprop_cli as bp
            >>> bp.check("problems/003a_chain_x_w1_w2.yaml").to_text().splitlines()[-1]
            '1 passed, 0 failed'
        """
        from backprop_cli.render.check_reports import text_report  # lazy: render on use

        return text_report(self._reports, show_errata=show_errata, verbose=verbose)

    def to_json(self) -> str:
        """``backprop check --format json``.

        Example::

            >>> import json, backprop_cli as bp
            >>> json.loads(bp.check("problems/").to_json())["summary"]["failed"]
            0
        """
        from backprop_cli.render.check_reports import json_report  # lazy: render on use

        return json_report(self._reports)

    def to_markdown(self) -> str:
        """A Markdown table: each file, its status and its first wrong value (the
        summary ``backprop check`` writes for GitHub Actions).

        Example::

            >>> import backprop_cli as bp
            >>> bp.check("problems/").to_markdown().splitlines()[0]
            '## backprop check'
        """
        from backprop_cli.render.check_reports import step_summary_markdown  # lazy: as above

        return step_summary_markdown(self._reports)

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in self._counts().items() if n)
        return f"<CheckReport of {len(self._files)} files: {counts or 'none'}>"

    def _counts(self) -> dict[str, int]:
        counts = {"passed": 0, "failed": 0, "invalid": 0}
        for checked in self._files:
            counts[checked.status] = counts.get(checked.status, 0) + 1
        return counts


def check(paths: PathLike | Iterable[PathLike], *, jobs: int | None = None) -> CheckReport:
    """Check the ``expected`` answers of problem files: files, folders (searched
    recursively), globs, or a list of them, as ``backprop check PATH...``.

    ``jobs`` is the number of worker processes for large folders (default: all
    cores). Raises ValueError when a path names no problem file.

    Example::

        >>> import backprop_cli as bp
        >>> report = bp.check(["problems/003a_chain_x_w1_w2.yaml", "problems/003b_*.yaml"])
        >>> [checked.file for checked in report.files]
        ['problems/003a_chain_x_w1_w2.yaml', 'problems/003b_chain_w2_nudged.yaml']
    """
    # lazy: checking loads the engine (NumPy)
    from backprop_cli.app.batch_check import UsageError, check_files, discover

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    names = [os.fspath(path) for path in paths]
    if not names:
        raise ValueError("no paths to check: give files, folders or globs")
    if jobs is not None:
        _check_range("jobs", jobs, 1)
    try:
        files = discover(names)
    except UsageError as error:
        raise ValueError(str(error)) from None
    return CheckReport(check_files(files, jobs=jobs))


# ------------------------------------------------------------------- grading


class GradeReport(_TextReport):
    """A class graded: ``backprop grade``.

    ``students`` has each student's grade (``.student``, ``.score``, ``.max``,
    ``.first_wrong`` and ``.results``: per question ``.key``, ``.answer``,
    ``.verdict``, ``.points``, ``.note``); ``reports`` what could not be graded
    (``path:line:col: message``). ``to_text()``, ``to_csv()`` and ``to_json()`` are
    the command's formats, ``feedback(student)`` a student's Markdown feedback. It
    shows itself in Jupyter as a Markdown table.

    Example::

        >>> import backprop_cli as bp
        >>> graded = bp.grade("problems/grading/exercise.yaml", "problems/grading/class.csv")
        >>> [(s.student, s.score) for s in graded.students][:2]
        [('ana', 11.0), ('ben', 10.0)]
    """

    def __init__(self, book: Gradebook) -> None:
        self._book = book

    @property
    def students(self) -> tuple[StudentGrade, ...]:
        """Each student's grade, in the order read."""
        return tuple(self._book.students)

    @property
    def keys(self) -> tuple[str, ...]:
        """The questions, in computation order."""
        return tuple(self._book.keys)

    @property
    def max(self) -> float:
        """The points of the whole exercise."""
        return self._book.max

    @property
    def mean(self) -> float | None:
        """The class's mean score (None without students)."""
        return self._book.mean

    @property
    def median(self) -> float | None:
        """The class's median score (None without students)."""
        return self._book.median

    @property
    def reports(self) -> tuple[str, ...]:
        """What could not be graded: unreadable files and rows, unknown keys."""
        return tuple(self._book.reports)

    def to_text(self) -> str:
        """``backprop grade`` (the table and the class)."""
        from backprop_cli.render.grades import grades_text  # lazy: render on use

        return grades_text(self._book)

    def to_csv(self) -> str:
        """``backprop grade --format csv``: the gradebook.

        Example::

            >>> import backprop_cli as bp
            >>> graded = bp.grade("problems/grading/exercise.yaml", "problems/grading/class.csv")
            >>> graded.to_csv().splitlines()[1]
            'ana,11,11,1,1,1,1,1,1,1,1,1,2'
        """
        from backprop_cli.render.grades import grades_csv  # lazy: render on use

        return grades_csv(self._book)

    def to_json(self) -> str:
        """``backprop grade --format json``.

        Example::

            >>> import json, backprop_cli as bp
            >>> graded = bp.grade("problems/grading/exercise.yaml", "problems/grading/class.csv")
            >>> json.loads(graded.to_json())["students"][2]["results"][2]["verdict"]
            'wrong'
        """
        from backprop_cli.render.grades import grades_json  # lazy: render on use

        return grades_json(self._book)

    def to_markdown(self) -> str:
        """A Markdown table: each student's score and first wrong answer."""
        from backprop_cli.render.grades import grades_markdown  # lazy: render on use

        return grades_markdown(self._book)

    def feedback(self, student: str) -> str:
        """One student's marked answers in Markdown (``backprop grade --feedback``)."""
        from backprop_cli.render.grades import feedback_markdown  # lazy: render on use

        for graded in self._book.students:
            if graded.student == student:
                return feedback_markdown(graded)
        raise KeyError(f"no student '{student}'{suggest(student, self._ids())}")

    def _ids(self) -> list[str]:
        return [graded.student for graded in self._book.students]

    def __repr__(self) -> str:
        count = len(self._book.students)
        return (f"<GradeReport of {self._book.problem!r}: {count} student"
                f"{'s' * (count != 1)}>")


def grade(problem: Exercise | PathLike, answers: PathLike | Iterable[PathLike], *,
          keys: Sequence[str] | None = None, ecf_credit: float = 1.0, min_digits: int = 3,
          variants: PathLike | None = None) -> GradeReport:
    """Grade a class's answers, as ``backprop grade PROBLEM ANSWERS...``: answer files
    and folders (YAML per student, CSV a row per student), each answer judged against
    the student's own earlier answers (error carried forward). A dense network or a
    layered one (conv, pooling, dropout, rnn).

    ``keys`` are ``--keys`` (default: the file's ``quiz:``, else its ``expected`` keys);
    ``ecf_credit`` the share of the points of an answer carried forward; ``variants``
    a folder of ``backprop vary`` variants, ``<student>.yaml``. Raises
    :class:`ProblemError` for an invalid problem, ValueError for nothing to grade.

    Example::

        >>> import backprop_cli as bp
        >>> graded = bp.grade("problems/grading/exercise.yaml", "problems/grading/class.csv",
        ...                   ecf_credit=0.5)
        >>> graded.students[2].score, graded.students[2].first_wrong.key
        (6.0, 'z.o')
    """
    # lazy: grading loads the engine (NumPy)
    from backprop_cli.app.grading import GradingError, file_stem
    from backprop_cli.app.grading import grade as grade_class
    from backprop_cli.kinds.exercise import load_exercise

    _check_range("min_digits", min_digits, MIN_DIGITS, MAX_DIGITS)
    if not 0 <= ecf_credit <= 1:
        raise ValueError(f"ecf_credit must be between 0 and 1, found {ecf_credit}")
    exercise = problem if not isinstance(problem, (str, os.PathLike)) else load(problem)
    if exercise.kind not in ("network", "layered"):
        raise ValueError("only a network problem (dense or layered) can be graded")
    if isinstance(answers, (str, os.PathLike)):
        answers = [answers]
    names = [os.fspath(path) for path in answers]
    if not names:
        raise ValueError("no answers to grade: give answer files or folders")
    variant_for = None
    if variants is not None:
        folder = os.fspath(variants)

        def variant_for(student: str) -> Exercise | None:
            path = os.path.join(folder, f"{file_stem(student)}.yaml")
            return load_exercise(path) if os.path.isfile(path) else None

    try:
        book = grade_class(exercise, names, list(keys) if keys else None,
                           min_digits=min_digits, ecf_credit=ecf_credit, variants=variant_for)
    except GradingError as error:
        raise ValueError(str(error)) from None
    return GradeReport(book)
