"""The slip catalogue: what went wrong in a wrong value, named when exactly one slip fits.

Each slip is a mistake people make by hand, tried on the step's formula with the
author's own operands (the values the consistency rule uses). A slip *fits* when
its result reproduces the published value as closely as the consistency rule
asks of a right one, and differs from the right recomputation by more than that.
A diagnosis is given only when exactly one code fits; its message shows the
arithmetic (``0.7 = −(−0.7): the sign is flipped``).

Codes:

- ``sign``: the value with its sign flipped.
- ``factor_2``: twice or half the value (a ½ forgotten or doubled: SE vs ½SE).
- ``missing_derivative``: a delta without its activation's derivative (δ = ∂L/∂a),
  or a gradient computed from ∂L/∂a instead of δ.
- ``update_sign``: new = old + η·g.
- ``no_learning_rate``: new = old − g.
- ``learning_rate_twice``: η applied twice (new = old − η²·g).
- ``log_base``: log₁₀ or log₂ in place of the natural log.
- ``new_weight``: back-propagated through a weight already updated.
- ``transposed``: the weight matrix read transposed (w_jk for w_kj).
- ``derivative_at_a``: the activation's derivative taken at a instead of z.
- ``other_unit``: another unit's value of the same quantity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from backprop_cli.expr import (
    Call,
    Const,
    Expr,
    Neg,
    Piecewise,
    Power,
    Product,
    Quotient,
    Ref,
    Round,
    Sum,
)
from backprop_cli.model.keys import KeyParts, compose, value_key
from backprop_cli.numfmt import format_number
from backprop_cli.records import record

CODES = ("sign", "factor_2", "missing_derivative", "update_sign", "no_learning_rate",
         "learning_rate_twice", "log_base", "new_weight", "transposed", "derivative_at_a",
         "other_unit")

# Digits of the numbers in a diagnosis's arithmetic.
DIGITS = 4


@record(frozen=True)
class Diagnosis:
    """A named slip that reproduces a wrong value, and its arithmetic."""

    code: str
    message: str


class SlipContext(Protocol):
    """What the catalogue needs to know of the problem beyond the step's formula."""

    @property
    def learning_rate(self) -> float | None: ...

    def parts(self, key: str) -> KeyParts | None:
        """The parts of a value key (None: not a key of the problem)."""

    def value(self, key: str) -> float | None:
        """The author's value of ``key`` (written, or recomputed from theirs); None: none."""

    def units_beside(self, unit: str) -> list[str]:
        """The other units of ``unit``'s layer."""

    def per_layer(self, unit: str) -> bool:
        """Whether ``unit``'s activation reads its whole layer (softmax)."""

    def transposed(self, param: str) -> str | None:
        """The weight at the transposed place of ``param``'s matrix, if there is one."""

    def formula(self, key: str) -> Expr | None:
        """The formula of ``key``."""


Candidate = tuple[str, float, str]  # code, value, arithmetic


def diagnose(key: str, published: float, shown: str, base: float, formula: Expr | None,
             values: Mapping[str, float], tolerance: float,
             context: SlipContext | None) -> Diagnosis | None:
    """The one slip that turns the right step (``base``, from the author's ``values``)
    into ``published`` within ``tolerance``, or None when none or several fit."""
    if not (math.isfinite(published) and math.isfinite(base)):
        return None
    fits: dict[str, str] = {}
    try:
        for code, value, arithmetic in _candidates(key, base, formula, values, context):
            if not math.isfinite(value) or abs(value - base) <= tolerance:
                continue  # no slip: the same number as the right step
            if abs(published - value) <= tolerance:
                fits.setdefault(code, f"{shown} = {arithmetic}")
    except ArithmeticError:  # a slip whose arithmetic overflows reproduces nothing
        return None
    if len(fits) != 1:
        return None
    code, message = next(iter(fits.items()))
    return Diagnosis(code, message)


def _n(value: float) -> str:
    return format_number(value, DIGITS)


def _candidates(key: str, base: float, formula: Expr | None, values: Mapping[str, float],
                context: SlipContext | None) -> Iterator[Candidate]:
    yield "sign", -base, f"−({_n(base)}): the sign is flipped"
    yield "factor_2", 2 * base, f"2·{_number(base, 1)}: twice the value (a factor ½ left out)"
    yield "factor_2", base / 2, f"{_n(base)}/2: half the value (a factor ½ too many)"
    if formula is None or context is None:
        return
    parts = context.parts(key)
    if parts is None:
        return
    yield from _by_kind(parts, formula, values, context)


def _by_kind(parts: KeyParts, formula: Expr, values: Mapping[str, float],
             context: SlipContext) -> Iterator[Candidate]:
    kind = parts.kind
    prefix = parts.prefix
    sfx = parts.suffix
    if kind == "grad.z" and not context.per_layer(parts.name):
        grad_a = context.value(compose(prefix, "grad.a", parts.name, sfx))
        derivative = context.value(compose(prefix, "dadz", parts.name, sfx))
        if grad_a is not None:
            left_out = "" if derivative is None else f" ({_n(derivative)}) left out"
            yield ("missing_derivative", grad_a,
                   f"{value_key('grad.a', parts.name)} = {_n(grad_a)}: the delta without its "
                   f"activation's derivative {value_key('dadz', parts.name)}{left_out}")
    if kind in ("grad", "grad.a"):
        yield from _from_grad_a(formula, values, context)
    if kind == "grad.a":
        yield from _weights_swapped(formula, values, context, prefix, transposed=False)
    if kind in ("grad.a", "z"):
        yield from _weights_swapped(formula, values, context, prefix, transposed=True)
    if kind == "new" or (kind in ("v", "m") and parts.step is not None):
        yield from _update_slips(parts, formula, values, context)
    if kind == "loss":
        for name, scale in (("log₁₀", math.log(10.0)), ("log₂", math.log(2.0))):
            changed = _map(formula, _log_divided_by(scale))
            if changed is not None:
                yield ("log_base", changed.evaluate(values),
                       f"{_n(changed.evaluate(values))}: {name} in place of the natural log "
                       f"(ln gives {_n(formula.evaluate(values))})")
    if kind == "dadz" and not context.per_layer(parts.name):
        yield from _derivative_at_a(parts, formula, context, prefix, sfx)
    if kind in ("z", "a", "dadz", "grad.a", "grad.z"):
        for other in context.units_beside(parts.name):
            other_key = compose(prefix, kind, other, sfx)
            value = context.value(other_key)
            if value is not None:
                yield "other_unit", value, f"{other_key} = {_n(value)}: another unit's value"


def _from_grad_a(formula: Expr, values: Mapping[str, float],
                 context: SlipContext) -> Iterator[Candidate]:
    """A gradient that reads ∂L/∂a where it needs δ = ∂L/∂z."""
    swapped = dict(values)
    names = []
    for ref in formula.refs():
        parts = context.parts(ref)
        if parts is None or parts.kind != "grad.z" or context.per_layer(parts.name):
            continue
        grad_a = context.value(compose(parts.prefix, "grad.a", parts.name, parts.suffix))
        if grad_a is None:
            continue
        swapped[ref] = grad_a
        names.append(parts.name)
    if names:
        value = formula.evaluate(swapped)
        yield ("missing_derivative", value,
               f"{arithmetic(formula, swapped)} = {_n(value)}: ∂L/∂a in place of δ "
               f"({value_key('grad.a', names[0])} for {value_key('grad.z', names[0])})")


def _weights_swapped(formula: Expr, values: Mapping[str, float], context: SlipContext,
                     prefix: str, transposed: bool) -> Iterator[Candidate]:
    """The step through the updated weights, or through the transposed ones."""
    swapped = dict(values)
    pairs = []
    for ref in formula.refs():
        parts = context.parts(ref)
        if parts is None or parts.kind != "param":
            continue
        if transposed:
            other = context.transposed(parts.name)
            other_key = None if other is None else compose(prefix, "param", other)
        else:
            other_key = compose(prefix, "new", parts.name)
        other_value = None if other_key is None else context.value(other_key)
        if other_key is None or other_value is None:
            continue
        swapped[ref] = other_value
        pairs.append(f"{other_key} = {_n(other_value)} for {ref}")
    if pairs:
        value = formula.evaluate(swapped)
        if transposed:
            why = "the weights read transposed"
            code = "transposed"
        else:
            why = "back-propagated through the updated weights"
            code = "new_weight"
        yield code, value, f"{arithmetic(formula, swapped)} = {_n(value)}: {why} " \
                           f"({', '.join(pairs[:3])}{', …' if len(pairs) > 3 else ''})"


def _update_slips(parts: KeyParts, formula: Expr, values: Mapping[str, float],
                  context: SlipContext) -> Iterator[Candidate]:
    grad = compose(parts.prefix, "grad", parts.name)
    if grad in values:
        flipped = dict(values)
        flipped[grad] = -values[grad]
        value = formula.evaluate(flipped)
        yield ("update_sign", value,
               f"{arithmetic(formula, flipped)} = {_n(value)}: the gradient added, not "
               "subtracted")
    rate = context.learning_rate
    if rate is None or rate in (0.0, 1.0):
        return
    for code, replacement, why in (
            ("no_learning_rate", 1.0, f"the learning rate η = {_n(rate)} left out"),
            ("learning_rate_twice", rate * rate, f"the learning rate η = {_n(rate)} applied "
                                                 "twice")):
        changed = _map(formula, _rate_replaced(replacement))
        if changed is not None:
            value = changed.evaluate(values)
            yield code, value, f"{arithmetic(changed, values)} = {_n(value)}: {why}"


def _derivative_at_a(parts: KeyParts, formula: Expr, context: SlipContext, prefix: str,
                     sfx: str) -> Iterator[Candidate]:
    """f′ evaluated at a (as if a were z): f′(a) with its own activation f(a)."""
    z_key, a_key = compose(prefix, "z", parts.name, sfx), compose(prefix, "a", parts.name, sfx)
    a = context.value(a_key)
    activation = context.formula(a_key)
    if a is None or activation is None or set(activation.refs()) != {z_key}:
        return
    at_a = {z_key: a, a_key: activation.evaluate({z_key: a})}
    if not set(formula.refs()) <= set(at_a):
        return
    value = formula.evaluate(at_a)
    yield ("derivative_at_a", value,
           f"{arithmetic(formula, at_a)} = {_n(value)}: the derivative taken at "
           f"{value_key('a', parts.name)} = {_n(a)} instead of {value_key('z', parts.name)}")


def _log_divided_by(scale: float) -> Callable[[Expr], Expr | None]:
    """ln x → ln x / scale (log₁₀ x = ln x / ln 10)."""
    def change(expr: Expr) -> Expr | None:
        if isinstance(expr, Call) and expr.name == "log":
            return Quotient(expr, Const(scale))
        return None
    return change


def _rate_replaced(new: float) -> Callable[[Expr], Expr | None]:
    """The learning rate η (the constant whose role is 'rate') replaced by ``new``."""
    def change(expr: Expr) -> Expr | None:
        return Const(new) if isinstance(expr, Const) and expr.role == "rate" else None
    return change


def _map(expr: Expr, change: Callable[[Expr], Expr | None]) -> Expr | None:
    """``expr`` with every node ``change`` replaces replaced; None when nothing changed."""
    replaced = change(expr)
    if replaced is not None:
        return replaced
    children = expr.children()
    if not children:
        return None
    mapped = [_map(child, change) for child in children]
    if all(m is None for m in mapped):
        return None
    return expr.rebuild(tuple(m if m is not None else c
                              for m, c in zip(mapped, children, strict=True)))


def arithmetic(expr: Expr, values: Mapping[str, float]) -> str:
    """``expr`` with the numbers substituted, as plain text (0.5·(−0.1751) + 0.2)."""
    return _write(expr, values, 0)


def _number(value: float, parent: int) -> str:
    text = _n(value)
    return f"({text})" if parent and text.startswith("−") else text


def _write(expr: Expr, values: Mapping[str, float], parent: int) -> str:
    if isinstance(expr, Round):
        return _write(expr.operand, values, parent)
    if isinstance(expr, Ref):
        return _number(values[expr.key], parent)
    if isinstance(expr, Const):
        return expr.display or _number(expr.value, parent)
    if isinstance(expr, Sum):
        text = ""
        for i, (sign, term) in enumerate(zip(expr.signs, expr.terms, strict=True)):
            part = _write(term, values, 11)
            if i == 0:
                text = part if sign > 0 else f"−{part}"
            else:
                text += f" {'+' if sign > 0 else '−'} {part}"
        return f"({text})" if parent > 10 else text
    if isinstance(expr, Product):
        text = "·".join(_write(f, values, 20) for f in expr.factors)
        return f"({text})" if parent > 20 else text
    if isinstance(expr, Quotient):
        text = f"{_write(expr.numerator, values, 20)}/{_write(expr.denominator, values, 21)}"
        return f"({text})" if parent > 20 else text
    if isinstance(expr, Neg):
        return f"−{_write(expr.operand, values, 30)}"
    if isinstance(expr, Power):
        return f"{_write(expr.base, values, 40)}^{expr.exponent}"
    if isinstance(expr, Call):
        return f"{expr.name}({', '.join(_write(a, values, 0) for a in expr.args)})"
    if isinstance(expr, Piecewise):
        return _number(expr.evaluate(values), parent)
    return _number(expr.evaluate(values), parent)
