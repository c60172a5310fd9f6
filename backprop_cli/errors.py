"""Errors a user can fix, each pointing at a place in a problem file.

Library code raises :class:`ProblemError`; the CLI prints ``str(error)``
(``path:line:col: message``) and exits with status 1, never a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Mark:
    """A 1-based line and column in a source file."""

    line: int
    column: int


class ProblemError(Exception):
    """Something wrong with a problem file, at a known place when there is one."""

    def __init__(self, message: str, mark: Mark | None = None, path: str | None = None) -> None:
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


class NumericError(Exception):
    """A value overflowed or became undefined during the computation.

    Raised by the engine with the step and the value key where it happened, so
    the user reads words instead of NaN.
    """

    def __init__(self, message: str, step: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.step = step

    def __str__(self) -> str:
        return self.message


def suggest(word: str, candidates: Iterable[str], limit: int = 3) -> str:
    """A ' (did you mean ...?)' hint, or '' when nothing is close."""
    matches = difflib.get_close_matches(word, list(candidates), n=limit, cutoff=0.6)
    if not matches:
        return ""
    quoted = " or ".join(f"'{m}'" for m in matches)
    return f" (did you mean {quoted}?)"
