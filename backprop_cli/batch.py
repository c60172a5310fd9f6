"""Checking many problem files: discovery, one report per file, parallel runs.

A broken file never stops the batch: it gets the status ``invalid`` with its
errors, and the next file is checked. Reports come back in the order of the
paths, whether they were computed in one process or several.
"""

from __future__ import annotations

import contextlib
import glob
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from backprop_cli.checker import KeyResult, check_values, first_wrong
from backprop_cli.errors import NumericError, ProblemError
from backprop_cli.problem import Problem
from backprop_cli.records import field, record

PROBLEM_SUFFIXES = (".yaml", ".yml")
# A worker process pays for itself from this many files (forking costs milliseconds).
MIN_FILES_PER_WORKER = 64


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
    workers = min(workers, len(paths) // MIN_FILES_PER_WORKER)
    # fork: the children start with everything imported; not on macOS, where system
    # libraries (Accelerate under NumPy) are not safe to use after a fork
    if workers > 1 and hasattr(os, "fork") and sys.platform != "darwin":
        return _check_forked(paths, workers, progress)
    reports = []
    for path in paths:
        reports.append(check_file(path))
        if progress is not None:
            progress(1)
    return reports


def _check_forked(paths: list[str], workers: int,
                  progress: Callable[[int], None] | None) -> list[FileReport]:
    """Check ``paths`` in this process and ``workers - 1`` forked ones.

    File i goes to process i mod ``workers`` (folders whose files grow along the
    way stay balanced). A child checks its share with the modules already
    imported here, then sends its reports back pickled through a pipe while this
    process checks its own share; children write a byte per file to a progress
    pipe. The reports come back in the order of ``paths``.
    """
    import pickle

    sys.stdout.flush()
    sys.stderr.flush()
    done_r, done_w = os.pipe()
    os.set_blocking(done_w, False)  # a full progress pipe must never stall a child
    children: list[tuple[int, int, int]] = []  # (pid, share, read end of its reports)
    for share in range(1, workers):
        result_r, result_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: check, send, leave without running the parent's exit code
            status = 1
            try:
                os.close(result_r)
                os.close(done_r)
                sent: list[FileReport] | str
                try:
                    sent = []
                    for path in paths[share::workers]:
                        sent.append(check_file(path))
                        with contextlib.suppress(BlockingIOError):
                            os.write(done_w, b".")
                except BaseException:  # the parent reports it, with the traceback
                    import traceback

                    sent = traceback.format_exc()
                with os.fdopen(result_w, "wb") as out:
                    pickle.dump(sent, out, protocol=pickle.HIGHEST_PROTOCOL)
                status = 0
            finally:
                os._exit(status)
        os.close(result_w)
        children.append((pid, share, result_r))
    os.close(done_w)
    os.set_blocking(done_r, False)
    shares: dict[int, list[FileReport]] = {0: []}
    counted = 0
    for path in paths[0::workers]:
        shares[0].append(check_file(path))
        if progress is not None:
            step = 1 + _drain(done_r)
            counted += step
            progress(step)
    failure = None
    for pid, share, result_r in children:
        with os.fdopen(result_r, "rb") as results:
            try:
                received = pickle.load(results)
            except EOFError:
                received = f"worker {pid} stopped without a report"
        os.waitpid(pid, 0)
        if isinstance(received, str):
            failure = failure or received
        else:
            shares[share] = received
    os.close(done_r)
    if failure is not None:
        raise RuntimeError(f"a checking process failed:\n{failure}")
    if progress is not None and counted < len(paths):
        progress(len(paths) - counted)
    reports: list[FileReport | None] = [None] * len(paths)
    for share, share_reports in shares.items():
        reports[share::workers] = share_reports
    return [report for report in reports if report is not None]


def _drain(fd: int) -> int:
    """How many bytes wait in a non-blocking pipe: files the children finished."""
    count = 0
    try:
        while chunk := os.read(fd, 4096):
            count += len(chunk)
    except BlockingIOError:
        pass
    return count
