"""MathML from the LaTeX the notation writes, for HTML that browsers typeset natively.

:class:`~backprop_cli.render.notation.LatexNotation` writes every formula of the
worked solution in a small part of LaTeX: ``\\frac``, sub- and superscripts,
``\\text``, ``\\operatorname``, ``\\mathit``, ``\\hat``, ``\\sqrt``, ``\\left(``/``\\right)``,
Greek letters and a few operators. :func:`to_mathml` turns exactly that part
into MathML Core elements, so that one description of each formula (its
:class:`~backprop_cli.expr.Expr` written by the notation) serves the LaTeX,
Markdown and HTML writers. Anything else is kept as text, never dropped.
"""

from __future__ import annotations

import html
import re

_TOKEN = re.compile(r"\\[a-zA-Z]+|\\.|\d+(?:\.\d+)?|\s+|.", re.S)

IDENTIFIERS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "varepsilon": "ε", "eta": "η",
    "theta": "θ", "lambda": "λ", "mu": "μ", "sigma": "σ", "tau": "τ", "varphi": "φ",
    "Delta": "Δ", "Lambda": "Λ", "Sigma": "Σ", "partial": "∂", "infty": "∞",
}
OPERATORS = {
    "cdot": "·", "times": "×", "le": "≤", "ge": "≥", "to": "→", "leftarrow": "←",
    "pm": "±", "approx": "≈", "surd": "√", "checkmark": "✓", "ldots": "…",
    "langle": "⟨", "rangle": "⟩", "sum": "∑",
}
FUNCTIONS = {"tanh", "log", "exp", "sin", "cos", "max"}
SPACES = {"quad": "1em", "qquad": "2em", " ": "0.25em", ",": "0.17em", ";": "0.28em"}
_OPERATOR_CHARS = set("+-=()[],/<>|!:;'")


def to_mathml(latex: str, display: bool = False) -> str:
    """``latex`` as a ``<math>`` element (``display="block"`` for display math)."""
    body = _Parser(latex).row()
    # display math as a display-style inline box: left-aligned in its block, not centred
    attributes = ' displaystyle="true"' if display else ""
    return f"<math{attributes}>{body}</math>"


def rows_to_mathml(rows: list[tuple[str, str]]) -> str:
    """Aligned rows (``lhs``, ``= rest``) as a block ``<mtable>``, like LaTeX's align*."""
    # a table cell is in text style by default: display style keeps fractions full size
    cells = "".join(
        f'<mtr><mtd style="text-align:right"><mstyle displaystyle="true">'
        f"{_Parser(left).row()}</mstyle></mtd>"
        f'<mtd style="text-align:left"><mstyle displaystyle="true">'
        f"{_Parser(right).row()}</mstyle></mtd></mtr>"
        for left, right in rows)
    return f'<math displaystyle="true"><mtable>{cells}</mtable></math>'


def _mrow(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"<mrow>{''.join(items)}</mrow>"


class _Parser:
    def __init__(self, latex: str) -> None:
        self.tokens = _TOKEN.findall(latex)  # spaces kept for \text, skipped in math
        self.index = 0

    def skip_spaces(self) -> None:
        while self.index < len(self.tokens) and self.tokens[self.index].isspace():
            self.index += 1

    def peek(self) -> str | None:
        self.skip_spaces()
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> str:
        self.skip_spaces()
        token = self.tokens[self.index]
        self.index += 1
        return token

    def row(self, closing: str | None = None) -> str:
        return _mrow(self.items(closing) or ["<mrow></mrow>"])

    def items(self, closing: str | None = None) -> list[str]:
        items: list[str] = []
        while (token := self.peek()) is not None:
            if token == closing:
                self.take()
                break
            if token in ("^", "_"):
                self.take()
                script = self.argument()
                base = items.pop() if items else "<mrow></mrow>"
                items.append(self.script(base, token, script))
                continue
            if token == "-" and (not items or (items[-1].startswith("<mo")
                                                and 'form="postfix"' not in items[-1])):
                self.take()  # a sign, not a subtraction: no space after it
                items.append('<mo form="prefix">−</mo>')
                continue
            items.append(self.atom())
        return items

    @staticmethod
    def script(base: str, kind: str, script: str) -> str:
        if kind == "^" and base.startswith("<msub>"):  # x_{1}^{2}
            return f"<msubsup>{base[6:-7]}{script}</msubsup>"
        tag = "msup" if kind == "^" else "msub"
        return f"<{tag}>{base}{script}</{tag}>"

    def argument(self) -> str:
        """A braced group or a single token (the argument of ^, _, \\frac …)."""
        if self.peek() == "{":
            self.take()
            return self.row("}")
        if self.peek() is None:
            return "<mrow></mrow>"
        return self.atom()

    def raw_group(self) -> str:
        """A braced group's text as written (the argument of \\text)."""
        if self.peek() != "{":
            return self.take() if self.peek() is not None else ""
        self.take()
        depth = 1
        parts: list[str] = []
        source = self.tokens
        while self.index < len(source):
            token = source[self.index]
            self.index += 1
            if token == "{":
                depth += 1
            elif token == "}":
                depth -= 1
                if depth == 0:
                    break
            parts.append(token)
        return "".join(parts)

    def atom(self) -> str:
        token = self.take()
        if token == "{":
            return self.row("}")
        if token == "&":
            return ""
        if token.startswith("\\"):
            return self.command(token[1:])
        if token[0].isdigit():
            return f"<mn>{token}</mn>"
        if token == "-":
            return "<mo>−</mo>"
        if token == "'":
            return "<mo>′</mo>"
        if token in "([":  # a bracket inside a row is a fence, not an infix operator
            return f'<mo form="prefix" stretchy="false">{token}</mo>'
        if token in ")]":
            return f'<mo form="postfix" stretchy="false">{token}</mo>'
        if token in _OPERATOR_CHARS:
            return f"<mo>{html.escape(token)}</mo>"
        return f"<mi>{html.escape(token)}</mi>"

    def command(self, name: str) -> str:
        if name in ("frac", "tfrac", "dfrac"):
            numerator, denominator = self.argument(), self.argument()
            fraction = f"<mfrac>{numerator}{denominator}</mfrac>"
            if name == "tfrac":
                return f'<mstyle displaystyle="false">{fraction}</mstyle>'
            return fraction
        if name == "sqrt":
            return f"<msqrt>{self.argument()}</msqrt>"
        if name == "hat":
            return f'<mover accent="true">{self.argument()}<mo>^</mo></mover>'
        if name == "text":
            return f"<mtext>{html.escape(self.raw_group())}</mtext>"
        if name == "operatorname":
            return f'<mi mathvariant="normal">{html.escape(self.raw_group())}</mi>'
        if name in ("mathit", "mathrm"):
            variant = "italic" if name == "mathit" else "normal"
            return f'<mi mathvariant="{variant}">{html.escape(self.raw_group())}</mi>'
        if name in ("bigl", "bigr", "Bigl", "Bigr"):  # a bracket of a broken row
            fence = self.take() if self.peek() is not None else ""
            form = "prefix" if name.endswith("l") else "postfix"
            return f'<mo form="{form}" stretchy="false">{html.escape(fence)}</mo>'
        if name in ("left", "right"):
            fence = self.take() if self.peek() is not None else ""
            fence = {"\\{": "{", "\\}": "}", ".": ""}.get(fence, fence)
            form = "prefix" if name == "left" else "postfix"
            return f'<mo form="{form}">{html.escape(fence)}</mo>' if fence else ""
        if name in IDENTIFIERS:
            return f"<mi>{IDENTIFIERS[name]}</mi>"
        if name in OPERATORS:
            return f"<mo>{OPERATORS[name]}</mo>"
        if name in FUNCTIONS:
            return f"<mi>{name}</mi>"
        if name in SPACES:
            return f'<mspace width="{SPACES[name]}"/>'
        if name == "phantom":
            return f"<mphantom>{self.argument()}</mphantom>"
        if len(name) == 1:  # \{ \} \% \$ …
            return f"<mo>{html.escape(name)}</mo>"
        return f"<mtext>{html.escape(chr(92) + name)}</mtext>"
