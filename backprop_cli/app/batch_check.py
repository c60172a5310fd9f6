"""Checking many problem files: discovery, one report per file, parallel runs.

A broken file never stops the batch: it gets the status ``invalid`` with its
errors, and the next file is checked. Reports come back in the order of the
paths, whether they were computed in one process or several.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import os
import sys
from collections.abc import Callable, Iterable

from backprop_cli.checking.report import FileError, FileReport
from backprop_cli.errors import ProblemError
from backprop_cli.files import trust
from backprop_cli.kinds.exercise import kind_of, load_exercise

PROBLEM_SUFFIXES = (".yaml", ".yml")
# A worker process pays for itself from this many files (forking costs milliseconds).
MIN_FILES_PER_WORKER = 64


class UsageError(Exception):
    """The paths given cannot be checked at all (exit status 2)."""


def discover(paths: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """Problem files named by ``paths``: files, folders searched recursively, globs
    (a glob matching folders checks them: ``'week*/'``).

    Folder walks and ``**`` never follow a link to a folder (so never out of the tree
    or into a loop), skip hidden files and folders (``.github/``) unless named
    explicitly, leave out what an ``exclude`` glob matches, and give each real file
    once. Every folder given (and the repository) becomes a trusted tree for the
    data files its problems name (:mod:`backprop_cli.files.trust`).
    """
    excluded = [pattern.rstrip("/") or pattern for pattern in exclude]
    found: dict[str, None] = {}
    for raw in paths:
        if os.path.isdir(raw):
            trust.add_root(raw)
            in_folder = _problem_files(raw, excluded)
            if not in_folder:
                _no_problem_files(raw)
            found.update(dict.fromkeys(in_folder))
        elif os.path.lexists(raw):
            # a file named explicitly, whatever it is: check_file says what is wrong with it
            if not _excluded(raw, raw, excluded):
                found[raw] = None
        elif glob.has_magic(raw):
            matched = _glob(raw, excluded)
            if not matched:
                raise UsageError(f"{display(raw)}: the pattern matches no file or folder")
            found.update(dict.fromkeys(matched))
        else:
            raise UsageError(f"{display(raw)}: no such file or folder")
    root = trust.repository_root()
    if root is not None:
        trust.add_root(root)
    unique = _each_real_file_once(list(found))
    for name in unique:
        trust.note_input_path(name)
    return unique


def display(path: str) -> str:
    """A path for a message: valid UTF-8, control characters escaped."""
    from backprop_cli.render.sanitize import display_path  # lazy: only for a message

    return display_path(path)


def _no_problem_files(folder: str) -> None:
    if not os.access(folder, os.R_OK | os.X_OK):
        raise UsageError(f"{display(folder)}: cannot read this folder (permission denied)")
    raise UsageError(f"{display(folder)}: no problem files (*.yaml, *.yml) in this folder")


def _excluded(path: str, relative: str, patterns: list[str]) -> bool:
    """Whether an ``--exclude`` glob matches the path as found, the path relative to the
    folder searched, or the last part of the name."""
    if not patterns:
        return False
    names = {path.replace(os.sep, "/"), relative.replace(os.sep, "/"),
             os.path.basename(path.rstrip("/" + os.sep))}
    if relative.startswith("./"):
        names.add(relative[2:])
    return any(fnmatch.fnmatchcase(name, pattern) for name in names for pattern in patterns)


def _walk(folder: str, excluded: list[str],
          visit: Callable[[os.DirEntry[str], str], bool]) -> None:
    """Every entry under ``folder``, hidden ones and excluded ones left out; ``visit``
    (entry, path relative to ``folder``) says whether to go into a folder. Links to
    folders are never followed; an unreadable folder is passed over."""
    pending = [(folder, "")]
    while pending:
        here, relative = pending.pop()
        try:
            with os.scandir(here) as entries:
                listed = list(entries)
        except OSError:
            continue
        for entry in listed:
            if entry.name.startswith("."):
                continue
            inner = f"{relative}{entry.name}"
            if _excluded(entry.path, inner, excluded):
                continue
            try:
                is_folder = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_folder = False
            if visit(entry, inner) and is_folder:
                pending.append((entry.path, inner + "/"))


def _problem_files(folder: str, excluded: list[str] | None = None) -> list[str]:
    """The problem files under ``folder``, sorted: links to folders are not followed,
    links to files are (a dangling one is listed, and reported as invalid)."""
    found: list[str] = []

    def visit(entry: os.DirEntry[str], relative: str) -> bool:
        if os.path.splitext(entry.name)[1] in PROBLEM_SUFFIXES:
            try:
                is_folder = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_folder = False
            if not is_folder:
                found.append(entry.path)
        return True

    _walk(folder, excluded or [], visit)
    return sorted(found, key=lambda name: name.replace(os.sep, "/"))


def _glob(pattern: str, excluded: list[str]) -> list[str]:
    """What a glob matches, found with :func:`_walk` (never through a link to a folder,
    hidden names only where the pattern names them): files, and the problem files of
    the folders it matches."""
    only_folders = pattern.endswith(("/", os.sep))
    parts = [p for p in pattern.replace(os.sep, "/").split("/") if p]
    fixed: list[str] = []
    while parts and not glob.has_magic(parts[0]):
        fixed.append(parts.pop(0))
    start = ("/" if pattern.startswith("/") else "") + "/".join(fixed)
    base = start or "."
    if not parts or not os.path.isdir(base):
        return []
    deep = "**" in parts
    matched: list[str] = []

    def visit(entry: os.DirEntry[str], relative: str) -> bool:
        names = relative.split("/")
        if not deep and len(names) > len(parts):
            return False
        path = entry.path if start else os.path.relpath(entry.path)
        if _match(names, parts):
            try:
                is_folder = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_folder = False
            if is_folder:
                trust.add_root(entry.path)
                matched.extend(_problem_files(path, excluded))
            elif not only_folders:
                matched.append(path)
        return deep or len(names) < len(parts)

    _walk(base, excluded, visit)
    return sorted(dict.fromkeys(matched), key=lambda name: name.replace(os.sep, "/"))


def _match(names: list[str], parts: list[str]) -> bool:
    """Whether the path ``names`` matches the glob ``parts`` (``**``: any folders)."""
    if not parts:
        return not names
    if parts[0] == "**":
        return any(_match(names[i:], parts[1:]) for i in range(len(names) + 1))
    return bool(names) and fnmatch.fnmatchcase(names[0], parts[0]) and _match(names[1:],
                                                                               parts[1:])


def _each_real_file_once(paths: list[str]) -> list[str]:
    """``paths`` with each real file once: of several names for one file (links), the
    one that is not a link is kept, else the first."""
    keys: dict[tuple[int, int], str] = {}
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            continue  # missing, a dangling link: kept, reported as invalid
        key = (info.st_dev, info.st_ino)
        if key not in keys or (os.path.islink(keys[key]) and not os.path.islink(path)):
            keys[key] = path
    kept = set(keys.values())
    return [path for path in paths if path in kept or not os.path.exists(path)]


def check_file(path: str, min_digits: int | None = None) -> FileReport:
    """Load, solve and judge one file, whatever its kind; never raises for a bad file
    (``min_digits``: ``check --min-digits``)."""
    try:
        exercise = load_exercise(path)
    except ProblemError as error:
        error.with_path(path)
        if _not_a_problem_file(path):
            return FileReport(path, "skipped", errors=[FileError(
                NOT_A_PROBLEM_FILE, None, None, f"{path}: {NOT_A_PROBLEM_FILE}")])
        return FileReport(path, "invalid", errors=[
            FileError(e.message, e.line, e.column, str(e)) for e in error.each()])
    return kind_of(exercise).check(exercise, path, min_digits)


NOT_A_PROBLEM_FILE = ("skipped: not a problem file (none of its top-level keys is a problem "
                      "file's)")


def _not_a_problem_file(path: str) -> bool:
    """A YAML mapping with none of a problem file's top-level keys (a CI or tool
    configuration beside the problems): skipped, not invalid. Only on the error path."""
    from backprop_cli.files.loader import TOP_KEYS  # lazy: only for a file that failed
    from backprop_cli.files.yamlio import YMap, parse_yaml, read_text
    from backprop_cli.kinds.derivative import TOP_KEYS as DERIVATIVE_KEYS

    try:
        root = parse_yaml(read_text(path))
    except ProblemError:
        return False
    known = {*TOP_KEYS, *DERIVATIVE_KEYS}
    return isinstance(root, YMap) and bool(root.entries) and not known.intersection(
        root.entries)


def check_file_safely(path: str, min_digits: int | None = None) -> FileReport:
    """:func:`check_file`, and whatever else goes wrong with one file (a bug, memory
    running out, a recursion too deep) makes that file invalid: the batch goes on.
    Only Ctrl-C (and an exit) stops it."""
    try:
        return check_file(path, min_digits)
    except (KeyboardInterrupt, SystemExit):
        raise
    except MemoryError:
        message = "out of memory while checking this file (see the limits in docs/security.md)"
    except RecursionError:
        message = "nested too deeply to be checked"
    except BaseException as error:
        text = str(error).replace("\n", " ")[:200]
        message = (f"internal error while checking this file ({type(error).__name__}: {text});"
                   " this is a bug, please report it")
    return FileReport(path, "invalid", errors=[FileError(message, None, None,
                                                         f"{path}: {message}")])


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
        reports.append(check_file_safely(path, min_digits))
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
            reports[i] = check_file_safely(paths[i], min_digits)
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
                        message = (taken.start, [check_file_safely(paths[i], min_digits)
                                                 for i in taken])
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
                reports[i] = check_file_safely(paths[i], min_digits)
            if progress is not None:
                progress(len(taken))
            inbox.receive(wait=False)
        inbox.receive(wait=True)
    except BaseException:
        inbox.stop()
        raise
    finally:
        os.close(tickets_r)
    # A child that failed, or was killed (the out-of-memory killer), took the reports of
    # the chunk it held with it: each of those files is checked again, alone, in a child
    # of its own, so that only the file that kills its process is reported as such.
    for i, report in enumerate(reports):
        if report is None:
            reports[i] = _check_isolated(paths[i])
            if progress is not None:
                progress(1)
    return reports  # type: ignore[return-value]  # every entry is set (above)


def _check_isolated(path: str) -> FileReport:
    """:func:`check_file_safely` in a child process: a file that kills the process
    (memory, a signal) is reported invalid, and this process goes on."""
    # lazy: only when the check forks (a folder of many files)
    import pickle

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one report, then leave without the parent's exit code
        status = 1
        try:
            os.close(read_end)
            _send(write_end, pickle.dumps(check_file_safely(path), pickle.HIGHEST_PROTOCOL))
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    data = bytearray()
    try:
        while chunk := os.read(read_end, 1 << 16):
            data += chunk
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    if len(data) >= _LENGTH and len(data) == _LENGTH + int.from_bytes(data[:_LENGTH], "little"):
        report: FileReport = pickle.loads(data[_LENGTH:])
        return report
    if os.WIFSIGNALED(status):
        how = f"was killed by signal {os.WTERMSIG(status)} (out of memory?)"
    else:
        how = f"ended with status {os.WEXITSTATUS(status)}"
    message = f"the process checking this file {how}; no report"
    return FileReport(path, "invalid", errors=[FileError(message, None, None,
                                                         f"{path}: {message}")])


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
            if isinstance(sent, str):  # its chunk is checked again, file by file
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
