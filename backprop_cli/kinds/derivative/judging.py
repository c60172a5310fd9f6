"""Judging an author's derivative answers with the one verdict rule (numbers) and by
equivalence of functions (formulas)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from backprop_cli import calculus as calc
from backprop_cli.calculus import Node
from backprop_cli.checking.checker import KeyResult, Precision, settle
from backprop_cli.checking.verdicts import Operand, judge
from backprop_cli.expr import (
    FUNCTIONS,
    Call,
    Const,
    Expr,
    Power,
    Product,
    Quotient,
    Ref,
    add,
    mul,
    sub,
)
from backprop_cli.kinds.derivative.model import DerivativeProblem, PublishedAnswer
from backprop_cli.kinds.derivative.working import (
    Partial,
    Worked,
    all_keys,
    fully_substituted,
    work,
)

# registers σ, tanh, ReLU... into expr.FUNCTIONS, which the reports print
from backprop_cli.model import activations  # noqa: F401
from backprop_cli.model.keys import exercise_key, split_exercise_key
from backprop_cli.numfmt import format_number

# ------------------------------------------------------------------ checking


def recomputation(worked: Worked, key: str) -> Expr | None:
    """The step ``key`` as a formula over other keys, to redo with an author's numbers."""

    exercise = worked.derivation
    if key == "predicted_change" and exercise.step:
        moved = [v for v in exercise.variables if exercise.step.get(v, 0.0) != 0.0]
        if not moved:
            return None
        return add(*(mul(Ref(exercise_key("derivative", v)), Const(exercise.step[v]))
                     for v in moved))
    if key == "actual_change":
        return sub(Ref("new_value"), Ref("value"))
    if key == "difference":
        return sub(Ref("actual_change"), Ref("predicted_change"))
    split = split_exercise_key(key)
    if not exercise.chain or split is None:
        return None
    head, names = split
    if head == "derivative" and len(names) == 1:
        partial = _partial(worked, names[0])
        if not partial.paths:
            return None
        return add(*(mul(*(Ref(exercise_key("derivative", link.outer, link.inner))
                           for link in path)) for path in partial.paths))
    at = exercise.at or {}

    def key_of(name: str) -> Expr:
        return Ref(exercise_key("value", name)) if name in exercise.chain else Const(at[name])

    if head == "value":
        return to_expr(exercise.chain[names[0]].expr if names else exercise.top.expr, key_of)
    if head == "derivative":
        link = next(link for link in worked.links if (link.outer, link.inner) == names)
        return to_expr(link.formula, key_of)
    return None


def _partial(worked: Worked, var: str) -> Partial:
    """∂f/∂var, var independent or intermediate."""
    return next(p for p in worked.partials + worked.intermediates if p.var == var)


def to_expr(node: Node, leaf: Any) -> Expr | None:
    """A calculus tree as an :class:`~backprop_cli.expr.Expr` (the reports print those)."""

    if isinstance(node, calc.Num):
        return Const(float(node.value))
    if isinstance(node, calc.Constant):
        return Const(calc.CONSTANT_VALUES[node.name], "π" if node.name == "pi" else None)
    if isinstance(node, calc.Var):
        result: Expr = leaf(node.name)
        return result
    if isinstance(node, calc.Add):
        terms = [to_expr(t, leaf) for t in node.terms]
        return None if any(t is None for t in terms) else add(*[t for t in terms if t])
    if isinstance(node, calc.Mul):
        factors = [to_expr(f, leaf) for f in node.factors]
        if any(f is None for f in factors):
            return None
        return Product(tuple(f for f in factors if f is not None))
    if isinstance(node, calc.Pow):
        base = to_expr(node.base, leaf)
        exponent = node.exponent
        if base is None or not isinstance(exponent, calc.Num) or exponent.value.denominator != 1:
            return None
        n = int(exponent.value)
        if n < 0:
            return Quotient(Const(1.0), base if n == -1 else Power(base, -n))
        return Power(base, n)
    if isinstance(node, calc.Fn) and node.name in FUNCTIONS:
        arg = to_expr(node.arg, leaf)
        return None if arg is None else Call(node.name, (arg,))
    return None


def check(problem: DerivativeProblem, min_digits: int | None = None) -> list[KeyResult]:
    """Verdicts for every expected key, in computation order (``min_digits``, from
    ``check --min-digits``, overrides the file's)."""
    digits = min_digits if min_digits is not None else problem.min_digits
    worked = work(problem.derivation)
    order = {key: index for index, key in enumerate(all_keys(problem.derivation))}
    answers = sorted(problem.expected.values(), key=lambda a: order.get(a.key, len(order)))
    author = {a.key: a.value for a in answers if a.value is not None}
    return [_judge_formula(problem, worked, a) if a.formula is not None
            else _judge_number(problem, worked, a, author, digits) for a in answers]


def _judge_number(problem: DerivativeProblem, worked: Worked, answer: PublishedAnswer,
                  author: Mapping[str, float], min_digits: int | None) -> KeyResult:
    assert answer.value is not None
    actual = worked.values[answer.key]
    tolerance = answer.tolerance if answer.tolerance is not None else problem.tolerance
    precision = Precision.of(answer.text, tolerance)
    result = KeyResult(key=answer.key, expected=answer.value, text=answer.text, actual=actual,
                       verdict="wrong", erratum=answer.erratum, erratum_text=answer.erratum_text,
                       note=answer.note, line=answer.mark.line, column=answer.mark.column)
    expr = recomputation(worked, answer.key)
    operands = None
    if expr is not None:
        operands = {}
        for ref in expr.refs():
            own = problem.expected.get(ref)
            if ref in author and own is not None:
                operands[ref] = Operand(ref, author[ref], worked.values[ref],
                                        Precision.of(own.text, own.tolerance
                                                     if own.tolerance is not None
                                                     else problem.tolerance), own.text)
            else:
                operands[ref] = Operand(ref, worked.values[ref], worked.values[ref])
        result.formula = expr
        result.operands = {ref: operand.value for ref, operand in operands.items()}
    judged = judge(answer.key, answer.value, precision, actual, expr, operands,
                   min_digits=min_digits)
    return settle(result, judged, tolerance)


def _judge_formula(problem: DerivativeProblem, worked: Worked,
                   answer: PublishedAnswer) -> KeyResult:
    exercise = worked.derivation
    assert answer.formula is not None
    split = split_exercise_key(answer.key)
    assert split is not None
    head, parts = split
    truth = _true_formula(worked, head, parts)
    full = fully_substituted({n: d.expr for n, d in exercise.chain.items()}, exercise.order)
    points = calc.sample_points(exercise.variables, exercise.at)
    mine = calc.substitute(answer.formula, full)
    verdict = calc.equivalent(mine, calc.substitute(truth, full), points)
    result = KeyResult(key=answer.key, expected=math.nan, text=answer.text, actual=math.nan,
                       verdict="wrong", note=answer.note, line=answer.mark.line,
                       column=answer.mark.column)
    if verdict:
        result.verdict = "correct"
    elif head == "formula" and len(parts) == 1 and exercise.chain:
        own = _author_chain_formula(problem, worked, parts[0])
        if own is not None and calc.equivalent(mine, calc.substitute(own, full), points):
            result.verdict = "consistent"
    if result.verdict == "wrong":
        where = _first_difference(mine, calc.substitute(truth, full), points)
        if where is not None:
            point, written, exact = where
            place = ", ".join(f"{v} = {format_number(x, 6, ascii_only=True)}"
                              for v, x in point.items() if v in exercise.variables)
            result.expected, result.actual = written, exact
            result.text = (f"{answer.text} (= {format_number(written, 6, ascii_only=True)} "
                           f"at {place})")
        result.reason = (f"not the derivative: it is {calc.to_ascii(calc.expand(truth))}"
                         if verdict is False else
                         "could not be compared with the derivative (undefined at the points)")
    else:
        result.expected = calc.evaluate(mine, points[0])
        result.actual = calc.evaluate(calc.substitute(truth, full), points[0])
    return result


def _true_formula(worked: Worked, head: str, parts: tuple[str, ...]) -> Node:
    if head == "formula2":
        return next(s.formula for s in worked.seconds if (s.x, s.y) == parts)
    if len(parts) == 2:
        return next(link.formula for link in worked.links
                    if (link.outer, link.inner) == parts)
    return _partial(worked, parts[0]).formula


def _author_chain_formula(problem: DerivativeProblem, worked: Worked, var: str) -> Node | None:
    """∂f/∂var multiplied out of the author's own links (theirs where given)."""
    partial = _partial(worked, var)
    if not partial.paths:
        return None
    products: list[Node] = []
    for path in partial.paths:
        factors: list[Node] = []
        for link in path:
            answer = problem.expected.get(exercise_key("formula", link.outer, link.inner))
            factors.append(answer.formula if answer is not None and answer.formula is not None
                           else link.formula)
        products.append(calc.Mul(tuple(factors)))
    return calc.simplify(calc.Add(tuple(products)))


def _first_difference(left: Node, right: Node, points: list[dict[str, float]]
                      ) -> tuple[dict[str, float], float, float] | None:
    for point in points:
        a, b = calc.evaluate(left, point), calc.evaluate(right, point)
        if math.isfinite(a) and math.isfinite(b) and abs(a - b) > 1e-9 * max(1, abs(a), abs(b)):
            return point, a, b
    return None
