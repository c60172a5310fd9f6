"""The rich writer: colour, tables and section rules in the terminal; HTML and SVG exports.

:class:`RichDocument` is a rich renderable (``__rich_console__``) over the
same document the plain writer prints, with the same line breaking for
equations. HTML and SVG are the terminal rendering recorded by a
``Console(record=True)`` and exported, for slides and course pages.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from rich import box
from rich._export_format import CONSOLE_SVG_FORMAT
from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table as RichTable
from rich.terminal_theme import DEFAULT_TERMINAL_THEME
from rich.text import Text

from backprop_cli.render.model import (
    Document,
    Equation,
    Fields,
    Inline,
    Num,
    Para,
    Section,
    Sparkline,
    Table,
    VerdictMark,
    Word,
)
from backprop_cli.render.notation import MathNotation
from backprop_cli.render.plain import sparkline
from backprop_cli.render.sanitize import xml_text
from backprop_cli.render.text import (
    context_notation,
    equation_text,
    inline_math,
    layout_equation,
    mark_text,
)
from backprop_cli.render.textplot import log_scaled

STYLES = {
    "lhs": "bold",
    "op": "dim",
    "result": "bold cyan",
    "condition": "italic",
    "number": "cyan",
    "heading": "bold blue",
    "subheading": "bold magenta",
    "layer": "bold",
    "note": "italic dim",
    "warning": "yellow",
    "label": "bold",
    "detail": "dim italic",
    "correct": "green",
    "consistent": "yellow",
    "wrong": "bold red",
    "imprecise": "red",
    "erratum": "magenta",
    "published": "dim",
}


def verdict_style(verdict: str | None) -> str:
    return STYLES.get(verdict or "published", "dim")


class RichDocument:
    """A worked solution as a rich renderable."""

    def __init__(self, doc: Document, notation: MathNotation, ascii_only: bool = False) -> None:
        self.doc = doc
        self.base = notation
        self.ascii = ascii_only

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Any]:
        writer = _Writer(self.base, self.ascii, options.max_width)
        yield from writer.document(self.doc)


class _Writer:
    def __init__(self, notation: MathNotation, ascii_only: bool, width: int) -> None:
        self.base = notation
        self.notation = notation
        self.ascii = ascii_only
        self.width = width

    def inline(self, parts: Sequence[Inline], style: str = "") -> Text:
        text = Text(style=style)
        for part in parts:
            if isinstance(part, str):
                text.append(self.notation.text(part))
            elif isinstance(part, VerdictMark):
                mark = mark_text(part.judgement, self.notation, self.ascii, part.compact)
                text.append(f"{mark.symbol} {mark.text}".strip(), verdict_style(mark.verdict))
            elif isinstance(part, Word) and part.kind == "text":
                text.append(self.notation.text(part.arg))
            elif isinstance(part, Num):
                text.append(inline_math(part, self.notation), STYLES["number"])
            else:
                text.append(inline_math(part, self.notation))
        return text

    def document(self, doc: Document) -> Iterator[RenderableType]:
        title = Text(self.notation.text(doc.title), style="bold")
        body: list[RenderableType] = [title]
        if doc.description:
            for paragraph in doc.description.strip().split("\n\n"):
                body.append(Text(""))
                body.append(Text(self.notation.text(" ".join(paragraph.split())), style="dim"))
        yield Panel(Group(*body), box=box.ASCII if self.ascii else box.ROUNDED,
                    border_style="blue")
        for section in doc.sections:
            yield from self.section(section, 0)

    def section(self, section: Section, indent: int) -> Iterator[RenderableType]:
        previous = self.notation
        self.notation = context_notation(self.base, section.context)
        title = self.inline(section.title)
        if section.level == 1:
            title.stylize(STYLES["heading"])
            yield Text("")
            yield Rule(title, align="left", style="blue", characters="-" if self.ascii else "─")
            inner = indent
        elif section.level == 2:
            title.stylize(STYLES["subheading"])
            yield Text("")
            yield Padding(title, (0, 0, 0, indent))
            inner = indent
        else:
            title.stylize(STYLES["layer"])
            yield Text("")
            yield Padding(title, (0, 0, 0, indent))
            inner = indent + 2
        for block in section.blocks:
            yield from self.block(block, inner)
        self.notation = previous

    def block(self, block: object, indent: int) -> Iterable[RenderableType]:
        if isinstance(block, Section):
            return self.section(block, indent)
        if isinstance(block, Equation):
            return [self.equation(block, indent)]
        if isinstance(block, Para):
            style = STYLES.get(block.kind, "")
            return [Padding(self.inline(block.parts, style), (0, 0, 0, indent))]
        if isinstance(block, Table):
            return [Padding(self.table(block), (1, 0, 0, indent))]
        if isinstance(block, Fields):
            return [Padding(self.fields(block), (0, 0, 0, indent))]
        if isinstance(block, Sparkline):
            return [Padding(self.spark(block), (0, 0, 0, indent))]
        raise TypeError(type(block).__name__)

    def equation(self, equation: Equation, indent: int) -> RenderableType:
        text = equation_text(equation, self.notation)
        mark_runs: list[tuple[str, str | None]] = []
        detail = None
        verdict = None
        if equation.judgement is not None:
            mark = mark_text(equation.judgement, self.notation, self.ascii)
            mark_runs = [(f"{mark.symbol} {mark.text}".strip(), "mark")]
            detail, verdict = mark.detail, mark.verdict
        lines = layout_equation(text.lhs, text.parts, mark_runs, self.width - indent,
                                self.notation.minus, text.condition)
        out = Text(no_wrap=True, overflow="fold")
        for number, line in enumerate(lines):
            if number:
                out.append("\n")
            for chunk, style in line:
                if style == "mark":
                    out.append(chunk, verdict_style(verdict))
                else:
                    out.append(chunk, STYLES.get(style or "", ""))
        renderables: list[RenderableType] = [out]
        if detail:
            hang = min(len(text.lhs) + 1, max((self.width - indent) // 3, 4))
            renderables.append(Padding(Text(detail, style=STYLES["detail"]), (0, 0, 0, hang)))
        return Padding(Group(*renderables), (0, 0, 0, indent))

    def table(self, table: Table) -> RenderableType:
        rich_table = RichTable(
            box=box.ASCII2 if self.ascii else box.SIMPLE_HEAD, show_edge=False,
            header_style="bold", pad_edge=False, expand=False)
        for column in table.columns:
            rich_table.add_column(self.inline(column.header),
                                  justify="right" if column.align == "right" else "left")
        for row in table.rows:
            rich_table.add_row(*(self.inline(cell) for cell in row))
        # title and footer outside the table: as a table's own title they would wrap
        # to the width of its columns ("Layer 1 / (hidden, / ReLU): h")
        parts: list[RenderableType] = []
        if table.title:
            parts.append(self.inline(table.title, "bold"))
        parts.append(rich_table)
        if table.footer:
            parts.append(self.inline(table.footer, "dim"))
        return Group(*parts)

    def fields(self, fields: Fields) -> RichTable:
        grid = RichTable.grid(padding=(0, 2))
        grid.add_column(style=STYLES["label"], no_wrap=True)
        grid.add_column()
        for label, value in fields.rows:
            grid.add_row(label, self.inline(value))
        return grid

    def spark(self, spark: Sparkline) -> Text:
        values = spark.values
        text = Text()
        if spark.label:
            text.append(f"{spark.label} ", STYLES["label"])
        text.append(self.notation.number(values[0]), STYLES["number"])
        text.append(" " + sparkline(values, min(60, self.width - 30), self.ascii) + " ", "green")
        text.append(self.notation.number(values[-1]), STYLES["number"])
        if log_scaled(values):
            text.append(" (log scale)", STYLES["note"])
        return text


# rich's SVG template without its @font-face rules (web fonts from a CDN): the
# font-family list already ends in the local monospace font
SVG_FORMAT = re.sub(r"\s*@font-face \{\{.*?\}\}\n", "\n", CONSOLE_SVG_FORMAT, flags=re.S)


def export(doc: Document, notation: MathNotation, fmt: str, width: int = 100,
           ascii_only: bool = False, color: bool = True) -> str:
    """The rich rendering as ANSI text ('rich'), or exported as 'html' or 'svg'."""
    renderable = RichDocument(doc, notation, ascii_only)
    if fmt == "rich":
        # force_jupyter=False: in a notebook (the Python API) rich would otherwise display
        # the rendering itself instead of writing it to the file
        console = Console(file=io.StringIO(), force_terminal=True, width=width,
                          no_color=not color, highlight=False, emoji=False, force_jupyter=False)
        console.print(renderable)
        output = console.file.getvalue()  # type: ignore[attr-defined]
        return str(output)
    console = Console(record=True, file=io.StringIO(), force_terminal=True, width=width,
                      color_system="truecolor", highlight=False, emoji=False,
                      force_jupyter=False)
    console.print(renderable)
    if fmt == "html":
        return console.export_html(inline_styles=True)
    if fmt == "svg":
        # light theme, and no @font-face: the template's web fonts are fetched from a CDN;
        # valid XML whatever a file supplied (issue 18)
        return xml_text(console.export_svg(title=doc.title, theme=DEFAULT_TERMINAL_THEME,
                                           code_format=SVG_FORMAT))
    raise ValueError(f"unknown format {fmt!r}")
