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

from backprop_cli.checking.report import FileError, FileReport
from backprop_cli.errors import ProblemError
from backprop_cli.kinds.exercise import kind_of, load_exercise

PROBLEM_SUFFIXES = (".yaml", ".yml")
# A worker process pays for itself from this many files (forking costs milliseconds).
MIN_FILES_PER_WORKER = 64


class UsageError(Exception):
    """The paths given cannot be checked at all (exit status 2)."""


def discover(paths: Iterable[str]) -> list[str]:
    """Problem files named by ``paths`` (files, folders searched recursively, globs)."""
    found: dict[str, None] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            in_folder = _problem_files(str(path))
            if not in_folder:
                raise UsageError(f"{raw}: no problem files (*.yaml, *.yml) in this folder")
            found.update(dict.fromkeys(in_folder))
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


def _problem_files(folder: str) -> list[str]:
    """The problem files under ``folder``, sorted: like ``Path.rglob`` (symbolic links to
    folders are not followed, links to files are), with one scandir per folder."""
    found = []
    pending = [folder]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    elif os.path.splitext(entry.name)[1] in PROBLEM_SUFFIXES and entry.is_file():
                        found.append(entry.path)
        except PermissionError:
            continue
    return sorted(found, key=lambda name: name.replace(os.sep, "/"))


def check_file(path: str, min_digits: int | None = None) -> FileReport:
    """Load, solve and judge one file, whatever its kind; never raises for a bad file
    (``min_digits``: ``check --min-digits``)."""
    try:
        exercise = load_exercise(path)
    except ProblemError as error:
        error.with_path(path)
        return FileReport(path, "invalid", errors=[
            FileError(e.message, e.line, e.column, str(e)) for e in error.each()])
    return kind_of(exercise).check(exercise, path, min_digits)


def usable_cores() -> int:
    """The cores this process may run on (taskset, cpusets), not all the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_files(paths: list[str], jobs: int | None = None,
                progress: Callable[[int], None] | None = None,
                min_digits: int | None = None) -> list[FileReport]:
    """Reports for ``paths`` in their order, in parallel when there are many."""
    workers = jobs if jobs is not None else usable_cores()
    workers = min(workers, len(paths) // MIN_FILES_PER_WORKER)
    # fork: the children start with everything imported; not on macOS, where system
    # libraries (Accelerate under NumPy) are not safe to use after a fork
    if workers > 1 and hasattr(os, "fork") and sys.platform != "darwin":
        return _check_forked(paths, workers, progress, min_digits)
    reports = []
    for path in paths:
        reports.append(check_file(path, min_digits))
        if progress is not None:
            progress(1)
    return reports


# Files are handed out in chunks, a ticket each: small enough to keep the processes
# busy until the end, few enough to fit a pipe of the smallest size (one page).
MIN_CHUNK = 4
MAX_TICKETS = 1024
_TICKET = 4  # bytes per ticket: a chunk number
_LENGTH = 8  # bytes before each message of a child: the length of the pickle that follows


def _check_forked(paths: list[str], workers: int,
                  progress: Callable[[int], None] | None,
                  min_digits: int | None = None) -> list[FileReport]:
    """Check ``paths`` in this process and ``workers - 1`` forked ones.

    The paths are cut into chunks, and every chunk number is written into a
    pipe before forking: each process takes the next number when it is free
    (a read of a few bytes from a pipe is atomic), so a folder with a few slow
    files still ends with every process busy. A child checks its chunks with
    the modules already imported here and sends each chunk's reports, pickled,
    through a pipe of its own as soon as they are ready; this process reads
    them between its own chunks. The reports come back in the order of ``paths``.
    """
    # lazy: only when the check forks (a folder of many files)
    import pickle

    chunk = max(MIN_CHUNK, -(-len(paths) // MAX_TICKETS))
    chunks = -(-len(paths) // chunk)
    tickets_r, tickets_w = os.pipe()
    os.write(tickets_w, b"".join(c.to_bytes(_TICKET, "little") for c in range(chunks)))
    os.close(tickets_w)  # once the tickets are read, the pipe says: no more work

    def next_chunk() -> range | None:
        ticket = os.read(tickets_r, _TICKET)
        if not ticket:
            return None
        start = int.from_bytes(ticket, "little") * chunk
        return range(start, min(start + chunk, len(paths)))

    reports: list[FileReport | None] = [None] * len(paths)
    # The first chunk here, before forking: the children start with what it imported
    # (YAML, loader, engine) and with warm code (the interpreter specialises code as it
    # runs it), instead of each paying for both.
    first = next_chunk()
    if first is not None:
        for i in first:
            reports[i] = check_file(paths[i], min_digits)
        if progress is not None:
            progress(len(first))
    sys.stdout.flush()
    sys.stderr.flush()
    children: dict[int, int] = {}  # read end of a child's reports -> the child's pid
    for _ in range(1, workers):
        result_r, result_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: check, send, leave without running the parent's exit code
            status = 1
            try:
                os.close(result_r)
                for other in children:
                    os.close(other)
                message: tuple[int, list[FileReport] | str]
                try:
                    while (taken := next_chunk()) is not None:
                        message = (taken.start, [check_file(paths[i], min_digits) for i in taken])
                        _send(result_w, pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
                except BaseException:  # the parent reports it, with the traceback
                    # lazy: only when the check forks (a folder of many files)
                    import traceback

                    message = (-1, traceback.format_exc())
                    _send(result_w, pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
                status = 0
            finally:
                os._exit(status)
        os.close(result_w)
        _widen(result_r)
        children[result_r] = pid
    inbox = _Inbox(children, reports, progress)
    try:
        while (taken := next_chunk()) is not None:
            for i in taken:
                reports[i] = check_file(paths[i], min_digits)
            if progress is not None:
                progress(len(taken))
            inbox.receive(wait=False)
        inbox.receive(wait=True)
    except BaseException:
        inbox.stop()
        raise
    finally:
        os.close(tickets_r)
    if inbox.failure is not None:
        raise RuntimeError(f"a checking process failed:\n{inbox.failure}")
    for i, report in enumerate(reports):
        if report is None:
            raise RuntimeError(f"a checking process stopped before reporting on {paths[i]}")
    return reports  # type: ignore[return-value]  # every entry is set (checked above)


def _send(fd: int, payload: bytes) -> None:
    data = memoryview(len(payload).to_bytes(_LENGTH, "little") + payload)
    while data:
        data = data[os.write(fd, data):]


def _widen(fd: int) -> None:
    """A larger pipe for a child's reports, so that it seldom waits for this process
    to read them (Linux; elsewhere, or over the user's limit, the default stays)."""
    try:
        # lazy: only when the check forks (a folder of many files)
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except OSError:
        pass


class _Inbox:
    """What the children send: read without waiting between this process's own
    chunks, then to the end. A message is the length of a pickle, then the pickled
    (index of the chunk's first path, its reports), or (-1, a traceback)."""

    def __init__(self, children: dict[int, int], reports: list[FileReport | None],
                 progress: Callable[[int], None] | None) -> None:
        self.children = children
        self.reports = reports
        self.progress = progress
        self.pending = {fd: bytearray() for fd in children}
        self.failure: str | None = None
        for fd in children:
            os.set_blocking(fd, False)

    def receive(self, wait: bool) -> None:
        """Take in what has arrived; with ``wait``, all that the children will send."""
        # lazy: only when the check forks (a folder of many files)
        import select

        while self.pending:
            ready = select.select(list(self.pending), [], [])[0] if wait else list(self.pending)
            for fd in ready:
                self._read(fd)
            if not wait:
                return

    def stop(self) -> None:
        """This process failed: end the children still running and collect them."""
        # lazy: only when the check forks (a folder of many files)
        import signal

        for fd, pid in self.children.items():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            os.close(fd)
        self.children.clear()
        self.pending.clear()

    def _read(self, fd: int) -> None:
        # lazy: only when the check forks (a folder of many files)
        import pickle

        buffer = self.pending[fd]
        ended = False
        with contextlib.suppress(BlockingIOError):
            while data := os.read(fd, 1 << 16):
                buffer += data
            ended = True
        used = 0
        while len(buffer) - used >= _LENGTH:
            size = int.from_bytes(buffer[used:used + _LENGTH], "little")
            end = used + _LENGTH + size
            if end > len(buffer):
                break  # the rest of this message has not arrived yet
            start, sent = pickle.loads(buffer[used + _LENGTH:end])
            used = end
            if isinstance(sent, str):
                self.failure = self.failure or sent
                continue
            self.reports[start:start + len(sent)] = sent
            if self.progress is not None:
                self.progress(len(sent))
        del buffer[:used]
        if ended:  # the child is done: its pipe closed, collect it
            os.close(fd)
            os.waitpid(self.children.pop(fd), 0)
            del self.pending[fd]
