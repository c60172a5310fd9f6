"""The names of every output format, one place for each command's list.

A leaf with no imports, so the command line can offer the choices without loading
anything heavy (``backprop --help`` imports neither numpy nor rich).
"""

from __future__ import annotations

from typing import Literal

SolveFormat = Literal["rich", "plain", "markdown", "latex", "html", "svg", "json"]
SOLVE_FORMATS: tuple[SolveFormat, ...] = ("rich", "plain", "markdown", "latex", "html", "svg",
                                          "json")
# what an --output file's suffix chooses when --format is not given
SUFFIX_FORMATS: dict[str, SolveFormat] = {
    ".md": "markdown", ".markdown": "markdown", ".tex": "latex", ".html": "html", ".htm": "html",
    ".svg": "svg", ".json": "json", ".txt": "plain",
}
# the formats the document renderers write (json is written from the values directly)
DocumentFormat = Literal["rich", "plain", "markdown", "latex", "html", "svg"]
DOCUMENT_FORMATS: tuple[DocumentFormat, ...] = ("rich", "plain", "markdown", "latex", "html",
                                                "svg")

CheckFormat = Literal["text", "json", "github", "junit"]
CHECK_FORMATS: tuple[CheckFormat, ...] = ("text", "json", "github", "junit")

# the commands whose output is a report (gradcheck, probe, surface, train, derive)
ReportFormat = Literal["plain", "json"]
REPORT_FORMATS: tuple[ReportFormat, ...] = ("plain", "json")

DiagramFormat = Literal["mermaid", "dot", "json"]
DIAGRAM_FORMATS: tuple[DiagramFormat, ...] = ("mermaid", "dot", "json")

# `backprop grade`: the class table, the gradebook an LMS imports, or the full JSON
GradeFormat = Literal["text", "csv", "json"]
GRADE_FORMATS: tuple[GradeFormat, ...] = ("text", "csv", "json")
