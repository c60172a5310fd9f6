"""Layered networks (issue 19): convolution, pooling, dropout, flatten, dense and rnn layers.

A network file is of this kind when a layer has a ``type:`` other than dense, its input
is a tensor or it has a ``sequence:`` (or it says ``kind: layered``). Read by
:mod:`backprop_cli.files.layered`, run by :mod:`backprop_cli.engine.layered`, the worked
solution built by :mod:`backprop_cli.kinds.layered_text` as the document model every
writer of :mod:`backprop_cli.render` typesets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from backprop_cli.checking.checker import KeyResult, settle
from backprop_cli.checking.layered import LayeredWork
from backprop_cli.checking.report import FileError, FileReport, judged
from backprop_cli.checking.verdicts import Precision, correct_at_once
from backprop_cli.engine.layered import LayeredSolution, solve_layered
from backprop_cli.errors import NumericError, ProblemError, suggest
from backprop_cli.files.layered import read_layered
from backprop_cli.files.yamlio import YMap, YNode
from backprop_cli.formats import SolveFormat
from backprop_cli.kinds.base import (
    SolveRequest,
    SolveRequestError,
    check_document_options,
    shown_step,
)
from backprop_cli.kinds.layered_quiz import LayeredQuiz
from backprop_cli.model.keys import key_glob
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.records import replace
from backprop_cli.render.jsonout import dumps


class LayeredKind:
    name = "layered"
    # the worked solution is the document model every writer typesets, as a dense network's
    formats: tuple[SolveFormat, ...] = ("rich", "plain", "markdown", "latex", "html", "svg",
                                        "json")

    def read(self, root: YNode | None, path: str, *, steps: int | None,
             title_default: str) -> LayeredProblem:
        if not isinstance(root, YMap):
            raise ProblemError("a problem file is a YAML mapping (key: value)", None, path)
        return read_layered(root, path, steps=steps, title_default=title_default)

    def check(self, exercise: LayeredProblem, path: str,
              min_digits: int | None = None) -> FileReport:
        try:
            values = solve_layered(exercise).values
        except NumericError as error:
            return FileReport(path, "invalid", exercise.title, errors=[
                FileError(str(error), None, None, f"{path}: {error}")])
        digits = min_digits if min_digits is not None else exercise.min_digits
        results = []
        for entry in exercise.expected.values():
            tolerance = entry.tolerance if entry.tolerance is not None else exercise.tolerance
            actual = values[entry.key]
            result = KeyResult(key=entry.key, expected=entry.value, text=entry.text,
                               actual=actual, verdict="wrong", erratum=entry.erratum,
                               erratum_text=entry.erratum_text, note=entry.note,
                               line=entry.mark.line, column=entry.mark.column)
            # a correct value needs no carried pass (most files' values all are)
            if entry.erratum is None and correct_at_once(
                    entry.value, Precision.of(entry.text, tolerance), actual, digits):
                result.verdict = "correct"
            results.append(result)
        if any(result.verdict != "correct" for result in results):
            _carry_forward(exercise, values, results, digits)
        return judged(path, exercise.title, results)

    def solve(self, exercise: LayeredProblem, request: SolveRequest) -> str:
        if request.fmt not in self.formats:
            raise SolveRequestError(f"solve writes a layered network as "
                                    f"{', '.join(self.formats)}, not {request.fmt}", "--format")
        if request.round_decimals is not None:  # hand-calculation mode, over the file's
            exercise = replace(exercise, round=request.round_decimals)
        check_document_options(request)
        solution = solve_layered(exercise)
        if request.fmt == "json":
            return dumps(document(solution, request.patterns))
        step = shown_step(request, exercise.steps)
        # lazy: the document model, its writers and notation load only when a solution is
        # written, never for `check`
        from backprop_cli.kinds.layered_text import (
            judgements,
            statement_document,
            worked_document,
        )
        from backprop_cli.render import RenderOptions
        from backprop_cli.render.api import write_document
        from backprop_cli.render.layered_notation import layered_notation

        if request.statement:
            doc = statement_document(solution, [*exercise.expected, *exercise.quiz])
        else:  # the handout: the worked solution without the published values' marks
            judged = {} if request.handout else judgements(
                self.check(exercise, exercise.path).results)
            doc = worked_document(solution, step, judged, request.digits)
        options = RenderOptions(fmt=request.fmt, digits=request.digits,
                                ascii_only=request.ascii_only, step=step, width=request.width,
                                color=request.color, decimals=request.decimals)
        return write_document(doc, lambda style: layered_notation(
            style, exercise, request.digits, request.decimals), options)

    def quiz(self, exercise: LayeredProblem, patterns: Sequence[str] | None, limit: int,
             digits: int, min_digits: int) -> LayeredQuiz:
        return LayeredQuiz(exercise, patterns, limit, digits, min_digits)


def _carry_forward(exercise: LayeredProblem, values: Mapping[str, float],
                   results: list[KeyResult], digits: int | None) -> None:
    """Judge the file's values against the exact ones and what the step gives from the
    author's own earlier values (engine/layered_carry.py), in computation order."""
    work = LayeredWork(exercise, values, digits)
    tolerances = {}
    for result in results:
        entry = exercise.expected[result.key]
        tolerances[result.key] = (entry.tolerance if entry.tolerance is not None
                                  else exercise.tolerance)
        work.give(result.key, result.expected, Precision.of(result.text,
                                                            tolerances[result.key]), result.text)
    rank = {key: place for place, key in enumerate(values)}
    for result in sorted(results, key=lambda r: rank[r.key]):
        tolerance = tolerances[result.key]
        verdict = work.judge(result.key, result.expected, Precision.of(result.text, tolerance))
        settle(result, verdict, tolerance)
        if result.verdict == "erratum":
            work.mark(result.key, "wrong")
            # carried forward when the author's earlier values give it (the carried pass
            # from them), whatever its rounding; else a new error of its own
            result.erratum_carried = verdict.verdict == "consistent"


def document(solution: LayeredSolution, patterns: tuple[str, ...] = ()) -> dict[str, object]:
    """``solve --format json``: every value key (or those matching the globs, whose
    brackets are the keys' own: ``grad.K[*]`` is the whole tensor)."""
    values = solution.values
    problem = solution.problem
    if patterns:
        regexes = [key_glob(pattern) for pattern in patterns]
        for pattern, regex in zip(patterns, regexes, strict=True):
            if not any(regex.match(key) for key in values):  # a typo, as for a dense network
                raise ProblemError(f"--keys '{pattern}' matches no value key"
                                   f"{suggest(pattern, list(values))}", path=problem.path)
        values = {key: value for key, value in values.items()
                  if any(regex.match(key) for regex in regexes)}
    return {"file": problem.path, "title": problem.title, "values": values}


KIND = LayeredKind()
