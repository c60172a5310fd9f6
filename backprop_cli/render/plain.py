"""The plain-text writer: no ANSI codes, no box drawing, safe in a pipe or a log.

Headings are underlined with ``=`` and ``-``, tables are aligned columns with
a rule of hyphens under the header, equations break before ``=`` to fit the
width. The content is the same as the rich rendering's.
"""

from __future__ import annotations

import math
import textwrap
import unicodedata
from collections.abc import Sequence

from backprop_cli.render.model import (
    Document,
    Equation,
    Fields,
    Inline,
    Para,
    Section,
    Sparkline,
    Table,
    VerdictMark,
    Word,
)
from backprop_cli.render.notation import MathNotation
from backprop_cli.render.text import (
    context_notation,
    equation_text,
    inline_math,
    layout_equation,
    mark_text,
)
from backprop_cli.render.textplot import log_scaled

SPARK_UNICODE = "▁▂▃▄▅▆▇█"
SPARK_ASCII = "_.-~=+*#"


def sparkline(values: list[float], width: int, ascii_only: bool) -> str:
    """Values as a row of bars (resampled to at most ``width`` characters).

    Over many decades (a loss going to 1e-30) the bars follow log10 of the
    values, zeros at the bottom, so the shape of the descent stays visible.
    """
    if not values:
        return ""
    if len(values) > width:
        step = (len(values) - 1) / (width - 1)
        values = [values[round(i * step)] for i in range(width)]
    if log_scaled(values):
        floor = min(v for v in values if v > 0)
        values = [math.log10(max(v, floor)) for v in values]
    bars = SPARK_ASCII if ascii_only else SPARK_UNICODE
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return bars[-1] * len(values)
    low, high = min(finite), max(finite)
    span = high - low
    if span == 0 or not math.isfinite(span):
        return "".join(bars[0] if math.isfinite(v) else bars[-1] for v in values)
    # the share of the span, not a scale factor: a span of subnormal floats (a loss of
    # 1e-310) would make the factor infinite
    top = len(bars) - 1
    return "".join(bars[min(top, round((v - low) / span * top))] if math.isfinite(v)
                   else bars[-1] for v in values)


def width_of(text: str) -> int:
    """Columns ``text`` takes in a terminal (a combining accent, as in m̂, takes none)."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


def pad(text: str, width: int, right: bool) -> str:
    fill = " " * max(width - width_of(text), 0)
    return fill + text if right else text + fill


class PlainWriter:
    def __init__(self, notation: MathNotation, width: int = 100, ascii_only: bool = False) -> None:
        self.base = notation
        self.notation = notation
        self.width = width
        self.ascii = ascii_only
        self.lines: list[str] = []

    # ------------------------------------------------------------------ inline

    def inline(self, parts: Sequence[Inline]) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(self.notation.text(part))
            elif isinstance(part, VerdictMark):
                mark = mark_text(part.judgement, self.notation, self.ascii, part.compact)
                out.append(f"{mark.symbol} {mark.text}".strip())
            elif isinstance(part, Word) and part.kind == "text":
                out.append(self.notation.text(part.arg))
            else:
                out.append(inline_math(part, self.notation))
        return "".join(out)

    # ------------------------------------------------------------------ blocks

    def write(self, doc: Document) -> str:
        title = self.notation.text(doc.title)
        self.lines += [title, ("=" * min(len(title), self.width)), ""]
        if doc.description:
            for paragraph in doc.description.strip().split("\n\n"):
                self.paragraph(self.notation.text(" ".join(paragraph.split())), 0)
                self.blank()
        for section in doc.sections:
            self.section(section, 0)
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        return "\n".join(self.lines) + "\n"

    def blank(self) -> None:
        if self.lines and self.lines[-1]:
            self.lines.append("")

    def section(self, section: Section, indent: int) -> None:
        previous = self.notation
        self.notation = context_notation(self.base, section.context)
        title = self.inline(section.title)
        pad = " " * indent
        self.blank()
        if section.level == 1:
            self.lines += [title, "-" * min(len(title), self.width), ""]
            inner = indent
        elif section.level == 2:
            self.lines += [f"{pad}{title}", f"{pad}{'~' * len(title)}"]
            inner = indent
        else:
            self.lines.append(f"{pad}{title}")
            inner = indent + 2
        for block in section.blocks:
            self.block(block, inner)
        self.blank()
        self.notation = previous

    def block(self, block: object, indent: int) -> None:
        if isinstance(block, Section):
            self.section(block, indent)
        elif isinstance(block, Equation):
            self.equation(block, indent)
        elif isinstance(block, Para):
            self.paragraph(self.inline(block.parts), indent)
        elif isinstance(block, Table):
            self.table(block, indent)
        elif isinstance(block, Fields):
            self.fields(block, indent)
        elif isinstance(block, Sparkline):
            self.spark(block, indent)
        else:
            raise TypeError(type(block).__name__)

    def paragraph(self, text: str, indent: int) -> None:
        pad = " " * indent
        self.lines += textwrap.wrap(text, self.width, initial_indent=pad, subsequent_indent=pad,
                                    break_on_hyphens=False, break_long_words=False) or [""]

    def equation(self, equation: Equation, indent: int) -> None:
        text = equation_text(equation, self.notation)
        mark_runs = []
        detail = None
        if equation.judgement is not None:
            mark = mark_text(equation.judgement, self.notation, self.ascii)
            mark_runs = [(f"{mark.symbol} {mark.text}".strip(), "mark")]
            detail = mark.detail
        lines = layout_equation(text.lhs, text.parts, mark_runs, self.width - indent,
                                self.notation.minus, text.condition)
        pad = " " * indent
        for line in lines:
            self.lines.append(pad + "".join(t for t, _ in line).rstrip())
        if detail:
            hang = indent + min(len(text.lhs) + 1, max((self.width - indent) // 3, 4))
            self.lines += textwrap.wrap(detail, self.width, initial_indent=" " * hang,
                                        subsequent_indent=" " * hang, break_on_hyphens=False)

    def table(self, table: Table, indent: int) -> None:
        indent_text = " " * indent
        self.blank()
        if table.title:
            self.lines.append(indent_text + self.inline(table.title))
            indent_text += "  "
            indent += 2
        headers = [self.inline(c.header) for c in table.columns]
        cells = [[self.inline(cell) for cell in row] for row in table.rows]
        widths = [max([width_of(h)] + [width_of(r[i]) for r in cells])
                  for i, h in enumerate(headers)]

        def line(values: list[str]) -> str:
            out = [pad(value, width, column.align == "right")
                   for value, column, width in zip(values, table.columns, widths, strict=True)]
            return (indent_text + "   ".join(out)).rstrip()

        self.lines.append(line(headers))
        self.lines.append(indent_text + "   ".join("-" * w for w in widths))
        self.lines += [line(row) for row in cells]
        if table.footer:
            self.paragraph(self.inline(table.footer), indent)
        self.blank()

    def fields(self, fields: Fields, indent: int) -> None:
        width = max(len(label) for label, _ in fields.rows) + 2
        pad = " " * indent
        for label, value in fields.rows:
            text = self.inline(value)
            first = pad + (label + ":").ljust(width)
            self.lines += textwrap.wrap(text, self.width, initial_indent=first,
                                        subsequent_indent=" " * len(first),
                                        break_on_hyphens=False, break_long_words=False)
        self.blank()

    def spark(self, spark: Sparkline, indent: int) -> None:
        values = spark.values
        bars = sparkline(values, min(60, self.width - indent - 30), self.ascii)
        first = self.notation.number(values[0])
        last = self.notation.number(values[-1])
        scale = " (log scale)" if log_scaled(values) else ""
        self.lines.append(f"{' ' * indent}{spark.label} {first} {bars} {last}{scale}")
        self.blank()


def write_plain(doc: Document, notation: MathNotation, width: int = 100,
                ascii_only: bool = False) -> str:
    return PlainWriter(notation, width, ascii_only).write(doc)
