"""Formulas as one-line text, for check reports and CI logs.

A person reads the worked solution's symbols (``∂L/∂a_h2 = v2·δ_o``:
:func:`math_substituted`); a machine reads value keys (``grad.z.o*a.h1``:
:func:`substituted`), as the JSON report gives them. Numbers are substituted
from any assignment of values (the author's own numbers, in a carried-forward
check).
"""

from __future__ import annotations

from collections.abc import Mapping

from backprop_cli.expr import Expr, render
from backprop_cli.model.activations import find_activation
from backprop_cli.model.problem import Problem
from backprop_cli.numfmt import format_number
from backprop_cli.render.notation import UnicodeNotation

# the functions that are not activations; an activation's name is in its spec (key_name)
FUNCTION_NAMES = {"exp": "exp", "log": "log"}


class KeyNotation:
    """Writes symbols as value keys and numbers to a fixed number of digits."""

    times = "*"
    minus = "-"

    def __init__(self, digits: int = 6) -> None:
        self.digits = digits

    def symbol(self, key: str) -> str:
        return key

    def number(self, value: float) -> str:
        return format_number(value, self.digits, ascii_only=True)

    def constant(self, value: float, display: str | None, role: str | None = None) -> str:
        return self.number(value)

    def call(self, name: str, args: list[str], params: dict[str, float]) -> str:
        if name == "mean":
            return f"({' + '.join(args)})/{len(args)}"
        if name == "softmax":
            return f"exp({args[0]})/(" + " + ".join(f"exp({a})" for a in args) + ")"
        settings = "".join(f", {k}={self.number(v)}" for k, v in params.items())
        spec = find_activation(name)
        function = spec.key_name if spec is not None else FUNCTION_NAMES.get(name, name)
        return f"{function}({', '.join(args)}{settings})"

    def fraction(self, numerator: str, denominator: str) -> str:
        return f"{self._atom(numerator)}/{self._atom(denominator)}"

    def _atom(self, text: str) -> str:
        compound = any(op in text[1:] for op in " +-*/")
        return self.group(text) if compound else text

    def power(self, base: str, exponent: int) -> str:
        return f"{base}^{exponent}"

    def group(self, text: str) -> str:
        return f"({text})"

    def piecewise(self, test: str, then: str, otherwise: str) -> str:
        return f"({then} if {test} > 0 else {otherwise})"


def substituted(expr: Expr, values: Mapping[str, float], digits: int = 6) -> tuple[str, str]:
    """``expr`` written with keys, and with ``values`` substituted."""
    notation = KeyNotation(digits)
    return render(expr, notation), render(expr, notation, values)


def math_substituted(problem: Problem, key: str, expr: Expr, values: Mapping[str, float],
                     result: float, digits: int = 4) -> tuple[str, str, str, str]:
    """``key``'s symbol, ``expr`` and ``expr`` with ``values`` substituted, and ``result``,
    as the worked solution writes them: ∂L/∂a_h2, v2·δ_o, 0.7·(−0.0253), −0.01771."""
    notation = UnicodeNotation(problem, digits)
    return (notation.symbol(key), render(expr, notation), render(expr, notation, values),
            notation.number(result))
