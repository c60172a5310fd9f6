"""A tiny expression tree: the one description of every formula.

Each value the engine produces has a formula (see :mod:`backprop_cli.formulas`)
written as an :class:`Expr` over other values' keys. The same tree is

- evaluated on any assignment of numbers to keys (the checker recomputes a
  step from the author's own numbers; tests recompute the engine's values),
- rendered with symbols (``w1·x1 + b1``) or with numbers substituted
  (``0.5·1 + 0.1``) by every renderer, in Unicode, ASCII or LaTeX.

Rendering only decides *what* goes where; how a symbol or number looks is the
job of a :class:`Notation` supplied by the renderer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol


class Expr:
    """A node of a formula."""

    precedence = 100

    def evaluate(self, values: Mapping[str, float]) -> float:
        raise NotImplementedError

    def refs(self) -> list[str]:
        """Keys this expression reads, in reading order, without repeats."""
        seen: dict[str, None] = {}
        self._collect(seen)
        return list(seen)

    def _collect(self, seen: dict[str, None]) -> None:
        for child in self.children():
            child._collect(seen)

    def children(self) -> tuple[Expr, ...]:
        return ()


@dataclass(frozen=True, eq=False)
class Ref(Expr):
    """The value of another key."""

    key: str

    def evaluate(self, values: Mapping[str, float]) -> float:
        return float(values[self.key])

    def _collect(self, seen: dict[str, None]) -> None:
        seen[self.key] = None


@dataclass(frozen=True, eq=False)
class Const(Expr):
    value: float
    display: str | None = None  # how the textbook writes it, e.g. "½"

    def evaluate(self, values: Mapping[str, float]) -> float:
        return self.value


@dataclass(frozen=True, eq=False)
class Sum(Expr):
    """terms[0] ± terms[1] ± ...; signs are +1 or -1."""

    terms: tuple[Expr, ...]
    signs: tuple[int, ...]
    precedence = 10

    def evaluate(self, values: Mapping[str, float]) -> float:
        pairs = zip(self.signs, self.terms, strict=True)
        return math.fsum(sign * term.evaluate(values) for sign, term in pairs)

    def children(self) -> tuple[Expr, ...]:
        return self.terms


@dataclass(frozen=True, eq=False)
class Product(Expr):
    factors: tuple[Expr, ...]
    precedence = 20

    def evaluate(self, values: Mapping[str, float]) -> float:
        result = 1.0
        for factor in self.factors:
            result *= factor.evaluate(values)
        return result

    def children(self) -> tuple[Expr, ...]:
        return self.factors


@dataclass(frozen=True, eq=False)
class Quotient(Expr):
    numerator: Expr
    denominator: Expr
    precedence = 20

    def evaluate(self, values: Mapping[str, float]) -> float:
        den = self.denominator.evaluate(values)
        num = self.numerator.evaluate(values)
        if den == 0.0:
            return math.copysign(math.inf, num) if num != 0 else math.nan
        return num / den

    def children(self) -> tuple[Expr, ...]:
        return (self.numerator, self.denominator)


@dataclass(frozen=True, eq=False)
class Neg(Expr):
    operand: Expr
    precedence = 15

    def evaluate(self, values: Mapping[str, float]) -> float:
        return -self.operand.evaluate(values)

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclass(frozen=True, eq=False)
class Power(Expr):
    base: Expr
    exponent: int
    precedence = 30

    def evaluate(self, values: Mapping[str, float]) -> float:
        return float(self.base.evaluate(values) ** self.exponent)

    def children(self) -> tuple[Expr, ...]:
        return (self.base,)


@dataclass(frozen=True, eq=False)
class Call(Expr):
    """A named function: σ, ReLU, exp, log, ...; ``params`` are its fixed settings."""

    name: str
    args: tuple[Expr, ...]
    params: tuple[tuple[str, float], ...] = ()

    def evaluate(self, values: Mapping[str, float]) -> float:
        function = FUNCTIONS[self.name]
        return function([a.evaluate(values) for a in self.args], dict(self.params))

    def children(self) -> tuple[Expr, ...]:
        return self.args


@dataclass(frozen=True, eq=False)
class Piecewise(Expr):
    """``then`` if ``test`` > 0 else ``otherwise``, shown as a condition on ``test``."""

    test: Expr
    then: Expr
    otherwise: Expr

    def evaluate(self, values: Mapping[str, float]) -> float:
        if self.test.evaluate(values) > 0:
            return self.then.evaluate(values)
        return self.otherwise.evaluate(values)

    def children(self) -> tuple[Expr, ...]:
        return (self.test, self.then, self.otherwise)


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _safe_log(x: float) -> float:
    if x > 0:
        return math.log(x)
    return -math.inf if x == 0 else math.nan


def _safe_exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _elu(x: float, alpha: float) -> float:
    return x if x > 0 else alpha * math.expm1(x)


FUNCTIONS: dict[str, Callable[[list[float], dict[str, float]], float]] = {
    "identity": lambda a, p: a[0],
    "relu": lambda a, p: max(a[0], 0.0),
    "leaky_relu": lambda a, p: a[0] if a[0] > 0 else p["alpha"] * a[0],
    "sigmoid": lambda a, p: _sigmoid(a[0]),
    "tanh": lambda a, p: math.tanh(a[0]),
    "softplus": lambda a, p: _softplus(a[0]),
    "elu": lambda a, p: _elu(a[0], p["alpha"]),
    "silu": lambda a, p: a[0] * _sigmoid(a[0]),
    "exp": lambda a, p: _safe_exp(a[0]),
    "log": lambda a, p: _safe_log(a[0]),
    "softmax": lambda a, p: _softmax_first(a),
    "mean": lambda a, p: math.fsum(a) / len(a),
}


def _softmax_first(args: list[float]) -> float:
    """Softmax of args[0] against all args (args[0] is the unit itself)."""
    top = max(args)
    exps = [math.exp(v - top) for v in args]
    return exps[0] / math.fsum(exps)


# ---------------------------------------------------------------- rendering


class Notation(Protocol):
    """How a renderer writes symbols, numbers and operators."""

    def symbol(self, key: str) -> str: ...

    def number(self, value: float) -> str: ...

    def constant(self, value: float, display: str | None) -> str: ...

    times: str
    minus: str

    def call(self, name: str, args: list[str], params: dict[str, float]) -> str: ...

    def fraction(self, numerator: str, denominator: str) -> str: ...

    def power(self, base: str, exponent: int) -> str: ...

    def group(self, text: str) -> str: ...

    def piecewise(self, test: str, then: str, otherwise: str) -> str: ...


def render(expr: Expr, notation: Notation, values: Mapping[str, float] | None = None) -> str:
    """Write ``expr`` with symbols, or with numbers from ``values`` substituted."""
    return _Renderer(notation, values).write(expr)


class _Renderer:
    def __init__(self, notation: Notation, values: Mapping[str, float] | None) -> None:
        self.n = notation
        self.values = values

    def leaf_is_negative(self, expr: Expr) -> bool:
        if isinstance(expr, Const):
            return expr.value < 0
        if isinstance(expr, Ref) and self.values is not None:
            return self.values[expr.key] < 0 or self.n.number(self.values[expr.key]).startswith(
                self.n.minus
            )
        return False

    def write(self, expr: Expr, parent: int = 0, right: bool = False) -> str:
        text = self._write(expr)
        needs_group = expr.precedence < parent or (right and expr.precedence == parent
                                                   and isinstance(expr, Sum))
        if not needs_group and parent >= Product.precedence and self.leaf_is_negative(expr):
            needs_group = True
        return self.n.group(text) if needs_group else text

    def _write(self, expr: Expr) -> str:
        n = self.n
        if isinstance(expr, Ref):
            if self.values is None:
                return n.symbol(expr.key)
            return n.number(self.values[expr.key])
        if isinstance(expr, Const):
            return n.constant(expr.value, expr.display)
        if isinstance(expr, Sum):
            parts: list[str] = []
            for index, (sign, term) in enumerate(zip(expr.signs, expr.terms, strict=True)):
                text = self.write(term, Sum.precedence, right=index > 0 and sign < 0)
                if index == 0:
                    parts.append(f"{n.minus}{text}" if sign < 0 else text)
                else:
                    if sign > 0 and self.leaf_is_negative(term):
                        text = n.group(text)
                    parts.append(f" {n.minus if sign < 0 else '+'} {text}")
            return "".join(parts)
        if isinstance(expr, Product):
            return n.times.join(self.write(f, Product.precedence + 1) for f in expr.factors)
        if isinstance(expr, Quotient):
            return n.fraction(self.write(expr.numerator), self.write(expr.denominator))
        if isinstance(expr, Neg):
            return f"{n.minus}{self.write(expr.operand, Neg.precedence + 1)}"
        if isinstance(expr, Power):
            base = self.write(expr.base, Power.precedence + 1)
            if self.leaf_is_negative(expr.base) and not base.startswith("("):
                base = n.group(base)
            return n.power(base, expr.exponent)
        if isinstance(expr, Call):
            return n.call(expr.name, [self.write(a) for a in expr.args], dict(expr.params))
        if isinstance(expr, Piecewise):
            return n.piecewise(self.write(expr.test), self.write(expr.then),
                               self.write(expr.otherwise))
        raise TypeError(f"cannot render {type(expr).__name__}")


# ------------------------------------------------------------ construction


def add(*terms: Expr) -> Expr:
    return terms[0] if len(terms) == 1 else Sum(tuple(terms), (1,) * len(terms))


def sub(left: Expr, right: Expr) -> Expr:
    return Sum((left, right), (1, -1))


def mul(*factors: Expr) -> Expr:
    return factors[0] if len(factors) == 1 else Product(tuple(factors))
