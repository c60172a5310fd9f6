"""Reading one field of a YAML problem file: its type, its bounds, and the message that
names the key and its place when it is wrong. Shared by the loader and the training
settings (which the loader reads only when a file has them)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from backprop_cli.errors import Mark, ProblemError, raise_collected, suggest
from backprop_cli.files.yamlio import YMap, YNode, YScalar, YSeq, resolve_plain
from backprop_cli.model.problem import RESERVED_WORDS, Expected

NAME = re.compile(r"^[^\W\d][\w^]*\Z")
_NAME_MATCH = NAME.match
# units and inputs may also be named by whole numbers (Han & Kamber's units 4, 5, 6: a.4)
NUMBER_NAME = re.compile(r"^[0-9]+\Z")

# Bounds that keep a typo (steps: 1e9, units: 100000000) from becoming a hang or an
# out-of-memory crash; no exercise comes near them.
MAX_STEPS = 1_000_000
MAX_COUNT = 1_000_000  # inputs or units given as a count


def _describe(node: YNode) -> str:
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    assert isinstance(node, YScalar)
    value = node.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({node.text})"
    if isinstance(value, (int, float)):
        return f"a number ({_short(node.text)})"
    if not node.quoted and node.text.lower() in _YAML11_BOOLEANS:
        return f"a string ('{node.text}'; true and false are the booleans)"
    if node.quoted and type(resolve_plain(node.text.strip() or "x")) in (int, float):
        return f"a string ('{_short(node.text)}' is in quotes: remove them for a number)"
    return f"a string ('{_short(node.text)}')"


_INF_OR_NAN = re.compile(r"^[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)$")

# Words YAML 1.1 read as booleans; here (YAML 1.2) they are strings.
_YAML11_BOOLEANS = {"yes", "no", "on", "off", "y", "n"}


def _count_word(n: int) -> str:
    """2 -> 'two' (a message's count of units)."""
    return {2: "two", 3: "three", 4: "four"}.get(n, str(n))


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _listed(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(_short(n) for n in names[:limit])
    return shown + (", …" if len(names) > limit else "")


def _check_keys(node: YMap, allowed: Sequence[str], where: str) -> None:
    known = _KEY_SETS.get(id(allowed))
    if known is None or known[0] is not allowed:
        known = _KEY_SETS[id(allowed)] = (allowed, frozenset(allowed))
    if node.entries.keys() <= known[1]:  # one set comparison: the keys are all known
        return
    errors: list[ProblemError] = []
    for key in node.entries:
        if key not in allowed:
            hint = suggest(key, allowed)
            if not hint:
                hint = f" (allowed: {', '.join(allowed)})"
            errors.append(ProblemError(f"unknown key '{_short(key)}' in {where}{hint}",
                                       node.key_mark(key)))
    raise_collected(errors)  # every unknown key at once: each is its own typo


# the allowed keys as a set, by the identity of the (constant) sequence, kept with it
_KEY_SETS: dict[int, tuple[Sequence[str], frozenset[str]]] = {}


def _plain_float(node: YNode) -> float | None:
    """The value of a plain finite number as a float, or None for anything that needs
    :func:`_number`'s checks and messages (most numbers of a file take this way)."""
    if node.__class__ is YScalar:
        value = node.value
        if value.__class__ is float:
            if value - value == 0.0:  # finite: inf - inf and nan - nan are nan
                return value
        elif value.__class__ is int and -_EXACT_INT <= value <= _EXACT_INT:
            return float(value)
    return None


# integers up to this size are floats exactly, and never overflow
_EXACT_INT = 2**53


def _number(node: YNode, what: str, *, positive: bool = False,
            nonnegative: bool = False) -> float:
    if not positive and not nonnegative and (value := _plain_float(node)) is not None:
        return value
    if is_expression(node):
        assert isinstance(node, YScalar)
        value = expression_value(node, what)
    elif not isinstance(node, YScalar) or isinstance(node.value, bool) or not isinstance(
        node.value, (int, float)
    ):
        raise ProblemError(f"{what} must be a number, found {_describe(node)}"
                           f"{_quoting_hint(node)}", node.mark)
    else:
        try:
            value = float(node.value)
        except OverflowError:  # an integer beyond every float (more than 308 digits)
            value = math.inf
    if not math.isfinite(value):
        if node.quoted or _INF_OR_NAN.match(node.text):
            raise ProblemError(f"{what} must be a finite number, found {_short(node.text)}",
                               node.mark)
        raise ProblemError(f"{what} is too large to compute with (beyond ±1.8e308), found "
                           f"{_short(node.text)}", node.mark)
    if positive and value <= 0:
        raise ProblemError(f"{what} must be greater than 0, found {_short(node.text)}",
                           node.mark)
    if nonnegative and value < 0:
        raise ProblemError(f"{what} must not be negative, found {_short(node.text)}",
                           node.mark)
    return value


def is_expression(node: YNode) -> bool:
    """Whether ``node`` is a number written as an expression: a quoted string that is not
    a plain number ("-1/243", "sqrt(2)/2"; a quoted "0.5" stays a mistake)."""
    return (isinstance(node, YScalar) and node.quoted and isinstance(node.value, str)
            and type(resolve_plain(node.value.strip() or "x")) not in (int, float))


def expression_value(node: YScalar, what: str) -> float:
    """The value of a quoted expression of numbers and constants (the derive parser's);
    a ProblemError at the character of the mistake."""
    # lazy: only a number written as an expression needs the derive parser (its trees are
    # dataclasses, which the path of check and solve does not load otherwise)
    from backprop_cli.calculus import ExpressionError, constant_value

    try:
        return constant_value(node.value)
    except ExpressionError as error:
        mark = node.mark
        if error.position is not None and "\n" not in node.text:
            mark = Mark(mark.line, mark.column + 1 + error.position)
        raise ProblemError(f"{what} \"{_short(node.text)}\": {error.message}", mark) from None


def _quoting_hint(node: YNode) -> str:
    """For an unquoted expression (2/3), how to write it."""
    if not (isinstance(node, YScalar) and isinstance(node.value, str) and not node.quoted):
        return ""
    # lazy: the error path only
    from backprop_cli.calculus import ExpressionError, constant_value

    try:
        constant_value(node.value)
    except ExpressionError:
        return ""
    return f" (an expression of numbers goes in quotes: \"{_short(node.text)}\")"


def _string(node: YNode, what: str) -> str:
    if not isinstance(node, YScalar) or not isinstance(node.value, str):
        raise ProblemError(f"{what} must be a string, found {_describe(node)}", node.mark)
    return node.value


def _null(node: YNode | None) -> bool:
    return isinstance(node, YScalar) and node.value is None and not node.quoted


def _name(node: YNode, what: str, unit: bool = False) -> str:
    """A parameter's name; ``unit``: a unit's or an input's (a whole number too, no word
    reserved)."""
    if node.__class__ is YScalar:  # most names: a plain valid one, checked at once
        text = node.value
        if text.__class__ is str and _NAME_MATCH(text) and (unit or text not in RESERVED_WORDS):
            return text
    if unit and isinstance(node, YScalar) and NUMBER_NAME.match(node.text.strip()) and (
            node.value.__class__ in (int, str)):
        return node.text.strip()  # units: [4, 5] names them "4" and "5"
    if isinstance(node, YScalar) and isinstance(node.value, (int, float)) and not isinstance(
        node.value, bool
    ):
        also = " or are whole numbers" if unit else ""
        raise ProblemError(f"{what} '{node.text}' is not a name: names start with a "
                           f"letter{also}", node.mark)
    text = _string(node, what)
    if not NAME.match(text):
        raise ProblemError(
            f"{what} '{_short(text)}' is not a valid name: use letters, digits, '_' and '^', "
            "starting with a letter", node.mark)
    if text in RESERVED_WORDS and not unit:
        raise ProblemError(f"{what} '{text}' would have the loss's key 'loss': choose "
                           "another name", node.mark)
    return text


def _seq(node: YNode, what: str) -> YSeq:
    if not isinstance(node, YSeq):
        raise ProblemError(f"{what} must be a list, found {_describe(node)}", node.mark)
    return node


def _map(node: YNode, what: str) -> YMap:
    if not isinstance(node, YMap):
        raise ProblemError(f"{what} must be a mapping, found {_describe(node)}", node.mark)
    return node


def _int(node: YNode, what: str, minimum: int, maximum: int) -> int:
    if (not isinstance(node, YScalar) or isinstance(node.value, bool)
            or not isinstance(node.value, (int, float))):
        raise ProblemError(f"{what} must be a whole number, found {_describe(node)}", node.mark)
    value = node.value
    if isinstance(value, float):
        if not value.is_integer():  # also NaN and infinity
            raise ProblemError(f"{what} must be a whole number, found {_short(node.text)}",
                               node.mark)
        value = int(value)
    if value < minimum:
        raise ProblemError(f"{what} must be at least {minimum}, found {_short(node.text)}",
                           node.mark)
    if value > maximum:
        raise ProblemError(f"{what} must be at most {maximum:,}, found {_short(node.text)}",
                           node.mark)
    return int(value)


def _shape_text(rows: int, cols: int) -> str:
    return f"{rows}×{cols}"


def _actual_shape(items: list[YNode]) -> str:
    """The shape of a list as written: '3×2', or '3 rows' when the rows differ."""
    if all(isinstance(item, YSeq) for item in items):
        lengths = {len(item.items) for item in items if isinstance(item, YSeq)}
        if len(lengths) == 1:
            return _shape_text(len(items), lengths.pop())
    return _plural(len(items), "row")


EXPECTED_ENTRY_KEYS = ("value", "tolerance", "erratum", "note")


def read_entry_options(entry: Expected, key: str, node: YNode) -> YNode:
    """An ``expected`` entry written as ``{value:, tolerance:, erratum:, note:}``: its
    options set on ``entry``; the node of its value returned (the node itself for a plain
    number). The same for every kind of network file."""
    if not isinstance(node, YMap):
        return node
    where = f"expected '{key}'"
    _check_keys(node, EXPECTED_ENTRY_KEYS, where)
    value = node.get("value")
    if value is None:
        raise ProblemError(f"missing required key 'value' in {where}", node.mark)
    if (tol := node.get("tolerance")) is not None:
        entry.tolerance = _number(tol, f"{where} tolerance", nonnegative=True)
    if (err := node.get("erratum")) is not None:
        entry.erratum = _number(err, f"{where} erratum")
        assert isinstance(err, YScalar)
        entry.erratum_text = err.text
    if (note := node.get("note")) is not None:
        entry.note = _string(note, f"{where} note")
    return value
