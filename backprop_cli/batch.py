"""Checking many problem files: discovery, one report per file, parallel runs.

A broken file never stops the batch: it gets the status ``invalid`` with its
errors, and the next file is checked. Reports come back in the order of the
paths, whether they were computed in one process or several.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from backprop_cli.checker import KeyResult, check_values, first_wrong
from backprop_cli.errors import NumericError, ProblemError
from backprop_cli.problem import Problem
from backprop_cli.records import field, record

PROBLEM_SUFFIXES = (".yaml", ".yml")
# Below this many files one process is faster than starting workers.
PARALLEL_THRESHOLD = 200


class UsageError(Exception):
    """The paths given cannot be checked at all (exit status 2)."""


@record
class FileError:
    message: str
    line: int | None = None
    column: int | None = None
    text: str = ""  # the full 'path:line:col: message' line


@record
class FileReport:
    path: str
    status: str  # passed | failed | invalid
    title: str | None = None
    results: list[KeyResult] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)

    @property
    def first_wrong(self) -> KeyResult | None:
        return first_wrong(self.results)

    @property
    def errata(self) -> list[KeyResult]:
        return [r for r in self.results if r.erratum is not None]


def discover(paths: Iterable[str]) -> list[str]:
    """Problem files named by ``paths`` (files, folders searched recursively, globs)."""
    found: dict[str, None] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            in_folder = [p for p in path.rglob("*")
                         if p.suffix in PROBLEM_SUFFIXES and p.is_file()]
            if not in_folder:
                raise UsageError(f"{raw}: no problem files (*.yaml, *.yml) in this folder")
            for file in sorted(in_folder, key=lambda p: p.as_posix()):
                found[str(file)] = None
        elif path.is_file():
            found[raw] = None
        elif glob.has_magic(raw):
            matched = sorted(m for m in glob.glob(raw, recursive=True) if Path(m).is_file())
            if not matched:
                raise UsageError(f"{raw}: the pattern matches no file")
            for name in matched:
                found[name] = None
        else:
            raise UsageError(f"{raw}: no such file or folder")
    return list(found)


def check_file(path: str) -> FileReport:
    """Load, solve and judge one file; never raises for a bad file."""
    from backprop_cli.engine import solve
    from backprop_cli.exercise import load_exercise

    try:
        problem = load_exercise(path)
    except ProblemError as error:
        error.with_path(path)
        return FileReport(path, "invalid", errors=[
            FileError(error.message, error.line, error.column, str(error))])
    if not isinstance(problem, Problem):  # `kind: derivative`: a schema of its own
        from backprop_cli import derivative

        return derivative.report(problem, path)
    try:
        solution = solve(problem, _patterns_for(problem))
        results = check_values(problem, solution.values)
    except NumericError as error:
        return FileReport(path, "invalid", problem.title, errors=[
            FileError(str(error), None, None, f"{path}: {error}")])
    status = "failed" if any(not r.passed for r in results) else "passed"
    return FileReport(path, status, problem.title, results)


def _patterns_for(problem: Problem) -> list[str]:
    """What to record: the expected keys (the checker reads the leaves of a
    recomputation, data and starting parameters, from the problem itself)."""
    return list(problem.expected) or ["final.loss"]


def usable_cores() -> int:
    """The cores this process may run on (taskset, cpusets), not all the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_files(paths: list[str], jobs: int | None = None,
                progress: Callable[[int], None] | None = None) -> list[FileReport]:
    """Reports for ``paths`` in their order, in parallel when there are many."""
    workers = jobs if jobs is not None else usable_cores()
    if workers > 1 and len(paths) >= PARALLEL_THRESHOLD:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
        context = multiprocessing.get_context(method)
        chunk = max(1, len(paths) // (workers * 8))
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            reports = []
            for report in pool.map(check_file, paths, chunksize=chunk):
                reports.append(report)
                if progress is not None:
                    progress(1)
            return reports
    reports = []
    for path in paths:
        reports.append(check_file(path))
        if progress is not None:
            progress(1)
    return reports
