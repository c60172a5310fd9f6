"""`backprop export moodle`: problem files and folders of variants as Moodle questions.

Each problem file becomes a category with its questions (the keys `backprop grade`
grades: ``--keys``, the file's ``quiz:``, else its ``expected`` keys) and their
exact values, each with the tolerance of the precision rule; a folder (of
``backprop vary`` variants) becomes one category, a cloze question per variant, to
draw a random question from. The XML is :mod:`backprop_cli.render.moodle`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from backprop_cli.app.grading import DEFAULT_MIN_DIGITS, Grader, GradingError, tolerance_for
from backprop_cli.errors import ProblemError
from backprop_cli.kinds.base import QuizError
from backprop_cli.kinds.exercise import kind_of, load_network
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.model.problem import Problem
from backprop_cli.model.questions import DEFAULT_LIMIT
from backprop_cli.render.moodle import (
    GIVEN_DIGITS,
    MoodleCategory,
    MoodleExercise,
    MoodleStyle,
    MoodleValue,
    moodle_xml,
)

PROBLEM_SUFFIXES = (".yaml", ".yml")


def exercise(problem: Problem | LayeredProblem, name: str,
             patterns: Sequence[str] | None = None,
             min_digits: int = DEFAULT_MIN_DIGITS) -> MoodleExercise:
    """One problem's asked values, their exact values, tolerances and points."""
    if isinstance(problem, LayeredProblem):
        return layered_exercise(problem, name, patterns, min_digits)
    try:
        grader = Grader(problem, patterns, min_digits=min_digits)
    except GradingError as error:
        raise GradingError(f"{problem.path}: {error}") from None
    values = tuple(MoodleValue(key, grader.values[key],
                               tolerance_for(grader.values[key], min_digits), grader.worth[key])
                   for key in grader.keys)
    return MoodleExercise(name, problem, values)


def layered_exercise(problem: LayeredProblem, name: str, patterns: Sequence[str] | None = None,
                     min_digits: int = DEFAULT_MIN_DIGITS) -> MoodleExercise:
    """A layered network's questions (issue 19): the keys matching ``patterns``, else the
    file's ``quiz:`` list, else its ``expected`` keys, else the quiz's default questions
    (step 1's first values); stated and worded as `backprop quiz` does, each worth 1 point
    with a dense network's tolerance."""
    asked = list(patterns or problem.quiz or problem.expected) or None  # keys are globs of
    try:  # themselves: brackets are the keys' own (model/keys.key_glob)
        material = kind_of(problem).quiz(problem, asked, DEFAULT_LIMIT, GIVEN_DIGITS,
                                         min_digits)
    except QuizError as error:
        raise GradingError(f"{problem.path}: {error}") from None
    values = tuple(MoodleValue(key, material.exact(key),
                               tolerance_for(material.exact(key), min_digits),
                               words=material.describe(key))
                   for key in material.keys)
    return MoodleExercise(name, None, values, problem.title, tuple(material.given()))


def categories(paths: Sequence[str | Path], patterns: Sequence[str] | None = None,
               min_digits: int = DEFAULT_MIN_DIGITS) -> list[MoodleCategory]:
    """A category per problem file, and one per folder of variants."""
    found = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(p for p in path.iterdir()
                           if p.suffix.lower() in PROBLEM_SUFFIXES and p.is_file())
            if not files:
                raise ProblemError("no problem files (*.yaml, *.yml) in this folder",
                                   path=str(path))
            found.append(MoodleCategory(path.resolve().name, tuple(
                exercise(load_network(str(file)), file.stem, patterns, min_digits)
                for file in files), random=True))
        else:
            problem = load_network(str(path))
            found.append(MoodleCategory(problem.title, (
                exercise(problem, problem.title, patterns, min_digits),)))
    return found


def moodle_quiz(paths: Sequence[str | Path], patterns: Sequence[str] | None = None,
                style: MoodleStyle = "numerical", min_digits: int = DEFAULT_MIN_DIGITS) -> str:
    """The Moodle XML of the problem files and folders of variants."""
    return moodle_xml(categories(paths, patterns, min_digits), style)
