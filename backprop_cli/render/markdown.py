"""The Markdown writer: a worked-solution document like the seeds, with LaTeX math.

Display math is ``$$…$$`` on lines of its own, inline math ``$…$``; long
equations use ``aligned`` with one ``= …`` per line. Only LaTeX that GitHub,
GitLab and Jupyter (MathJax/KaTeX) all render is written, and nothing that
Markdown would eat first (no ``\\{``, ``\\,`` or ``_`` outside math).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from backprop_cli.render.model import (
    Document,
    Equation,
    Fields,
    Inline,
    Math,
    Num,
    Para,
    Section,
    Sparkline,
    Sym,
    Table,
    VerdictMark,
    Word,
)
from backprop_cli.render.notation import MathNotation
from backprop_cli.render.plain import sparkline
from backprop_cli.render.text import context_notation, equation_text, inline_math, mark_text
from backprop_cli.render.textplot import log_scaled

ALIGN_AT = 90  # visible characters above which an equation is split over lines
_COMMAND = re.compile(r"\\[a-zA-Z]+|[{}]")
_ESCAPE = re.compile(r"([\\`*_\[\]<>|#])")


def visible_length(latex: str) -> int:
    """Roughly how wide ``latex`` typesets (commands and braces take no room)."""
    return len(_COMMAND.sub("", latex.replace(r"\frac", "")))


def escape(text: str) -> str:
    return _ESCAPE.sub(r"\\\1", text)


class MarkdownWriter:
    def __init__(self, latex: MathNotation, prose: MathNotation) -> None:
        self.base = latex
        self.latex = latex
        self.prose = prose  # numbers in running text and tables
        self.out: list[str] = []
        self.depth = 2

    def inline(self, parts: Sequence[Inline]) -> str:
        """Prose with $…$ math; neighbouring math (x₁ = 1) becomes one span."""
        pieces: list[tuple[str, str]] = []  # (kind, text): kind is math, num, eq or text
        for part in parts:
            if isinstance(part, str):
                pieces.append(("eq" if part == " = " else "text", part))
            elif isinstance(part, Num):
                pieces.append(("num", inline_math(part, self.latex)))
            elif isinstance(part, VerdictMark):
                mark = mark_text(part.judgement, self.prose, False, part.compact)
                pieces.append(("text", f"{mark.symbol} {mark.text}".strip()))
            elif isinstance(part, Word) and part.kind == "text":
                pieces.append(("text", part.arg))
            elif isinstance(part, (Sym, Math, Word)):
                pieces.append(("math", inline_math(part, self.latex)))
            else:
                pieces.append(("text", str(part)))
        out: list[str] = []
        index = 0
        while index < len(pieces):
            end = index
            while end < len(pieces) and pieces[end][0] != "text":
                end += 1
            run = pieces[index:end]
            while run and run[-1][0] == "eq":
                run.pop()
                end -= 1
            if run and any(kind == "math" for kind, _ in run):
                out.append("$" + "".join(text for _, text in run) + "$")
            elif run:
                out += [self.prose_number(text) if kind == "num" else escape(text)
                        for kind, text in run]
            if end < len(pieces):
                out.append(escape(pieces[end][1]))
            index = max(end + 1, index + 1)
        return "".join(out)

    def prose_number(self, latex: str) -> str:
        """A number outside math, with a typographic minus."""
        if "\\" in latex:
            return f"${latex}$"
        return latex.replace("-", "−")

    def write(self, doc: Document) -> str:
        self.out += [f"# {escape(doc.title)}", ""]
        if doc.description:
            self.out += [doc.description.strip(), ""]
        for section in doc.sections:
            self.section(section)
        while self.out and not self.out[-1]:
            self.out.pop()
        return "\n".join(self.out) + "\n"

    def section(self, section: Section, depth: int = 2) -> None:
        previous = self.latex
        self.latex = context_notation(self.base, section.context)
        self.prose = self.prose.in_context(self.latex.context)
        self.depth = depth
        level = min(depth, 6)
        self.out += [f"{'#' * level} {self.inline(section.title)}", ""]
        for block in section.blocks:
            self.block(block, depth)
        self.latex = previous
        self.prose = self.prose.in_context(previous.context)

    def block(self, block: object, depth: int) -> None:
        if isinstance(block, Section):
            self.section(block, depth + 1)
        elif isinstance(block, Equation):
            self.equation(block)
        elif isinstance(block, Para):
            text = self.inline(block.parts)
            self.out += [f"*{text}*" if block.kind == "note" else text, ""]
        elif isinstance(block, Table):
            self.table(block)
        elif isinstance(block, Fields):
            for label, value in block.rows:
                self.out.append(f"- **{escape(label)}:** {self.inline(value)}")
            self.out.append("")
        elif isinstance(block, Sparkline):
            bars = sparkline(block.values, 60, False)
            first = self.prose.number(block.values[0])
            last = self.prose.number(block.values[-1])
            scale = " (log scale)" if log_scaled(block.values) else ""
            self.out += [f"{escape(block.label.capitalize())}: {first} `{bars}` {last}{scale}", ""]
        else:
            raise TypeError(type(block).__name__)

    def equation(self, equation: Equation) -> None:
        text = equation_text(equation, self.latex)
        condition = rf" \quad {text.condition}" if text.condition else ""
        one_line = " = ".join([text.lhs, *text.parts]) + condition
        if visible_length(one_line) <= ALIGN_AT or len(text.parts) == 1:
            self.out += [f"$${one_line}$$", ""]
        else:
            rows = [f"{text.lhs} &= {text.parts[0]}"]
            rows += [f"&= {part}" for part in text.parts[1:]]
            rows[-1] += condition
            body = " \\\\\n".join(rows)
            self.out += ["$$", r"\begin{aligned}", body, r"\end{aligned}", "$$", ""]
        if equation.judgement is not None:
            mark = mark_text(equation.judgement, self.prose, False)
            line = escape(f"{mark.symbol} {mark.text}".strip())
            if mark.detail:
                line += f" — *{escape(mark.detail)}*"
            self.out += [f"> {line}", ""]

    def table(self, table: Table) -> None:
        if table.title:
            self.out += [f"**{self.inline(table.title)}**", ""]
        headers = [self.inline(c.header) or " " for c in table.columns]
        self.out.append("| " + " | ".join(headers) + " |")
        self.out.append("|" + "|".join("---:" if c.align == "right" else "---"
                                       for c in table.columns) + "|")
        for row in table.rows:
            self.out.append("| " + " | ".join(self.inline(cell) for cell in row) + " |")
        self.out.append("")
        if table.footer:
            self.out += [self.inline(table.footer), ""]


def write_markdown(doc: Document, latex: MathNotation, prose: MathNotation) -> str:
    return MarkdownWriter(latex, prose).write(doc)
