"""The worked solution of a derivative exercise as lines of text, in the seed document's
order."""

from __future__ import annotations

from collections.abc import Mapping

from backprop_cli import calculus as calc
from backprop_cli.calculus import Node
from backprop_cli.kinds.derivative.model import Derivation, reachable_variables, shadow_notes
from backprop_cli.kinds.derivative.working import Link, Second, Worked
from backprop_cli.numfmt import format_number

# ------------------------------------------------------------------- writing


class _Style:
    def __init__(self, digits: int) -> None:
        self.digits = digits

    def num(self, value: float | None) -> str:
        return "undefined" if value is None else format_number(value, self.digits)

    def factor(self, value: float | None) -> str:
        """A number inside a product: (−18)·0.1."""
        text = self.num(value)
        return f"({text})" if text.startswith("−") else text


def _d(exercise: Derivation, outer: str, inner: str, single: bool) -> str:
    d = "d" if single else "∂"
    return f"{d}{outer}/{d}{inner}"


def _total_symbol(exercise: Derivation, var: str) -> str:
    """f'(x), ∂f/∂x or dz/dx, as the seed writes each case."""
    name = exercise.name
    if not exercise.chain and len(exercise.variables) == 1:
        return f"{name}'({var})"
    return _d(exercise, name, var, single=len(exercise.variables) == 1)


def _link_symbol(exercise: Derivation, link: Link) -> str:
    outer = None if link.outer == exercise.name else link.outer
    return _d(exercise, link.outer, link.inner, single=len(exercise.direct(outer)) == 1)


def head_line(exercise: Derivation) -> str:
    top = exercise.top
    if exercise.chain:
        return f"{exercise.name} = {calc.to_text(calc.simplify(top.expr))}"
    args = ", ".join(top.params or exercise.variables)
    return f"{exercise.name}({args}) = {calc.to_text(calc.simplify(top.expr))}"


def _call(exercise: Derivation, point: Mapping[str, float], style: _Style) -> str:
    if exercise.chain:
        return f"{exercise.name}({', '.join(style.num(point[v]) for v in exercise.variables)})"
    args = exercise.top.params or exercise.variables
    return f"{exercise.name}({', '.join(style.num(point[v]) for v in args)})"


def worked_lines(worked: Worked, digits: int = 6) -> list[str]:
    """The worked solution, like the seed document writes it."""
    exercise = worked.derivation
    style = _Style(digits)
    lines: list[str] = []
    if exercise.title:
        lines += [exercise.title, ""]
    lines.append(head_line(exercise))
    for name, definition in exercise.chain.items():
        lines.append(f"{name} = {calc.to_text(calc.simplify(definition.expr))}")
    lines += shadow_notes(exercise)
    lines.append("")
    if exercise.chain:
        lines += _chain_lines(worked)
    else:
        lines += _plain_lines(worked)
    for second in worked.seconds:
        line = f"{_second_symbol(exercise, second)} = {calc.to_text(second.formula)}"
        if second.final != second.formula:
            line += f" = {calc.to_text(second.final)}"
        lines.append(line)
    if exercise.at is None:
        return lines
    lines += ["", _at_line(exercise.at, style)]
    at = exercise.at
    texts = {v: style.num(at[v]) for v in exercise.variables}
    for name in exercise.order:
        value = worked.intermediate_values[name]
        expr = calc.simplify(exercise.chain[name].expr)
        lines.append(f"  {name} = {calc.to_text(expr, texts)} = {style.num(value)}")
        texts[name] = style.num(value)
    top_expr = worked.function
    value = worked.values["value"]
    left = exercise.name if exercise.chain else _call(exercise, at, style)
    lines.append(f"  {left} = {_substituted(top_expr, texts, value, style)}")
    for link in worked.links:
        lines.append(f"  {_link_symbol(exercise, link)} = "
                     f"{_substituted(link.formula, texts, link.value, style)}")
    for partial in worked.intermediates + worked.partials:
        symbol = _total_symbol(exercise, partial.var)
        if exercise.chain and partial.single_link:
            continue
        if exercise.chain:
            products = [" · ".join(style.factor(link.value) for link in path)
                        for path in partial.paths]
            lines.append(f"  {symbol} = {' + '.join(products) or '0'} = "
                         f"{style.num(partial.value)}")
        else:
            if symbol.endswith(")"):
                symbol = f"{exercise.name}'({style.num(at[partial.var])})"
            shown = _substituted(partial.formula, texts, partial.value, style)
            lines.append(f"  {symbol} = {shown}")
    if len(worked.partials) > 1:
        gradient = ", ".join(style.num(p.value) for p in worked.partials)
        lines.append(f"  ∇{exercise.name} = ({gradient})")
    for second in worked.seconds:
        symbol = _second_symbol(exercise, second)
        if not exercise.chain and len(exercise.variables) == 1:
            symbol = f"{exercise.name}''({style.num(at[second.x])})"
        lines.append(f"  {symbol} = {_substituted(second.formula, texts, second.value, style)}")
    if exercise.step and worked.new_point is not None:
        lines += ["", *_step_lines(worked, style)]
    return lines


def _second_symbol(exercise: Derivation, second: Second) -> str:
    """f''(x), d²z/dx², ∂²f/∂x², or ∂/∂y(∂f/∂x) for derivative2.x.y."""
    name = exercise.name
    if len(exercise.variables) == 1:
        if not exercise.chain:
            return f"{name}''({second.x})"
        return f"d²{name}/d{second.x}²"
    if second.x == second.y:
        return f"∂²{name}/∂{second.x}²"
    return f"∂/∂{second.y}(∂{name}/∂{second.x})"


def _at_line(at: Mapping[str, float], style: _Style) -> str:
    return "at " + ", ".join(f"{v} = {style.num(value)}" for v, value in at.items()) + ":"


def _substituted(expr: Node, texts: Mapping[str, str], value: float | None,
                 style: _Style) -> str:
    """3(2)² − 6(2) + 2 = 2; just the number when there is nothing to substitute."""
    result = style.num(value)
    if not calc.variables(expr):
        return calc.to_text(expr) if value is None else result
    shown = calc.to_text(expr, texts)
    return result if shown == result else f"{shown} = {result}"


def _plain_lines(worked: Worked) -> list[str]:
    exercise = worked.derivation
    lines: list[str] = []
    for partial in worked.partials:
        lines.append(f"{_total_symbol(exercise, partial.var)} = {calc.to_text(partial.formula)}")
        terms = worked.function.terms if isinstance(worked.function, calc.Add) else ()
        if len(terms) > 1 and len(exercise.variables) == 1:
            each = ", ".join(f"d/d{partial.var}({calc.to_text(term)}) = "
                             f"{calc.to_text(calc.derivative(term, partial.var))}"
                             for term in terms)
            lines.append(f"  term by term: {each}")
        if partial.expanded != partial.formula and calc.is_polynomial(partial.expanded):
            lines.append(f"  = {calc.to_text(partial.expanded)}")
    if len(worked.partials) > 1:
        gradient = ", ".join(calc.to_text(p.formula) for p in worked.partials)
        lines.append(f"∇{exercise.name} = ({gradient})")
    return lines


def _chain_lines(worked: Worked) -> list[str]:
    exercise = worked.derivation
    lines: list[str] = []
    for link in worked.links:
        lines.append(f"{_link_symbol(exercise, link)} = {calc.to_text(link.formula)}")
    for partial in worked.intermediates + worked.partials:
        symbol = _total_symbol(exercise, partial.var)
        if not partial.paths:
            lines.append(f"{symbol} = 0")
            continue
        if partial.single_link:
            continue  # already written as a link
        symbols = " + ".join(" · ".join(_link_symbol(exercise, link) for link in path)
                             for path in partial.paths)
        factors = " + ".join("·".join(f"({calc.to_text(link.formula)})" for link in path)
                             for path in partial.paths)
        line = f"{symbol} = {symbols} = {factors}"
        product = calc.to_text(partial.formula)
        if product != factors:
            line += f" = {product}"
        lines.append(line)
        pad = " " * len(symbol)
        if partial.substituted != partial.formula:
            used = reachable_variables(partial.formula, exercise.chain)
            names = [n for n in reversed(exercise.order) if n in used]
            forms = [calc.to_text(partial.substituted)]
            if partial.expanded != partial.substituted:
                forms.append(calc.to_text(partial.expanded))
            where = ", ".join(f"{n} = {calc.to_text(calc.simplify(exercise.chain[n].expr))}"
                              for n in names)
            lines.append(f"{pad} = {' = '.join(forms)}    (substituting {where})")
    return lines


def _step_lines(worked: Worked, style: _Style) -> list[str]:
    exercise = worked.derivation
    assert exercise.step is not None and exercise.at is not None
    assert worked.new_point is not None
    step = exercise.step
    moved = [v for v in exercise.variables if step.get(v, 0.0) != 0.0]
    name = exercise.name
    changes = ", ".join(f"Δ{v} = {style.num(step[v])}" for v in moved)
    journeys = ", ".join(f"{v} = {style.num(exercise.at[v])} → "
                         f"{style.num(worked.new_point[v])}" for v in moved)
    lines = [f"a step {changes} ({journeys}):"]
    partial_of = {p.var: p for p in worked.partials}
    symbols = " + ".join(f"{_value_symbol(exercise, v, style)}·Δ{v}" for v in moved)
    products = " + ".join(f"{style.factor(partial_of[v].value)}·{style.factor(step[v])}"
                          for v in moved)
    predicted = worked.values["predicted_change"]
    line = f"  predicted  Δ{name} ≈ {symbols} = {products}"
    if len(moved) > 1:
        line += " = " + " + ".join(style.factor((partial_of[v].value or 0.0) * step[v])
                                   for v in moved)
    lines.append(f"{line} = {style.num(predicted)}")
    new_value = worked.values["new_value"]
    old_value = worked.values["value"]
    lines.append(f"  actual     Δ{name} = {_call_or_name(exercise, worked.new_point, style)} − "
                 f"{_call_or_name(exercise, exercise.at, style)} = {style.num(new_value)} − "
                 f"{style.factor(old_value)} = {style.num(worked.values['actual_change'])}")
    lines.append(f"  the prediction is off by {style.num(worked.values['difference'])} "
                 "(actual − predicted)")
    return lines


def _value_symbol(exercise: Derivation, var: str, style: _Style) -> str:
    symbol = _total_symbol(exercise, var)
    if symbol.endswith(")") and exercise.at is not None:
        return f"{exercise.name}'({style.num(exercise.at[var])})"
    return symbol


def _call_or_name(exercise: Derivation, point: Mapping[str, float], style: _Style) -> str:
    if exercise.chain:
        args = ", ".join(f"{v} = {style.num(point[v])}" for v in exercise.variables)
        return f"{exercise.name}({args})"
    return _call(exercise, point, style)
