"""Writers for `backprop check`: text, JSON, GitHub workflow commands, JUnit XML.

Machine formats are written directly (json, xml.etree), never through rich, so
their syntax is exactly what CI systems parse. The text writer takes a
``style`` callable so the CLI can add colour on a terminal.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backprop_cli.checking.checker import KeyResult
from backprop_cli.checking.report import FileReport
from backprop_cli.files.trust import repository_root
from backprop_cli.numfmt import format_number
from backprop_cli.render.formula_text import substituted
from backprop_cli.render.marks import VERDICT_SYMBOLS
from backprop_cli.render.sanitize import (
    github_free_text,
    markdown_cell,
    printable,
    valid_unicode,
    xml_text,
)

Style = Callable[..., str]

# GitHub shows at most 10 error annotations per step (50 per job): past this, a
# notice says how many more there are and points at the step summary.
GITHUB_ERROR_LIMIT = 10

VERDICT_MARKS = VERDICT_SYMBOLS  # the one table (render.marks)


def _plain(text: str, **_: Any) -> str:
    return text


def summary_counts(reports: list[FileReport]) -> dict[str, int]:
    counts = {"files": len(reports), "passed": 0, "failed": 0, "invalid": 0}
    for report in reports:  # "skipped" (not a problem file) only when there is one
        counts[report.status] = counts.get(report.status, 0) + 1
    return counts


def summary_line(reports: list[FileReport]) -> str:
    counts = summary_counts(reports)
    line = f"{counts['passed']} passed, {counts['failed']} failed"
    if counts["invalid"]:
        line += f", {counts['invalid']} invalid"
    if counts.get("skipped"):
        line += f", {counts['skipped']} skipped"
    return line


def _num(value: float | None, digits: int = 6) -> str:
    return "-" if value is None else format_number(value, digits, ascii_only=True)


def describe_wrong(result: KeyResult, digits: int = 6) -> str:
    """One line on a failing value: published, exact, difference (or too few digits)."""
    if result.verdict == "imprecise":
        return (f"{result.key} = {result.text} in the file: {result.reason} "
                f"(it is {_num(result.actual, digits)})")
    text = (f"{result.key} = {result.text} in the file, but it is {_num(result.actual, digits)} "
            f"(off by {_num(result.difference, 3)})")
    if result.reason and result.erratum is not None:
        text = f"{result.key}: {result.reason} (published {result.text}, erratum "
        text += f"{_num(result.erratum, digits)}, exact {_num(result.actual, digits)})"
    return text


def describe_diagnosis(result: KeyResult) -> str | None:
    """The slip that reproduces a wrong value, when exactly one does."""
    if result.diagnosis is None:
        return None
    return f"slip ({result.diagnosis.code}): {result.diagnosis.message}"


def _explained(result: KeyResult, indent: str = "") -> list[str]:
    """The lines under a failing value: its recomputation and the slip named."""
    lines = [describe_recomputation(result), describe_diagnosis(result)]
    return [indent + line for line in lines if line]


def describe_recomputation(result: KeyResult, digits: int = 6) -> str | None:
    """The step recomputed from the file's own numbers, with those numbers substituted."""
    if result.recomputed is None:
        return None
    if result.formula is None:  # a layered network's value: worked by array operations,
        # its recomputation is the carried pass; the reason says what the file's own
        # earlier values give, when it is not the exact value
        if result.reason and not _close(result.recomputed, result.actual):
            return result.reason
        return None
    if result.shown is not None:  # the worked solution's notation, for a person
        symbol, formula, numbers, value = result.shown
        return f"{symbol} = {formula} = {numbers} = {value} from the file's own numbers"
    symbols, numbers = substituted(result.formula, result.operands, digits)
    return (f"{result.key} = {symbols} = {numbers} = {_num(result.recomputed, digits)} "
            "from the file's own numbers")


def text_report(reports: list[FileReport], style: Style = _plain, show_errata: bool = False,
                verbose: bool = False) -> str:
    lines: list[str] = []
    for report in reports:
        counts: dict[str, int] = {}
        for result in report.results:
            counts[result.verdict] = counts.get(result.verdict, 0) + 1
        detail = ", ".join(f"{n} {_verdict_noun(verdict, n)}" for verdict, n in counts.items())
        colour = {"passed": "green", "failed": "red", "invalid": "red",
                  "skipped": "yellow"}[report.status]
        head = f"{printable(report.path)}: {style(report.status, fg=colour, bold=True)}"
        if report.status == "skipped":
            lines.append(f"{head} (not a problem file: none of its top-level keys is a "
                         "problem file's)")
            continue
        if report.status != "invalid":
            values = len(report.results)
            head += f" ({values} value{'s' * (values != 1)}{': ' + detail if detail else ''})"
        lines.append(head)
        for error in report.errors:
            lines.append(f"  {printable(error.text)}")
        wrong = [r for r in report.results if not r.passed]
        if wrong:
            lines.append(f"  first wrong value: {printable(wrong[0].key)} (line {wrong[0].line})")
        for result in wrong:
            mark = VERDICT_MARKS[result.verdict]
            lines.append(f"  {style(mark, fg='red')} {printable(describe_wrong(result))}")
            lines.extend(printable(line) for line in _explained(result, "      "))
        if verbose:
            for result in report.results:
                if result.passed:
                    mark = VERDICT_MARKS[result.verdict]
                    why = f": {result.reason}" if result.verdict == "consistent" else ""
                    lines.append(printable(f"  {mark} {result.key} = {result.text} "
                                           f"({result.verdict}){why}"))
        if show_errata:
            for result in report.errata:
                lines.append("  " + printable(errata_line(result)))
    lines.append(style(summary_line(reports), bold=True))
    return "\n".join(lines) + "\n"


def _verdict_noun(verdict: str, count: int) -> str:
    return "errata" if verdict == "erratum" and count != 1 else verdict


def errata_line(result: KeyResult) -> str:
    carried = result.erratum_carried
    if carried is None:
        carried = result.recomputed is not None and _close(result.expected, result.recomputed)
    how = "carried forward" if carried else "new error"
    correction = result.erratum_text or _num(result.erratum, 7)
    text = (f"erratum {result.key} (line {result.line}): published {result.text}, "
            f"correct {correction} [{how}]")
    if result.note:
        text += f": {result.note}"
    return text


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


def errata_report(reports: list[FileReport]) -> str:
    lines = []
    total = 0
    for report in reports:
        errata = report.errata
        if not errata:
            continue
        lines.append(f"{printable(report.path)}:")
        for result in errata:
            lines.append("  " + printable(errata_line(result)))
            total += 1
    files = len(reports)
    lines.append(f"{total} errat{'um' if total == 1 else 'a'} in {files} file{'s' * (files != 1)}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------- JSON


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def json_report(reports: list[FileReport]) -> str:
    # lazy: only for this format (start-up time of the other formats)
    import json

    files = []
    for report in reports:
        results = []
        for r in report.results:
            entry: dict[str, Any] = {
                "key": r.key, "expected": _finite(r.expected), "actual": _finite(r.actual),
                "verdict": r.verdict, "line": r.line, "column": r.column,
                "difference": _finite(r.difference), "recomputed": _finite(r.recomputed),
            }
            if r.erratum is not None:
                entry["erratum"] = _finite(r.erratum)
            if r.note:
                entry["note"] = r.note
            if r.reason:
                entry["reason"] = r.reason
            entry["diagnosis"] = ({"code": r.diagnosis.code, "message": r.diagnosis.message}
                                  if r.diagnosis is not None else None)
            results.append(entry)
        files.append({
            "file": report.path, "status": report.status, "title": report.title,
            "results": results,
            "errors": [{"line": e.line, "column": e.column, "message": e.message}
                       for e in report.errors],
        })
    document = {"summary": summary_counts(reports), "files": files}
    # control characters are escaped by JSON itself; a file name that is not UTF-8
    # (lone surrogates) is written with U+FFFD, so the document is valid UTF-8
    return valid_unicode(json.dumps(document, indent=2, ensure_ascii=False,
                                    allow_nan=False)) + "\n"


# ----------------------------------------------------------------- GitHub


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(kind: str, message: str, **properties: Any) -> str:
    props = ",".join(f"{name}={_escape_property(printable(str(value)))}"
                     for name, value in properties.items() if value is not None)
    message = _escape_data(printable(message, keep_newlines=True))
    return f"::{kind}{' ' + props if props else ''}::{message}"


def github_path(path: str, root: str | None) -> str:
    """``path`` relative to the repository root ``root`` (as GitHub annotations need
    it), or as given when it is outside the repository or there is none."""
    if root is None:
        return path
    folder, name = os.path.split(os.path.abspath(path))
    relative = os.path.relpath(os.path.join(os.path.realpath(folder), name), root)
    if relative == ".." or relative.startswith(".." + os.sep) or os.path.isabs(relative):
        return path
    return relative.replace(os.sep, "/")


def github_report(reports: list[FileReport], show_errata: bool = False) -> str:
    """Workflow commands: an annotation per error, then the summary line; with
    ``show_errata``, the errata list, wrapped so that none of its lines is a command."""
    root = repository_root()
    annotations: list[str] = []
    for report in reports:
        path = github_path(report.path, root)
        for error in report.errors if report.status == "invalid" else ():
            annotations.append(_command("error", error.message, file=path,
                                        line=error.line, col=error.column,
                                        title="backprop: invalid problem file"))
        for result in report.results:
            if result.passed:
                continue
            message = "\n".join([describe_wrong(result), *_explained(result)])
            annotations.append(_command("error", message, file=path, line=result.line,
                                        col=result.column,
                                        title=f"backprop: {result.verdict} {result.key}"))
    lines = annotations[:GITHUB_ERROR_LIMIT]
    if len(annotations) > GITHUB_ERROR_LIMIT:
        more = len(annotations) - GITHUB_ERROR_LIMIT
        lines.append(_command("notice", f"{more} more error(s) not annotated: see the job "
                              "summary or run backprop check locally",
                              title="backprop: more errors"))
    lines.append(summary_line(reports))
    text = "\n".join(lines) + "\n"
    if show_errata:
        text += github_free_text(errata_report(reports))
    return text


def step_summary_markdown(reports: list[FileReport]) -> str:
    rows = ["## backprop check", "", f"**{summary_line(reports)}**", "",
            "| file | status | first wrong value | detail |", "| --- | --- | --- | --- |"]
    for report in reports:
        first = report.first_wrong
        detail = ""
        if report.errors:
            detail = report.errors[0].message if report.status == "skipped" else (
                report.errors[0].text)
        elif first is not None:
            slip = describe_diagnosis(first)
            detail = describe_wrong(first) + (f"; {slip}" if slip else "")
        cells = [report.path, report.status, first.key if first else "", detail]
        rows.append("| " + " | ".join(markdown_cell(c) for c in cells) + " |")
    return "\n".join(rows) + "\n"


def append_step_summary(reports: list[FileReport]) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        try:
            with Path(target).open("a", encoding="utf-8", errors="replace") as handle:
                handle.write(step_summary_markdown(reports))
        except OSError as error:  # the annotations and the report still arrive
            import sys  # lazy: only on this error path

            print(f"backprop: cannot write the job summary: {error.strerror or error}",
                  file=sys.stderr)


# ------------------------------------------------------------------ JUnit


def _xml(text: str) -> str:
    """Untrusted text for XML: control characters shown escaped, the rest valid XML 1.0."""
    return xml_text(printable(text, keep_newlines=True))


def junit_report(reports: list[FileReport]) -> str:
    # lazy: only for this format; its import costs 2 ms
    from xml.etree import ElementTree

    counts = summary_counts(reports)
    suites = ElementTree.Element("testsuites", name="backprop check", tests=str(len(reports)),
                                 failures=str(counts["failed"]), errors=str(counts["invalid"]))
    suite = ElementTree.SubElement(suites, "testsuite", name="backprop check",
                                   tests=str(len(reports)), failures=str(counts["failed"]),
                                   errors=str(counts["invalid"]),
                                   skipped=str(counts.get("skipped", 0)))
    for report in reports:
        path = Path(report.path)
        classname = path.parent.as_posix().replace("/", ".") or "."
        case = ElementTree.SubElement(suite, "testcase", classname=_xml(classname),
                                      name=_xml(path.stem), file=_xml(report.path))
        if report.status == "skipped":
            ElementTree.SubElement(case, "skipped", message=_xml(report.errors[0].message))
        elif report.status == "invalid":
            element = ElementTree.SubElement(case, "error", message=_xml(report.errors[0].message),
                                             type="invalid")
            element.text = _xml("\n".join(e.text for e in report.errors))
        elif report.status == "failed":
            wrong = [r for r in report.results if not r.passed]
            element = ElementTree.SubElement(
                case, "failure",
                message=_xml(f"{len(wrong)} wrong value(s), first: {wrong[0].key}"), type="wrong")
            details = []
            for result in wrong:
                details.append(f"line {result.line}: {describe_wrong(result)}")
                details.extend(_explained(result, "    "))
            element.text = _xml("\n".join(details))
    ElementTree.indent(suites)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ElementTree.tostring(suites, encoding="unicode") + "\n")
