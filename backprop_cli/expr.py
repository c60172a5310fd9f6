"""A tiny expression tree: the one description of every formula.

Each value the engine produces has a formula (see :mod:`backprop_cli.model.formulas`)
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
from typing import Protocol

from backprop_cli.records import record
from backprop_cli.rounding import round_value


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

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        """The same operation on new ``children`` (a leaf has none: itself)."""
        return self


@record(frozen=True, eq=False)
class Ref(Expr):
    """The value of another key."""

    key: str

    def evaluate(self, values: Mapping[str, float]) -> float:
        return float(values[self.key])

    def _collect(self, seen: dict[str, None]) -> None:
        seen[self.key] = None


@record(frozen=True, eq=False)
class Const(Expr):
    """A number; ``role`` says what it is where that has a name (``rate``: the learning
    rate η; ``beta1``, ``one_minus_beta1``, ``epsilon``, ``decay``...), so that a notation
    can write it by what it is, never by what it equals."""

    value: float
    display: str | None = None  # how the textbook writes it, e.g. "½"
    role: str | None = None

    def evaluate(self, values: Mapping[str, float]) -> float:
        return self.value


@record(frozen=True, eq=False)
class Sum(Expr):
    """terms[0] ± terms[1] ± ...; signs are +1 or -1."""

    terms: tuple[Expr, ...]
    signs: tuple[int, ...]
    precedence = 10

    def evaluate(self, values: Mapping[str, float]) -> float:
        pairs = zip(self.signs, self.terms, strict=True)
        terms = [sign * term.evaluate(values) for sign, term in pairs]
        try:
            return math.fsum(terms)
        except (ValueError, OverflowError):  # ∞ − ∞ or an overflowing partial sum
            return sum(terms)

    def children(self) -> tuple[Expr, ...]:
        return self.terms

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Sum(children, self.signs)


@record(frozen=True, eq=False)
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

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Product(children)


@record(frozen=True, eq=False)
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

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Quotient(children[0], children[1])


@record(frozen=True, eq=False)
class Neg(Expr):
    operand: Expr
    precedence = 15

    def evaluate(self, values: Mapping[str, float]) -> float:
        return -self.operand.evaluate(values)

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Neg(children[0])


@record(frozen=True, eq=False)
class Power(Expr):
    base: Expr
    exponent: int
    precedence = 30

    def evaluate(self, values: Mapping[str, float]) -> float:
        base = self.base.evaluate(values)
        if self.exponent == 2:  # x·x, as NumPy squares: x ** 2 can differ in the last bit
            return base * base
        return float(base ** self.exponent)

    def children(self) -> tuple[Expr, ...]:
        return (self.base,)

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Power(children[0], self.exponent)


@record(frozen=True, eq=False)
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

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Call(self.name, children, self.params)


@record(frozen=True, eq=False)
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

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Piecewise(children[0], children[1], children[2])


@record(frozen=True, eq=False)
class Round(Expr):
    """``operand`` rounded to ``decimals`` decimals: hand-calculation mode (``round: N``).

    It wraps a whole formula, so that evaluating it (the checker, the tests)
    gives the number a student writes down. Renderers write the operand: the
    rounding shows in the result, printed with ``decimals`` decimals.
    """

    operand: Expr
    decimals: int

    def evaluate(self, values: Mapping[str, float]) -> float:
        return round_value(self.operand.evaluate(values), self.decimals)

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Round(children[0], self.decimals)


def _safe_log(x: float) -> float:
    if x > 0:
        return math.log(x)
    return -math.inf if x == 0 else math.nan


def _safe_exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


# The functions a formula can call, by name: the mathematical ones here; each activation
# adds its own when it is registered (backprop_cli.model.activations, the one registry).
FUNCTIONS: dict[str, Callable[[list[float], dict[str, float]], float]] = {
    "exp": lambda a, p: _safe_exp(a[0]),
    "log": lambda a, p: _safe_log(a[0]),
    "mean": lambda a, p: math.fsum(a) / len(a),
    "max": lambda a, p: max(a),  # max pooling's window
    "sqrt": lambda a, p: math.sqrt(a[0]) if a[0] >= 0 else math.nan,
}


# ---------------------------------------------------------------- rendering


class Notation(Protocol):
    """How a renderer writes symbols, numbers and operators.

    A notation may also set ``textbook = True``: a negative number then stands
    bare where a leading minus is unambiguous (``−0.02529·1.8`` rather than
    ``(−0.02529)·1.8``), and a negative constant added to a sum is written as a
    subtraction (``0.1 − 0.6``), as a person writes it by hand.
    """

    def symbol(self, key: str) -> str: ...

    def number(self, value: float) -> str: ...

    def constant(self, value: float, display: str | None, role: str | None = None) -> str: ...

    times: str
    minus: str

    def call(self, name: str, args: list[str], params: dict[str, float]) -> str: ...

    def fraction(self, numerator: str, denominator: str) -> str: ...

    def power(self, base: str, exponent: int) -> str: ...

    def group(self, text: str) -> str: ...

    def piecewise(self, test: str, then: str, otherwise: str) -> str: ...


def render(expr: Expr, notation: Notation, values: Mapping[str, float] | None = None) -> str:
    """Write ``expr`` with symbols, or with numbers from ``values`` substituted."""
    return _Renderer(notation, values).write(expr, leading=True)


class _Renderer:
    def __init__(self, notation: Notation, values: Mapping[str, float] | None) -> None:
        self.n = notation
        self.values = values
        self.textbook = bool(getattr(notation, "textbook", False))

    def leaf_is_negative(self, expr: Expr) -> bool:
        if isinstance(expr, Round):
            expr = expr.operand
        if isinstance(expr, Const):
            return expr.value < 0
        if isinstance(expr, Ref) and self.values is not None:
            return self.values[expr.key] < 0 or self.n.number(self.values[expr.key]).startswith(
                self.n.minus
            )
        return False

    def write(self, expr: Expr, parent: int = 0, right: bool = False,
              leading: bool = False) -> str:
        """``leading``: the text starts the expression or follows an opening bracket."""
        if isinstance(expr, Round):  # shown by the result's decimals, not in the formula
            return self.write(expr.operand, parent, right, leading)
        needs_group = expr.precedence < parent or (right and expr.precedence == parent
                                                   and isinstance(expr, Sum))
        bare_ok = self.textbook and leading
        if (not needs_group and parent >= Product.precedence and not bare_ok
                and self.leaf_is_negative(expr)):
            needs_group = True
        text = self._write(expr, leading=needs_group or leading)
        return self.n.group(text) if needs_group else text

    def _write(self, expr: Expr, leading: bool = True) -> str:
        n = self.n
        if isinstance(expr, Round):
            return self._write(expr.operand, leading)
        if isinstance(expr, Ref):
            if self.values is None:
                return n.symbol(expr.key)
            return n.number(self.values[expr.key])
        if isinstance(expr, Const):
            return n.constant(expr.value, expr.display, expr.role)
        if isinstance(expr, Sum):
            parts: list[str] = []
            for index, (sign, term) in enumerate(zip(expr.signs, expr.terms, strict=True)):
                if (self.textbook and index > 0 and isinstance(term, Const)
                        and term.display is None and term.value < 0):
                    # a number worked out on the way: 0.1 + (−0.6) is written 0.1 − 0.6
                    sign, term = -sign, Const(-term.value)
                text = self.write(term, Sum.precedence, right=index > 0 and sign < 0,
                                  leading=leading and index == 0 and sign > 0)
                if index == 0:
                    parts.append(f"{n.minus}{text}" if sign < 0 else text)
                else:
                    # a − (−0.5), never a − −0.5
                    if self.leaf_is_negative(term) or (
                            self.textbook and text.startswith(n.minus)):
                        text = n.group(text)
                    parts.append(f" {n.minus if sign < 0 else '+'} {text}")
            return "".join(parts)
        if isinstance(expr, Product):
            return n.times.join(self.write(f, Product.precedence + 1, leading=leading and i == 0)
                                for i, f in enumerate(expr.factors))
        if isinstance(expr, Quotient):
            return n.fraction(self.write(expr.numerator, leading=True),
                              self.write(expr.denominator, leading=True))
        if isinstance(expr, Neg):
            operand = self.write(expr.operand, Neg.precedence + 1)
            if self.leaf_is_negative(expr.operand) and not operand.startswith("("):
                operand = n.group(operand)  # −(−0.5), never −−0.5
            return f"{n.minus}{operand}"
        if isinstance(expr, Power):
            base = self.write(expr.base, Power.precedence + 1)
            if self.leaf_is_negative(expr.base) and not base.startswith("("):
                base = n.group(base)
            return n.power(base, expr.exponent)
        if isinstance(expr, Call):
            return n.call(expr.name, [self.write(a, leading=True) for a in expr.args],
                          dict(expr.params))
        if isinstance(expr, Piecewise):
            return n.piecewise(self.write(expr.test, leading=True),
                               self.write(expr.then, leading=True),
                               self.write(expr.otherwise, leading=True))
        raise TypeError(f"cannot render {type(expr).__name__}")


def is_leaf(expr: Expr) -> bool:
    return isinstance(expr, (Ref, Const))


def reduce_innermost(expr: Expr, values: Mapping[str, float],
                     evaluate: Callable[[Expr], float] | None = None) -> Expr | None:
    """``expr`` with every innermost operation replaced by its value, for one more line.

    ``½·(1 − 0.8249)²`` becomes ``½·0.1751²``: the intermediate results a
    person writes down between the substitution and the answer. None when the
    next line would already be the result (the root's operands are leaves).
    Rendering only: each operation is worked out with ``evaluate`` (default
    :meth:`Expr.evaluate` on ``values``).
    """
    if is_leaf(expr) or all(is_leaf(child) for child in expr.children()):
        return None
    return _reduce(expr, evaluate or (lambda node: node.evaluate(values)))


def _reduce(expr: Expr, evaluate: Callable[[Expr], float]) -> Expr:
    if isinstance(expr, Ref):
        # past the substitution line a value is just a number: 0.6 + (−0.5) reads 0.6 − 0.5
        return Const(evaluate(expr))
    if is_leaf(expr):
        return expr
    children = expr.children()
    if all(is_leaf(child) for child in children):
        return Const(evaluate(expr))
    # a Round keeps its place: the exact value, then the rounded result
    return expr.rebuild(tuple(_reduce(child, evaluate) for child in children))


# ------------------------------------------------------------ construction


def add(*terms: Expr) -> Expr:
    return terms[0] if len(terms) == 1 else Sum(tuple(terms), (1,) * len(terms))


def sub(left: Expr, right: Expr) -> Expr:
    return Sum((left, right), (1, -1))


def mul(*factors: Expr) -> Expr:
    return factors[0] if len(factors) == 1 else Product(tuple(factors))
