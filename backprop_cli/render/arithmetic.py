"""Shown arithmetic that adds up: the decimals of each worked equation (``--decimals N``).

With every number rounded on its own, ``0.50014 + 1.20044 + 0.10014`` is shown as
``0.5001 + 1.2004 + 0.1001 = 1.8007``, which a student adding the shown terms
reads as a mistake. Here each equation keeps N decimals when every sum and
product worked out in it agrees with its shown operands at the shown precision
(a sum exactly, a product to within half a unit of the last decimal), and
otherwise gets the fewest extra decimals (up to :data:`EXTRA`) that make it
agree. Display only: the values are the engine's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal

from backprop_cli.expr import Const, Expr, Product, Ref, Sum, is_leaf
from backprop_cli.numfmt import decimals_for_digits, format_fixed
from backprop_cli.render.model import Document, Equation, Section

EXTRA = 3  # decimals an equation may add to the asked ones


def settle_decimals(doc: Document, decimals: int) -> None:
    """Set :attr:`Equation.decimals` where ``decimals`` would not add up."""
    for equation in equations(doc.sections):
        base = decimals
        if equation.digits is not None:  # a new value widened to show a small step
            base = max(base, decimals_for_digits(equation.result, equation.digits))
        chosen = next((candidate for candidate in range(base, base + EXTRA + 1)
                       if adds_up(equation, candidate)), base)
        if chosen != decimals:
            equation.decimals = chosen


def equations(blocks: list[Section] | list[object]) -> Iterator[Equation]:
    for block in blocks:
        if isinstance(block, Equation):
            yield block
        elif isinstance(block, Section):
            yield from equations(block.blocks)


def shown(value: float, decimals: int, digits: int | None = None) -> Decimal:
    """``value`` as written with ``decimals`` fixed decimals, as an exact decimal."""
    if digits is not None:
        decimals = max(decimals, decimals_for_digits(value, digits))
    return Decimal(format_fixed(value, decimals, ascii_only=True))


def adds_up(equation: Equation, decimals: int) -> bool:
    """Whether each line's worked-out sums and products follow from the line before."""
    steps = equation.steps
    if len(steps) == 0:
        return True
    nexts: list[Expr] = [*steps[1:], Const(equation.result)]
    for index, (line, following) in enumerate(zip(steps, nexts, strict=True)):
        digits = equation.digits if index == len(steps) - 1 else None
        if not _agrees(line, following, equation.values, decimals, digits):
            return False
    return True


def _leaf(expr: Expr, values: Mapping[str, float], decimals: int) -> Decimal | None:
    if isinstance(expr, Ref):
        return shown(values[expr.key], decimals) if expr.key in values else None
    if isinstance(expr, Const):
        if expr.display is not None:  # ½, 1/3: exact as written
            return Decimal(expr.value)
        return shown(expr.value, decimals)
    return None


def _agrees(line: Expr, following: Expr, values: Mapping[str, float], decimals: int,
            digits: int | None) -> bool:
    if is_leaf(line):
        return True
    children = line.children()
    if all(is_leaf(child) for child in children):
        if not isinstance(following, Const) or not isinstance(line, (Sum, Product)):
            return True  # a function's value, or a line the equation skips to
        operands = [_leaf(child, values, decimals) for child in children]
        if any(operand is None for operand in operands):
            return True
        exact: Decimal
        if isinstance(line, Sum):
            exact = sum((sign * operand for sign, operand in zip(line.signs, operands,
                                                                  strict=True)
                         if operand is not None), Decimal(0))
        else:
            exact = Decimal(1)
            for operand in operands:
                assert operand is not None
                exact *= operand
        target = shown(following.value, decimals, digits)
        exponent = target.as_tuple().exponent
        places = max(-exponent if isinstance(exponent, int) else 0, decimals)
        return abs(exact - target) <= Decimal(5) * Decimal(10) ** (-places - 1)
    following_children = following.children()
    if type(following) is not type(line) or len(following_children) != len(children):
        return True
    return all(_agrees(a, b, values, decimals, None)
               for a, b in zip(children, following_children, strict=True))
