"""Symbolic derivatives of expressions people write: a safe parser, the rules, simplification.

Expressions such as ``x^3 - 3*x^2 + 2*x + 1`` come from the command line and
from problem files written by others, so nothing here ever hands text to
Python: a tokenizer and a recursive-descent parser accept only

- numbers (``2``, ``0.1``, ``1e-3``), variable names (letters, digits, ``_``),
  the constants ``e`` (Euler's number) and ``pi`` (``π``); a variable the exercise
  declares with one of those names (``shadowed``) is a variable, not the constant;
- ``+ - * / ^ **``, unary minus, parentheses, implicit products (``3x``,
  ``2(x + 1)``), and the forms pasted from documents (``−``, ``·``, ``×``,
  ``x²``);
- the functions exp, log (ln), sin, cos, tanh, sigmoid (σ), sqrt, relu, step,
  abs, sign, and max, min (two arguments),

and refuse everything else with the place it was found. Input length,
nesting depth and constant exponents are bounded, and so is the work of
simplification, so a hostile expression costs milliseconds.

The tree (:class:`Num`, :class:`Var`, :class:`Constant`, :class:`Add`, :class:`Mul`,
:class:`Pow`, :class:`Fn`, :class:`Fn2`) keeps numbers as exact fractions, so
``d/dx 3x²`` is ``6x``, not ``6.000000000000001x``. :func:`simplify` puts a tree
in a canonical form (like terms collected, powers of a base merged), which is
what makes ``3x² − 6x + 2`` come out of the power rule; :func:`expand` also
multiplies out products of sums (``4(2x + 3)`` → ``8x + 12``).

Kinks take one derivative each, as ReLU does here (ReLU′(0) = 0): ``step(0)`` is 0;
``abs′(0)`` is ``sign(0)`` = 0; at a tie ``max(u, v)`` and ``min(u, v)`` take the
derivative of their second argument v (the one-sided derivative from the side where
u is the one left out), so ``max(x, 0)`` has derivative 0 at x = 0, like ReLU.

:func:`constant_value` reads a number written as an expression of numbers and
constants (``-1/243``, ``sqrt(2)/2``, ``1 + sin(pi/4)``), for problem files.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

MAX_LENGTH = 500
MAX_DEPTH = 60
MAX_EXPONENT = 100
# Exact powers of numbers are folded only while the result stays this small.
MAX_FOLD_BITS = 2048
# Expanding products of sums stops (keeping the factored form) past this many terms.
MAX_EXPANDED_TERMS = 400
MAX_EXPANDED_POWER = 8

FUNCTIONS = ("exp", "log", "sin", "cos", "tanh", "sigmoid", "sqrt", "relu", "step", "abs",
             "sign")
FUNCTIONS2 = ("max", "min")  # two arguments
FUNCTION_ALIASES = {"ln": "log", "σ": "sigmoid"}
# the named constants (e is Euler's number, written as exp(1) in the tree)
CONSTANTS = ("e", "pi")
CONSTANT_ALIASES = {"π": "pi"}
CONSTANT_VALUES = {"e": math.e, "pi": math.pi}
SUPERSCRIPTS = {"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6",
                "⁷": "7", "⁸": "8", "⁹": "9", "⁻": "-"}
TO_SUPERSCRIPT = {v: k for k, v in SUPERSCRIPTS.items()}


class ExpressionError(ValueError):
    """An expression that cannot be read; ``position`` is a 0-based index into the text."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def pointed(self, text: str) -> str:
        """The message with the expression and a caret under the place."""
        if self.position is None or "\n" in text or len(text) > 120:
            return self.message
        return f"{self.message}\n  {text}\n  {' ' * self.position}^"


# ------------------------------------------------------------------- the tree


class Node:
    """An expression; every subclass is an immutable value (equal trees compare equal)."""

    __slots__ = ()


@dataclass(frozen=True)
class Num(Node):
    value: Fraction


@dataclass(frozen=True)
class Var(Node):
    name: str


@dataclass(frozen=True)
class Constant(Node):
    """A named constant other than e (which is exp(1)): ``pi``."""

    name: str


@dataclass(frozen=True)
class Add(Node):
    terms: tuple[Node, ...]


@dataclass(frozen=True)
class Mul(Node):
    factors: tuple[Node, ...]


@dataclass(frozen=True)
class Pow(Node):
    base: Node
    exponent: Node


@dataclass(frozen=True)
class Fn(Node):
    name: str
    arg: Node


@dataclass(frozen=True)
class Fn2(Node):
    """A function of two arguments: ``max``, ``min``."""

    name: str
    left: Node
    right: Node


ZERO = Num(Fraction(0))
ONE = Num(Fraction(1))
E = Fn("exp", ONE)


def num(value: int | Fraction) -> Num:
    return Num(Fraction(value))


def variables(node: Node) -> set[str]:
    """The names of the variables ``node`` reads."""
    found: set[str] = set()
    for sub in walk(node):
        if isinstance(sub, Var):
            found.add(sub.name)
    return found


def ordered_variables(node: Node) -> list[str]:
    """The variables of ``node`` in the order they are first written, left to right."""
    found: dict[str, None] = {}
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Var):
            found.setdefault(current.name)
        elif isinstance(current, Add):
            stack.extend(reversed(current.terms))
        elif isinstance(current, Mul):
            stack.extend(reversed(current.factors))
        elif isinstance(current, Pow):
            stack.extend((current.exponent, current.base))
        elif isinstance(current, Fn):
            stack.append(current.arg)
        elif isinstance(current, Fn2):
            stack.extend((current.right, current.left))
    return list(found)


def walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, Add):
            stack.extend(current.terms)
        elif isinstance(current, Mul):
            stack.extend(current.factors)
        elif isinstance(current, Pow):
            stack.extend((current.base, current.exponent))
        elif isinstance(current, Fn):
            stack.append(current.arg)
        elif isinstance(current, Fn2):
            stack.extend((current.left, current.right))


# --------------------------------------------------------------------- parsing

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<sup>[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)
  | (?P<name>[^\W\d](?:(?![⁰¹²³⁴⁵⁶⁷⁸⁹])\w)*)
  | (?P<op>\*\*|[-+*/^(),=]|[−×·÷])
""", re.VERBOSE)

_OP_ALIASES = {"−": "-", "×": "*", "·": "*", "÷": "/", "**": "^"}


@dataclass(frozen=True)
class Token:
    kind: str  # number | name | op | end
    text: str
    position: int


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is too long ({len(text)} characters; "
                              f"at most {MAX_LENGTH})")
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        match = _TOKEN.match(text, index)
        if match is None:
            char = text[index]
            if char == ".":
                raise ExpressionError("'.' is not allowed here (numbers are written 0.5; there "
                                      "is no attribute access)", index)
            if char in "'\"":
                raise ExpressionError("quotes are not allowed in an expression", index)
            raise ExpressionError(f"unexpected character '{char}'", index)
        kind = match.lastgroup
        assert kind is not None
        value = match.group()
        if kind == "name" and value.startswith("_"):
            raise ExpressionError(f"'{value}' is not allowed: names start with a letter", index)
        if kind == "sup":
            exponent = "".join(SUPERSCRIPTS[c] for c in value)
            tokens.append(Token("op", "^", index))
            if exponent.startswith("-"):
                tokens.append(Token("op", "-", index))
                exponent = exponent[1:]
            if not exponent or "-" in exponent:
                raise ExpressionError("a superscript exponent must be a whole number", index)
            tokens.append(Token("number", exponent, index))
        elif kind == "op":
            tokens.append(Token("op", _OP_ALIASES.get(value, value), index))
        elif kind != "space":
            tokens.append(Token(kind, value, index))
        index = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, shadowed: frozenset[str] = frozenset()) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.shadowed = shadowed

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def next(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_op(self, *ops: str) -> bool:
        return self.token.kind == "op" and self.token.text in ops

    def expect(self, op: str) -> None:
        if not self.at_op(op):
            raise self.unexpected(f"expected '{op}'")
        self.next()

    def unexpected(self, what: str = "") -> ExpressionError:
        token = self.token
        if token.kind == "end":
            return ExpressionError(f"the expression ends too early{': ' + what if what else ''}",
                                   token.position)
        found = f"'{token.text}'"
        return ExpressionError(f"unexpected {found}{' (' + what + ')' if what else ''}",
                               token.position)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"the expression is nested too deeply (more than {MAX_DEPTH} "
                                  "levels)", self.token.position)

    def parse(self) -> Node:
        node = self.sum()
        if self.token.kind != "end":
            raise self.unexpected()
        return node

    def sum(self) -> Node:
        self.enter()
        terms = [self.product()]
        while self.at_op("+", "-"):
            sign = self.next().text
            term = self.product()
            terms.append(term if sign == "+" else Mul((num(-1), term)))
        self.depth -= 1
        return terms[0] if len(terms) == 1 else Add(tuple(terms))

    def product(self) -> Node:
        factors = [self.unary()]
        while True:
            if self.at_op("*", "/"):
                op = self.next().text
                factor = self.unary()
                factors.append(factor if op == "*" else Pow(factor, num(-1)))
            elif self.token.kind == "name" or self.at_op("("):
                factors.append(self.unary())  # an implicit product: 3x, 2(x + 1)
            else:
                break
        return factors[0] if len(factors) == 1 else Mul(tuple(factors))

    def unary(self) -> Node:
        if self.at_op("-", "+"):
            sign = self.next().text
            self.enter()
            operand = self.unary()
            self.depth -= 1
            return operand if sign == "+" else Mul((num(-1), operand))
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.at_op("^"):
            position = self.next().position
            self.enter()
            exponent = self.unary()  # right-associative: 2^3^2 = 2^9; x^-1 is allowed
            self.depth -= 1
            _check_exponent(exponent, position)
            return Pow(base, exponent)
        return base

    def atom(self) -> Node:
        token = self.token
        if token.kind == "number":
            self.next()
            return Num(Fraction(token.text))
        if token.kind == "name":
            self.next()
            name = FUNCTION_ALIASES.get(token.text, token.text)
            if name in FUNCTIONS2:
                return self.call2(token, name)
            if name in FUNCTIONS:
                if not self.at_op("("):
                    raise ExpressionError(f"{token.text} needs parentheses: {token.text}(x)",
                                          token.position)
                self.next()
                arg = self.sum()
                if self.at_op(","):
                    raise ExpressionError(f"{token.text} takes one argument",
                                          self.token.position)
                self.expect(")")
                return Fn(name, arg)
            if self.at_op("("):
                known = ", ".join((*FUNCTIONS, *FUNCTIONS2))
                raise ExpressionError(f"unknown function '{token.text}' (known: {known})",
                                      token.position)
            if name in self.shadowed:
                return Var(name)
            constant = CONSTANT_ALIASES.get(name, name)
            if constant == "e":
                return E
            if constant in CONSTANTS:
                return Constant(constant)
            return Var(name)
        if self.at_op("("):
            self.next()
            inner = self.sum()
            self.expect(")")
            return inner
        raise self.unexpected()

    def call2(self, token: Token, name: str) -> Node:
        """``max(a, b)``, ``min(a, b)``."""
        usage = f"{token.text} takes two arguments: {token.text}(a, b)"
        if not self.at_op("("):
            raise ExpressionError(usage, token.position)
        self.next()
        left = self.sum()
        if not self.at_op(","):
            raise ExpressionError(usage, self.token.position)
        self.next()
        right = self.sum()
        if self.at_op(","):
            raise ExpressionError(usage, self.token.position)
        self.expect(")")
        return Fn2(name, left, right)


def _check_exponent(exponent: Node, position: int) -> None:
    """Refuse constant exponents beyond ±MAX_EXPONENT (checked inside out, so never computed)."""
    if variables(exponent):
        return
    try:
        value = evaluate(exponent, {})
    except ExpressionError:
        return
    if math.isfinite(value) and abs(value) <= MAX_EXPONENT:
        return
    raise ExpressionError(f"the exponent is too large (at most {MAX_EXPONENT} in absolute value)",
                          position)


def parse(text: str, shadowed: frozenset[str] = frozenset()) -> Node:
    """The tree of ``text``; raises :class:`ExpressionError` with the place of the problem.

    ``shadowed``: the names of constants (``e``, ``pi``) that are variables here.
    """
    if not text.strip():
        raise ExpressionError("the expression is empty", 0)
    return _Parser(text, shadowed).parse()


def constant_value(text: str) -> float:
    """The value of an expression of numbers and constants (``-1/243``, ``sqrt(2)/2``,
    ``1 + sin(pi/4)``): exact fractions are rounded once; ExpressionError (with the
    place) for a variable, bad text or a value that is not a finite number."""
    tokens = tokenize(text)
    for token, after in pairwise(tokens):
        if token.kind != "name":
            continue
        name = FUNCTION_ALIASES.get(token.text, token.text)
        if name in FUNCTIONS or name in FUNCTIONS2 or name in CONSTANTS or (
                name in CONSTANT_ALIASES):
            continue
        # lazy: only on the error path (difflib's start-up time)
        from backprop_cli.errors import suggest

        if after.kind == "op" and after.text == "(":
            known = ", ".join((*FUNCTIONS, *FUNCTIONS2))
            hint = suggest(token.text, (*FUNCTIONS, *FUNCTIONS2)) or f" (known: {known})"
            raise ExpressionError(f"unknown function '{token.text}'{hint}", token.position)
        hint = suggest(token.text, CONSTANTS)
        raise ExpressionError(f"'{token.text}' is not a number{hint}: a number may be an "
                              "expression of numbers and the constants e and pi",
                              token.position)
    tree = simplify(parse(text))
    value = float(tree.value) if isinstance(tree, Num) else evaluate(tree, {})
    if math.isnan(value):
        raise ExpressionError("the expression is undefined (not a real number)")
    if math.isinf(value):
        raise ExpressionError("the expression is not a finite number (a division by zero, "
                              "or beyond ±1.8e308)")
    return value


@dataclass(frozen=True)
class Definition:
    """``name = expression`` or ``name(x, y) = expression`` (declared variables)."""

    name: str | None
    params: tuple[str, ...] | None
    expr: Node
    text: str  # the expression's own text (after '=')


_HEAD = re.compile(r"^\s*(?P<name>[^\W\d_]\w*)\s*(?:\((?P<params>[^()]*)\))?\s*=(?!=)")


def parse_definition(text: str, shadowed: frozenset[str] = frozenset()) -> Definition:
    """``f(x) = x^2``, ``z = y^2`` or a bare expression (no name).

    ``shadowed``: the names of constants that are variables here (``e = (a + b)(b + 1)``);
    a constant named in ``f(x, e) = ...`` is a variable of that definition too.
    """
    head = _HEAD.match(text)
    if head is None:
        if "=" in text:
            raise ExpressionError("write one definition: name = expression", text.index("="))
        return Definition(None, None, parse(text, shadowed), text.strip())
    name = head.group("name")
    if name in FUNCTIONS or name in FUNCTIONS2 or name in FUNCTION_ALIASES:
        raise ExpressionError(f"'{name}' is a function name; name the expression otherwise", 0)
    if (name in CONSTANTS or name in CONSTANT_ALIASES) and name not in shadowed:
        raise ExpressionError(f"'{name}' is a constant; name the expression otherwise", 0)
    params: tuple[str, ...] | None = None
    if head.group("params") is not None:
        raw = [p.strip() for p in head.group("params").split(",")]
        if not all(re.fullmatch(r"[^\W\d_]\w*", p) for p in raw):
            raise ExpressionError(f"{name}(...) lists variable names separated by commas",
                                  head.start("params"))
        if len(set(raw)) != len(raw):
            raise ExpressionError(f"a variable is listed twice in {name}(...)",
                                  head.start("params"))
        params = tuple(raw)
        shadowed = shadowed | {p for p in params if p in CONSTANTS or p in CONSTANT_ALIASES}
    body = text[head.end():]
    try:
        expr = parse(body, shadowed)
    except ExpressionError as error:
        if error.position is not None:
            error.position += head.end()
        raise
    if params is not None:
        extra = sorted(variables(expr) - set(params))
        if extra:
            raise ExpressionError(f"{name}({', '.join(params)}) also uses "
                                  f"{', '.join(extra)}: list every variable", head.start())
    return Definition(name, params, expr, body.strip())


# ---------------------------------------------------------------- evaluation


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


_FLOAT_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "exp": math.exp, "log": math.log, "sin": math.sin, "cos": math.cos, "tanh": math.tanh,
    "sigmoid": _sigmoid, "sqrt": math.sqrt, "relu": lambda x: max(x, 0.0),
    "step": lambda x: 1.0 if x > 0 else 0.0,  # ReLU'(0) = 0, as the engine has it
    "abs": abs, "sign": lambda x: 1.0 if x > 0 else (-1.0 if x < 0 else 0.0),
}


def safe_fsum(terms: list[float]) -> float:
    """``math.fsum``, with the contract of :func:`evaluate`: ∞ − ∞ is NaN (fsum raises
    ValueError) and an overflow ±∞ (fsum raises OverflowError)."""
    try:
        return math.fsum(terms)
    except (ValueError, OverflowError):
        return sum(terms)


def evaluate(node: Node, values: Mapping[str, float]) -> float:
    """The value of ``node`` at ``values``: NaN where undefined, ±inf on overflow."""
    if isinstance(node, Num):
        return float(node.value)
    if isinstance(node, Var):
        if node.name not in values:
            raise ExpressionError(f"no value for '{node.name}'")
        return float(values[node.name])
    if isinstance(node, Constant):
        return CONSTANT_VALUES[node.name]
    if isinstance(node, Fn2):
        left, right = evaluate(node.left, values), evaluate(node.right, values)
        if math.isnan(left) or math.isnan(right):
            return math.nan
        return max(left, right) if node.name == "max" else min(left, right)
    if isinstance(node, Add):
        return safe_fsum([evaluate(t, values) for t in node.terms])
    if isinstance(node, Mul):
        result = 1.0
        for factor in node.factors:
            result *= evaluate(factor, values)
        return result
    if isinstance(node, Pow):
        base = evaluate(node.base, values)
        exponent = evaluate(node.exponent, values)
        try:
            result = base ** exponent
        except OverflowError:
            return math.inf
        except ZeroDivisionError:
            return math.inf
        return result if isinstance(result, float) else math.nan  # complex: undefined
    if isinstance(node, Fn):
        arg = evaluate(node.arg, values)
        if math.isnan(arg):
            return math.nan
        try:
            return _FLOAT_FUNCTIONS[node.name](arg)
        except OverflowError:
            return math.inf
        except ValueError:
            if node.name == "log" and arg == 0:
                return -math.inf
            return math.nan
    raise TypeError(type(node).__name__)


# ------------------------------------------------------------- simplification


def _is_num(node: Node, value: int | None = None) -> bool:
    return isinstance(node, Num) and (value is None or node.value == value)


def _integer(node: Node) -> int | None:
    if isinstance(node, Num) and node.value.denominator == 1:
        return int(node.value)
    return None


def simplify(node: Node) -> Node:
    """A canonical form: constants folded, like terms and equal bases collected, sorted."""
    if isinstance(node, (Num, Var, Constant)):
        return node
    if isinstance(node, Fn):
        return _function(node.name, simplify(node.arg))
    if isinstance(node, Fn2):
        return _function2(node.name, simplify(node.left), simplify(node.right))
    if isinstance(node, Pow):
        return _power(simplify(node.base), simplify(node.exponent))
    if isinstance(node, Mul):
        return _product([simplify(f) for f in node.factors])
    if isinstance(node, Add):
        return _sum([simplify(t) for t in node.terms])
    raise TypeError(type(node).__name__)


def _function(name: str, arg: Node) -> Node:
    if isinstance(arg, Num):
        value = arg.value
        if name == "exp" and value == 0:
            return ONE
        if name == "log" and value == 1:
            return ZERO
        if name in ("sin", "tanh") and value == 0:
            return ZERO
        if name == "cos" and value == 0:
            return ONE
        if name == "sigmoid" and value == 0:
            return Num(Fraction(1, 2))
        if name == "relu":
            return Num(max(value, Fraction(0)))
        if name == "step":
            return ONE if value > 0 else ZERO
        if name == "abs":
            return Num(abs(value))
        if name == "sign":
            return num((value > 0) - (value < 0))
        if name == "sqrt" and value >= 0:
            root = _exact_root(value, 2)
            if root is not None:
                return Num(root)
    if name == "log" and isinstance(arg, Fn) and arg.name == "exp":
        return arg.arg
    if name == "log" and isinstance(arg, Pow) and arg.base == E:
        return arg.exponent
    return Fn(name, arg)


def _function2(name: str, left: Node, right: Node) -> Node:
    if isinstance(left, Num) and isinstance(right, Num):
        return Num(max(left.value, right.value) if name == "max" else min(left.value, right.value))
    if left == right:
        return left
    return Fn2(name, left, right)


def _exact_root(value: Fraction, n: int) -> Fraction | None:
    if value < 0:
        return None
    num_root = round(value.numerator ** (1.0 / n))
    den_root = round(value.denominator ** (1.0 / n))
    if num_root ** n == value.numerator and den_root ** n == value.denominator:
        return Fraction(num_root, den_root)
    return None


def _fold_power(base: Fraction, exponent: Fraction) -> Fraction | None:
    """base^exponent exactly, when it is exact and small; else None (kept symbolic)."""
    if exponent.denominator == 1:
        n = int(exponent)
        if base == 0:
            return None if n < 0 else (Fraction(1) if n == 0 else Fraction(0))
        bits = max(abs(base.numerator).bit_length(), base.denominator.bit_length())
        if bits * abs(n) > MAX_FOLD_BITS:
            return None
        return base ** n
    if base > 0 and exponent.denominator <= 4:
        root = _exact_root(base, exponent.denominator)
        if root is not None:
            return _fold_power(root, Fraction(exponent.numerator))
    return None


def _power(base: Node, exponent: Node) -> Node:
    if _is_num(exponent, 0):
        return ONE
    if _is_num(exponent, 1):
        return base
    if isinstance(base, Num) and isinstance(exponent, Num):
        folded = _fold_power(base.value, exponent.value)
        if folded is not None:
            return Num(folded)
        return Pow(base, exponent)
    if _is_num(base, 1):
        return ONE
    if _is_num(base, 0) and isinstance(exponent, Num) and exponent.value > 0:
        return ZERO
    if base == E:
        return _function("exp", exponent)
    if isinstance(base, Fn) and base.name == "exp":
        return _function("exp", _product([base.arg, exponent]))
    n = _integer(exponent)
    if isinstance(base, Pow) and n is not None:
        return _power(base.base, _product([base.exponent, exponent]))
    if isinstance(base, Mul) and n is not None:
        return _product([_power(f, exponent) for f in base.factors])
    return Pow(base, exponent)


def _split_power(node: Node) -> tuple[Node, Node]:
    if isinstance(node, Pow):
        return node.base, node.exponent
    return node, ONE


def _flattened(nodes: list[Node], kind: type[Add] | type[Mul]) -> list[Node]:
    """``nodes`` with nested sums (or products) opened: a + (b + c) is a + b + c."""
    flat: list[Node] = []
    for node in nodes:
        if isinstance(node, Add) and kind is Add:
            flat.extend(node.terms)
        elif isinstance(node, Mul) and kind is Mul:
            flat.extend(node.factors)
        else:
            flat.append(node)
    return flat


def _product(factors: list[Node]) -> Node:
    flat = _flattened(factors, Mul)
    coefficient = Fraction(1)
    exponents: dict[Node, list[Node]] = {}
    for factor in flat:
        if isinstance(factor, Num):
            coefficient *= factor.value
            continue
        base, exponent = _split_power(factor)
        exponents.setdefault(base, []).append(exponent)
    if coefficient == 0:
        return ZERO
    result: list[Node] = []
    again = False
    for base, powers in exponents.items():
        combined = _power(base, _sum(powers))
        if isinstance(combined, Num):
            coefficient *= combined.value
        elif isinstance(combined, Mul):
            result.extend(combined.factors)
            again = True
        else:
            result.append(combined)
    if again:
        return _product([Num(coefficient), *result])
    if coefficient == 0:
        return ZERO
    if coefficient == -1 and len(result) == 1 and isinstance(result[0], Add):
        # −(t − y) is y − t; other numbers stay outside: 4(2x + 3) is a step of its own
        return _sum([_product([num(-1), term]) for term in result[0].terms])
    result.sort(key=_factor_order)
    if not result:
        return Num(coefficient)
    if coefficient == 1 and len(result) == 1:
        return result[0]
    return Mul(tuple(([Num(coefficient)] if coefficient != 1 else []) + result))


def _factor_order(node: Node) -> tuple[int, str]:
    base, _ = _split_power(node)
    if isinstance(base, Constant):
        rank = -1  # 2πx
    elif isinstance(base, Var):
        rank = 0
    elif isinstance(base, Num):
        rank = 1
    elif isinstance(base, Fn):
        rank = 2
    else:
        rank = 3
    return rank, to_ascii(base)


def split_coefficient(node: Node) -> tuple[Fraction, Node]:
    """A term as (number, the rest): -6x → (-6, x); a number → (n, 1)."""
    if isinstance(node, Num):
        return node.value, ONE
    if isinstance(node, Mul) and isinstance(node.factors[0], Num):
        rest = node.factors[1:]
        return node.factors[0].value, rest[0] if len(rest) == 1 else Mul(rest)
    return Fraction(1), node


def _sum(terms: list[Node]) -> Node:
    flat = _flattened(terms, Add)
    constant = Fraction(0)
    coefficients: dict[Node, Fraction] = {}
    for term in flat:
        if isinstance(term, Num):
            constant += term.value
            continue
        coefficient, rest = split_coefficient(term)
        coefficients[rest] = coefficients.get(rest, Fraction(0)) + coefficient
    result = [_product([Num(c), rest]) for rest, c in coefficients.items() if c != 0]
    result.sort(key=_term_order)
    if constant != 0:
        result.append(Num(constant))
    if not result:
        return ZERO
    return result[0] if len(result) == 1 else Add(tuple(result))


def degree(node: Node) -> int:
    """The polynomial degree of a term (other factors count 0)."""
    _, rest = split_coefficient(node)
    factors = rest.factors if isinstance(rest, Mul) else (rest,)
    total = 0
    for factor in factors:
        base, exponent = _split_power(factor)
        n = _integer(exponent)
        if isinstance(base, Var) and n is not None and n > 0:
            total += n
    return total


def _term_order(node: Node) -> tuple[int, str]:
    _, rest = split_coefficient(node)
    return -degree(node), to_ascii(rest)


def is_polynomial(node: Node) -> bool:
    """Numbers and variables with whole non-negative powers, added and multiplied."""
    for sub in walk(node):
        if isinstance(sub, (Fn, Fn2)):
            return False
        if isinstance(sub, Pow):
            n = _integer(sub.exponent)
            if n is None or n < 0 or not isinstance(sub.base, (Var, Add, Mul)):
                return False
    return True


def tree_size(node: Node, limit: int) -> int:
    """The number of nodes of ``node`` written out as a tree (shared parts counted each
    time they appear), counted up to just past ``limit``."""
    count = 0
    pending = [node]
    while pending and count <= limit:
        current = pending.pop()
        count += 1
        if isinstance(current, Add):
            pending.extend(current.terms)
        elif isinstance(current, Mul):
            pending.extend(current.factors)
        elif isinstance(current, Pow):
            pending.extend((current.base, current.exponent))
        elif isinstance(current, Fn):
            pending.append(current.arg)
    return count


class _TooBig(Exception):
    pass


def expand(node: Node) -> Node:
    """Products of sums multiplied out (and small whole powers of sums), simplified.

    Gives the factored form back when multiplying out would pass
    MAX_EXPANDED_TERMS terms.
    """
    node = simplify(node)
    try:
        return simplify(_expand(node))
    except _TooBig:
        return node


def _expand(node: Node) -> Node:
    if isinstance(node, Add):
        return _sum([_expand(t) for t in node.terms])
    if isinstance(node, Pow):
        n = _integer(node.exponent)
        base = _expand(node.base)
        if isinstance(base, Add) and n is not None and 2 <= n <= MAX_EXPANDED_POWER:
            return _expand(Mul(tuple([base] * n)))
        return _power(base, node.exponent)
    if isinstance(node, Mul):
        products: list[list[Node]] = [[]]
        for factor in (_expand(f) for f in node.factors):
            if isinstance(factor, Add):
                if len(products) * len(factor.terms) > MAX_EXPANDED_TERMS:
                    raise _TooBig
                products = [[*p, t] for p in products for t in factor.terms]
            else:
                for p in products:
                    p.append(factor)
        return _sum([_product(p) for p in products])
    return node


def substitute(node: Node, definitions: Mapping[str, Node]) -> Node:
    """``node`` with each variable named in ``definitions`` replaced by its expression."""
    if isinstance(node, Var):
        return definitions.get(node.name, node)
    if isinstance(node, (Num, Constant)):
        return node
    if isinstance(node, Fn2):
        return Fn2(node.name, substitute(node.left, definitions),
                   substitute(node.right, definitions))
    if isinstance(node, Add):
        return Add(tuple(substitute(t, definitions) for t in node.terms))
    if isinstance(node, Mul):
        return Mul(tuple(substitute(f, definitions) for f in node.factors))
    if isinstance(node, Pow):
        return Pow(substitute(node.base, definitions), substitute(node.exponent, definitions))
    if isinstance(node, Fn):
        return Fn(node.name, substitute(node.arg, definitions))
    raise TypeError(type(node).__name__)


def equivalent(left: Node, right: Node, points: list[dict[str, float]]) -> bool | None:
    """Whether two expressions are the same function: exactly, or at every sample point.

    None when too few points give finite values to tell.
    """
    if expand(_sum([left, _product([num(-1), right])])) == ZERO:
        return True
    compared = 0
    for point in points:
        a = evaluate(left, point)
        b = evaluate(right, point)
        if not (math.isfinite(a) and math.isfinite(b)):
            continue
        compared += 1
        if abs(a - b) > 1e-9 * max(1.0, abs(a), abs(b)):
            return False
    return True if compared >= 3 else None


def sample_points(names: list[str],
                  at: Mapping[str, float] | None = None) -> list[dict[str, float]]:
    """Deterministic points to compare functions at (the exercise's point first)."""
    base = [0.7, 1.3, -0.9, 2.1, 0.35, -1.7, 3.2, 0.55]
    points = [dict(at)] if at else []
    for k in range(len(base)):
        points.append({name: base[(k + 3 * i) % len(base)] + 0.1 * i
                       for i, name in enumerate(names)})
    return points


# ------------------------------------------------------------ differentiation


def derivative(node: Node, var: str) -> Node:
    """∂node/∂var by the rules (sum, product, power, chain), simplified."""
    return simplify(_d(simplify(node), var))


def _d(node: Node, var: str) -> Node:
    if var not in variables(node):
        return ZERO
    if isinstance(node, Var):
        return ONE
    if isinstance(node, Add):
        return Add(tuple(_d(t, var) for t in node.terms))
    if isinstance(node, Mul):
        terms: list[Node] = []
        for i, factor in enumerate(node.factors):
            if var not in variables(factor):
                continue
            others = node.factors[:i] + node.factors[i + 1:]
            terms.append(Mul((*others, _d(factor, var))))
        return Add(tuple(terms))
    if isinstance(node, Pow):
        base, exponent = node.base, node.exponent
        if var not in variables(exponent):  # power rule: n·u^(n−1)·u'
            return Mul((exponent, Pow(base, Add((exponent, num(-1)))), _d(base, var)))
        if var not in variables(base):  # a^u = e^(u·ln a)
            return Mul((node, Fn("log", base), _d(exponent, var)))
        return Mul((node, Add((Mul((_d(exponent, var), Fn("log", base))),
                               Mul((exponent, _d(base, var), Pow(base, num(-1))))))))
    if isinstance(node, Fn):
        u = node.arg
        return Mul((_outer_derivative(node.name, u), _d(u, var)))
    if isinstance(node, Fn2):
        # at a tie the second argument's derivative: step(0) = 0 (as ReLU'(0) = 0)
        u, v = node.left, node.right
        first = u if node.name == "max" else v
        second = v if node.name == "max" else u
        routes = Fn("step", Add((first, Mul((num(-1), second)))))
        return Add((Mul((routes, _d(u, var))),
                    Mul((Add((ONE, Mul((num(-1), routes)))), _d(v, var)))))
    raise TypeError(type(node).__name__)


def _outer_derivative(name: str, u: Node) -> Node:
    if name == "exp":
        return Fn("exp", u)
    if name == "log":
        return Pow(u, num(-1))
    if name == "sin":
        return Fn("cos", u)
    if name == "cos":
        return Mul((num(-1), Fn("sin", u)))
    if name == "tanh":
        return Add((ONE, Mul((num(-1), Pow(Fn("tanh", u), num(2))))))
    if name == "sigmoid":
        s = Fn("sigmoid", u)
        return Mul((s, Add((ONE, Mul((num(-1), s))))))
    if name == "sqrt":
        return Mul((Num(Fraction(1, 2)), Pow(Fn("sqrt", u), num(-1))))
    if name == "relu":
        return Fn("step", u)
    if name == "step" or name == "sign":
        return ZERO
    if name == "abs":
        return Fn("sign", u)  # abs'(0) = sign(0) = 0
    raise ValueError(name)


# ------------------------------------------------------------------- writing


def format_fraction(value: Fraction, unicode: bool = True) -> str:
    """A number as written: 2, 0.25, −1.5, or 1/3 when the decimal does not end."""
    sign = ("−" if unicode else "-") if value < 0 else ""
    value = abs(value)
    if value.denominator == 1:
        return f"{sign}{value.numerator}"
    denominator = value.denominator
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    if denominator == 1 and max(twos, fives) <= 12:
        digits = max(twos, fives)
        text = f"{value.numerator * 10 ** digits // value.denominator}".rjust(digits + 1, "0")
        return f"{sign}{text[:-digits]}.{text[-digits:]}".rstrip("0").rstrip(".")
    return f"{sign}{value.numerator}/{value.denominator}"


def _reading_order(terms: tuple[Node, ...]) -> list[Node]:
    """Terms in the order people write them: 1 − σ(x), 1 + exp(−u), 3x − x².

    The canonical order (by degree, constants last) stays what equality sees;
    only the writing moves a constant to the front when nothing is a power of
    a variable, and a positive term to the front when the first is negative.
    """
    ordered = list(terms)
    if isinstance(ordered[-1], Num) and all(degree(t) == 0 for t in ordered):
        ordered.insert(0, ordered.pop())
    if split_coefficient(ordered[0])[0] < 0:
        for index, term in enumerate(ordered):
            if split_coefficient(term)[0] > 0:
                ordered.insert(0, ordered.pop(index))
                break
    return ordered


class _Writer:
    """Writes a tree as people do (Unicode: 3x² − 6x + 2) or as input text (3*x^2 - 6*x + 2).

    With ``values``, each variable is written as its number in parentheses,
    the way a student substitutes: 3(2)² − 6(2) + 2.
    """

    def __init__(self, unicode: bool, values: Mapping[str, str] | None = None) -> None:
        self.unicode = unicode
        self.values = values
        self.minus = "−" if unicode else "-"

    def write(self, node: Node) -> str:
        if isinstance(node, Add):
            return self.sum(node)
        if isinstance(node, Num) and node.value < 0:
            return self.minus + self.write(Num(-node.value))
        if isinstance(node, Mul) or (isinstance(node, Pow) and self._negative_power(node)):
            return self.product(node)
        return self.atomic(node)

    def sum(self, node: Add) -> str:
        parts: list[str] = []
        for index, term in enumerate(_reading_order(node.terms)):
            coefficient, rest = split_coefficient(term)
            negative = coefficient < 0
            shown = _product([Num(-coefficient), rest]) if negative else term
            text = self.write(shown)
            if index > 0 and text[:1] in "−-":
                text = f"({text})"  # a negative number substituted: 3 + (−2), 2 − (−1)
            if index == 0:
                parts.append(self.minus + text if negative else text)
            else:
                parts.append(f" {self.minus if negative else '+'} {text}")
        return "".join(parts)

    @staticmethod
    def _negative_power(node: Pow) -> bool:
        return isinstance(node.exponent, Num) and node.exponent.value < 0

    def product(self, node: Node) -> str:
        factors = node.factors if isinstance(node, Mul) else (node,)
        coefficient = Fraction(1)
        top: list[Node] = []
        bottom: list[Node] = []
        for factor in factors:
            if isinstance(factor, Num):
                coefficient *= factor.value
            elif isinstance(factor, Pow) and self._negative_power(factor):
                assert isinstance(factor.exponent, Num)
                bottom.append(_power(factor.base, Num(-factor.exponent.value)))
            else:
                top.append(factor)
        sign = self.minus if coefficient < 0 else ""
        coefficient = abs(coefficient)
        plain = format_fraction(coefficient, self.unicode)
        if bottom or "/" in plain:
            numerator_coefficient = Fraction(coefficient.numerator)
            denominator_coefficient = Fraction(coefficient.denominator)
        else:
            numerator_coefficient, denominator_coefficient = coefficient, Fraction(1)
        numerator = self.join(numerator_coefficient, top)
        if not bottom and denominator_coefficient == 1:
            return sign + numerator
        denominator = self.join(denominator_coefficient, bottom)
        if len(bottom) + (denominator_coefficient != 1) > 1:
            denominator = f"({denominator})"
        return f"{sign}{numerator}/{denominator}"

    def join(self, coefficient: Fraction, factors: list[Node]) -> str:
        texts = [self.factor(f) for f in factors]
        numbers = [self._substituted(f) for f in factors]
        leading = coefficient != 1 or not texts
        if leading:
            texts.insert(0, format_fraction(coefficient, self.unicode))
            numbers.insert(0, False)
        if not self.unicode:
            return "*".join(texts)
        out = texts[0]
        for index in range(1, len(texts)):
            previous, text = texts[index - 1], texts[index]
            if numbers[index]:  # 3(2) after a coefficient, 2·0.5 between numbers
                out += f"({text})" if index == 1 and leading and not text.startswith("(") \
                    else "·" + text
            elif self._juxtapose(previous, text) and not numbers[index - 1]:
                out += text
            else:
                out += "·" + text
        return out

    def _substituted(self, node: Node) -> bool:
        return self.values is not None and isinstance(node, Var) and node.name in self.values

    def _juxtapose(self, previous: str, text: str) -> bool:
        """3x, 2x², xy, 4(2x + 3): no sign between; everything else gets a ·."""
        single_letter = re.fullmatch(r"[^\W\d_][⁰¹²³⁴⁵⁶⁷⁸⁹⁻]*", text) is not None
        if re.fullmatch(r"[0-9.]+", previous):
            return single_letter or text.startswith("(")
        return single_letter and re.fullmatch(r"[^\W\d_][⁰¹²³⁴⁵⁶⁷⁸⁹⁻]*", previous) is not None

    def factor(self, node: Node) -> str:
        text = self.write(node)
        if self._needs_group(node, 2) or (self._substituted(node) and text[:1] in "−-"):
            return f"({text})"
        return text

    @staticmethod
    def _needs_group(node: Node, level: int) -> bool:
        if isinstance(node, Add):
            return True
        if isinstance(node, Num):
            return node.value < 0 or (level >= 3 and node.value.denominator != 1)
        if isinstance(node, Mul):
            return True
        if isinstance(node, Pow) and _Writer._negative_power(node):
            return True
        return level >= 3 and isinstance(node, Pow)

    def atomic(self, node: Node) -> str:
        if isinstance(node, Num):
            return format_fraction(node.value, self.unicode)
        if isinstance(node, Var):
            if self.values is not None and node.name in self.values:
                return self.values[node.name]
            return node.name
        if isinstance(node, Constant):
            return "π" if self.unicode and node.name == "pi" else node.name
        if isinstance(node, Fn2):
            return f"{node.name}({self.write(node.left)}, {self.write(node.right)})"
        if isinstance(node, Fn):
            if node == E:
                return "e"
            name = "σ" if self.unicode and node.name == "sigmoid" else node.name
            return f"{name}({self.write(node.arg)})"
        if isinstance(node, Pow):
            base = self.write(node.base)
            if self._needs_group(node.base, 3) or self._substituted(node.base):
                base = f"({base})"  # (2)³, as a student substitutes
            n = _integer(node.exponent)
            if self.unicode and n is not None:
                return base + "".join(TO_SUPERSCRIPT[c] for c in str(n))
            exponent = self.write(node.exponent)
            if not isinstance(node.exponent, (Var,)) and not (
                    isinstance(node.exponent, Num) and node.exponent.value.denominator == 1
                    and node.exponent.value >= 0):
                exponent = f"({exponent})"
            return f"{base}^{exponent}"
        return self.write(node)


def to_text(node: Node, values: Mapping[str, str] | None = None) -> str:
    """As a person writes it: ``3x² − 6x + 2``, ``σ(x)·(1 − σ(x))``."""
    return _Writer(True, values).write(node)


def to_ascii(node: Node, values: Mapping[str, str] | None = None) -> str:
    """As input text, readable back by :func:`parse`: ``3*x^2 - 6*x + 2``."""
    return _Writer(False, values).write(node)
