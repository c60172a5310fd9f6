"""Reading a ``kind: derivative`` file: its keys, the function and chain, the point, the
author's expected answers (path:line:col for any mistake)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from backprop_cli import calculus as calc
from backprop_cli.calculus import ExpressionError
from backprop_cli.errors import Mark, ProblemError, suggest
from backprop_cli.files.fields import expression_value, is_expression
from backprop_cli.files.yamlio import YMap, YNode, YScalar, parse_yaml, read_text
from backprop_cli.kinds.derivative.model import (
    Derivation,
    DerivationError,
    DerivativeProblem,
    PublishedAnswer,
    declared_constants,
    make_derivation,
)
from backprop_cli.kinds.derivative.working import all_keys
from backprop_cli.model.keys import EXERCISE_STEP_KEYS, is_formula_key
from backprop_cli.numfmt import format_number

# ------------------------------------------------------------- problem files

TOP_KEYS = ("kind", "title", "description", "function", "chain", "at", "step", "expected",
            "tolerance", "min_digits")
ENTRY_KEYS = ("value", "tolerance", "erratum", "note")
def load(path: str | Path) -> DerivativeProblem:
    """Read a ``kind: derivative`` file; ProblemError with path:line:col on any mistake
    (a network problem included)."""
    name = str(path)
    try:
        root = parse_yaml(read_text(name))
    except ProblemError as error:
        raise error.with_path(name) from None
    kind = root.get("kind") if isinstance(root, YMap) else None
    if not (isinstance(kind, YScalar) and kind.value == DerivativeProblem.kind):
        raise ProblemError("a network problem, not a derivative exercise (kind: derivative)",
                           path=name)
    return from_tree(root, name)


def from_tree(root: YNode | None, path: str = "<input>") -> DerivativeProblem:
    """A derivative exercise from an already parsed YAML tree."""
    try:
        return DerivativeReader(path).read(root)
    except ProblemError as error:
        raise error.with_path(path) from None


def parse(text: str, path: str = "<input>") -> DerivativeProblem:
    try:
        return DerivativeReader(path).read(parse_yaml(text))
    except ProblemError as error:
        raise error.with_path(path) from None


class DerivativeReader:
    def __init__(self, path: str) -> None:
        self.path = path

    def read(self, root: YNode | None) -> DerivativeProblem:
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
            shadowed = declared_constants(function, [*chain, *(at or {})])
            self.parse_texts(function_node, function, chain_node, chain, shadowed)
            exercise = make_derivation(function, chain, at, step, title, description)
        except DerivationError as error:
            mark = self.mark_for(str(error), root)
            raise ProblemError(str(error), mark) from None
        tolerance = None
        if (node := root.get("tolerance")) is not None:
            tolerance = self.number(node, "tolerance", nonnegative=True)
        min_digits = None
        if (node := root.get("min_digits")) is not None:
            digits = self.number(node, "min_digits")
            if not digits.is_integer() or not 1 <= digits <= 17:
                raise ProblemError(f"min_digits must be a whole number from 1 to 17, found "
                                   f"{format_number(digits, 6)}", node.mark)
            min_digits = int(digits)
        expected: dict[str, PublishedAnswer] = {}
        if (node := root.get("expected")) is not None:
            expected = self.expected(self.mapping(node, "expected"), exercise)
        return DerivativeProblem(self.path, exercise, expected, tolerance, min_digits)

    def mark_for(self, message: str, root: YMap) -> Mark:
        for key in ("step", "at", "chain"):
            if message.startswith(key) and root.get(key) is not None:
                node = root.get(key)
                assert node is not None
                return node.mark
        node = root.get("chain") if "chain" in message else root.get("function")
        return node.mark if node is not None else root.mark

    def parse_texts(self, function_node: YNode, function: str, chain_node: YNode | None,
                    chain: Mapping[str, str], shadowed: frozenset[str]) -> None:
        """Expression errors at their column in the file."""

        try:
            calc.parse_definition(function, shadowed)
        except ExpressionError as error:
            raise ProblemError(f"function: {error.message}",
                               self.inside(function_node, error.position)) from None
        if isinstance(chain_node, YMap):
            for name, text in chain.items():
                value_node = chain_node.get(name)
                assert value_node is not None
                try:
                    calc.parse(text.split("=", 1)[1] if "=" in text else text, shadowed)
                except ExpressionError as error:
                    shift = text.index("=") + 1 if "=" in text else 0
                    position = None if error.position is None else error.position + shift
                    raise ProblemError(f"chain '{name}': {error.message}",
                                       self.inside(value_node, position)) from None

    @staticmethod
    def inside(node: YNode, position: int | None) -> Mark:
        """The column of a character of a one-line scalar, else the scalar's own place."""

        if (position is None or not isinstance(node, YScalar) or "\n" in node.text):
            return node.mark
        return Mark(node.mark.line, node.mark.column + position + (1 if node.quoted else 0))

    def string(self, node: YNode | None, what: str) -> str:
        if node is None or not isinstance(node, YScalar) or not isinstance(node.value, str):
            if isinstance(node, YScalar) and isinstance(node.value, (int, float)) and not (
                    isinstance(node.value, bool)):
                return node.text
            raise ProblemError(f"{what} must be a string", node.mark if node else None)
        return node.value

    def mapping(self, node: YNode, what: str) -> YMap:
        if not isinstance(node, YMap):
            raise ProblemError(f"{what} must be a mapping (name: value)", node.mark)
        return node

    def number(self, node: YNode, what: str, nonnegative: bool = False) -> float:
        if is_expression(node):  # "-1/243", "sqrt(2)/2": numbers and constants
            assert isinstance(node, YScalar)
            value = expression_value(node, what)
        elif (not isinstance(node, YScalar) or isinstance(node.value, bool)
                or not isinstance(node.value, (int, float))):
            raise ProblemError(f"{what} must be a number", node.mark)
        else:
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

    def expected(self, node: YMap, exercise: Derivation) -> dict[str, PublishedAnswer]:
        known = all_keys(exercise)
        numeric_ok = exercise.at is not None
        result: dict[str, PublishedAnswer] = {}
        for key, (key_mark, value_node) in node.entries.items():
            if key not in known:
                alike = [k for k in known if k.count(".") == key.count(".")]  # the same shape
                hint = suggest(key, alike) or suggest(key, known)
                raise ProblemError(f"expected: unknown value key '{key}'{hint}", key_mark)
            is_formula = is_formula_key(key)
            step_key = key in EXERCISE_STEP_KEYS
            if not is_formula and not numeric_ok:
                raise ProblemError(f"expected '{key}' is a value at a point: give 'at'",
                                   key_mark)
            if step_key and not exercise.step:
                raise ProblemError(f"expected '{key}' needs a change of the variables: give "
                                   "'step'", key_mark)
            answer = PublishedAnswer(key, "", key_mark)
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
                    answer.formula = calc.parse(answer.text, frozenset(exercise.shadowed))
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
            if key.startswith(("derivative2.", "formula2.")):
                exercise.second = True  # the worked solution shows the second derivatives
        return result
