"""Shown arithmetic that adds up: the decimals of each worked equation.

Every number rounded on its own does not add up: with 4 significant digits
``0.50014 + 1.20044 + 0.10014`` is shown as ``0.5001 + 1.2 + 0.1001 = 1.801``, and
with ``--decimals 4`` as ``0.5001 + 1.2004 + 0.1001 = 1.8007``; a student adding
the shown terms reads either as a mistake. Here an equation keeps the asked
precision when every sum worked out in it adds up exactly from its shown terms
(with ``--decimals``, every product too, to within half a unit of the last
decimal). Otherwise it gets the fewest decimals that make it agree: at least
those of its finest term with significant digits (trailing zeros still dropped),
the asked ones with ``--decimals``, and up to :data:`EXTRA` more. Display only:
the values are the engine's, and an equation that agrees at no candidate keeps
the asked precision.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation

from backprop_cli.expr import Const, Expr, Product, Ref, Sum, is_leaf
from backprop_cli.numfmt import decimals_for_digits, format_display
from backprop_cli.records import record
from backprop_cli.render.model import Document, Equation, Num, Section, Table

EXTRA = 3  # decimals an equation may add to its starting candidate
MAX_DECIMALS = 8  # significant digits: an equation needing more (tiny values) is left alone


@record(frozen=True)
class Display:
    """How numbers are written: ``digits`` significant digits, or ``decimals`` decimals
    (exactly that many when ``fixed``, at most that many otherwise)."""

    digits: int
    decimals: int | None = None
    fixed: bool = False

    def shown(self, value: float, override: int | None) -> Decimal | None:
        """``value`` as written, as an exact decimal (None for 'undefined' and ∞)."""
        text = format_display(value, self.digits, self.decimals, self.fixed, override,
                              ascii_only=True)
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None

    def places(self, value: float, override: int | None) -> int:
        """The last decimal place ``value`` is written to (trailing zeros counted)."""
        if self.decimals is not None and (self.fixed or override is None):
            if override is not None:
                return max(self.decimals, decimals_for_digits(value, override))
            return self.decimals
        return decimals_for_digits(value, override or self.digits)


def settle_decimals(doc: Document, decimals: int) -> None:
    """``--decimals``: set :attr:`Equation.decimals` where ``decimals`` would not add up."""
    for equation in equations(doc.sections):
        base = decimals
        if equation.digits is not None:  # a new value widened to show a small step
            base = max(base, decimals_for_digits(equation.result, equation.digits))
        chosen = next((candidate for candidate in range(base, base + EXTRA + 1)
                       if adds_up(equation, Display(equation.digits or 4, candidate, True),
                                  products=True)), base)
        if chosen != decimals:
            equation.decimals = chosen


def settle_digits(doc: Document, digits: int) -> None:
    """Significant digits: an equation whose shown sums do not add up is written with the
    decimals of its finest number (trailing zeros dropped), or up to EXTRA more."""
    for equation in equations(doc.sections):
        if adds_up(equation, Display(digits)):
            continue
        base = max((decimals_for_digits(value, digits) for value in numbers(equation)),
                   default=0)
        if base > MAX_DECIMALS:
            continue
        equation.decimals = next(
            (candidate for candidate in range(base, base + EXTRA + 1)
             if adds_up(equation, Display(digits, candidate))), None)


def equations(blocks: list[Section] | list[object]) -> Iterator[Equation]:
    for block in blocks:
        if isinstance(block, Equation):
            yield block
        elif isinstance(block, Section):
            yield from equations(block.blocks)


def numbers(equation: Equation) -> Iterator[float]:
    """Every number the equation shows: its lines' values and its result."""
    for line in equation.steps:
        yield from _numbers(line, equation.values)
    if math.isfinite(equation.result):
        yield equation.result


def _numbers(expr: Expr, values: Mapping[str, float]) -> Iterator[float]:
    value = _leaf_value(expr, values)
    if value is not None and math.isfinite(value):
        yield value
    for child in expr.children():
        yield from _numbers(child, values)


def _leaf_value(expr: Expr, values: Mapping[str, float]) -> float | None:
    if isinstance(expr, Ref):
        return values.get(expr.key)
    if isinstance(expr, Const) and expr.display is None:
        return expr.value
    return None


def adds_up(equation: Equation, display: Display, products: bool = False) -> bool:
    """Whether each line's worked-out sums (and ``products``) follow from the line before."""
    steps = equation.steps
    if not steps:
        return True
    nexts: list[Expr] = [*steps[1:], Const(equation.result)]
    for index, (line, following) in enumerate(zip(steps, nexts, strict=True)):
        digits = equation.digits if index == len(steps) - 1 else None
        if not _agrees(line, following, equation.values, display, digits, products):
            return False
    return True


def _leaf(expr: Expr, values: Mapping[str, float], display: Display) -> Decimal | None:
    if isinstance(expr, Const) and expr.display is not None:  # ½, 1/3: exact as written
        return Decimal(expr.value)
    value = _leaf_value(expr, values)
    return None if value is None else display.shown(value, None)


def _agrees(line: Expr, following: Expr, values: Mapping[str, float], display: Display,
            digits: int | None, products: bool) -> bool:
    """A sum (or product) of shown numbers agrees with the shown result to within half a
    unit of the result's last decimal place."""
    if is_leaf(line):
        return True
    children = line.children()
    if all(is_leaf(child) for child in children):
        checked = (Sum, Product) if products else (Sum,)
        if not isinstance(following, Const) or not isinstance(line, checked):
            return True  # a function's value, or a line the equation skips to
        operands = [_leaf(child, values, display) for child in children]
        target = display.shown(following.value, digits)
        if target is None or any(operand is None for operand in operands):
            return True
        exact = Decimal(0) if isinstance(line, Sum) else Decimal(1)
        for index, operand in enumerate(operands):
            assert operand is not None
            if isinstance(line, Sum):
                exact += line.signs[index] * operand
            else:
                exact *= operand
        places = display.places(following.value, digits)
        return abs(exact - target) <= Decimal(5) * Decimal(10) ** (-places - 1)
    following_children = following.children()
    if type(following) is not type(line) or len(following_children) != len(children):
        return True
    return all(_agrees(a, b, values, display, None, products)
               for a, b in zip(children, following_children, strict=True))


def positional_columns(doc: Document, digits: int) -> None:
    """Table columns that mix 9.096e-5 with 0.0001819 write every number positionally
    (0.00009096), when that needs at most :data:`MAX_DECIMALS` decimals."""
    for table in tables(doc.sections):
        for column in range(len(table.columns)):
            nums = [part for row in table.rows if column < len(row)
                    for part in row[column] if isinstance(part, Num)]
            texts = [format_display(n.value, digits, override=n.digits, ascii_only=True)
                     for n in nums if math.isfinite(n.value) and n.value != 0]
            exponents = [n for n in nums if "e" in format_display(
                n.value, digits, override=n.digits, ascii_only=True)]
            if not exponents or all("e" in text or "." not in text for text in texts):
                continue
            if max(decimals_for_digits(n.value, n.digits or digits)
                   for n in exponents) > MAX_DECIMALS:
                continue
            table.rows = [
                [[Num(part.value, part.digits, True) if isinstance(part, Num) else part
                  for part in cell] if index == column else cell
                 for index, cell in enumerate(row)]
                for row in table.rows]


def tables(blocks: list[Section] | list[object]) -> Iterator[Table]:
    for block in blocks:
        if isinstance(block, Table):
            yield block
        elif isinstance(block, Section):
            yield from tables(block.blocks)
