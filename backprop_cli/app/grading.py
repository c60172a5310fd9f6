"""Grading a class: every student's answers judged with error carried forward.

A student's answers take the place an author's published values have in
``backprop check``: each one is judged by the same rule
(:func:`backprop_cli.checking.verdicts.judge`) against the exact value and
against what the step gives from the student's OWN earlier answers
(:class:`~backprop_cli.checking.checker.CarriedForward`, with the student's values
standing as the author's), in computation order. The verdicts:

- ``correct``: the exact value, rounded or truncated to the digits written
  (at least ``min_digits`` significant digits, 3 by default);
- ``consistent``: it follows from the student's own earlier answers (one slip
  costs one mark): worth the question's points × ``ecf_credit``;
- ``wrong``, ``imprecise`` (right only to fewer digits than asked): no points;
- ``unanswered`` (no answer, an empty cell, ``skip``) and ``invalid`` (text that is
  not a number, with the reason): no points.

An answer the student gave, right or wrong, is their value of the key for later
steps; an unanswered one is recomputed from their earlier answers. Answers to keys
that are not questions count as their own earlier values too (never graded).

Every kind of exercise is graded: a dense network through the quiz's
:class:`~backprop_cli.kinds.network_quiz.StudentWork` (:class:`Grader`, with its own
cache of correct answers), any other kind (a layered network, a derivative) through
its quiz material (:class:`~backprop_cli.kinds.base.QuizMaterial`, :class:`MaterialGrader`):
a fresh one per student, each answer judged by ``material.judge`` and then
``material.accept``-ed in computation order, so that errors are carried forward
exactly as far as that kind's quiz carries them.

Answers are read from YAML (one file per student: ``student:`` and ``answers:``)
and CSV (a row per student: a ``student`` column and a column per key), numbers
as students write them (:func:`backprop_cli.app.quiz.parse_answer`: ``0.824``,
``-.5``, ``1e-3``, ``4/5``, ``1,8``). An unreadable file or row is reported
(``path:line:col: message``) and the class is graded without it.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import math
import re
import statistics
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal, get_args

from backprop_cli.app.quiz import (
    MIN_SIGNIFICANT,
    Answer,
    parse_answer,
)
from backprop_cli.checking.slips import Diagnosis
from backprop_cli.checking.verdicts import OperandStatus, Precision, correct_at_once
from backprop_cli.engine import solve
from backprop_cli.errors import Mark, ProblemError, suggest
from backprop_cli.expr import Expr
from backprop_cli.files.yamlio import YMap, YScalar, parse_yaml, read_text
from backprop_cli.kinds.base import Exercise, QuizError, QuizMaterial
from backprop_cli.kinds.exercise import kind_of
from backprop_cli.kinds.network_quiz import StudentWork, recorded_keys, steps_needed
from backprop_cli.model.formulas import Formulas
from backprop_cli.model.keys import key_glob
from backprop_cli.model.keyspace import parse_key
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.model.problem import Problem
from backprop_cli.model.questions import is_given, match_patterns, select_keys
from backprop_cli.records import field, record

GradeVerdict = Literal["correct", "consistent", "wrong", "imprecise", "unanswered", "invalid"]
GRADE_VERDICTS: tuple[GradeVerdict, ...] = get_args(GradeVerdict)

DEFAULT_MIN_DIGITS = MIN_SIGNIFICANT  # the quiz's: the worked examples give 3
DEFAULT_POINTS = 1.0
DIGITS = 6  # a quiz material's digits (its hints and given lines, which grading never shows)
ANSWER_SUFFIXES = (".yaml", ".yml", ".csv")
ANSWER_FILE_KEYS = ("student", "answers")
STUDENT_COLUMN = "student"


class GradingError(Exception):
    """Nothing to grade, or questions asked for that the problem does not have."""


# ------------------------------------------------------------------ records


@record(frozen=True)
class Submission:
    """One student's answers as written: value key -> text ('' for a blank)."""

    student: str
    source: str  # the file (a CSV row: 'path:line')
    answers: dict[str, str]
    marks: dict[str, Mark] = field(default_factory=dict)  # where each answer is written
    path: str = ""  # the file alone

    def where(self, key: str | None = None) -> str:
        mark = self.marks.get(key) if key is not None else None
        return f"{self.path or self.source}:{mark.line}:{mark.column}" if mark else self.source


@record(frozen=True)
class AnswerResult:
    """The verdict on one answer, its points and why."""

    key: str
    answer: str | None  # as written (None: unanswered)
    verdict: GradeVerdict
    points: float
    worth: float  # the question's points
    exact: float
    value: float | None = None  # the number read
    reason: str | None = None  # why it is not correct, in words
    diagnosis: Diagnosis | None = None  # the slip that reproduces a wrong value
    # the step from the student's own earlier answers (when not correct)
    recomputed: float | None = None
    formula: Expr | None = None
    operands: dict[str, float] = field(default_factory=dict)
    # the question in words, for the feedback of an exercise without a dense network's
    # notation (its kind's quiz material's ``describe``)
    question: str | None = None

    @property
    def passed(self) -> bool:
        return self.verdict in ("correct", "consistent")

    @property
    def note(self) -> str | None:
        """The diagnosis in words: the slip when one is named, else the reason."""
        if self.diagnosis is not None:
            return self.diagnosis.message
        return self.reason


@record
class StudentGrade:
    """One student's graded answers."""

    student: str
    source: str
    exercise: Exercise  # the problem (or the student's variant) graded against
    results: list[AnswerResult]
    # what the exercise's quiz states as given (a layered network's, a derivative's: the
    # feedback repeats it); none for a dense network, whose feedback has its own notation
    given: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        return _total(r.points for r in self.results)

    @property
    def max(self) -> float:
        return _total(r.worth for r in self.results)

    @property
    def first_wrong(self) -> AnswerResult | None:
        return next((r for r in self.results if not r.passed), None)


@record
class Gradebook:
    """A class graded: its students in the order read, and what could not be graded."""

    problem: str  # the problem file's path
    keys: list[str]
    worth: dict[str, float]
    students: list[StudentGrade] = field(default_factory=list)
    # unreadable files and rows, unknown keys, students without a variant: path:line:col: message
    reports: list[str] = field(default_factory=list)

    @property
    def max(self) -> float:
        return _total(self.worth.values())

    @property
    def mean(self) -> float | None:
        return statistics.fmean(s.score for s in self.students) if self.students else None

    @property
    def median(self) -> float | None:
        return statistics.median(s.score for s in self.students) if self.students else None

    def share(self, key: str, verdicts: Iterable[str] = ("correct",)) -> float | None:
        """The share of the students whose answer to ``key`` has one of ``verdicts``."""
        wanted = set(verdicts)
        counted = [r.verdict in wanted for s in self.students for r in s.results if r.key == key]
        return sum(counted) / len(counted) if counted else None


def _total(points: Iterable[float]) -> float:
    return math.fsum(points)


# ---------------------------------------------------------------- questions


def question_keys(problem: Problem, patterns: Sequence[str] | None = None) -> list[str]:
    """The keys graded, in computation order: ``patterns`` (``--keys``), else the file's
    ``quiz:`` list, else its ``expected`` keys; with none, :class:`GradingError`."""
    if patterns:
        keys, errors = match_patterns(problem, patterns)
        if errors:
            pattern, why = next(iter(errors.items()))
            raise GradingError(f"'{pattern}' {why}")
        return keys
    if problem.quiz:
        return select_keys(problem, problem.quiz)
    if problem.expected:
        # literal keys as patterns: select_keys puts them in computation order
        return select_keys(problem, [_literal(key) for key in problem.expected])
    raise GradingError("nothing to grade: the problem has no `quiz:` list and no `expected` "
                       "answers; list the questions with --keys GLOB or a `quiz:` list")


def _literal(key: str) -> str:
    """A glob matching ``key`` alone."""
    return re.sub(r"([*?\[])", r"[\1]", key)


def points_of(problem: Problem | LayeredProblem, key: str) -> float:
    """The points ``key`` is worth: the first ``points:`` pattern matching it, else 1 (a
    layered network's brackets are its keys' own: ``grad.K[*]`` is the whole tensor)."""
    layered = isinstance(problem, LayeredProblem)
    for pattern, points in (problem.points or {}).items():
        if key_glob(pattern).match(key) if layered else fnmatch.fnmatchcase(key, pattern):
            return points
    return DEFAULT_POINTS


def tolerance_for(exact: float, min_digits: int = DEFAULT_MIN_DIGITS) -> float:
    """One unit of the ``min_digits``-th significant digit of ``exact`` (0 for 0): an
    absolute tolerance within which the ``correct`` rule accepts an answer written with
    ``min_digits`` digits (rounded: half a unit; truncated: short by less than one)."""
    if exact == 0.0 or not math.isfinite(exact):
        return 0.0
    reference = float(f"{exact:.12g}")  # 0.09999999999999981 is 0.1: its digits are 0.1's
    return Precision(math.inf).padded(min_digits, reference).unit


# ------------------------------------------------------------------ grading


@record(frozen=True)
class Written:
    """One answer as written: its text, and the number read or why there is none."""

    raw: str | None  # stripped (None: no answer)
    number: Answer | None = None
    precision: Precision | None = None
    verdict: GradeVerdict | None = None  # with no number: unanswered or invalid
    reason: str | None = None


class _AnswerTexts:
    """A class writes the same texts again and again: each is read once."""

    def __init__(self) -> None:
        self.read: dict[str, tuple[Answer, Precision]] = {}

    def parse(self, raw: str) -> tuple[Answer, Precision]:
        found = self.read.get(raw)
        if found is None:
            answer = parse_answer(raw)
            found = self.read[raw] = (answer, answer.precision)
        return found

    def written(self, text: str | None) -> Written:
        """The number in ``text``, or the verdict when there is none (unanswered, invalid)."""
        raw = None if text is None or not text.strip() else text.strip()
        if raw is None:
            return Written(None, verdict="unanswered")
        parsed, precision = self.parse(raw)
        if parsed.kind == "skip":
            return Written(raw, verdict="unanswered")
        if parsed.kind != "number":
            why = (parsed.message if "divides by zero" in parsed.message else
                   f"'{raw}' is not a number (write 0.824, 4/5 or 1,8)")
            return Written(raw, verdict="invalid", reason=why)
        return Written(raw, parsed, precision)


class Grader(_AnswerTexts):
    """Grades submissions against one dense network's problem (the values are computed
    once)."""

    def __init__(self, problem: Problem, patterns: Sequence[str] | None = None, *,
                 min_digits: int = DEFAULT_MIN_DIGITS, ecf_credit: float = 1.0) -> None:
        super().__init__()
        self.problem = problem
        self.keys = question_keys(problem, patterns)
        self.worth = {key: points_of(problem, key) for key in self.keys}
        self.min_digits = min_digits
        self.ecf_credit = ecf_credit
        self.values = solve(problem, recorded_keys(problem, self.keys),
                            steps=steps_needed(problem, self.keys)).values
        self.formulas = Formulas(problem)
        # a correct answer (its verdict depends on the text and the exact value alone) is
        # judged once for the class
        self.correct: dict[tuple[str, str], tuple[AnswerResult, OperandStatus] | None] = {}

    def known(self, key: str) -> bool:
        """Whether ``key`` is a computed value of the problem (an answer can name it)."""
        parts = parse_key(key, self.problem)
        return parts is not None and not is_given(parts)

    def unknown(self, submission: Submission) -> list[str]:
        """The keys answered that the problem does not compute (they are ignored)."""
        return [key for key in submission.answers
                if key not in self.worth and not self.known(key)]

    def why_unknown(self, key: str) -> str:
        parts = parse_key(key, self.problem)
        if parts is not None:
            return f"'{key}' is given in the problem (data or a starting parameter), not asked"
        return f"unknown value key '{key}'{suggest(key, self.keys)}"

    def grade(self, submission: Submission) -> StudentGrade:
        """The verdict on each question for one student."""
        extra = [key for key in submission.answers if key not in self.worth and self.known(key)]
        if any(key not in self.values for key in extra):
            # values not asked but answered: their exact values tell a rounded one from a
            # wrong one when a later answer is judged on them (recorded once for the class)
            self.values = solve(self.problem, None,
                                steps=steps_needed(self.problem, [*self.keys, *extra])).values
        marking = _Marking(self)
        for key in extra:
            marking.given(key, submission.answers[key])  # not asked: still their own value
        results = [marking.mark(key, submission.answers.get(key)) for key in self.keys]
        return StudentGrade(submission.student, submission.source, self.problem, results)


class _Marking:
    """One student's run through the questions: their values so far, as the author's
    (the quiz's :class:`~backprop_cli.kinds.network_quiz.StudentWork`)."""

    def __init__(self, grader: Grader) -> None:
        self.grader = grader
        self.work = StudentWork(grader.problem, grader.values, grader.formulas,
                                grader.min_digits)
        self.carried = self.work.carried

    def given(self, key: str, text: str) -> None:
        parsed, precision = self.grader.parse(text.strip())
        if parsed.kind == "number":
            self.work.accept(key, parsed.value, precision, parsed.text)

    def mark(self, key: str, text: str | None) -> AnswerResult:
        grader = self.grader
        worth = grader.worth[key]
        exact = grader.values[key]
        written = grader.written(text)
        raw, parsed, precision = written.raw, written.number, written.precision
        if parsed is None or precision is None or raw is None:
            assert written.verdict is not None
            return self.unmarked(key, raw, written.verdict, written.reason, worth, exact)
        value = parsed.value
        seen = (key, raw)
        if seen not in grader.correct:
            grader.correct[seen] = None
            if correct_at_once(value, precision, exact, grader.min_digits):
                grader.correct[seen] = (
                    AnswerResult(key, raw, "correct", worth, worth, exact, value),
                    "exact" if value == exact else "rounded")
        known = grader.correct[seen]
        if known is not None:  # a class writes the same right texts: judged once
            self.work.judged[key] = known[1]
            self.work.accept(key, value, precision, parsed.text)
            return known[0]
        judged, expr, operands = self.work.judge(key, value, precision)
        self.work.judged[key] = judged.basis
        self.work.accept(key, value, precision, parsed.text)
        verdict: GradeVerdict = judged.verdict if judged.verdict != "erratum" else "wrong"
        points = worth * grader.ecf_credit if verdict == "consistent" else 0.0
        return AnswerResult(
            key, raw, verdict, points, worth, exact, value, judged.reason, judged.diagnosis,
            judged.recomputed, expr,
            {ref: o.value for ref, o in operands.items()} if operands is not None else {})

    def unmarked(self, key: str, raw: str | None, verdict: GradeVerdict, reason: str | None,
                 worth: float, exact: float) -> AnswerResult:
        """No number to judge: the step as their earlier answers give it (for feedback)."""
        expr = self.grader.formulas.for_key(key)
        operands: dict[str, float] = {}
        recomputed = None
        if expr is not None:
            try:
                operands = self.carried.operands(expr)
                recomputed = self.carried.recompute(key)
            except (KeyError, ValueError, ArithmeticError):
                operands, recomputed = {}, None
        return AnswerResult(key, raw, verdict, 0.0, worth, exact, None, reason, None,
                            recomputed, expr, operands)


class MaterialGrader(_AnswerTexts):
    """Grades submissions against an exercise of any kind through its quiz material
    (:class:`~backprop_cli.kinds.base.QuizMaterial`): a fresh material per student, so
    that one student's answers never stand in another's recomputations (``fresh()``: the
    exercise's values and questions are worked out once for the class)."""

    def __init__(self, exercise: Exercise, patterns: Sequence[str] | None = None, *,
                 min_digits: int = DEFAULT_MIN_DIGITS, ecf_credit: float = 1.0) -> None:
        super().__init__()
        self.problem = exercise
        self.kind = kind_of(exercise)
        self.min_digits = min_digits
        self.ecf_credit = ecf_credit
        # every computed value, in computation order: the questions come from it, and an
        # answer to any of them is the student's own value of it
        every = self.material()
        self.order = {key: index for index, key in enumerate(every.keys)}
        self.keys = self.questions(every, patterns)
        worth: Callable[[str], float] = (
            (lambda key: points_of(exercise, key)) if isinstance(exercise, LayeredProblem)
            else (lambda key: DEFAULT_POINTS))
        self.worth = {key: worth(key) for key in self.keys}
        self.exact = {key: every.exact(key) for key in self.keys}
        self.described = {key: every.describe(key) for key in self.keys}
        self.every = every
        self.given = tuple(every.given())

    def material(self, patterns: Sequence[str] = ("*",)) -> QuizMaterial:
        """The exercise's quiz material on the keys matching ``patterns`` (QuizError when
        a pattern matches none)."""
        return self.kind.quiz(self.problem, patterns, sys.maxsize, DIGITS, self.min_digits)

    def questions(self, every: QuizMaterial, patterns: Sequence[str] | None) -> list[str]:
        """``patterns`` (``--keys``), else the file's ``quiz:`` list, else its ``expected``
        value keys; in computation order."""
        # quiz: and expected are what a kind's file may have (duck-typed: the Exercise
        # protocol has a kind and a title only)
        patterns = patterns or getattr(self.problem, "quiz", None)
        if patterns:
            try:
                return self.material(patterns).keys
            except QuizError as error:
                raise GradingError(str(error)) from None
        expected = getattr(self.problem, "expected", None) or {}
        keys = [key for key in every.keys if key in expected]  # formula keys are not asked
        if keys:
            return keys
        raise GradingError("nothing to grade: the problem has no `quiz:` list and no `expected` "
                           "values; list the questions with --keys GLOB or a `quiz:` list")

    def known(self, key: str) -> bool:
        return key in self.order

    def unknown(self, submission: Submission) -> list[str]:
        """The keys answered that the exercise does not compute (they are ignored)."""
        return [key for key in submission.answers if key not in self.order]

    def why_unknown(self, key: str) -> str:
        try:
            self.every.exact(key)  # a value of the exercise, but not a computed one
        except KeyError:
            return f"unknown value key '{key}'{suggest(key, self.keys)}"
        return f"'{key}' is given in the problem (data or a starting parameter), not asked"

    def grade(self, submission: Submission) -> StudentGrade:
        """The verdict on each question for one student: their answers judged and accepted
        in computation order, those to keys not asked accepted as their own values."""
        material = self.every.fresh()  # none of the last student's answers
        answers = submission.answers
        asked = set(self.keys)
        walk = sorted(asked.union(key for key in answers if key in self.order),
                      key=self.order.__getitem__)
        results: dict[str, AnswerResult] = {}
        for key in walk:
            if key in asked:
                results[key] = self.mark(material, key, answers.get(key))
                continue
            written = self.written(answers[key])
            if written.number is not None and written.precision is not None:
                material.accept(key, written.number.value, written.precision,
                                written.number.text)
        return StudentGrade(submission.student, submission.source, self.problem,
                            [results[key] for key in self.keys], self.given)

    def mark(self, material: QuizMaterial, key: str, text: str | None) -> AnswerResult:
        worth, exact, question = self.worth[key], self.exact[key], self.described[key]
        written = self.written(text)
        parsed, precision = written.number, written.precision
        if parsed is None or precision is None:
            assert written.verdict is not None
            return AnswerResult(key, written.raw, written.verdict, 0.0, worth, exact,
                                reason=written.reason, question=question)
        judged = material.judge(key, parsed.value, precision, parsed.text)
        material.accept(key, parsed.value, precision, parsed.text)
        if judged is None:  # right only to fewer digits than asked
            return AnswerResult(
                key, written.raw, "imprecise", 0.0, worth, exact, parsed.value,
                f"{written.raw} has fewer than {self.min_digits} significant digits: "
                f"write at least {self.min_digits}", question=question)
        verdict: GradeVerdict = (judged.verdict if judged.verdict in ("correct", "consistent")
                                 else "wrong")
        points = (worth if verdict == "correct" else
                  worth * self.ecf_credit if verdict == "consistent" else 0.0)
        return AnswerResult(key, written.raw, verdict, points, worth, exact, parsed.value,
                            judged.reason, judged.diagnosis, judged.recomputed,
                            judged.formula, dict(judged.operands), question)


AnyGrader = Grader | MaterialGrader


def grader_of(exercise: Exercise, patterns: Sequence[str] | None = None, *,
              min_digits: int = DEFAULT_MIN_DIGITS, ecf_credit: float = 1.0) -> AnyGrader:
    """The grader of ``exercise``: a dense network's own (fast, with the quiz's notation),
    else its kind's quiz material's."""
    if isinstance(exercise, Problem):
        return Grader(exercise, patterns, min_digits=min_digits, ecf_credit=ecf_credit)
    return MaterialGrader(exercise, patterns, min_digits=min_digits, ecf_credit=ecf_credit)


def grade_class(problem_path: str, submissions: Iterable[Submission],
                grader_for: Callable[[Submission], AnyGrader | str], keys: Sequence[str],
                worth: Mapping[str, float], reports: Sequence[str] = ()) -> Gradebook:
    """Grade every submission with its grader (``grader_for`` gives a message instead when
    the student cannot be graded: no variant); a student already graded is reported."""
    book = Gradebook(problem_path, list(keys), dict(worth), reports=list(reports))
    seen: dict[str, str] = {}
    unknown: set[tuple[str, str]] = set()
    for submission in submissions:
        if submission.student in seen:
            book.reports.append(f"{submission.source}: student '{submission.student}' is "
                                f"graded already (from {seen[submission.student]}): "
                                "left out")
            continue
        grader = grader_for(submission)
        if isinstance(grader, str):
            book.reports.append(grader)
            continue
        seen[submission.student] = submission.source
        for key in grader.unknown(submission):
            if (submission.path, key) not in unknown:  # a CSV column: once, not every row
                unknown.add((submission.path, key))
                book.reports.append(f"{submission.where(key)}: {grader.why_unknown(key)}: "
                                    "ignored")
        book.students.append(grader.grade(submission))
    return book


def grade(problem: Exercise, answers: Iterable[str | Path],
          patterns: Sequence[str] | None = None, *, min_digits: int = DEFAULT_MIN_DIGITS,
          ecf_credit: float = 1.0,
          variants: Mapping[str, Exercise] | Callable[[str], Exercise | None] | None = None
          ) -> Gradebook:
    """Read the answer files and folders and grade the class against ``problem`` (or, with
    ``variants``, each student against their own variant, found by student id)."""
    submissions, reports = read_answers(answers)
    grader = grader_of(problem, patterns, min_digits=min_digits, ecf_credit=ecf_credit)
    cache: dict[str, AnyGrader] = {}

    def grader_for(submission: Submission) -> AnyGrader | str:
        if variants is None:
            return grader
        student = submission.student
        try:
            variant = (variants.get(student) if isinstance(variants, Mapping)
                       else variants(student))
        except ProblemError as error:  # a broken variant: that student is not graded
            return f"{error}: student '{student}' not graded"
        if variant is None:
            return f"{submission.source}: no variant for student '{student}': not graded"
        if student not in cache:
            try:
                cache[student] = grader_of(variant, patterns, min_digits=min_digits,
                                           ecf_credit=ecf_credit)
            except GradingError as error:
                return (f"{getattr(variant, 'path', student)}: {error}: student '{student}' "
                        "not graded")
            except ProblemError as error:  # a variant its kind cannot quiz (no point)
                path = getattr(variant, "path", student)
                return f"{error.with_path(path)}: student '{student}' not graded"
        return cache[student]

    return grade_class(getattr(problem, "path", ""), submissions, grader_for, grader.keys,
                       grader.worth, reports)


# ------------------------------------------------------------------ reading


def file_stem(student: str) -> str:
    """The name of a student's own file (a variant, feedback): the id, with anything but
    letters, digits, '.', '-' and '_' made '_' (an id never names a path)."""
    stem = re.sub(r"[^\w.-]", "_", student.strip())
    return stem if stem.strip(".") else f"_{stem}"


def answer_files(paths: Iterable[str | Path]) -> list[Path]:
    """The answer files named, and those in the folders named (sorted, recursively)."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*")
                            if p.suffix.lower() in ANSWER_SUFFIXES and p.is_file())
        else:
            files.append(path)
    return files


def read_answers(paths: Iterable[str | Path]) -> tuple[list[Submission], list[str]]:
    """Every submission in the files and folders, and the reports of what could not be
    read (``path:line:col: message``): a bad file never stops the others."""
    submissions: list[Submission] = []
    reports: list[str] = []
    for path in answer_files(paths):
        try:
            if path.suffix.lower() == ".csv":
                rows, row_reports = read_csv_answers(path)
                submissions += rows
                reports += row_reports
            else:
                submissions.append(read_yaml_answers(path))
        except ProblemError as error:
            reports.append(str(error.with_path(str(path))))
    return submissions, reports


def read_yaml_answers(path: Path) -> Submission:
    """One student's answers: ``student: <id>`` (default: the file's stem) and ``answers:``."""
    root = parse_yaml(read_text(path))
    if not isinstance(root, YMap):
        raise ProblemError("an answer file is a mapping with `student:` and `answers:`",
                           root.mark if root is not None else None)
    for key, (mark, _) in root.entries.items():
        if key not in ANSWER_FILE_KEYS:
            raise ProblemError(f"unknown key '{key}' in an answer file"
                               f"{suggest(key, ANSWER_FILE_KEYS)} (it has `student:` and "
                               "`answers:`)", mark)
    student = path.stem
    if (node := root.get("student")) is not None:
        if not isinstance(node, YScalar) or node.value is None or not node.text.strip():
            raise ProblemError("student must be an id (a name or a number)", node.mark)
        student = node.text.strip()
    node = root.get("answers")
    if node is None:
        raise ProblemError("missing required key 'answers' (value key -> number)", root.mark)
    if isinstance(node, YScalar) and node.value is None:
        return Submission(student, str(path), {}, {}, str(path))
    if not isinstance(node, YMap):
        raise ProblemError("answers must be a mapping of value key -> number", node.mark)
    answers: dict[str, str] = {}
    marks: dict[str, Mark] = {}
    for key, (mark, value) in node.entries.items():
        marks[key] = mark
        if isinstance(value, YScalar):
            answers[key] = "" if value.value is None and not value.quoted else value.text
        else:
            answers[key] = "<a list or a mapping>"
    return Submission(student, str(path), answers, marks, str(path))


def read_csv_answers(path: Path) -> tuple[list[Submission], list[str]]:
    """A row per student: a ``student`` column and a column per value key."""
    text = read_text(path)
    lines = text.splitlines()
    header = _outside_brackets(lines[0]) if lines else ""  # z.C[1,2,3]'s commas are its own
    delimiter = next((d for d in (",", ";", "\t") if d in header), ",")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        columns = [name.strip() for name in _bracketed_columns(next(reader), delimiter)]
    except StopIteration:
        raise ProblemError("empty CSV file: the first row names the columns (student, then "
                           "value keys)", path=str(path)) from None
    if STUDENT_COLUMN not in columns:
        raise ProblemError(f"no '{STUDENT_COLUMN}' column{suggest(STUDENT_COLUMN, columns)}: "
                           "the first row names the columns (student, then value keys)",
                           Mark(1, 1))
    id_column = columns.index(STUDENT_COLUMN)
    where = str(path)
    submissions = []
    reports = []
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(columns):
                reports.append(f"{where}:{line}:1: {len(row)} cells but {len(columns)} "
                               "columns: row left out")
                continue
            student = row[id_column].strip() if id_column < len(row) else ""
            if not student:
                reports.append(f"{where}:{line}:1: a row without a student id: left out")
                continue
            answers = {}
            marks = {}
            column = 1
            for index, name in enumerate(columns):
                cell = row[index] if index < len(row) else ""
                if index != id_column and name:
                    answers[name] = cell
                    marks[name] = Mark(line, column)
                column += len(cell) + 1
            submissions.append(Submission(student, f"{where}:{line}", answers, marks, where))
    except csv.Error as error:
        reports.append(f"{where}:{reader.line_num}:1: CSV error: {error}: the rest of the "
                       "file is left out")
    return submissions, reports


def _outside_brackets(text: str) -> str:
    """``text`` without what its brackets hold (a layered key's tensor index)."""
    kept = []
    depth = 0
    for char in text:
        depth += char == "["
        if depth == 0:
            kept.append(char)
        depth -= char == "]" and depth > 0
    return "".join(kept)


def _bracketed_columns(cells: list[str], delimiter: str) -> list[str]:
    """The header's cells with a key's index put back together: a header written
    ``student,z.C[1,2,3]`` (not quoted) reads as the columns ``student`` and ``z.C[1,2,3]``,
    not ``z.C[1``, ``2`` and ``3]``."""
    columns: list[str] = []
    for cell in cells:
        if columns and columns[-1].count("[") > columns[-1].count("]"):
            columns[-1] += delimiter + cell
        else:
            columns.append(cell)
    return columns
