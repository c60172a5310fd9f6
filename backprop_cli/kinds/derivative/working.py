"""The working of a derivative exercise: every derivative through the chain, evaluated at
the point, with the value keys it produces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from backprop_cli import calculus as calc
from backprop_cli.calculus import Node
from backprop_cli.errors import ProblemError
from backprop_cli.files import trust
from backprop_cli.kinds.derivative.model import Derivation
from backprop_cli.model.keys import EXERCISE_STEP_KEYS, exercise_key

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
class Second:
    """A second derivative ∂/∂y (∂f/∂x), in the independent variables."""

    x: str
    y: str
    formula: Node  # simplified
    expanded: Node  # multiplied out
    value: float | None = None

    @property
    def final(self) -> Node:
        return self.expanded if calc.is_polynomial(self.expanded) else self.formula


@dataclass
class Worked:
    derivation: Derivation
    function: Node  # the top expression, simplified
    links: list[Link]
    partials: list[Partial]  # ∂f/∂x for each independent variable x
    # ∂f/∂q for each intermediate variable q, from the top of the chain down
    intermediates: list[Partial] = field(default_factory=list)
    seconds: list[Second] = field(default_factory=list)  # when the exercise asks for them
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


def work(exercise: Derivation) -> Worked:
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
    full = fully_substituted(definitions, exercise.order)

    def partial_of(var: str) -> Partial:
        if exercise.chain:
            paths = _paths(exercise, top_name, None, var, link_of)
            formula = calc.simplify(calc.Add(tuple(
                calc.Mul(tuple(link.formula for link in path)) for path in paths)))
        else:
            paths = []
            formula = calc.derivative(exercise.top.expr, var)
        substituted = calc.simplify(calc.substitute(formula, full))
        _check_size(substituted, var)
        return Partial(var, paths, formula, substituted, calc.expand(substituted))

    partials = [partial_of(var) for var in exercise.variables]
    intermediates = [partial_of(name) for name in reversed(exercise.order)]
    worked = Worked(exercise, calc.simplify(exercise.top.expr), links, partials, intermediates)
    if exercise.second:
        for partial in partials:
            for y in exercise.variables:
                formula = calc.derivative(partial.substituted, y)
                _check_size(formula, f"{partial.var} and {y}")
                worked.seconds.append(Second(partial.var, y, formula, calc.expand(formula)))
    for link in links:
        worked.formulas[exercise_key("formula", link.outer, link.inner)] = calc.to_ascii(
            link.formula)
    for partial in intermediates:  # as the links multiply: ∂f/∂q = z
        worked.formulas[exercise_key("formula", partial.var)] = calc.to_ascii(partial.formula)
    for partial in partials:
        worked.formulas[exercise_key("formula", partial.var)] = calc.to_ascii(partial.final)
    for second in worked.seconds:
        worked.formulas[exercise_key("formula2", second.x, second.y)] = calc.to_ascii(
            second.final)
    if exercise.at is not None:
        _evaluate(worked, exercise.at)
    return worked


def fully_substituted(definitions: Mapping[str, Node], order: list[str]) -> dict[str, Node]:
    """Each intermediate in the independent variables alone."""
    full: dict[str, Node] = {}
    for name in order:
        full[name] = calc.simplify(calc.substitute(definitions[name], full))
    return full


def _paths(exercise: Derivation, outer_label: str, outer: str | None, var: str,
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
    exercise = worked.derivation
    point = dict(at)
    for name in exercise.order:
        value = calc.evaluate(exercise.chain[name].expr, point)
        point[name] = value
        worked.intermediate_values[name] = value
        worked.values[exercise_key("value", name)] = value
    worked.values[exercise_key("value")] = calc.evaluate(exercise.top.expr, point)
    for link in worked.links:
        link.value = calc.evaluate(link.formula, point)
        worked.values[exercise_key("derivative", link.outer, link.inner)] = link.value
    for partial in worked.intermediates + worked.partials:
        partial.value = calc.evaluate(partial.formula, point)
        worked.values[exercise_key("derivative", partial.var)] = partial.value
    for second in worked.seconds:
        second.value = calc.evaluate(second.formula, at)
        worked.values[exercise_key("derivative2", second.x, second.y)] = second.value
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


def all_keys(exercise: Derivation) -> list[str]:
    """Every key of an exercise, in the order a hand calculation produces them (the
    second derivatives' whether or not the exercise asks for them)."""
    keys = [exercise_key("value", name) for name in exercise.order] + [exercise_key("value")]
    formulas: list[str] = []
    for outer in ([exercise.name, *reversed(exercise.order)] if exercise.chain else []):
        for inner in exercise.direct(None if outer == exercise.name else outer):
            keys.append(exercise_key("derivative", outer, inner))
            formulas.append(exercise_key("formula", outer, inner))
    wrt = [*reversed(exercise.order), *exercise.variables]
    keys += [exercise_key("derivative", v) for v in wrt]
    formulas += [exercise_key("formula", v) for v in wrt]
    pairs = [(x, y) for x in exercise.variables for y in exercise.variables]
    keys += [exercise_key("derivative2", x, y) for x, y in pairs]
    formulas += [exercise_key("formula2", x, y) for x, y in pairs]
    keys += EXERCISE_STEP_KEYS
    return formulas + keys
