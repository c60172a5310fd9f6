"""The trust boundary: which files a problem file may make the tool read.

A problem file is untrusted (course repositories check students' and
strangers' pull requests). It may name data files, and it may itself be a
symbolic link. What it can make the tool read is bounded here:

- a file is read only when its real path (after every symbolic link) lies
  inside a trusted tree: the problem file's own folder, or a tree the user
  named (the folders given to ``check``, and the repository it runs in);
- an absolute reference is refused; nothing inside a ``.git`` folder is read
  (``actions/checkout`` keeps the job's token in ``.git/config``);
- only regular files are read (never a FIFO, a device or a socket), opened
  without following a link at the last step and without blocking, and their
  size is checked on the open file against a limit;
- a refusal names the reference as written in the problem file, never what
  the file holds.

``--allow-outside`` (for local use, on files you trust) lifts the tree rule;
the other rules stay.

Every file read is also remembered (device and inode) so that an output file
can be refused when it is an input of the run (``solve p.yaml -o p.yaml``).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator

from backprop_cli.errors import Mark, ProblemError

MAX_DATA_BYTES = 256 * 1024 * 1024  # a .npy file; a CSV file has its own, smaller limit
SHORT_TOKEN = 24  # characters of data quoted in an error, at most

# The work one run may ask for, in parameter-sample-steps: each step costs its parameters ×
# samples, and at least STEP_COST (the fixed cost of a step, whatever the network's size).
# About ten seconds of computing: far above every exercise and benchmark (784-128-10 × 64
# samples × 500 steps is 3.3e9), far below what exhausts a CI machine (a 185-byte file asking
# for a 20-20 network and a million steps is 4e10). The values a random initialisation may
# draw are bounded too. --allow-big lifts both.
WORK_BUDGET = 10_000_000_000
STEP_COST = 40_000
MAX_INIT_VALUES = 50_000_000

_state: dict[str, bool] = {"allow_outside": False, "allow_big": False, "unrecorded": False}
_roots: list[str] = []  # real paths of the trees being checked
_inputs: set[tuple[int, int]] = set()  # (device, inode) of every file read
_repository: list[str | None] = []  # the repository root, once looked up

ALLOW_HINT = "pass --allow-outside to read it anyway (only for files you trust)"


def allow_outside(allowed: bool = True) -> None:
    """``--allow-outside``: files outside the trusted trees may be read."""
    _state["allow_outside"] = allowed


def outside_allowed() -> bool:
    return _state["allow_outside"]


def allow_big(allowed: bool = True) -> None:
    """``--allow-big``: a deliberate big run, past the work budget."""
    _state["allow_big"] = allowed


def big_allowed() -> bool:
    return _state["allow_big"]


BIG_HINT = "pass --allow-big for a deliberate big run"


@contextlib.contextmanager
def unrecorded_run() -> Iterator[None]:
    """Files read within are for a run that records no value per step (``backprop
    train``): a layered file's limit on the values its run records does not apply to
    them (its memory is flat in the steps); the work budget does."""
    before = _state["unrecorded"]
    _state["unrecorded"] = True
    try:
        yield
    finally:
        _state["unrecorded"] = before


def run_unrecorded() -> bool:
    return _state["unrecorded"]


def check_work(parameters: int, samples: int, steps: int) -> None:
    """Refuse a run over the work budget (steps × (parameters × samples + STEP_COST)),
    unless ``--allow-big``: a problem file cannot make the tool run for hours."""
    work = max(steps, 1) * (parameters * samples + STEP_COST)
    if work > WORK_BUDGET and not big_allowed():
        raise ProblemError(f"{steps:,} step{'s' * (steps != 1)} of {parameters:,} parameters × "
                           f"{samples:,} sample{'s' * (samples != 1)} is over the work budget "
                           "(about ten seconds of computing; a typo in steps or units?); "
                           f"{BIG_HINT}")


def check_init_size(rows: int, cols: int, what: str, mark: Mark) -> None:
    """Refuse drawing a weight matrix too large to hold, before allocating it."""
    if rows * cols > MAX_INIT_VALUES and not big_allowed():
        raise ProblemError(f"{what}: {rows:,} × {cols:,} = {rows * cols:,} random weights, over "
                           f"the limit of {MAX_INIT_VALUES:,}; {BIG_HINT}", mark)


def add_root(folder: str) -> None:
    """Trust the tree under ``folder`` (a folder given to ``check``)."""
    real = os.path.realpath(folder)
    if real not in _roots:
        _roots.append(real)


def reset() -> None:
    """Forget the roots, the inputs and the override (tests, and each CLI run)."""
    _roots.clear()
    _inputs.clear()
    _repository.clear()
    _state["allow_outside"] = False
    _state["allow_big"] = False
    _state["unrecorded"] = False


def repository_root() -> str | None:
    """The real path of the repository being worked on: ``$GITHUB_WORKSPACE``, else the
    nearest folder above the current one that holds ``.git``; None outside any."""
    if not _repository:
        found: str | None = None
        workspace = os.environ.get("GITHUB_WORKSPACE")
        if workspace and os.path.isdir(workspace):
            found = os.path.realpath(workspace)
        else:
            folder = os.path.realpath(os.getcwd())
            while True:
                if os.path.exists(os.path.join(folder, ".git")):
                    found = folder
                    break
                parent = os.path.dirname(folder)
                if parent == folder:
                    break
                folder = parent
        _repository.append(found)
    return _repository[0]


def is_inside(real: str, folder: str) -> bool:
    """Whether the real path ``real`` is ``folder`` or lies under it."""
    return real == folder or real.startswith(folder.rstrip(os.sep) + os.sep)


def _in_git_folder(real: str, root: str) -> bool:
    relative = os.path.relpath(real, root)
    return ".git" in relative.split(os.sep)


def _trusted(real: str, roots: list[str]) -> bool:
    return any(is_inside(real, root) and not _in_git_folder(real, root) for root in roots)


def short_token(text: str, limit: int = SHORT_TOKEN) -> str:
    """At most ``limit`` characters of ``text`` (data, not trusted), control
    characters and other unprintable ones shown escaped: safe to quote in an error."""
    cut = text[:limit]
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in cut)
    return shown + ("…" if len(text) > limit else "")


def check_problem_file(path: str) -> None:
    """Refuse a problem file that is a link leading out of its own folder and of the
    trees being checked (a link to a secret would be quoted in a YAML error)."""
    # a file that is not a link lies in its own folder, whatever links lead to that
    # folder: one lstat, and the two realpaths (a lstat per component) only for a link
    if outside_allowed() or not os.path.islink(path):
        return
    folder = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    real = os.path.realpath(path)
    if not _trusted(real, [folder, *_roots]):
        raise ProblemError("the file is a symbolic link to a file outside its folder (or to "
                           f"a .git folder): refused; {ALLOW_HINT}", path=path)


def resolve_reference(reference: str, problem_path: str, what: str, mark: Mark) -> str:
    """The real path of the file ``reference`` names (relative to ``problem_path``),
    or a ProblemError when the trust boundary refuses it."""
    shown = short_token(reference, 80)
    if (os.path.isabs(reference) or reference.startswith("~")) and not outside_allowed():
        raise ProblemError(f"{what}: '{shown}' is an absolute path; data files are named "
                           f"relative to the problem file ({ALLOW_HINT})", mark)
    folder = os.path.dirname(os.path.abspath(problem_path))
    real = os.path.realpath(os.path.join(folder, reference))
    if not outside_allowed() and not _trusted(real, [os.path.realpath(folder), *_roots]):
        raise ProblemError(f"{what}: '{shown}' leads outside the problem file's folder and "
                           f"the tree being checked (or into a .git folder): refused; "
                           f"{ALLOW_HINT}", mark)
    return real


def read_regular(real: str, reference: str, what: str, mark: Mark, limit: int) -> bytes:
    """The bytes of the regular file at ``real``: never a FIFO, device or socket, never
    more than ``limit`` bytes (checked on the open file), errors naming ``reference``."""
    shown = short_token(reference, 80)
    flags = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        fd = os.open(real, flags)
    except FileNotFoundError:
        raise ProblemError(f"{what}: no such file '{shown}' (paths are relative to the "
                           "problem file)", mark) from None
    except IsADirectoryError:
        raise ProblemError(f"{what}: '{shown}' is a folder, not a file", mark) from None
    except OSError as error:
        raise ProblemError(f"{what}: cannot read '{shown}': {error.strerror or error}",
                           mark) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ProblemError(f"{what}: '{shown}' is a folder, not a file", mark)
        if not stat.S_ISREG(info.st_mode):
            raise ProblemError(f"{what}: '{shown}' is not a regular file (a pipe, a device or "
                               "a socket): only regular files are read", mark)
        if info.st_size > limit:
            raise ProblemError(f"{what}: '{shown}' is {info.st_size / 1_000_000:.1f} MB, over "
                               f"the {limit // 1_000_000} MB limit for a data file", mark)
        os.set_blocking(fd, True)
        data = _read_all(fd, info.st_size, limit)
        if data is None:
            raise ProblemError(f"{what}: '{shown}' grew past the {limit // 1_000_000} MB "
                               "limit for a data file while it was read", mark)
        note_input(info)
        return data
    except OSError as error:
        raise ProblemError(f"{what}: cannot read '{shown}': {error.strerror or error}",
                           mark) from None
    finally:
        os.close(fd)


def _read_all(fd: int, size: int, limit: int) -> bytes | None:
    """Everything in the open file ``fd`` (of ``size`` bytes when opened), or None past
    ``limit`` bytes."""
    parts: list[bytes] = []
    total = 0
    want = size + 1  # one byte more, to see the file grow
    while True:
        chunk = os.read(fd, max(want, 1 << 16))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
        if total > limit:
            return None
    return parts[0] if len(parts) == 1 else b"".join(parts)


def note_input(info: os.stat_result) -> None:
    """Remember a file read in this run (an output must never replace it)."""
    _inputs.add((info.st_dev, info.st_ino))


def note_input_path(path: str) -> None:
    """Remember the file at ``path`` as an input (a problem file found by ``check``)."""
    with contextlib.suppress(OSError):
        note_input(os.stat(path))


def is_input(path: str) -> bool:
    """Whether ``path`` (after links) is a file this run read or was given to read."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    return (info.st_dev, info.st_ino) in _inputs
