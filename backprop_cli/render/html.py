"""The HTML writer: a standalone page with the mathematics as MathML.

Browsers typeset MathML natively, so the page needs no script, no web font
and no network fetch. Formulas are the LaTeX notation's text turned into
MathML by :mod:`backprop_cli.render.mathml`; long equations are a table of
``= …`` rows, as in the LaTeX writer. Light theme, printable.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from backprop_cli.render.latex import ONE_LINE, ROW, break_part
from backprop_cli.render.markdown import visible_length
from backprop_cli.render.mathml import rows_to_mathml, to_mathml
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

STYLE = """\
:root { color-scheme: light; }
body { background: #ffffff; color: #1b1f24; margin: 0;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .5rem; }
h2 { font-size: 1.3rem; color: #1d4ed8; border-bottom: 1px solid #cbd5e1;
  margin: 2rem 0 .75rem; padding-bottom: .2rem; }
h3 { font-size: 1.1rem; color: #6d28d9; margin: 1.5rem 0 .5rem; }
h4 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
.description { color: #475569; }
.description pre { background: #f1f5f9; padding: .5rem .75rem; overflow-x: auto; }
.note { color: #475569; font-style: italic; }
.warning { color: #92400e; }
math { font-size: 1.1em; }
.equation { margin: .4rem 0 .6rem 1rem; overflow-x: auto; overflow-y: hidden; }
.mark { margin: 0 0 .6rem 2rem; font-size: .95rem; }
.detail { color: #475569; font-style: italic; }
.correct { color: #15803d; } .consistent { color: #b45309; }
.wrong { color: #b91c1c; font-weight: 600; } .erratum { color: #a21caf; }
.published { color: #64748b; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { padding: .2rem .8rem .2rem 0; text-align: left; vertical-align: baseline; }
th { border-bottom: 1px solid #94a3b8; }
td.right, th.right { text-align: right; }
.caption { font-weight: 600; margin-top: 1rem; }
.footer { color: #475569; font-size: .9rem; }
dl.fields { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dl.fields dt { font-weight: 600; } dl.fields dd { margin: 0; }
svg.spark { vertical-align: middle; }
@media print { h2 { break-after: avoid; } main { max-width: none; } }
"""


class HtmlWriter:
    def __init__(self, latex: MathNotation, prose: MathNotation) -> None:
        self.base = latex
        self.latex = latex
        self.prose = prose  # numbers and marks in running text
        self.out: list[str] = []

    def inline(self, parts: Sequence[Inline]) -> str:
        out: list[str] = []
        for part in parts:
            if isinstance(part, str):
                out.append(html.escape(part))
            elif isinstance(part, VerdictMark):
                mark = mark_text(part.judgement, self.prose, False, part.compact)
                text = html.escape(f"{mark.symbol} {mark.text}".strip())
                out.append(f'<span class="{mark.verdict or "published"}">{text}</span>')
            elif isinstance(part, Word) and part.kind == "text":
                out.append(html.escape(part.arg))
            elif isinstance(part, (Sym, Math, Word, Num)):
                out.append(to_mathml(inline_math(part, self.latex)))
            else:
                out.append(html.escape(str(part)))
        return "".join(out)

    def write(self, doc: Document) -> str:
        self.out += ["<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
                     '<meta name="viewport" content="width=device-width, initial-scale=1">',
                     '<meta name="generator" content="backprop solve">',
                     f"<title>{html.escape(doc.title)}</title>", f"<style>\n{STYLE}</style>",
                     "</head>", "<body>", "<main>", f"<h1>{html.escape(doc.title)}</h1>"]
        if doc.description:
            self.description(doc.description)
        for section in doc.sections:
            self.section(section, 2)
        self.out += ["</main>", "</body>", "</html>"]
        return "\n".join(self.out) + "\n"

    def description(self, text: str) -> None:
        self.out.append('<div class="description">')
        for paragraph in text.strip("\n").split("\n\n"):
            lines = paragraph.split("\n")
            if all(line.startswith("    ") for line in lines if line.strip()):
                code = "\n".join(line[4:] for line in lines)
                self.out.append(f"<pre><code>{html.escape(code)}</code></pre>")
                continue
            pieces = " ".join(paragraph.split()).split("`")
            body = "".join(f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p)
                           for i, p in enumerate(pieces))
            self.out.append(f"<p>{body}</p>")
        self.out.append("</div>")

    def section(self, section: Section, level: int) -> None:
        previous = self.latex
        self.latex = context_notation(self.base, section.context)
        self.prose = self.prose.in_context(self.latex.context)
        tag = f"h{min(level, 6)}"
        self.out += ["<section>", f"<{tag}>{self.inline(section.title)}</{tag}>"]
        for block in section.blocks:
            self.block(block, level)
        self.out.append("</section>")
        self.latex = previous
        self.prose = self.prose.in_context(previous.context)

    def block(self, block: object, level: int) -> None:
        if isinstance(block, Section):
            self.section(block, level + 1)
        elif isinstance(block, Equation):
            self.equation(block)
        elif isinstance(block, Para):
            kind = f' class="{block.kind}"' if block.kind in ("note", "warning") else ""
            self.out.append(f"<p{kind}>{self.inline(block.parts)}</p>")
        elif isinstance(block, Table):
            self.table(block)
        elif isinstance(block, Fields):
            self.out.append('<dl class="fields">')
            for label, value in block.rows:
                self.out.append(f"<dt>{html.escape(label)}</dt><dd>{self.inline(value)}</dd>")
            self.out.append("</dl>")
        elif isinstance(block, Sparkline):
            self.out.append(self.spark(block))
        else:
            raise TypeError(type(block).__name__)

    def equation(self, equation: Equation) -> None:
        text = equation_text(equation, self.latex)
        condition = rf" \quad {text.condition}" if text.condition else ""
        one_line = " = ".join([text.lhs, *text.parts]) + condition
        if visible_length(one_line) <= ONE_LINE:
            math_ml = to_mathml(one_line, display=True)
        else:
            rows: list[tuple[str, str]] = []
            for index, part in enumerate(text.parts):
                pieces = break_part(part, ROW)
                rows.append((text.lhs if index == 0 else "", f"= {pieces[0]}"))
                rows += [("", rf"\phantom{{=}}\quad {piece}") for piece in pieces[1:]]
            if condition:
                rows.append(("", condition))
            math_ml = rows_to_mathml(rows)
        self.out.append(f'<div class="equation">{math_ml}</div>')
        if equation.judgement is not None:
            mark = mark_text(equation.judgement, self.prose, False)
            line = (f'<span class="{mark.verdict or "published"}">'
                    f'{html.escape(f"{mark.symbol} {mark.text}".strip())}</span>')
            if mark.detail:
                line += f' — <span class="detail">{html.escape(mark.detail)}</span>'
            self.out.append(f'<p class="mark">{line}</p>')

    def table(self, table: Table) -> None:
        if table.title:
            self.out.append(f'<p class="caption">{self.inline(table.title)}</p>')
        self.out.append("<table>")
        right = ' class="right"'
        head = "".join(f"<th{right if c.align == 'right' else ''}>"
                       f"{self.inline(c.header)}</th>" for c in table.columns)
        self.out.append(f"<thead><tr>{head}</tr></thead><tbody>")
        for row in table.rows:
            cells = "".join(
                f"<td{right if column.align == 'right' else ''}>"
                f"{self.inline(cell)}</td>" for column, cell in zip(table.columns, row,
                                                                   strict=False))
            self.out.append(f"<tr>{cells}</tr>")
        self.out.append("</tbody></table>")
        if table.footer:
            self.out.append(f'<p class="footer">{self.inline(table.footer)}</p>')

    def spark(self, spark: Sparkline) -> str:
        """The values as a small inline SVG line (log scale over many decades)."""
        values = spark.values
        scaled = log_scaled(values)
        points = values
        if scaled:
            floor = min(v for v in values if v > 0)
            points = [math.log10(max(v, floor)) for v in values]
        finite = [p for p in points if math.isfinite(p)] or [0.0]
        low, high = min(finite), max(finite)
        span = (high - low) or 1.0
        width, height = 240, 40
        count = max(len(points) - 1, 1)
        coords = " ".join(
            f"{i * width / count:.1f},{height - 2 - (p - low) / span * (height - 4):.1f}"
            for i, p in enumerate(points) if math.isfinite(p))
        svg = (f'<svg class="spark" width="{width}" height="{height}" role="img" '
               f'aria-label="{html.escape(spark.label)}" xmlns="http://www.w3.org/2000/svg">'
               f'<polyline fill="none" stroke="#15803d" stroke-width="1.5" '
               f'points="{coords}"/></svg>')
        first = html.escape(self.prose.number(values[0]))
        last = html.escape(self.prose.number(values[-1]))
        note = ' <span class="note">(log scale)</span>' if scaled else ""
        return (f"<p><strong>{html.escape(spark.label.capitalize())}</strong> {first} "
                f"{svg} {last}{note}</p>")


def write_html(doc: Document, latex: MathNotation, prose: MathNotation) -> str:
    return HtmlWriter(latex, prose).write(doc)


TEXT_PAGE_STYLE = """\
pre.worked { background: #f8fafc; padding: .75rem 1rem; overflow-x: auto;
  font: 15px/1.5 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
"""


def write_text_page(title: str, lines: Sequence[str]) -> str:
    """A page of worked lines already laid out as text (a derivative exercise's working:
    its alignment is the meaning, so it stays preformatted), in the same light theme."""
    body = html.escape("\n".join(lines), quote=False)
    return "\n".join([
        "<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="backprop solve">',
        f"<title>{html.escape(title)}</title>", f"<style>\n{STYLE}{TEXT_PAGE_STYLE}</style>",
        "</head>",
        "<body>", "<main>", f"<h1>{html.escape(title)}</h1>",
        f'<pre class="worked">{body}</pre>', "</main>", "</body>", "</html>"]) + "\n"
