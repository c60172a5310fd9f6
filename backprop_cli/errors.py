"""Errors a user can fix, each pointing at a place in a problem file.

Library code raises :class:`ProblemError`; the CLI prints ``str(error)``
(``path:line:col: message``) and exits with status 1, never a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple


class Mark(NamedTuple):
    """A 1-based line and column in a source file.

    A named tuple rather than a frozen dataclass: the YAML reader makes one per
    value, and a tuple is several times cheaper to build.
    """

    line: int
    column: int


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class ProblemError(Exception):
    """Something wrong with a problem file, at a known place when there is one.

    ``path``, ``line`` and ``column`` (1-based; None when unknown) and ``message``;
    ``str(error)`` is ``path:line:col: message``.

    Example::

        >>> import backprop_cli as bp
        >>> try:
        ...     bp.loads("loss: half_squared_error", path="lr.yaml")
        ... except bp.ProblemError as error:
        ...     print(error.path, error.line, error.column, error.message)
        lr.yaml 1 1 missing required key 'network' in the problem
    """

    def __init__(self, message: str, mark: Mark | None = None, path: str | None = None) -> None:
        # one line whatever the file held: a key with a newline prints as 'a\nb'
        message = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), message)
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.path = path

    def with_path(self, path: str) -> ProblemError:
        if self.path is None:
            self.path = path
        return self

    @property
    def line(self) -> int | None:
        return self.mark.line if self.mark else None

    @property
    def column(self) -> int | None:
        return self.mark.column if self.mark else None

    def __str__(self) -> str:
        where = self.path or "<input>"
        if self.mark is not None:
            where = f"{where}:{self.mark.line}:{self.mark.column}"
        return f"{where}: {self.message}"

    def each(self) -> list[ProblemError]:
        """The independent errors this one stands for (itself, for a single error)."""
        return [self]


MAX_ERRORS = 20  # independent errors of one file reported at once


class ProblemErrors(ProblemError):
    """Several independent errors of one file, in file order: one line each.

    It is a :class:`ProblemError` (the first error's message and place), so code that
    reads one error still works; :meth:`each` gives all of them.
    """

    def __init__(self, errors: list[ProblemError]) -> None:
        first = errors[0]
        super().__init__(first.message, first.mark, first.path)
        self.errors = errors[:MAX_ERRORS]
        self.more = len(errors) - len(self.errors)

    def with_path(self, path: str) -> ProblemError:
        for error in self.errors:
            error.with_path(path)
        return super().with_path(path)

    def each(self) -> list[ProblemError]:
        return list(self.errors)

    def __str__(self) -> str:
        lines = [str(error) for error in self.errors]
        if self.more:
            lines.append(f"{self.path or '<input>'}: {self.more} more error"
                         f"{'s' * (self.more != 1)} not shown")
        return "\n".join(lines)


def raise_collected(errors: list[ProblemError]) -> None:
    """Raise the errors collected, if any: one as itself, several together."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ProblemErrors(errors)


class NumericError(Exception):
    """A value overflowed or became undefined during the computation.

    Raised by the engine with the step and the value key where it happened, so
    the user reads words instead of NaN.

    Example::

        >>> import backprop_cli as bp
        >>> problem = bp.loads('''
        ... network: {inputs: [x], layers: [{units: [y], activation: identity, weights: [[1]]}]}
        ... loss: half_squared_error
        ... learning_rate: 1e300
        ... input: [1e10]
        ... target: 0
        ... ''')
        >>> try:
        ...     bp.solve(problem)
        ... except bp.NumericError as error:
        ...     print(error.step, error.message[:35])
        1 gradient descent diverged at step 1
    """

    def __init__(self, message: str, step: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.step = step

    def __str__(self) -> str:
        return self.message


def _normal(word: str) -> str:
    """A word as compared for suggestions: case, spaces and dashes do not matter."""
    return re.sub(r"[\s\-]+", "_", word.strip().lower())


def suggest(word: str, candidates: Iterable[str], limit: int = 3) -> str:
    """A ' (did you mean ...?)' hint, or '' when nothing is close."""
    # lazy: only on the error path; difflib costs start-up time on every run
    import difflib

    pool = list(candidates)
    # 'ReLU', 'Leaky ReLU' and 'binary cross-entropy' mean a known word exactly;
    # difflib alone would find 'ReLU' too far from 'relu'.
    same = [c for c in pool if _normal(c) == _normal(word) and c != word]
    if same:
        return f" (did you mean '{same[0]}'?)"
    if len(word) > 200:  # nothing that long is a typo of a key; spare difflib the work
        return ""
    matches = difflib.get_close_matches(word, pool, n=limit, cutoff=0.6)
    if not matches:
        normal = {_normal(c): c for c in pool}
        matches = [normal[m] for m in difflib.get_close_matches(
            _normal(word), list(normal), n=limit, cutoff=0.6)]
    if not matches:
        return ""
    quoted = " or ".join(f"'{m}'" for m in matches)
    return f" (did you mean {quoted}?)"
