"""How numbers are written for people: significant digits, no -0, no noise.

``format_number(0.82491373, 4)`` is ``0.8249``; integers print as integers
(``2``, not ``2.000``), ``-0`` never appears, and tiny or huge values use
scientific notation (``1.234e-07``). Machine formats never use this: JSON keeps
full precision.
"""

from __future__ import annotations

import math


def format_number(value: float, digits: int = 4, ascii_only: bool = False) -> str:
    """``value`` to ``digits`` significant digits, as a person writes it."""
    if math.isnan(value):
        return "undefined"
    if math.isinf(value):
        sign = "-" if value < 0 else ""
        return f"{sign}inf" if ascii_only else f"{'−' if value < 0 else ''}∞"
    if value == 0:
        return "0"
    if float(value).is_integer() and abs(value) < 1e15:
        text = str(int(value))
    else:
        magnitude = math.floor(math.log10(abs(value)))
        if magnitude < -4 or magnitude >= 15:
            mantissa = f"{value:.{max(digits - 1, 0)}e}"
            base, exponent = mantissa.split("e")
            if "." in base:
                base = base.rstrip("0").rstrip(".")
            text = f"{base}e{int(exponent)}"
        else:
            text = _fixed(value, max(digits - 1 - magnitude, 0))
    return _signed(text, ascii_only)


def _fixed(value: float, decimals: int) -> str:
    """Fixed-point text without trailing zeros, and never -0."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _signed(text: str, ascii_only: bool) -> str:
    """The typographic minus sign, unless plain ASCII is asked for."""
    return "−" + text[1:] if text.startswith("-") and not ascii_only else text


def digits_to_tell_apart(old: float, new: float, digits: int = 4, limit: int = 12) -> int:
    """The fewest significant digits (at least ``digits``) at which ``new`` and ``old`` differ.

    An update of 0.5 by 1e-6 written to 4 digits reads 0.5 -> 0.5; the update
    table widens such numbers until the change shows (up to ``limit`` digits).
    """
    if old == new or not (math.isfinite(old) and math.isfinite(new)):
        return digits
    for candidate in range(digits, limit + 1):
        if format_number(old, candidate) != format_number(new, candidate):
            return candidate
    return limit


def digits_to_show_step(value: float, step: float, digits: int = 4, limit: int = 12) -> int:
    """Significant digits for ``value`` that keep ``step`` (a change in it) readable.

    0.4 + 0.0004552 written to 4 digits is 0.4005, which hides the step that
    was just computed; 0.4004552 shows it, as a person writes it by hand.
    """
    if value == 0 or step == 0 or not (math.isfinite(value) and math.isfinite(step)):
        return digits
    gap = math.floor(math.log10(abs(value))) - math.floor(math.log10(abs(step)))
    return max(digits, min(digits + gap, limit))


def format_decimals(value: float, decimals: int, ascii_only: bool = False) -> str:
    """``value`` to at most ``decimals`` decimals (hand-calculation mode: 0.18875 -> 0.1888).

    Trailing zeros go, integers stay integers and -0 never appears, as in
    :func:`format_number`.
    """
    if not math.isfinite(value):
        return format_number(value, ascii_only=ascii_only)
    return _signed(_fixed(value, decimals), ascii_only)


def format_fixed(value: float, decimals: int, ascii_only: bool = False) -> str:
    """``value`` with exactly ``decimals`` decimals (``--decimals``: 1.2004, 0.5000, 0.0001).

    Integers stay integers (the data 1 and 2 read as typed), -0 never appears,
    and infinities and NaN are written as in :func:`format_number`.
    """
    if not math.isfinite(value):
        return format_number(value, ascii_only=ascii_only)
    if float(value).is_integer() and abs(value) < 1e15:
        return _signed(str(int(value)), ascii_only)
    text = f"{value:.{decimals}f}"
    if text.startswith("-") and not text.strip("-0."):
        text = text[1:]  # -0.0000
    return _signed(text, ascii_only)


def decimals_for_digits(value: float, digits: int) -> int:
    """The decimals that show ``value`` to ``digits`` significant digits (0.0004552, 4: 7)."""
    if value == 0 or not math.isfinite(value):
        return 0
    return max(digits - 1 - math.floor(math.log10(abs(value))), 0)


def format_display(value: float, digits: int, decimals: int | None = None, fixed: bool = False,
                   override: int | None = None, ascii_only: bool = False,
                   positional: bool = False) -> str:
    """A number as a worked solution writes it: ``fixed`` decimals (--decimals), at most
    ``decimals`` (hand-calculation mode), or ``digits`` significant digits (``positional``:
    never with an exponent, 0.00009096 rather than 9.096e-5); ``override`` (significant
    digits that show a small change) widens the fixed decimals, or replaces the others."""
    if fixed and decimals is not None:
        if override is not None:
            decimals = max(decimals, decimals_for_digits(value, override))
        return format_fixed(value, decimals, ascii_only=ascii_only)
    if decimals is not None and override is None:
        return format_decimals(value, decimals, ascii_only=ascii_only)
    if positional and math.isfinite(value) and value != 0:
        places = decimals_for_digits(value, override or digits)
        return _signed(_fixed(value, places), ascii_only)
    return format_number(value, override or digits, ascii_only=ascii_only)
