"""Derivative exercises: the calculus warm-ups, worked and checked like the network problems.

An :class:`Exercise` is a function (``f(x) = x^3 - 3*x^2 + 2*x + 1``), optionally
defined through intermediate variables (the chain ``z = y^2``, ``y = 2*x + 3``),
optionally a point (``at``) and a small change of the variables (``step``).
:func:`work` differentiates it (:mod:`backprop_cli.calculus`) and produces

- value keys, evaluated at the point: ``value`` (f there), ``value.<y>`` (each
  intermediate), ``derivative.<x>`` (∂f/∂x, through the chain),
  ``derivative.<a>.<b>`` (one link of the chain, ∂a/∂b), and for a step
  ``new_value``, ``predicted_change`` (Σ ∂f/∂x·Δx), ``actual_change`` and
  ``difference`` (actual − predicted);
- formula keys: ``formula.<x>`` and ``formula.<a>.<b>``, the derivatives as text;
- the worked solution as lines of text, in the seed document's order.

Problem files with ``kind: derivative`` hold such an exercise and the author's
answers under ``expected``; :func:`check` judges them with the checker's
rules (:class:`~backprop_cli.checking.checker.Precision`, errors carried forward), and
a formula is right when it is the same function as the derivative.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backprop_cli import calculus as calc
from backprop_cli.calculus import Definition, ExpressionError, Node
from backprop_cli.errors import Mark, ProblemError, suggest
from backprop_cli.files import trust
from backprop_cli.numfmt import format_number

if TYPE_CHECKING:
    from backprop_cli.app.batch_check import FileReport
    from backprop_cli.checking.checker import KeyResult
    from backprop_cli.expr import Expr
    from backprop_cli.files.yamlio import YMap, YNode

MAX_CHAIN = 20
MAX_VARIABLES = 20
KIND = "derivative"


class ExerciseError(ValueError):
    """An exercise that does not make sense (a cycle in the chain, a missing value, ...)."""


@dataclass
class Exercise:
    """A function of some variables, perhaps through a chain, at a point, with a step."""

    top: Definition
    chain: dict[str, Definition]  # intermediate name -> its definition, as written
    variables: list[str]  # the independent variables, in order
    at: dict[str, float] | None = None
    step: dict[str, float] | None = None
    title: str | None = None
    description: str | None = None

    @property
    def name(self) -> str:
        return self.top.name or "f"

    @property
    def order(self) -> list[str]:
        """Intermediates in evaluation order (everything a name reads comes before it)."""
        done: list[str] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen:
                return
            seen.add(name)
            for dep in sorted(calc.variables(self.chain[name].expr)):
                if dep in self.chain:
                    visit(dep)
            done.append(name)

        for name in self.chain:
            visit(name)
        return done

    def direct(self, name: str | None) -> list[str]:
        """The variables (intermediate or independent) one definition reads, in order."""
        expr = self.top.expr if name is None else self.chain[name].expr
        found = calc.variables(expr)
        order = [*self.order, *self.variables]
        return [v for v in order if v in found]


def make_exercise(function: str, chain: Mapping[str, str] | None = None,
                  at: Mapping[str, float] | None = None, step: Mapping[str, float] | None = None,
                  title: str | None = None, description: str | None = None) -> Exercise:
    """Parse and validate; raises ExpressionError (bad text) or ExerciseError (bad setup)."""
    top = calc.parse_definition(function)
    definitions: dict[str, Definition] = {}
    for name, text in (chain or {}).items():
        definition = calc.parse_definition(text if "=" in text else f"{name} = {text}")
        if definition.name != name:
            raise ExerciseError(f"chain entry '{name}' defines '{definition.name}'")
        if definition.params is not None:
            raise ExerciseError(f"write the chain entry as {name} = ..., without "
                                f"({', '.join(definition.params)})")
        definitions[name] = definition
    if len(definitions) > MAX_CHAIN:
        raise ExerciseError(f"at most {MAX_CHAIN} intermediate variables")
    if (top.name or "f") in definitions:
        raise ExerciseError(f"'{top.name or 'f'}' names the function and an intermediate "
                            "variable")
    _check_acyclic(definitions)
    reachable = _reachable(top.expr, definitions)
    unused = [name for name in definitions if name not in reachable]
    if unused:
        raise ExerciseError(f"{top.name or 'the function'} does not depend on "
                            f"{', '.join(unused)} (defined in the chain)")
    independent = _written_order(top.expr, definitions)
    if top.params is not None and not definitions:
        independent = list(top.params)
    elif top.params is not None:
        missing = [v for v in independent if v not in top.params]
        if missing:
            raise ExerciseError(f"{top.name}({', '.join(top.params)}) also depends on "
                                f"{', '.join(missing)}")
        independent = list(top.params)
    if len(independent) > MAX_VARIABLES:
        raise ExerciseError(f"at most {MAX_VARIABLES} variables")
    exercise = Exercise(top, definitions, independent, None, None, title, description)
    if at is not None:
        exercise.at = _point(at, exercise, "at")
    if step is not None:
        if at is None:
            raise ExerciseError("a step needs a point to start from: give 'at' too")
        exercise.step = _point(step, exercise, "step", partial=True)
    return exercise


def _written_order(expr: Node, definitions: Mapping[str, Definition]) -> list[str]:
    """The independent variables as a reader meets them, reading through the chain."""
    found: list[str] = []
    for name in calc.ordered_variables(expr):
        inner = (_written_order(definitions[name].expr, definitions) if name in definitions
                 else [name])
        found += [v for v in inner if v not in found]
    return found


def _check_acyclic(definitions: Mapping[str, Definition]) -> None:
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " → ".join([*path[path.index(name):], name])
            raise ExerciseError(f"the chain is circular: {cycle}")
        state[name] = 1
        for dep in sorted(calc.variables(definitions[name].expr)):
            if dep in definitions:
                visit(dep, [*path, name])
        state[name] = 2

    for name in definitions:
        visit(name, [])


def _reachable(expr: Node, definitions: Mapping[str, Definition]) -> set[str]:
    found: set[str] = set()
    stack = [expr]
    while stack:
        for name in calc.variables(stack.pop()):
            if name in definitions and name not in found:
                found.add(name)
                stack.append(definitions[name].expr)
    return found


def _point(values: Mapping[str, float], exercise: Exercise, what: str,
           partial: bool = False) -> dict[str, float]:
    for name, value in values.items():
        if name in exercise.chain:
            raise ExerciseError(f"{what}: '{name}' is computed from the chain, not given")
        if name not in exercise.variables:
            hint = suggest(name, exercise.variables)
            raise ExerciseError(f"{what}: no variable '{name}'{hint} "
                                f"(variables: {', '.join(exercise.variables) or 'none'})")
        if not math.isfinite(value):
            raise ExerciseError(f"{what}: {name} must be a finite number")
    if not partial:
        missing = [v for v in exercise.variables if v not in values]
        if missing:
            raise ExerciseError(f"{what}: give a value for {', '.join(missing)}")
    return {v: float(values[v]) for v in exercise.variables if v in values}


# ------------------------------------------------------------------- working


@dataclass
class Link:
    """One link of the chain: ∂outer/∂inner, in terms of the outer definition's variables."""

    outer: str
    inner: str
    formula: Node
    value: float | None = None


@dataclass
class Partial:
    """∂f/∂var, through the chain: as the links multiply, and in the variables alone."""

    var: str
    paths: list[list[Link]]  # each path from f down to var (empty without a chain)
    formula: Node  # simplified, in intermediate names where the chain has them
    substituted: Node  # the chain substituted, simplified
    expanded: Node  # and multiplied out
    value: float | None = None

    @property
    def final(self) -> Node:
        """The form to give as the answer: multiplied out when that is a polynomial."""
        return self.expanded if calc.is_polynomial(self.expanded) else self.substituted

    @property
    def single_link(self) -> bool:
        """∂f/∂x is one link of the chain (nothing to multiply)."""
        return len(self.paths) == 1 and len(self.paths[0]) == 1


@dataclass
class Worked:
    exercise: Exercise
    function: Node  # the top expression, simplified
    links: list[Link]
    partials: list[Partial]
    values: dict[str, float] = field(default_factory=dict)  # value keys, in order
    formulas: dict[str, str] = field(default_factory=dict)  # formula keys -> ASCII text
    intermediate_values: dict[str, float] = field(default_factory=dict)
    new_point: dict[str, float] | None = None


# Nodes of a derivative written out, past which it is no exercise to work by hand and
# multiplying it out would take minutes (x^x^…^x, 60 x's: 218 s); --allow-big lifts it.
MAX_DERIVATIVE_NODES = 1_000


def _check_size(derivative: calc.Node, var: str) -> None:
    size = calc.tree_size(derivative, MAX_DERIVATIVE_NODES)
    if size > MAX_DERIVATIVE_NODES and not trust.big_allowed():
        raise ProblemError(f"the derivative by {var} has more than {MAX_DERIVATIVE_NODES:,} "
                           "terms and factors: too large to work by hand (pass --allow-big "
                           "for a deliberate big run)")


def work(exercise: Exercise) -> Worked:
    """Differentiate, evaluate at the point, compare prediction and change."""
    top_name = exercise.name
    links: list[Link] = []
    link_of: dict[tuple[str, str], Link] = {}
    definitions = {name: d.expr for name, d in exercise.chain.items()}
    outers = [top_name, *reversed(exercise.order)] if exercise.chain else []
    for outer in outers:
        expr = exercise.top.expr if outer == top_name else definitions[outer]
        for inner in exercise.direct(None if outer == top_name else outer):
            link = Link(outer, inner, calc.derivative(expr, inner))
            links.append(link)
            link_of[(outer, inner)] = link
    full = _fully_substituted(definitions, exercise.order)
    partials: list[Partial] = []
    for var in exercise.variables:
        if exercise.chain:
            paths = _paths(exercise, top_name, None, var, link_of)
            formula = calc.simplify(calc.Add(tuple(
                calc.Mul(tuple(link.formula for link in path)) for path in paths)))
        else:
            paths = []
            formula = calc.derivative(exercise.top.expr, var)
        substituted = calc.simplify(calc.substitute(formula, full))
        _check_size(substituted, var)
        expanded = calc.expand(substituted)
        partials.append(Partial(var, paths, formula, substituted, expanded))
    worked = Worked(exercise, calc.simplify(exercise.top.expr), links, partials)
    for link in links:
        worked.formulas[f"formula.{link.outer}.{link.inner}"] = calc.to_ascii(link.formula)
    for partial in partials:
        worked.formulas[f"formula.{partial.var}"] = calc.to_ascii(partial.final)
    if exercise.at is not None:
        _evaluate(worked, exercise.at)
    return worked


def _fully_substituted(definitions: Mapping[str, Node], order: list[str]) -> dict[str, Node]:
    """Each intermediate in the independent variables alone."""
    full: dict[str, Node] = {}
    for name in order:
        full[name] = calc.simplify(calc.substitute(definitions[name], full))
    return full


def _paths(exercise: Exercise, outer_label: str, outer: str | None, var: str,
           link_of: Mapping[tuple[str, str], Link]) -> list[list[Link]]:
    paths: list[list[Link]] = []
    for inner in exercise.direct(outer):
        link = link_of[(outer_label, inner)]
        if inner == var:
            paths.append([link])
        elif inner in exercise.chain:
            for rest in _paths(exercise, inner, inner, var, link_of):
                paths.append([link, *rest])
    return paths


def _evaluate(worked: Worked, at: Mapping[str, float]) -> None:
    exercise = worked.exercise
    point = dict(at)
    for name in exercise.order:
        value = calc.evaluate(exercise.chain[name].expr, point)
        point[name] = value
        worked.intermediate_values[name] = value
        worked.values[f"value.{name}"] = value
    worked.values["value"] = calc.evaluate(exercise.top.expr, point)
    for link in worked.links:
        link.value = calc.evaluate(link.formula, point)
        worked.values[f"derivative.{link.outer}.{link.inner}"] = link.value
    for partial in worked.partials:
        partial.value = calc.evaluate(partial.formula, point)
        worked.values[f"derivative.{partial.var}"] = partial.value
    if exercise.step:
        new_point = {v: at[v] + exercise.step.get(v, 0.0) for v in exercise.variables}
        worked.new_point = new_point
        full = dict(new_point)
        for name in exercise.order:
            full[name] = calc.evaluate(exercise.chain[name].expr, full)
        new_value = calc.evaluate(exercise.top.expr, full)
        predicted = calc.safe_fsum([(p.value or 0.0) * exercise.step.get(p.var, 0.0)
                                for p in worked.partials if p.var in exercise.step])
        actual = new_value - worked.values["value"]
        worked.values["new_value"] = new_value
        worked.values["predicted_change"] = predicted
        worked.values["actual_change"] = actual
        worked.values["difference"] = actual - predicted


def all_keys(exercise: Exercise) -> list[str]:
    """Every key of an exercise, in the order a hand calculation produces them."""
    keys = [f"value.{name}" for name in exercise.order] + ["value"]
    formulas: list[str] = []
    if exercise.chain:
        worked_links = work(Exercise(exercise.top, exercise.chain, exercise.variables)).links
        for link in worked_links:
            keys.append(f"derivative.{link.outer}.{link.inner}")
            formulas.append(f"formula.{link.outer}.{link.inner}")
    keys += [f"derivative.{v}" for v in exercise.variables]
    formulas += [f"formula.{v}" for v in exercise.variables]
    keys += ["new_value", "predicted_change", "actual_change", "difference"]
    return formulas + keys


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


def _d(exercise: Exercise, outer: str, inner: str, single: bool) -> str:
    d = "d" if single else "∂"
    return f"{d}{outer}/{d}{inner}"


def _total_symbol(exercise: Exercise, var: str) -> str:
    """f'(x), ∂f/∂x or dz/dx, as the seed writes each case."""
    name = exercise.name
    if not exercise.chain and len(exercise.variables) == 1:
        return f"{name}'({var})"
    return _d(exercise, name, var, single=len(exercise.variables) == 1)


def _link_symbol(exercise: Exercise, link: Link) -> str:
    outer = None if link.outer == exercise.name else link.outer
    return _d(exercise, link.outer, link.inner, single=len(exercise.direct(outer)) == 1)


def _head(exercise: Exercise) -> str:
    top = exercise.top
    if exercise.chain:
        return f"{exercise.name} = {calc.to_text(calc.simplify(top.expr))}"
    args = ", ".join(top.params or exercise.variables)
    return f"{exercise.name}({args}) = {calc.to_text(calc.simplify(top.expr))}"


def _call(exercise: Exercise, point: Mapping[str, float], style: _Style) -> str:
    if exercise.chain:
        return f"{exercise.name}({', '.join(style.num(point[v]) for v in exercise.variables)})"
    args = exercise.top.params or exercise.variables
    return f"{exercise.name}({', '.join(style.num(point[v]) for v in args)})"


def worked_lines(worked: Worked, digits: int = 6) -> list[str]:
    """The worked solution, like the seed document writes it."""
    exercise = worked.exercise
    style = _Style(digits)
    lines: list[str] = []
    if exercise.title:
        lines += [exercise.title, ""]
    lines.append(_head(exercise))
    for name, definition in exercise.chain.items():
        lines.append(f"{name} = {calc.to_text(calc.simplify(definition.expr))}")
    lines.append("")
    if exercise.chain:
        lines += _chain_lines(worked)
    else:
        lines += _plain_lines(worked)
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
    for partial in worked.partials:
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
    if exercise.step and worked.new_point is not None:
        lines += ["", *_step_lines(worked, style)]
    return lines


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
    exercise = worked.exercise
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
    exercise = worked.exercise
    lines: list[str] = []
    for link in worked.links:
        lines.append(f"{_link_symbol(exercise, link)} = {calc.to_text(link.formula)}")
    for partial in worked.partials:
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
            used = _reachable(partial.formula, exercise.chain)
            names = [n for n in reversed(exercise.order) if n in used]
            forms = [calc.to_text(partial.substituted)]
            if partial.expanded != partial.substituted:
                forms.append(calc.to_text(partial.expanded))
            where = ", ".join(f"{n} = {calc.to_text(calc.simplify(exercise.chain[n].expr))}"
                              for n in names)
            lines.append(f"{pad} = {' = '.join(forms)}    (substituting {where})")
    return lines


def _step_lines(worked: Worked, style: _Style) -> list[str]:
    exercise = worked.exercise
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


def _value_symbol(exercise: Exercise, var: str, style: _Style) -> str:
    symbol = _total_symbol(exercise, var)
    if symbol.endswith(")") and exercise.at is not None:
        return f"{exercise.name}'({style.num(exercise.at[var])})"
    return symbol


def _call_or_name(exercise: Exercise, point: Mapping[str, float], style: _Style) -> str:
    if exercise.chain:
        args = ", ".join(f"{v} = {style.num(point[v])}" for v in exercise.variables)
        return f"{exercise.name}({args})"
    return _call(exercise, point, style)


def document(worked: Worked, path: str | None = None) -> dict[str, Any]:
    """The JSON form: the exercise, the formulas and every value key (no NaN, no ∞)."""
    exercise = worked.exercise
    values: dict[str, float | None] = {}
    not_finite: dict[str, str] = {}
    for key, value in worked.values.items():
        if math.isfinite(value):
            values[key] = value
        else:
            values[key] = None
            not_finite[key] = "undefined" if math.isnan(value) else "overflow"
    doc: dict[str, Any] = {}
    if path is not None:
        doc["file"] = path
    doc.update({
        "kind": KIND,
        "title": exercise.title,
        "function": calc.to_ascii(worked.function),
        "name": exercise.name,
        "variables": exercise.variables,
        "chain": {name: calc.to_ascii(calc.simplify(d.expr))
                  for name, d in exercise.chain.items()},
        "at": exercise.at,
        "step": exercise.step,
        "formulas": worked.formulas,
        "values": values,
    })
    if not_finite:
        doc["not_finite"] = not_finite
    return doc


# ------------------------------------------------------------- problem files

TOP_KEYS = ("kind", "title", "description", "function", "chain", "at", "step", "expected",
            "tolerance")
ENTRY_KEYS = ("value", "tolerance", "erratum", "note")
@dataclass
class Answer:
    """An author's answer: a number (value keys) or a formula (formula keys)."""

    key: str
    text: str
    mark: Mark
    value: float | None = None  # numbers
    formula: Node | None = None  # formulas
    tolerance: float | None = None
    erratum: float | None = None
    erratum_text: str | None = None
    note: str | None = None


@dataclass
class DerivativeProblem:
    path: str
    exercise: Exercise
    expected: dict[str, Answer]
    tolerance: float | None = None

    @property
    def title(self) -> str:
        return self.exercise.title or Path(self.path).stem


def load(path: str | Path) -> DerivativeProblem:
    """Read a ``kind: derivative`` file; ProblemError with path:line:col on any mistake
    (a network problem included)."""
    from backprop_cli.kinds.exercise import load_exercise

    exercise = load_exercise(path)
    if not isinstance(exercise, DerivativeProblem):
        raise ProblemError("a network problem, not a derivative exercise (kind: derivative)",
                           path=str(path))
    return exercise


def from_tree(root: YNode | None, path: str = "<input>") -> DerivativeProblem:
    """A derivative exercise from an already parsed YAML tree."""
    try:
        return _Reader(path).read(root)
    except ProblemError as error:
        raise error.with_path(path) from None


def parse(text: str, path: str = "<input>") -> DerivativeProblem:
    from backprop_cli.files.yamlio import parse_yaml

    try:
        return _Reader(path).read(parse_yaml(text))
    except ProblemError as error:
        raise error.with_path(path) from None


class _Reader:
    def __init__(self, path: str) -> None:
        self.path = path

    def read(self, root: YNode | None) -> DerivativeProblem:
        from backprop_cli.files.yamlio import YMap, YScalar

        if not isinstance(root, YMap):
            raise ProblemError("a derivative problem is a YAML mapping with 'kind: derivative'",
                               root.mark if root is not None else Mark(1, 1))
        for key in root.entries:
            if key not in TOP_KEYS:
                hint = suggest(key, TOP_KEYS) or f" (allowed: {', '.join(TOP_KEYS)})"
                raise ProblemError(f"unknown key '{key}' in a derivative problem{hint}",
                                   root.key_mark(key))
        title = self.string(root.get("title"), "title") if root.get("title") else None
        description = None
        node = root.get("description")
        if node is not None and not (isinstance(node, YScalar) and node.value is None):
            description = self.string(node, "description")
        function_node = root.get("function")
        if function_node is None:
            raise ProblemError("missing required key 'function' (the expression to "
                               "differentiate, e.g. \"x^3 - 3*x^2 + 2*x + 1\")", root.mark)
        function = self.string(function_node, "function")
        chain: dict[str, str] = {}
        chain_node = root.get("chain")
        if chain_node is not None:
            chain_map = self.mapping(chain_node, "chain")
            for name, (mark, value_node) in chain_map.entries.items():
                chain[name] = self.string(value_node, f"chain '{name}'")
                del mark
        at = self.point(root.get("at"), "at")
        step = self.point(root.get("step"), "step")
        try:
            self.parse_texts(function_node, function, chain_node, chain)
            exercise = make_exercise(function, chain, at, step, title, description)
        except ExerciseError as error:
            mark = self.mark_for(str(error), root)
            raise ProblemError(str(error), mark) from None
        tolerance = None
        if (node := root.get("tolerance")) is not None:
            tolerance = self.number(node, "tolerance", nonnegative=True)
        expected: dict[str, Answer] = {}
        if (node := root.get("expected")) is not None:
            expected = self.expected(self.mapping(node, "expected"), exercise)
        return DerivativeProblem(self.path, exercise, expected, tolerance)

    def mark_for(self, message: str, root: YMap) -> Mark:
        for key in ("step", "at", "chain"):
            if message.startswith(key) and root.get(key) is not None:
                node = root.get(key)
                assert node is not None
                return node.mark
        node = root.get("chain") if "chain" in message else root.get("function")
        return node.mark if node is not None else root.mark

    def parse_texts(self, function_node: YNode, function: str, chain_node: YNode | None,
                    chain: Mapping[str, str]) -> None:
        """Expression errors at their column in the file."""
        from backprop_cli.files.yamlio import YMap

        try:
            calc.parse_definition(function)
        except ExpressionError as error:
            raise ProblemError(f"function: {error.message}",
                               self.inside(function_node, error.position)) from None
        if isinstance(chain_node, YMap):
            for name, text in chain.items():
                value_node = chain_node.get(name)
                assert value_node is not None
                try:
                    calc.parse(text.split("=", 1)[1] if "=" in text else text)
                except ExpressionError as error:
                    shift = text.index("=") + 1 if "=" in text else 0
                    position = None if error.position is None else error.position + shift
                    raise ProblemError(f"chain '{name}': {error.message}",
                                       self.inside(value_node, position)) from None

    @staticmethod
    def inside(node: YNode, position: int | None) -> Mark:
        """The column of a character of a one-line scalar, else the scalar's own place."""
        from backprop_cli.files.yamlio import YScalar

        if (position is None or not isinstance(node, YScalar) or "\n" in node.text):
            return node.mark
        return Mark(node.mark.line, node.mark.column + position + (1 if node.quoted else 0))

    def string(self, node: YNode | None, what: str) -> str:
        from backprop_cli.files.yamlio import YScalar

        if node is None or not isinstance(node, YScalar) or not isinstance(node.value, str):
            if isinstance(node, YScalar) and isinstance(node.value, (int, float)) and not (
                    isinstance(node.value, bool)):
                return node.text
            raise ProblemError(f"{what} must be a string", node.mark if node else None)
        return node.value

    def mapping(self, node: YNode, what: str) -> YMap:
        from backprop_cli.files.yamlio import YMap

        if not isinstance(node, YMap):
            raise ProblemError(f"{what} must be a mapping (name: value)", node.mark)
        return node

    def number(self, node: YNode, what: str, nonnegative: bool = False) -> float:
        from backprop_cli.files.yamlio import YScalar

        if (not isinstance(node, YScalar) or isinstance(node.value, bool)
                or not isinstance(node.value, (int, float))):
            raise ProblemError(f"{what} must be a number", node.mark)
        value = float(node.value)
        if not math.isfinite(value):
            raise ProblemError(f"{what} must be a finite number, found {node.text}", node.mark)
        if nonnegative and value < 0:
            raise ProblemError(f"{what} must not be negative, found {node.text}", node.mark)
        return value

    def point(self, node: YNode | None, what: str) -> dict[str, float] | None:
        if node is None:
            return None
        mapping = self.mapping(node, what)
        return {name: self.number(value, f"{what} '{name}'")
                for name, (_, value) in mapping.entries.items()}

    def expected(self, node: YMap, exercise: Exercise) -> dict[str, Answer]:
        from backprop_cli.files.yamlio import YMap, YScalar

        known = all_keys(exercise)
        numeric_ok = exercise.at is not None
        result: dict[str, Answer] = {}
        for key, (key_mark, value_node) in node.entries.items():
            if key not in known:
                raise ProblemError(f"expected: unknown value key '{key}'{suggest(key, known)}",
                                   key_mark)
            is_formula = key.startswith("formula.")
            step_key = key in ("new_value", "predicted_change", "actual_change", "difference")
            if not is_formula and not numeric_ok:
                raise ProblemError(f"expected '{key}' is a value at a point: give 'at'",
                                   key_mark)
            if step_key and not exercise.step:
                raise ProblemError(f"expected '{key}' needs a change of the variables: give "
                                   "'step'", key_mark)
            answer = Answer(key, "", key_mark)
            answer_node: YNode = value_node
            if isinstance(value_node, YMap):
                for entry_key in value_node.entries:
                    if entry_key not in ENTRY_KEYS or (is_formula and entry_key in (
                            "tolerance", "erratum")):
                        allowed = ("value", "note") if is_formula else ENTRY_KEYS
                        raise ProblemError(f"unknown key '{entry_key}' in expected '{key}'"
                                           f"{suggest(entry_key, allowed)}",
                                           value_node.key_mark(entry_key))
                inner = value_node.get("value")
                if inner is None:
                    raise ProblemError(f"missing required key 'value' in expected '{key}'",
                                       value_node.mark)
                answer_node = inner
                if (tol := value_node.get("tolerance")) is not None:
                    answer.tolerance = self.number(tol, f"expected '{key}' tolerance", True)
                if (err := value_node.get("erratum")) is not None:
                    answer.erratum = self.number(err, f"expected '{key}' erratum")
                    assert isinstance(err, YScalar)
                    answer.erratum_text = err.text
                if (note := value_node.get("note")) is not None:
                    answer.note = self.string(note, f"expected '{key}' note")
            if is_formula:
                answer.text = self.string(answer_node, f"expected '{key}'")
                try:
                    answer.formula = calc.parse(answer.text)
                except ExpressionError as error:
                    raise ProblemError(f"expected '{key}': {error.message}",
                                       self.inside(answer_node, error.position)) from None
                names = set(exercise.variables) | set(exercise.chain)
                unknown = sorted(calc.variables(answer.formula) - names)
                if unknown:
                    raise ProblemError(f"expected '{key}' uses {', '.join(unknown)}, which is "
                                       f"not a variable of this exercise", answer_node.mark)
            else:
                answer.value = self.number(answer_node, f"expected '{key}'")
                assert isinstance(answer_node, YScalar)
                answer.text = answer_node.text
            result[key] = answer
        return result


# ------------------------------------------------------------------ checking


def recomputation(worked: Worked, key: str) -> Expr | None:
    """The step ``key`` as a formula over other keys, to redo with an author's numbers."""
    from backprop_cli.expr import Const, Ref, add, mul, sub

    exercise = worked.exercise
    if key == "predicted_change" and exercise.step:
        moved = [v for v in exercise.variables if exercise.step.get(v, 0.0) != 0.0]
        if not moved:
            return None
        return add(*(mul(Ref(f"derivative.{v}"), Const(exercise.step[v])) for v in moved))
    if key == "actual_change":
        return sub(Ref("new_value"), Ref("value"))
    if key == "difference":
        return sub(Ref("actual_change"), Ref("predicted_change"))
    if not exercise.chain:
        return None
    if key.startswith("derivative.") and key.count(".") == 1:
        var = key.split(".", 1)[1]
        partial = next(p for p in worked.partials if p.var == var)
        if not partial.paths:
            return None
        return add(*(mul(*(Ref(f"derivative.{link.outer}.{link.inner}") for link in path))
                     for path in partial.paths))
    at = exercise.at or {}

    def key_of(name: str) -> Expr:
        return Ref(f"value.{name}") if name in exercise.chain else Const(at[name])

    if key == "value":
        return to_expr(exercise.top.expr, key_of)
    if key.startswith("value."):
        return to_expr(exercise.chain[key.split(".", 1)[1]].expr, key_of)
    if key.startswith("derivative."):
        _, outer, inner = key.split(".")
        link = next(link for link in worked.links if (link.outer, link.inner) == (outer, inner))
        return to_expr(link.formula, key_of)
    return None


def to_expr(node: Node, leaf: Any) -> Expr | None:
    """A calculus tree as an :class:`~backprop_cli.expr.Expr` (the reports print those)."""
    from backprop_cli.expr import FUNCTIONS, Call, Const, Power, Product, Quotient, add

    if isinstance(node, calc.Num):
        return Const(float(node.value))
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


def check(problem: DerivativeProblem) -> list[KeyResult]:
    """Verdicts for every expected key, in computation order."""
    worked = work(problem.exercise)
    order = {key: index for index, key in enumerate(all_keys(problem.exercise))}
    answers = sorted(problem.expected.values(), key=lambda a: order.get(a.key, len(order)))
    author = {a.key: a.value for a in answers if a.value is not None}
    return [_judge_formula(problem, worked, a) if a.formula is not None
            else _judge_number(problem, worked, a, author) for a in answers]


def _judge_number(problem: DerivativeProblem, worked: Worked, answer: Answer,
                  author: Mapping[str, float]) -> KeyResult:
    from backprop_cli.checking.checker import KeyResult, Precision, settle

    assert answer.value is not None
    actual = worked.values[answer.key]
    tolerance = answer.tolerance if answer.tolerance is not None else problem.tolerance
    precision = Precision.of(answer.text, tolerance)
    result = KeyResult(key=answer.key, expected=answer.value, text=answer.text, actual=actual,
                       verdict="wrong", erratum=answer.erratum, erratum_text=answer.erratum_text,
                       note=answer.note, line=answer.mark.line, column=answer.mark.column)
    expr = recomputation(worked, answer.key)
    if expr is not None:
        operands = {ref: author.get(ref, worked.values[ref]) for ref in expr.refs()}
        result.formula = expr
        result.operands = operands
        result.recomputed = expr.evaluate(operands)
    correct = math.isfinite(actual) and precision.agrees(answer.value, actual)
    return settle(result, precision, tolerance, correct)


def _judge_formula(problem: DerivativeProblem, worked: Worked, answer: Answer) -> KeyResult:
    from backprop_cli.checking.checker import KeyResult

    exercise = worked.exercise
    assert answer.formula is not None
    parts = answer.key.split(".")
    truth = _true_formula(worked, parts)
    full = _fully_substituted({n: d.expr for n, d in exercise.chain.items()}, exercise.order)
    points = calc.sample_points(exercise.variables, exercise.at)
    mine = calc.substitute(answer.formula, full)
    verdict = calc.equivalent(mine, calc.substitute(truth, full), points)
    result = KeyResult(key=answer.key, expected=math.nan, text=answer.text, actual=math.nan,
                       verdict="wrong", note=answer.note, line=answer.mark.line,
                       column=answer.mark.column)
    if verdict:
        result.verdict = "correct"
    elif len(parts) == 2 and exercise.chain:
        own = _author_chain_formula(problem, worked, parts[1])
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


def _true_formula(worked: Worked, parts: list[str]) -> Node:
    if len(parts) == 3:
        return next(link.formula for link in worked.links
                    if (link.outer, link.inner) == (parts[1], parts[2]))
    return next(p.formula for p in worked.partials if p.var == parts[1])


def _author_chain_formula(problem: DerivativeProblem, worked: Worked, var: str) -> Node | None:
    """∂f/∂var multiplied out of the author's own links (theirs where given)."""
    partial = next(p for p in worked.partials if p.var == var)
    if not partial.paths:
        return None
    products: list[Node] = []
    for path in partial.paths:
        factors: list[Node] = []
        for link in path:
            answer = problem.expected.get(f"formula.{link.outer}.{link.inner}")
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


def report(problem: DerivativeProblem, path: str) -> FileReport:
    """The check report of a loaded derivative exercise."""
    from backprop_cli.app.batch_check import FileReport

    results = check(problem)
    status = "failed" if any(not r.passed for r in results) else "passed"
    return FileReport(path, status, problem.title, results)
