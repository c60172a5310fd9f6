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
from backprop_cli.numfmt import format_number
from backprop_cli.render.formula_text import substituted
from backprop_cli.render.marks import VERDICT_SYMBOLS

Style = Callable[..., str]

# GitHub shows at most 10 error annotations per step (50 per job): past this, a
# notice says how many more there are and points at the step summary.
GITHUB_ERROR_LIMIT = 10

VERDICT_MARKS = VERDICT_SYMBOLS  # the one table (render.marks)


def _plain(text: str, **_: Any) -> str:
    return text


def summary_counts(reports: list[FileReport]) -> dict[str, int]:
    counts = {"files": len(reports), "passed": 0, "failed": 0, "invalid": 0}
    for report in reports:
        counts[report.status] += 1
    return counts


def summary_line(reports: list[FileReport]) -> str:
    counts = summary_counts(reports)
    line = f"{counts['passed']} passed, {counts['failed']} failed"
    if counts["invalid"]:
        line += f", {counts['invalid']} invalid"
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
    if result.formula is None or result.recomputed is None:
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
        colour = {"passed": "green", "failed": "red", "invalid": "red"}[report.status]
        head = f"{report.path}: {style(report.status, fg=colour, bold=True)}"
        if report.status != "invalid":
            values = len(report.results)
            head += f" ({values} value{'s' * (values != 1)}{': ' + detail if detail else ''})"
        lines.append(head)
        for error in report.errors:
            lines.append(f"  {error.text}")
        wrong = [r for r in report.results if not r.passed]
        if wrong:
            lines.append(f"  first wrong value: {wrong[0].key} (line {wrong[0].line})")
        for result in wrong:
            mark = VERDICT_MARKS[result.verdict]
            lines.append(f"  {style(mark, fg='red')} {describe_wrong(result)}")
            lines.extend(_explained(result, "      "))
        if verbose:
            for result in report.results:
                if result.passed:
                    mark = VERDICT_MARKS[result.verdict]
                    why = f": {result.reason}" if result.verdict == "consistent" else ""
                    lines.append(f"  {mark} {result.key} = {result.text} ({result.verdict}){why}")
        if show_errata:
            for result in report.errata:
                lines.append("  " + errata_line(result))
    lines.append(style(summary_line(reports), bold=True))
    return "\n".join(lines) + "\n"


def _verdict_noun(verdict: str, count: int) -> str:
    return "errata" if verdict == "erratum" and count != 1 else verdict


def errata_line(result: KeyResult) -> str:
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
        lines.append(f"{report.path}:")
        for result in errata:
            lines.append("  " + errata_line(result))
            total += 1
    lines.append(f"{total} errat{'um' if total == 1 else 'a'} in {len(reports)} files")
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
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# ----------------------------------------------------------------- GitHub


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(kind: str, message: str, **properties: Any) -> str:
    props = ",".join(f"{name}={_escape_property(str(value))}"
                     for name, value in properties.items() if value is not None)
    return f"::{kind}{' ' + props if props else ''}::{_escape_data(message)}"


def github_report(reports: list[FileReport]) -> str:
    annotations: list[str] = []
    for report in reports:
        for error in report.errors:
            annotations.append(_command("error", error.message, file=report.path,
                                        line=error.line, col=error.column,
                                        title="backprop: invalid problem file"))
        for result in report.results:
            if result.passed:
                continue
            message = "\n".join([describe_wrong(result), *_explained(result)])
            annotations.append(_command("error", message, file=report.path, line=result.line,
                                        col=result.column,
                                        title=f"backprop: {result.verdict} {result.key}"))
    lines = annotations[:GITHUB_ERROR_LIMIT]
    if len(annotations) > GITHUB_ERROR_LIMIT:
        more = len(annotations) - GITHUB_ERROR_LIMIT
        lines.append(_command("notice", f"{more} more error(s) not annotated: see the job "
                              "summary or run backprop check locally",
                              title="backprop: more errors"))
    lines.append(summary_line(reports))
    return "\n".join(lines) + "\n"


def step_summary_markdown(reports: list[FileReport]) -> str:
    rows = ["## backprop check", "", f"**{summary_line(reports)}**", "",
            "| file | status | first wrong value | detail |", "| --- | --- | --- | --- |"]
    for report in reports:
        first = report.first_wrong
        detail = ""
        if report.errors:
            detail = report.errors[0].text
        elif first is not None:
            slip = describe_diagnosis(first)
            detail = describe_wrong(first) + (f"; {slip}" if slip else "")
        cells = [report.path, report.status, first.key if first else "", detail]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"


def append_step_summary(reports: list[FileReport]) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write(step_summary_markdown(reports))


# ------------------------------------------------------------------ JUnit


def junit_report(reports: list[FileReport]) -> str:
    # lazy: only for this format; its import costs 2 ms
    from xml.etree import ElementTree

    counts = summary_counts(reports)
    suites = ElementTree.Element("testsuites", name="backprop check", tests=str(len(reports)),
                                 failures=str(counts["failed"]), errors=str(counts["invalid"]))
    suite = ElementTree.SubElement(suites, "testsuite", name="backprop check",
                                   tests=str(len(reports)), failures=str(counts["failed"]),
                                   errors=str(counts["invalid"]), skipped="0")
    for report in reports:
        path = Path(report.path)
        classname = path.parent.as_posix().replace("/", ".") or "."
        case = ElementTree.SubElement(suite, "testcase", classname=classname, name=path.stem,
                                      file=report.path)
        if report.status == "invalid":
            element = ElementTree.SubElement(case, "error", message=report.errors[0].message,
                                             type="invalid")
            element.text = "\n".join(e.text for e in report.errors)
        elif report.status == "failed":
            wrong = [r for r in report.results if not r.passed]
            element = ElementTree.SubElement(
                case, "failure", message=f"{len(wrong)} wrong value(s), first: {wrong[0].key}",
                type="wrong")
            details = []
            for result in wrong:
                details.append(f"line {result.line}: {describe_wrong(result)}")
                details.extend(_explained(result, "    "))
            element.text = "\n".join(details)
    ElementTree.indent(suites)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ElementTree.tostring(suites, encoding="unicode") + "\n")
