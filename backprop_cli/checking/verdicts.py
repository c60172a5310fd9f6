"""The verdict rule: one published (or typed) value against the exact one and its step.

``check``, ``solve``'s marks, ``quiz`` and grading all judge a number with
:func:`judge`:

- ``correct``: the value is the exact one rounded to the digits written (within
  half a unit of the last digit) or truncated to them (the same sign, short by
  less than one unit). A value written with :data:`MANY_DIGITS` or more
  significant digits is held to :data:`RELATIVE_FLOOR` relative instead (float
  noise of a long spreadsheet chain is no slip). Integers and exact-looking
  values (no decimal point) are held to 1e-9 relative. No other slack.
- ``consistent``: the value is what the step's formula gives from the author's
  own values (written ones where given, else recomputed from them), to within one
  unit of the last digit written (rounding twice: 0.56045 → 0.5605 → 0.561), plus
  what the rounding of those operands can move the result: for every operand
  the author wrote and that differs from its exact value,
  |f(x ± ½ unit) − f(x)| (|∂f/∂x| × half a unit of its last digit, measured on the
  formula itself so a kink or a rounding step is covered). Operands written
  exactly add nothing, and so do operands recomputed from the author's values
  (they are exactly what those values give).
- ``wrong``: neither; the reason says whether the author's own earlier values
  already give the exact value ("wrong from the start") or not, and a slip from
  :mod:`backprop_cli.checking.slips` is named when exactly one reproduces it.
- ``imprecise``: with a minimum of significant digits (``check --min-digits N``,
  a file's ``min_digits``, 3 in quiz and grading), a value written with fewer
  digits that is right only at its own coarse precision. A value that is right to
  N digits anyway (0.8 for 0.8, 1.8 for 1.80004) is judged as usual.

An explicit ``tolerance`` (absolute) replaces both precision rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Literal, get_args

from backprop_cli.checking.slips import Diagnosis, SlipContext, diagnose
from backprop_cli.expr import Expr, Ref
from backprop_cli.numfmt import format_number
from backprop_cli.records import record

Verdict = Literal["correct", "consistent", "wrong", "imprecise", "erratum"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
PASSING: frozenset[Verdict] = frozenset({"correct", "consistent", "erratum"})

# How an earlier value the author wrote relates to its exact value.
OperandStatus = Literal["exact", "rounded", "wrong", "recomputed"]

# Values written with this many significant digits or more are held to RELATIVE_FLOOR.
MANY_DIGITS = 10
RELATIVE_FLOOR = 1e-9
# Integers and exact-looking values (no decimal point): relative, at least this absolute.
EXACT_TOLERANCE = 1e-9
# The error of a few float operations: a written 0.12345 is 0.123449999… in binary.
_UNIT_NOISE = 1e-9  # in units of the last digit
_FLOAT_NOISE = 2.0 ** -50  # relative to the values compared


# a number as written, which claims a precision (else an expression, which is exact)
_PLAIN_NUMBER = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*\Z").match


@record(frozen=True)
class Precision:
    """What a written number claims: its last digit's unit and significant digits."""

    unit: float  # 10**-decimals; 0 for exact-looking values (integers, fractions)
    override: float | None = None  # an explicit absolute tolerance
    digits: int = 0  # significant digits written (trailing zeros count)

    @classmethod
    def of(cls, text: str, override: float | None = None) -> Precision:
        """The precision ``text`` claims; a number written as an expression ("-1/243",
        "sqrt(2)/2") claims to be exact."""
        body = text.strip().lstrip("+-")
        if body.strip("0123456789.") and _PLAIN_NUMBER(text) is None:  # (most have digits only)
            return cls(0.0, override, MANY_DIGITS)
        lowered = body.lower()
        mantissa, _, exponent = lowered.partition("e")
        digits = len(mantissa.replace(".", "").lstrip("0"))
        if exponent:
            decimals = len(mantissa.split(".", 1)[1]) if "." in mantissa else 0
            return cls(10.0 ** (int(exponent) - decimals), override, digits)
        if "." not in body:
            return cls(0.0, override, digits)
        return cls(10.0 ** -len(body.split(".", 1)[1]), override, digits)

    @property
    def many_digits(self) -> bool:
        return self.digits >= MANY_DIGITS

    def agrees(self, written: float, exact: float) -> bool:
        """Whether ``written`` is ``exact`` written to this precision (the ``correct`` rule)."""
        difference = abs(written - exact)
        if self.override is not None:
            return difference <= self.override
        if self.unit == 0.0:
            return difference <= EXACT_TOLERANCE * max(1.0, abs(exact))
        noise = _UNIT_NOISE * self.unit + _FLOAT_NOISE * max(abs(written), abs(exact))
        if self.many_digits:
            return difference <= RELATIVE_FLOOR * abs(exact) + noise
        if difference <= 0.5 * self.unit + noise:
            return True
        # truncation: the same sign, and short of the exact value by less than one unit
        shortfall = abs(exact) - abs(written)
        same_sign = written == 0 or math.copysign(1, written) == math.copysign(1, exact)
        return same_sign and -noise <= shortfall < self.unit - noise

    def consistent_slack(self, reference: float) -> float:
        """How far a value may be from its recomputation, before the operands' share:
        one unit of the last digit (rounded twice), the floor for many digits."""
        if self.override is not None:
            return self.override
        noise = _UNIT_NOISE * self.unit + _FLOAT_NOISE * abs(reference)
        if self.unit == 0.0:
            return EXACT_TOLERANCE * max(1.0, abs(reference))
        if self.many_digits:
            return max(self.unit, RELATIVE_FLOOR * abs(reference)) + noise
        return self.unit + noise

    def padded(self, digits: int, reference: float) -> Precision:
        """This precision, but at least ``digits`` significant digits of ``reference``."""
        if reference == 0.0 or not math.isfinite(reference):
            return self
        required = 10.0 ** (math.floor(math.log10(abs(reference))) - (digits - 1))
        return Precision(min(self.unit, required), self.override, max(self.digits, digits))


@record(frozen=True)
class Operand:
    """One value a step reads, as the author has it."""

    key: str
    value: float  # the author's: written where given, else recomputed from theirs
    exact: float | None = None  # the exact value, when known
    written: Precision | None = None  # how the author wrote it; None when recomputed
    text: str | None = None  # as written
    # for a recomputed operand: the earlier values the author wrote that it comes from
    sources: tuple[Operand, ...] = ()
    # what its own verdict made of it (Judged.basis), when it was judged: a value
    # consistent with rounded operands is rounded, one carried from a wrong one is wrong
    judged: OperandStatus | None = None

    @property
    def status(self) -> OperandStatus:
        if self.written is None:
            return "recomputed"
        if self.exact is None or self.value == self.exact:
            return "exact"
        if self.judged is not None:
            return self.judged
        if self.written.agrees(self.value, self.exact):
            return "rounded"
        return "wrong"

    @property
    def shown(self) -> str:
        return self.text if self.text is not None else format_number(self.value, 6)

    def half_unit(self) -> float:
        """Half a unit of the last digit written, when the author wrote it and it is
        not the exact value (0: the operand moves nothing; a recomputed operand is what
        the author's own values give, exactly)."""
        if self.written is None or self.exact is None or self.value == self.exact:
            return 0.0
        return 0.5 * self.written.unit


@record(frozen=True)
class Judged:
    """The verdict on one value, with why."""

    verdict: Verdict
    reason: str | None = None
    diagnosis: Diagnosis | None = None
    recomputed: float | None = None  # the step on the author's own values
    # what the value is to the steps that read it: rounded (its difference from the
    # exact value is rounding, its own or its operands'), wrong, or exact
    basis: OperandStatus = "rounded"


def correct_at_once(published: float, precision: Precision, exact: float,
                    min_digits: int | None = None) -> bool:
    """Whether the value is ``correct`` (the cheap test: most values are, and they need no
    recomputation). :func:`judge` gives the same verdict for them."""
    if not math.isfinite(exact):
        return False
    if _short(precision, min_digits):
        assert min_digits is not None
        return precision.padded(min_digits, exact).agrees(published, exact)
    return precision.agrees(published, exact)


def _short(precision: Precision, min_digits: int | None) -> bool:
    return (min_digits is not None and precision.override is None and precision.unit > 0
            and precision.digits < min_digits)


def judge(key: str, published: float, precision: Precision, exact: float,
          formula: Expr | None = None, operands: Mapping[str, Operand] | None = None, *,
          min_digits: int | None = None, slips: SlipContext | None = None,
          one_rounding: bool = False) -> Judged:
    """The verdict on ``published`` for ``key`` (its exact value ``exact``).

    ``formula`` is the step and ``operands`` the author's values of what it reads
    (every ref of the formula); without them only ``correct`` or ``wrong`` is
    possible. ``slips`` is a :class:`backprop_cli.checking.slips.SlipContext` for the
    diagnosis of a wrong value (None: only the slips the formula alone shows).

    ``one_rounding``: hand-calculation mode (``round: N``), where every step is rounded
    once, by the rule, and its formula says so: the recomputation from the author's
    values is the value to write, and neither rounding twice nor the operands' rounding
    excuses another (0.7·(−0.025) = −0.0175 is kept as −0.018, never −0.017).
    """
    short = min_digits if _short(precision, min_digits) else None

    def padded(reference: float) -> Precision:  # the precision min_digits asks for
        return precision if short is None else precision.padded(short, reference)

    def slack(reference: float) -> float:  # how far from the recomputation is consistent
        if one_rounding and precision.override is None:
            return _UNIT_NOISE * precision.unit + _FLOAT_NOISE * abs(reference)
        return padded(reference).consistent_slack(reference)

    if math.isfinite(exact) and padded(exact).agrees(published, exact):
        return Judged("correct", basis="exact" if published == exact else "rounded")
    recomputed = None
    spread = 0.0
    if formula is not None and operands is not None:
        recomputed = _evaluate(formula, {ref: o.value for ref, o in operands.items()})
        if recomputed is not None and precision.override is None and not one_rounding:
            spread = propagated(formula, operands, recomputed)
    if recomputed is not None and operands is not None:
        off = abs(published - recomputed)
        if off <= slack(recomputed) + spread:
            carried = any(o.status == "wrong" for o in _differing(operands))
            return Judged("consistent", _follows(operands, recomputed, exact), None,
                          recomputed, "wrong" if carried else "rounded")
    if short is not None and (
            (math.isfinite(exact) and precision.agrees(published, exact))
            or (recomputed is not None and abs(published - recomputed)
                <= precision.consistent_slack(recomputed) + spread)):
        return Judged("imprecise", f"{_written(published, precision)} has fewer than "
                      f"{short} significant digits: write at least {short}",
                      None, recomputed, "rounded")
    allowance = spread + precision.consistent_slack(recomputed if recomputed is not None
                                                    else exact)
    return _wrong(key, published, precision, exact, recomputed, formula, operands,
                  allowance, slips)


def judge_carried(key: str, published: float, precision: Precision, exact: float,
                  carried: float, sources: tuple[Operand, ...] = (), *,
                  min_digits: int | None = None) -> Judged:
    """:func:`judge` for a value with no formula of its own: a layered network's, worked by
    array operations (engine/layered_carry.py). ``carried`` is what its step gives from
    the author's (or student's) earlier values, ``sources`` the written ones among them
    that it follows from and that are not exact. The rule is the same: the carried value
    stands as the step recomputed from the author's values, which moves with none of their
    rounding (its operands are the arrays, not one formula's few numbers)."""
    operand = Operand(key, carried, exact, sources=sources)
    return judge(key, published, precision, exact, Ref(key), {key: operand},
                 min_digits=min_digits)


def propagated(formula: Expr, operands: Mapping[str, Operand], at: float) -> float:
    """What the rounding of the operands the author wrote rounded can move the step: for
    each, the larger change of the formula over ± half a unit of its last digit."""
    values = {ref: operand.value for ref, operand in operands.items()}
    total = 0.0
    for ref, operand in operands.items():
        half = operand.half_unit()
        if half == 0.0:
            continue
        largest = 0.0
        for shifted in (operand.value + half, operand.value - half):
            values[ref] = shifted
            moved = _evaluate(formula, values)
            if moved is not None:
                largest = max(largest, abs(moved - at))
        values[ref] = operand.value
        total += largest
    return total


def _evaluate(formula: Expr, values: Mapping[str, float]) -> float | None:
    """The formula's value, or None when it is not a finite number."""
    try:
        value = formula.evaluate(values)
    except ArithmeticError:  # an operand far out of range (x**3 overflows)
        return None
    return value if math.isfinite(value) else None


def _written(value: float, precision: Precision) -> str:
    return format_number(value, max(precision.digits, 1))


def _differing(operands: Mapping[str, Operand]) -> list[Operand]:
    """The written earlier values that are not exact, in the formula's order (those behind
    a recomputed operand included)."""
    found: dict[str, Operand] = {}
    for operand in operands.values():
        for candidate in (operand, *operand.sources):
            if candidate.status in ("rounded", "wrong"):
                found.setdefault(candidate.key, candidate)
    return list(found.values())


def _naming(operands: list[Operand]) -> str:
    names = [f"your {o.status} {o.key} = {o.shown}" for o in operands]
    text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    if any(o.status == "wrong" for o in operands):
        text += " (carried forward)"
    return text


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _follows(operands: Mapping[str, Operand], recomputed: float, exact: float) -> str:
    differing = _differing(operands)
    if differing:
        return "follows from " + _naming(differing)
    if _same(recomputed, exact):
        return f"rounded twice from {format_number(exact, 6)}"
    return ("follows from your own earlier values "
            f"(they give {format_number(recomputed, 6)})")


def _wrong(key: str, published: float, precision: Precision, exact: float,
           recomputed: float | None, formula: Expr | None, operands: Mapping[str, Operand] | None,
           allowance: float, slips: SlipContext | None) -> Judged:
    if recomputed is None:
        reason = "wrong"
    elif _same(recomputed, exact):
        reason = "wrong from the start"
    else:
        reason = ("wrong even from your own earlier values "
                  f"(they give {format_number(recomputed, 6)})")
        differing = _differing(operands or {})
        if differing:
            reason += ", which include " + _naming(differing).removesuffix(" (carried forward)")
    base = recomputed if recomputed is not None else exact
    values = {ref: operand.value for ref, operand in (operands or {}).items()}
    diagnosis = diagnose(key, published, _written(published, precision), base, formula,
                         values, allowance, slips)
    return Judged("wrong", reason, diagnosis, recomputed, "wrong")
