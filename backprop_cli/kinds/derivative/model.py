"""What a derivative exercise is: the function (and its chain), the point, the step, and
the author's published answers."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from backprop_cli import calculus as calc
from backprop_cli.calculus import Definition, Node
from backprop_cli.errors import Mark, suggest

MAX_CHAIN = 20
MAX_VARIABLES = 20


class DerivationError(ValueError):
    """An exercise that does not make sense (a cycle in the chain, a missing value, ...)."""


@dataclass
class Derivation:
    """A function of some variables, perhaps through a chain, at a point, with a step."""

    top: Definition
    chain: dict[str, Definition]  # intermediate name -> its definition, as written
    variables: list[str]  # the independent variables, in order
    at: dict[str, float] | None = None
    step: dict[str, float] | None = None
    title: str | None = None
    description: str | None = None
    second: bool = False  # work out the second derivatives (derivative2., formula2.)
    shadowed: tuple[str, ...] = ()  # constants (e, pi) that name a variable here

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


CONSTANT_NAMES = {"e": "Euler's number e", "pi": "π", "π": "π"}


def declared_constants(function: str, names: Iterable[str]) -> frozenset[str]:
    """The constants (e, pi) an exercise declares as variables: named in the chain or
    the point (``names``), or by the function: ``e = c*d``, ``f(x, e) = ...``."""
    found = {name for name in names if name in CONSTANT_NAMES}
    head = re.match(r"\s*([^\W\d_]\w*)\s*(?:\(([^()]*)\))?\s*=(?!=)", function)
    if head is not None:
        params = head.group(2).split(",") if head.group(2) is not None else []
        found |= {p.strip() for p in (head.group(1), *params) if p.strip() in CONSTANT_NAMES}
    return frozenset(found)


def shadow_notes(derivation: Derivation) -> list[str]:
    """What the worked solution says of a variable named like a constant."""
    return [f"note: {name} is a variable of this exercise, not {CONSTANT_NAMES[name]}"
            for name in derivation.shadowed]


def make_derivation(function: str, chain: Mapping[str, str] | None = None,
                  at: Mapping[str, float] | None = None, step: Mapping[str, float] | None = None,
                  title: str | None = None, description: str | None = None) -> Derivation:
    """Parse and validate; raises ExpressionError (bad text) or DerivationError (bad setup).

    A variable named e or pi, declared by ``chain``, ``at`` or the function's own
    ``f(x, e)``, shadows the constant everywhere in the exercise.
    """
    shadowed = declared_constants(function, [*(chain or {}), *(at or {})])
    top = calc.parse_definition(function, shadowed)
    definitions: dict[str, Definition] = {}
    for name, text in (chain or {}).items():
        definition = calc.parse_definition(text if "=" in text else f"{name} = {text}",
                                           shadowed)
        if definition.name != name:
            raise DerivationError(f"chain entry '{name}' defines '{definition.name}'")
        if definition.params is not None:
            raise DerivationError(f"write the chain entry as {name} = ..., without "
                                f"({', '.join(definition.params)})")
        definitions[name] = definition
    if len(definitions) > MAX_CHAIN:
        raise DerivationError(f"at most {MAX_CHAIN} intermediate variables")
    if (top.name or "f") in definitions:
        raise DerivationError(f"'{top.name or 'f'}' names the function and an intermediate "
                            "variable")
    _check_acyclic(definitions)
    reached = reachable_variables(top.expr, definitions)
    unused = [name for name in definitions if name not in reached]
    if unused:
        raise DerivationError(f"{top.name or 'the function'} does not depend on "
                            f"{', '.join(unused)} (defined in the chain)")
    independent = _written_order(top.expr, definitions)
    if top.params is not None and not definitions:
        independent = list(top.params)
    elif top.params is not None:
        missing = [v for v in independent if v not in top.params]
        if missing:
            raise DerivationError(f"{top.name}({', '.join(top.params)}) also depends on "
                                f"{', '.join(missing)}")
        independent = list(top.params)
    if len(independent) > MAX_VARIABLES:
        raise DerivationError(f"at most {MAX_VARIABLES} variables")
    exercise = Derivation(top, definitions, independent, None, None, title, description)
    used = set(independent) | set(definitions) | {top.name or ""}
    exercise.shadowed = tuple(name for name in sorted(shadowed) if name in used)
    if at is not None:
        exercise.at = _point(at, exercise, "at")
    if step is not None:
        if at is None:
            raise DerivationError("a step needs a point to start from: give 'at' too")
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
            raise DerivationError(f"the chain is circular: {cycle}")
        state[name] = 1
        for dep in sorted(calc.variables(definitions[name].expr)):
            if dep in definitions:
                visit(dep, [*path, name])
        state[name] = 2

    for name in definitions:
        visit(name, [])


def reachable_variables(expr: Node, definitions: Mapping[str, Definition]) -> set[str]:
    found: set[str] = set()
    stack = [expr]
    while stack:
        for name in calc.variables(stack.pop()):
            if name in definitions and name not in found:
                found.add(name)
                stack.append(definitions[name].expr)
    return found


def _point(values: Mapping[str, float], exercise: Derivation, what: str,
           partial: bool = False) -> dict[str, float]:
    for name, value in values.items():
        if name in exercise.chain:
            raise DerivationError(f"{what}: '{name}' is computed from the chain, not given")
        if name not in exercise.variables:
            hint = suggest(name, exercise.variables)
            raise DerivationError(f"{what}: no variable '{name}'{hint} "
                                f"(variables: {', '.join(exercise.variables) or 'none'})")
        if not math.isfinite(value):
            raise DerivationError(f"{what}: {name} must be a finite number")
    if not partial:
        missing = [v for v in exercise.variables if v not in values]
        if missing:
            raise DerivationError(f"{what}: give a value for {', '.join(missing)}")
    return {v: float(values[v]) for v in exercise.variables if v in values}


@dataclass
class PublishedAnswer:
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
    kind: ClassVar[str] = "derivative"  # the exercise kind (backprop_cli.kinds)
    path: str
    derivation: Derivation
    expected: dict[str, PublishedAnswer]
    tolerance: float | None = None
    min_digits: int | None = None

    @property
    def title(self) -> str:
        return self.derivation.title or Path(self.path).stem
