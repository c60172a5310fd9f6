"""Derivative exercises: the calculus warm-ups, worked and checked like the network problems.

An :class:`Derivation` is a function (``f(x) = x^3 - 3*x^2 + 2*x + 1``), optionally
defined through intermediate variables (the chain ``z = y^2``, ``y = 2*x + 3``),
optionally a point (``at``) and a small change of the variables (``step``).
:func:`work` differentiates it (:mod:`backprop_cli.calculus`) and produces

- value keys, evaluated at the point: ``value`` (f there), ``value.<y>`` (each
  intermediate), ``derivative.<x>`` (∂f/∂x, through the chain),
  ``derivative.<a>.<b>`` (one link of the chain, ∂a/∂b), and for a step
  ``new_value``, ``predicted_change`` (Σ ∂f/∂x·Δx), ``actual_change`` and
  ``difference`` (actual − predicted);
- formula keys: ``formula.<x>`` and ``formula.<a>.<b>``, the derivatives as text;
- the worked solution as lines of text, in the seed document's order.

The package: :mod:`.model` (the exercise and the author's answers), :mod:`.working`
(the derivatives, evaluated), :mod:`.text` and :mod:`.jsondoc` (the worked solution as
text and JSON), :mod:`.reader` (the YAML file), :mod:`.judging` (the verdicts); this
module holds the kind itself (read, check, solve).

Problem files with ``kind: derivative`` hold such an exercise and the author's
answers under ``expected``; :func:`check` judges them with the checker's
rules (:class:`~backprop_cli.checking.checker.Precision`, errors carried forward), and
a formula is right when it is the same function as the derivative.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Any

from backprop_cli.checking.report import FileError, FileReport, judged
from backprop_cli.errors import ProblemError
from backprop_cli.files.yamlio import YNode
from backprop_cli.formats import SolveFormat
from backprop_cli.kinds.base import SolveRequest, SolveRequestError
from backprop_cli.kinds.derivative.jsondoc import json_document
from backprop_cli.kinds.derivative.judging import check
from backprop_cli.kinds.derivative.model import (
    Derivation,
    DerivationError,
    DerivativeProblem,
    PublishedAnswer,
    make_derivation,
)
from backprop_cli.kinds.derivative.quiz import DerivativeQuiz
from backprop_cli.kinds.derivative.reader import TOP_KEYS, from_tree, load, parse
from backprop_cli.kinds.derivative.text import worked_lines
from backprop_cli.kinds.derivative.working import Worked, all_keys, work
from backprop_cli.render.html import write_text_page
from backprop_cli.render.jsonout import dumps

__all__ = [
    "KIND",
    "TOP_KEYS",
    "Derivation",
    "DerivationError",
    "DerivativeKind",
    "DerivativeProblem",
    "PublishedAnswer",
    "Worked",
    "all_keys",
    "check",
    "from_tree",
    "json_document",
    "load",
    "make_derivation",
    "parse",
    "selected",
    "work",
    "worked_lines",
]


class DerivativeKind:
    """``kind: derivative``: a function (and its chain), the point, the derivatives asked."""

    name = "derivative"
    # latex and svg typeset the equation document of a network's solution; a derivative
    # exercise is worked as aligned lines of text, which these formats would not improve
    formats: tuple[SolveFormat, ...] = ("rich", "plain", "markdown", "html", "json")

    def read(self, root: YNode | None, path: str, *, steps: int | None,
             title_default: str) -> DerivativeProblem:
        return from_tree(root, path)

    def check(self, exercise: DerivativeProblem, path: str,
              min_digits: int | None = None) -> FileReport:
        try:
            return judged(path, exercise.title, check(exercise, min_digits))
        except ProblemError as error:  # the derivative is over the size budget
            error.with_path(path)
            return FileReport(path, "invalid", exercise.title, errors=[
                FileError(error.message, None, None, str(error))])

    def solve(self, exercise: DerivativeProblem, request: SolveRequest) -> str:
        if request.fmt not in self.formats:
            raise SolveRequestError(
                f"a derivative exercise is worked as lines of text: solve writes it as "
                f"{', '.join(self.formats)}, not {request.fmt} (which typesets the equations "
                "of a network's solution)", "--format")
        for given, option in ((request.handout, "--handout"), (request.statement, "--statement"),
                              (request.decimals is not None, "--decimals")):
            if given:
                raise SolveRequestError(f"{option} is for network problems; a derivative "
                                        "exercise's worked lines carry no published values, "
                                        "data sheet or decimals to set", option)
        worked = work(exercise.derivation)
        if request.fmt == "json":
            return dumps(selected(json_document(worked, exercise.path), request.patterns))
        lines = worked_lines(worked, request.digits)
        body = lines[2 if exercise.derivation.title else 0:]  # the title is the page's
        if request.fmt == "markdown":
            joined = "\n".join(body)
            return f"# {exercise.title}\n\n```text\n{joined}\n```\n"
        if request.fmt == "html":
            return write_text_page(exercise.title, body)
        return "\n".join(lines)  # rich and plain print the same text


    def quiz(self, exercise: DerivativeProblem, patterns: Sequence[str] | None, limit: int,
             digits: int, min_digits: int) -> DerivativeQuiz:
        return DerivativeQuiz(exercise.derivation, exercise.title, patterns, limit, digits,
                              min_digits)


def selected(doc: dict[str, Any], patterns: tuple[str, ...]) -> dict[str, Any]:
    """The JSON document with only the values and formulas whose keys match ``patterns``."""
    if patterns:
        for part in ("values", "formulas"):
            doc[part] = {k: v for k, v in doc[part].items()
                         if any(fnmatch.fnmatchcase(k, p) for p in patterns)}
    return doc


KIND = DerivativeKind()
