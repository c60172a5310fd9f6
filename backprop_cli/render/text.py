"""What the text writers share: an equation's parts, judgement marks, line breaking.

An equation is written as ``lhs = formula = numbers = … = result``: the same
:class:`~backprop_cli.expr.Expr` rendered with symbols, then with the values
substituted, then with its innermost operations worked out, then the value.
Equal neighbours are written once (``∂L/∂b3 = δ_o = −0.02529``).

Long equations break before an ``=`` first, and inside a part only when the
part alone is too wide, before a ``+`` or ``−`` outside brackets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from backprop_cli.expr import render
from backprop_cli.model.keys import KEY_BEFORE_EQUALS
from backprop_cli.records import record
from backprop_cli.render.marks import VERDICT_ASCII as VERDICT_ASCII
from backprop_cli.render.marks import VERDICT_SYMBOLS as VERDICT_SYMBOLS
from backprop_cli.render.marks import verdict_mark
from backprop_cli.render.model import FINAL, Equation, Judgement, Math, Num, Sym, Word
from backprop_cli.render.notation import MathNotation, to_ascii


def context_notation(notation: MathNotation, context: int) -> MathNotation:
    return notation.in_context(None if context == FINAL else context)


@record
class EquationText:
    lhs: str
    parts: list[str]  # right-hand sides, the last is the result
    condition: str | None


def equation_text(equation: Equation, notation: MathNotation) -> EquationText:
    """The pieces of an equation in ``notation`` (already in the right context)."""
    if equation.context is not None:
        notation = context_notation(notation, equation.context)
    if equation.decimals is not None:  # decimals at which the shown arithmetic adds up
        notation = notation.with_decimals(equation.decimals, fixed=notation.fixed)
    if equation.key is not None:
        lhs = notation.symbol(equation.key)
    else:
        assert equation.lhs is not None
        lhs = "".join(inline_math(part, notation) for part in equation.lhs)
    symbolic = notation.with_rate_symbol() if equation.rate_symbol else notation
    parts = [render(equation.steps[0], symbolic)]
    parts += [render(step, notation, equation.values) for step in equation.steps]
    parts.append(notation.number(equation.result, equation.digits))
    deduped: list[str] = []
    for part in parts:
        if not deduped or deduped[-1] != part:
            deduped.append(part)
    if deduped[0] == lhs:
        deduped = deduped[1:] or deduped
    condition = None
    if equation.condition is not None:
        test = equation.condition.test
        condition = notation.condition(render(test, notation),
                                       render(test, notation, equation.values),
                                       equation.condition.positive)
    return EquationText(lhs, deduped, condition)


def inline_math(part: object, notation: MathNotation) -> str:
    """A math-only inline part (symbol, word, number) as notation text."""
    if isinstance(part, Sym):
        return notation.symbol(part.key)
    if isinstance(part, Word):
        return notation.word(part.kind, part.arg)
    if isinstance(part, Num):
        return notation.number(part.value, part.digits, part.positional)
    if isinstance(part, Math):
        return render(part.expr, notation.without_samples() if part.generic else notation,
                      part.values)
    return str(part)


# ------------------------------------------------------------------- judgements

# VERDICT_SYMBOLS and VERDICT_ASCII: the one table of marks (render.marks), re-exported


@record
class MarkText:
    symbol: str  # ✓ ≈ ✗ ± ! (or ASCII), '' without a verdict
    text: str  # 'published: 0.824'
    detail: str | None  # a note, the correction, the reason
    verdict: str | None


_MINUS = re.compile(r"(?<![\w.)])-(?=[0-9.])")
# a value key named in a verdict's reason or slip: "your rounded a.o = 0.824"
_NAMED_KEY = KEY_BEFORE_EQUALS


def _in_notation(text: str, notation: MathNotation, ascii_only: bool) -> str:
    """A checker's reason or slip (written with value keys and the file's numbers) as the
    solution writes it: ŷ for a.o, − for -."""
    text = _NAMED_KEY.sub(lambda match: notation.symbol(match.group(1)), text)
    return text if ascii_only else _MINUS.sub("−", text)


def _signed(text: str, ascii_only: bool) -> str:
    return "−" + text[1:] if not ascii_only and text.startswith("-") else text


def mark_text(judgement: Judgement, notation: MathNotation, ascii_only: bool,
              compact: bool = False) -> MarkText:
    verdict = judgement.verdict
    symbol = verdict_mark(verdict, ascii_only)
    published = _signed(judgement.text, ascii_only)
    if compact:
        text = published if verdict else f"published {published}"
        if verdict == "erratum" and judgement.erratum_text is not None:
            arrow = "->" if ascii_only else "→"
            text += f" {arrow} {_signed(judgement.erratum_text, ascii_only)}"
        return MarkText(symbol, text, judgement.note, verdict)
    text = f"published: {published}"
    details: list[str] = []
    if verdict == "erratum" and judgement.erratum_text is not None:
        correction = judgement.erratum_text
        if not ascii_only and correction.startswith("-"):
            correction = "−" + correction[1:]
        text += f", corrected: {correction}"
    elif verdict in ("consistent", "wrong", "imprecise") and judgement.reason:
        # consistent: which earlier value it follows from
        details.append(_in_notation(judgement.reason, notation, ascii_only))
    if verdict == "wrong" and judgement.diagnosis:
        details.append(_in_notation(judgement.diagnosis, notation, ascii_only))
    if judgement.note:
        details.append(judgement.note)
    detail = "; ".join(details) if details else None
    if ascii_only:
        text = to_ascii(text)
        detail = to_ascii(detail) if detail else None
    return MarkText(symbol, text, detail, verdict)


# --------------------------------------------------------------- line breaking

Run = tuple[str, str | None]  # text and a style name


def _break_points(text: str, minus: str) -> list[int]:
    """Indices of ' + ' and ' − ' at the shallowest bracket depth that has any."""
    depth = 0
    found: dict[int, list[int]] = {}
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == " " and i > 0 and text[i + 1:i + 3] in ("+ ", f"{minus} "):
            found.setdefault(depth, []).append(i)
    if not found:
        return []
    return found[min(found)]


def _split_long(text: str, style: str | None, room: int, minus: str) -> list[list[Run]]:
    """``text`` cut before top-level + and − so that each line fits ``room``."""
    points = _break_points(text, minus)
    if not points:
        return [[(text, style)]]
    pieces = []
    start = 0
    for point in points:
        pieces.append(text[start:point])
        start = point
    pieces.append(text[start:])
    lines: list[str] = [pieces[0]]
    for piece in pieces[1:]:
        if len(lines[-1]) + len(piece) <= room:
            lines[-1] += piece
        else:
            lines.append(piece.lstrip())
    return [[(line, style)] for line in lines]


def layout_equation(lhs: str, parts: list[str], mark: Sequence[Run], width: int,
                    minus: str = "−", condition: str | None = None) -> list[list[Run]]:
    """Lines of styled runs: lhs = part = part …, broken to fit ``width``."""
    hang = min(len(lhs) + 1, max(width // 3, 4))
    lines: list[list[Run]] = [[(lhs, "lhs")]]
    length = len(lhs)
    for index, part in enumerate(parts):
        style = "result" if index == len(parts) - 1 else None
        piece = " = " + part
        if length + len(piece) <= width:
            lines[-1] += [(" = ", "op"), (part, style)]
            length += len(piece)
            continue
        room = width - hang - 2
        if len(part) <= room or (index == 0 and length + len(piece) <= width):
            lines.append([(" " * hang, None), ("= ", "op"), (part, style)])
            length = hang + 2 + len(part)
            continue
        split = _split_long(part, style, room, minus)
        first_room = width - length - 3
        if len(split[0][0][0]) <= first_room and index == 0:
            lines[-1] += [(" = ", "op"), *split[0]]
        else:
            lines.append([(" " * hang, None), ("= ", "op"), *split[0]])
        for line in split[1:]:
            lines.append([(" " * (hang + 2), None), *line])
        length = sum(len(t) for t, _ in lines[-1])
    tail: list[Run] = [(", ", None), (condition, "condition")] if condition else []
    mark = list(mark)
    for extra in (tail, mark):
        if not extra:
            continue
        text_length = sum(len(t) for t, _ in extra)
        gap: list[Run] = [("   ", None)] if extra is mark else []
        if length + text_length + len(gap[0][0] if gap else "") <= width:
            lines[-1] += gap + extra
            length += text_length + (3 if gap else 0)
        else:
            runs = list(extra)
            if runs and runs[0][0].strip() == ",":
                lines[-1].append((",", None))
                runs = runs[1:]
            lines.append([(" " * hang, None), *runs])
            length = hang + sum(len(t) for t, _ in runs)
    return lines
