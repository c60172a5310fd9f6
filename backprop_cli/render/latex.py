"""The LaTeX writer: a standalone ``.tex`` (amsmath) that compiles with pdflatex.

The formulas are the Markdown writer's LaTeX (:class:`~backprop_cli.render.notation.LatexNotation`);
long equations become ``align*`` rows, one ``= …`` per row, and a part wider than
a row is broken before a ``+`` or ``-`` outside brackets. Prose is escaped, and
the Unicode it uses (→, ·, η, ✓ …) is written as LaTeX, so that only packages of
a basic TeX installation are needed: amsmath, amssymb, longtable, geometry, lmodern.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from backprop_cli.render.markdown import visible_length
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
from backprop_cli.render.text import context_notation, equation_text, inline_math, mark_text
from backprop_cli.render.textplot import log_scaled

ONE_LINE = 70  # visible characters of an equation kept on one line
ROW = 60  # visible characters of one row of a broken equation
LONG_CELL = 40  # visible characters above which a left-aligned table column wraps

PREAMBLE = r"""\documentclass[11pt,fleqn]{article}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage{lmodern}
\usepackage[a4paper,margin=2.2cm]{geometry}
\usepackage{amsmath}
\usepackage{amssymb}
\usepackage{array}
\usepackage{longtable}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5em}
\sloppy
\allowdisplaybreaks
\setlength{\mathindent}{1.5em}
"""

_SPECIAL = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "%": r"\%", "_": r"\_", "^": r"\^{}", "~": r"\~{}", "<": r"\textless{}",
    ">": r"\textgreater{}", "|": r"\textbar{}",
}
# Unicode in prose (notes, labels, verdicts) as LaTeX
_UNICODE = {
    "→": r"$\to$", "←": r"$\leftarrow$", "−": "$-$", "·": r"$\cdot$", "×": r"$\times$",
    "≤": r"$\le$", "≥": r"$\ge$", "≈": r"$\approx$", "✓": r"$\checkmark$", "✗": r"$\times$",
    "…": r"\ldots{}", "–": "--", "—": "---", "“": "``", "”": "''", "‘": "`", "’": "'",
    "±": r"$\pm$", "½": r"$\frac{1}{2}$", "′": "$'$", "∞": r"$\infty$", "√": r"$\surd$",
    "Σ": r"$\Sigma$", "⟨": r"$\langle$", "⟩": r"$\rangle$", "ᵀ": r"$^{T}$",
    "∂": r"$\partial$", "ŷ": r"$\hat{y}$", "m̂": r"$\hat{m}$", "ŝ": r"$\hat{s}$",
    "ⁿᵉʷ": r"$^{\text{new}}$",
    "ᵖʳᵉᵛ": r"$^{\text{prev}}$", "ᵏ": "$^k$", "▁": "", "█": "",
}
_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "varepsilon", "η": "eta",
    "θ": "theta", "λ": "lambda", "μ": "mu", "σ": "sigma", "τ": "tau", "φ": "varphi",
    "Δ": "Delta", "Λ": "Lambda",
}
_JOIN = re.compile(r"(?<!\\)\$\$")
_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾⁺⁻", "0123456789()+-", strict=True))
_SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉₍₎₊₋", "0123456789()+-", strict=True))


def escape(text: str) -> str:
    """Prose as LaTeX: special characters escaped, Unicode math written as LaTeX."""
    out: list[str] = []
    index = 0
    while index < len(text):
        ch = text[index]
        pair = text[index:index + 2]
        word = text[index:index + 4]
        if word in _UNICODE:
            out.append(_UNICODE[word])
            index += 4
            continue
        if pair in _UNICODE:
            out.append(_UNICODE[pair])
            index += 2
            continue
        index += 1
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ch.isascii():
            out.append(ch)
        elif ch in _UNICODE:
            out.append(_UNICODE[ch])
        elif ch in _GREEK:
            out.append(f"$\\{_GREEK[ch]}$")
        elif ch in _SUPERSCRIPTS or ch in _SUBSCRIPTS:
            table, mark = (_SUPERSCRIPTS, "^") if ch in _SUPERSCRIPTS else (_SUBSCRIPTS, "_")
            run = table[ch]
            while index < len(text) and text[index] in table:
                run += table[text[index]]
                index += 1
            out.append(f"${mark}{{{run}}}$")
        elif unicodedata.combining(ch):
            continue
        elif ord(ch) < 0x180 and ch.isalpha():
            out.append(ch)  # Latin letters with accents: T1 and utf8 have them
        else:
            out.append("?")
    return join_math("".join(out))


def join_math(text: str) -> str:
    """``$a$$b$`` (neighbouring math spans) as ``$ab$``; an escaped ``\\$`` stays."""
    return _JOIN.sub("", text)


def break_points(part: str) -> list[int]:
    """Where ``part`` may break: before a ``+`` or ``-`` outside braces, at the shallowest
    bracket depth that has any (a sum inside brackets when none is outside them)."""
    brackets = braces = 0
    found: dict[int, list[int]] = {}
    for index, ch in enumerate(part):
        if ch == "{":
            braces += 1
        elif ch == "}":
            braces -= 1
        elif ch in "([":
            brackets += 1
        elif ch in ")]":
            brackets -= 1
        elif braces == 0 and ch == " " and part[index + 1:index + 3] in ("+ ", "- "):
            found.setdefault(brackets, []).append(index)
    return found[min(found)] if found else []


def break_part(part: str, room: int) -> list[str]:
    """``part`` cut before + and - so that each piece fits ``room`` (see break_points)."""
    if visible_length(part) <= room:
        return [part]
    points = break_points(part)
    if points and any(part[:point].count("(") != part[:point].count(")") for point in points):
        # a break inside brackets: \left( … \right) cannot span rows, \bigl( … \bigr) can
        part = part.replace(r"\left(", r"\bigl(").replace(r"\right)", r"\bigr)")
        points = break_points(part)
    pieces: list[str] = []
    start = 0
    for point in points:
        pieces.append(part[start:point])
        start = point
    pieces.append(part[start:])
    lines = [pieces[0]]
    for piece in pieces[1:]:
        if visible_length(lines[-1] + piece) <= room:
            lines[-1] += piece
        else:
            lines.append(piece.strip())
    return lines


class LatexWriter:
    def __init__(self, latex: MathNotation) -> None:
        self.base = latex
        self.latex = latex
        self.out: list[str] = []

    def inline(self, parts: Sequence[Inline]) -> str:
        out: list[str] = []
        for part in parts:
            if isinstance(part, str):
                out.append(escape(part))
            elif isinstance(part, VerdictMark):
                mark = mark_text(part.judgement, self.latex, False, part.compact)
                out.append(escape(f"{mark.symbol} {mark.text}".strip()))
            elif isinstance(part, Word) and part.kind == "text":
                out.append(escape(part.arg))
            elif isinstance(part, (Sym, Math, Word, Num)):
                out.append(f"${inline_math(part, self.latex)}$")
            else:
                out.append(escape(str(part)))
        return join_math("".join(out))

    def write(self, doc: Document) -> str:
        self.out += [PREAMBLE.rstrip("\n"), rf"\title{{{escape(doc.title)}}}", r"\date{}",
                     "", r"\begin{document}", r"\maketitle", ""]
        if doc.description:
            self.description(doc.description)
        for section in doc.sections:
            self.section(section, 1)
        self.out.append(r"\end{document}")
        return "\n".join(self.out) + "\n"

    def description(self, text: str) -> None:
        """The author's text: paragraphs, `code` spans, and indented lines kept verbatim."""
        for paragraph in text.strip("\n").split("\n\n"):
            lines = paragraph.split("\n")
            if all(line.startswith("    ") for line in lines if line.strip()):
                self.out += [r"\begin{verbatim}", *(line[4:] for line in lines),
                             r"\end{verbatim}", ""]
                continue
            pieces = " ".join(paragraph.split()).split("`")
            self.out += ["".join(rf"\texttt{{{escape(piece)}}}" if index % 2 else escape(piece)
                                 for index, piece in enumerate(pieces)), ""]

    def section(self, section: Section, depth: int) -> None:
        previous = self.latex
        self.latex = context_notation(self.base, section.context)
        command = {1: "section", 2: "subsection"}.get(depth, "subsubsection")
        self.out += [f"\\{command}*{{{self.inline(section.title)}}}", ""]
        for block in section.blocks:
            self.block(block, depth)
        self.latex = previous

    def block(self, block: object, depth: int) -> None:
        if isinstance(block, Section):
            self.section(block, depth + 1)
        elif isinstance(block, Equation):
            self.equation(block)
        elif isinstance(block, Para):
            text = self.inline(block.parts)
            if block.kind == "note":
                text = rf"\textit{{{text}}}"
            elif block.kind == "warning":
                text = rf"\textbf{{{text}}}"
            self.out += [text, ""]
        elif isinstance(block, Table):
            self.table(block)
        elif isinstance(block, Fields):
            self.out.append(r"\begin{description}")
            for label, value in block.rows:
                self.out.append(rf"\item[{escape(label)}:] {self.inline(value)}")
            self.out += [r"\end{description}", ""]
        elif isinstance(block, Sparkline):
            values = block.values
            scale = " (log scale)" if log_scaled(values) else ""
            self.out += [rf"{escape(block.label.capitalize())} from "
                         rf"${self.latex.number(values[0])}$ to "
                         rf"${self.latex.number(values[-1])}$ over {len(values)} "
                         rf"values{scale}.", ""]
        else:
            raise TypeError(type(block).__name__)

    def equation(self, equation: Equation) -> None:
        text = equation_text(equation, self.latex)
        condition = rf" \quad {text.condition}" if text.condition else ""
        one_line = " = ".join([text.lhs, *text.parts]) + condition
        if visible_length(one_line) <= ONE_LINE:
            self.out += [r"\[", one_line, r"\]"]
        else:
            rows: list[str] = []
            for index, part in enumerate(text.parts):
                pieces = break_part(part, ROW)
                rows.append(f"{text.lhs if index == 0 else ''} &= {pieces[0]}")
                rows += [rf"&\phantom{{=}}\quad {piece}" for piece in pieces[1:]]
            if condition:
                rows.append(f"&{condition}")
            self.out += [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]
        if equation.judgement is not None:
            mark = mark_text(equation.judgement, self.latex, False)
            line = escape(f"{mark.symbol} {mark.text}".strip())
            if mark.detail:
                line += rf" --- \textit{{{escape(mark.detail)}}}"
            self.out.append(rf"\begin{{quote}}{line}\end{{quote}}")
        self.out.append("")

    def table(self, table: Table) -> None:
        if table.title:
            self.out += [rf"\textbf{{{self.inline(table.title)}}}", ""]
        rows = [[self.inline(cell) for cell in row] for row in table.rows]
        spec = ""
        for index, column in enumerate(table.columns):
            longest = max((visible_length(row[index]) for row in rows if index < len(row)),
                          default=0)
            if column.align == "right":
                spec += "r"
            elif longest > LONG_CELL:  # published values with notes: a wrapping column
                width = "5.5cm" if len(table.columns) < 7 else "3.8cm"
                spec += rf">{{\raggedright\arraybackslash}}p{{{width}}}"
            else:
                spec += "l"
        size = r"\small" if len(table.columns) < 7 else r"\footnotesize\setlength{\tabcolsep}{4pt}"
        self.out += [rf"\begingroup{size}", rf"\begin{{longtable}}[l]{{@{{}}{spec}@{{}}}}",
                     " & ".join(rf"\textbf{{{self.inline(c.header)}}}" for c in table.columns)
                     + r" \\ \hline", r"\endhead"]
        for cells in rows:
            self.out.append(" & ".join(cells) + r" \\")
        self.out += [r"\end{longtable}", r"\endgroup", ""]
        if table.footer:
            self.out += [rf"{{\small {self.inline(table.footer)}}}", ""]


def write_latex(doc: Document, latex: MathNotation) -> str:
    return LatexWriter(latex).write(doc)
