"""The report on one checked file: its status, the verdict on each published value,
and its errors. Every kind of exercise produces one; the writers of `backprop check`
(:mod:`backprop_cli.render.check_reports`) read them."""

from __future__ import annotations

from typing import Literal

from backprop_cli.checking.checker import KeyResult, first_wrong
from backprop_cli.records import field, record

# skipped: a YAML file that is no problem file (a tool's configuration beside the problems)
FileStatus = Literal["passed", "failed", "invalid", "skipped"]


@record
class FileError:
    message: str
    line: int | None = None
    column: int | None = None
    text: str = ""  # the full 'path:line:col: message' line


@record
class FileReport:
    path: str
    status: FileStatus
    title: str | None = None
    results: list[KeyResult] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)

    @property
    def first_wrong(self) -> KeyResult | None:
        return first_wrong(self.results)

    @property
    def errata(self) -> list[KeyResult]:
        return [r for r in self.results if r.erratum is not None]


def judged(path: str, title: str | None, results: list[KeyResult]) -> FileReport:
    """The report of a file whose values were all judged: failed when one did not pass."""
    status: FileStatus = "failed" if any(not r.passed for r in results) else "passed"
    return FileReport(path, status, title, results)
