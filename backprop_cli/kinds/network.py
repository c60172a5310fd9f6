"""``kind: network`` (the default): a network, its data, loss and training settings.

Read by :mod:`backprop_cli.files.loader`, run by the engine, judged by
:mod:`backprop_cli.checking.checker`, written by :mod:`backprop_cli.render`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import TYPE_CHECKING

from backprop_cli.checking.checker import check_values
from backprop_cli.checking.report import FileError, FileReport, judged
from backprop_cli.engine import solve
from backprop_cli.errors import NumericError, ProblemError
from backprop_cli.files import trust
from backprop_cli.files.loader import problem_from_tree
from backprop_cli.files.yamlio import YNode
from backprop_cli.formats import SolveFormat
from backprop_cli.kinds.base import (
    SolveRequest,
    SolveRequestError,
    check_document_options,
    shown_step,
)
from backprop_cli.model.keys import value_key
from backprop_cli.model.problem import Problem
from backprop_cli.model.questions import match_patterns
from backprop_cli.records import replace

if TYPE_CHECKING:
    from backprop_cli.kinds.network_quiz import NetworkQuiz

# values in one JSON document without --keys: past this, --keys is asked for (issue 18)
MAX_JSON_VALUES = 2_000_000
# the steps whose keys a --keys typo is compared with for a "did you mean"
SUGGESTION_STEPS = 100


class NetworkKind:
    name = "network"
    formats: tuple[SolveFormat, ...] = ("rich", "plain", "markdown", "latex", "html", "svg",
                                        "json")

    def read(self, root: YNode | None, path: str, *, steps: int | None,
             title_default: str) -> Problem:
        problem = problem_from_tree(root, path, steps=steps, title_default=title_default)
        # a problem file cannot make the tool run for hours (issue 18; --allow-big lifts it)
        trust.check_work(problem.n_parameters, problem.n_samples, problem.steps)
        return problem

    def check(self, exercise: Problem, path: str, min_digits: int | None = None) -> FileReport:
        # record only the expected keys: the checker reads the leaves of a recomputation
        # (data and starting parameters) from the problem itself
        try:
            solution = solve(exercise, list(exercise.expected) or [value_key("loss", step=None)])
            results = check_values(exercise, solution.values, min_digits)
            shown = [r for r in results if r.formula is not None and r.recomputed is not None]
            if shown:
                # lazy: the notation loads only for a file with a value not correct (a
                # batch of right files never pays for it)
                from backprop_cli.render.formula_text import math_substituted
            for result in shown:  # the recomputations, as the worked solution writes them
                if result.formula is not None and result.recomputed is not None:
                    result.shown = math_substituted(exercise, result.key, result.formula,
                                                    result.operands, result.recomputed)
        except NumericError as error:
            return FileReport(path, "invalid", exercise.title, errors=[
                FileError(str(error), None, None, f"{path}: {error}")])
        return judged(path, exercise.title, results)

    def solve(self, exercise: Problem, request: SolveRequest) -> str:
        # lazy: the renderers load only when a solution is written, never for `check`
        from backprop_cli.render import RenderOptions, render_problem, solve_for_display

        problem = exercise
        if request.round_decimals is not None:
            problem = replace(problem, round=request.round_decimals)
        check_document_options(request)
        if request.fmt == "json":
            values = max(problem.steps, 1) * problem.n_samples * (
                problem.n_parameters * 3 + sum(layer.size for layer in problem.layers) * 5)
            if not request.patterns and values > MAX_JSON_VALUES:
                raise SolveRequestError(
                    f"the JSON of every value would hold about {values:,} values: choose the "
                    "ones you need with --keys (e.g. --keys 'final.*' --keys 'step1.*')",
                    "--keys")
            solution = solve(problem, request.patterns or None)
            for pattern in request.patterns:
                if not any(fnmatch.fnmatchcase(key, pattern) for key in solution.values):
                    # a typo (grad.W1), not an empty selection: name the key meant, from
                    # the first steps' keys (bounded however long the run)
                    why = match_patterns(problem, [pattern], max_steps=SUGGESTION_STEPS)[1]
                    raise ProblemError(f"--keys '{pattern}' "
                                       f"{why.get(pattern, 'matches no value key')}")
            # lazy: json (1 ms of start-up) loads only for the JSON document
            from backprop_cli.render.jsonout import dumps, solution_document

            return dumps(solution_document(solution))
        step = shown_step(request, problem.steps)
        options = RenderOptions(fmt=request.fmt, digits=request.digits,
                                ascii_only=request.ascii_only, step=step, width=request.width,
                                color=request.color, decimals=request.decimals,
                                handout=request.handout, statement=request.statement)
        return render_problem(problem, solve_for_display(problem, step), options)


    def quiz(self, exercise: Problem, patterns: Sequence[str] | None, limit: int, digits: int,
             min_digits: int) -> NetworkQuiz:
        # lazy: the quiz's notation and carried-forward machinery, for quiz and grading only
        from backprop_cli.kinds.network_quiz import NetworkQuiz

        return NetworkQuiz(exercise, patterns, limit, digits, min_digits)


KIND = NetworkKind()
