"""The renderer-neutral worked solution: sections, equations, tables, notes.

Every piece of mathematics is kept as value keys and :class:`~backprop_cli.expr.Expr`
trees, never as text, so that each writer (plain, rich, Markdown) typesets it
in its own notation. Inline text is a list of :data:`Inline` parts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from backprop_cli.expr import Expr
from backprop_cli.records import field, record

FINAL = 0  # the context of the forward pass after the last update


@record(frozen=True)
class Sym:
    """The symbol of a value key (z_h1, δ_o, ∂L/∂w1)."""

    key: str


@record(frozen=True)
class Num:
    """A number; ``digits`` overrides the document's significant digits; ``positional``
    writes it without an exponent (a table column whose other numbers have none)."""

    value: float
    digits: int | None = None
    positional: bool = False


@record(frozen=True)
class Math:
    """A formula inline, with symbols, or with ``values`` substituted."""

    expr: Expr
    values: Mapping[str, float] | None = None
    generic: bool = False  # symbols without sample marks (the loss 'per sample')


@record(frozen=True)
class Word:
    """A notation-dependent word: 'rate' (η), 'grad' (∂L/∂p), 'step' (η·∂L/∂p), ..."""

    kind: str
    arg: str = ""


@record(frozen=True)
class Judgement:
    """The author's published value of a key and, when known, its verdict."""

    key: str
    text: str  # as written
    verdict: str | None  # correct | consistent | wrong | imprecise | erratum | None
    erratum_text: str | None = None
    note: str | None = None
    recomputed: float | None = None
    reason: str | None = None
    diagnosis: str | None = None  # the slip that reproduces a wrong value, with its arithmetic


@record(frozen=True)
class VerdictMark:
    """A judgement shown inline; compact in a table cell (✗ 0.0461 → 0.04552)."""

    judgement: Judgement
    compact: bool = False


Inline = str | Sym | Num | Math | Word | VerdictMark


@record
class Condition:
    """Why a piecewise formula took its branch: ``test`` > 0 or not."""

    test: Expr
    positive: bool


@record
class Equation:
    """``lhs = steps[0] = steps[0](values) = steps[1](values) … = result``."""

    key: str | None  # the value key on the left; None when ``lhs`` is given
    steps: list[Expr]  # the formula, then the same with innermost results worked out
    values: Mapping[str, float]
    result: float
    lhs: Sequence[Inline] | None = None
    condition: Condition | None = None
    judgement: Judgement | None = None
    rate_symbol: bool = False  # the learning rate written η in the symbolic form
    digits: int | None = None  # for the result, when the document's digits hide a change
    context: int | None = None  # overrides the section's step context
    decimals: int | None = None  # fixed decimals for this equation (--decimals: sums add up)


@record
class Para:
    parts: Sequence[Inline]
    kind: str = "text"  # text | note | description | warning


@record
class Column:
    header: Sequence[Inline]
    align: str = "left"  # left | right


Cell = Sequence[Inline]


@record
class Table:
    columns: list[Column]
    rows: Sequence[Sequence[Cell]]
    title: Sequence[Inline] | None = None
    footer: Sequence[Inline] | None = None  # a note below the table


@record
class Fields:
    """Label: value lines (the problem's data)."""

    rows: Sequence[tuple[str, Sequence[Inline]]]


@record
class Sparkline:
    values: list[float]
    label: str = ""


@record
class Section:
    title: Sequence[Inline]
    level: int  # 1: numbered phases, 2: layers and samples, 3: below
    blocks: list[object] = field(default_factory=list)
    context: int = 1  # which step's values the section shows (FINAL after the last update)

    def add(self, block: object) -> object:
        self.blocks.append(block)
        return block


@record
class Document:
    title: str
    description: str | None
    sections: list[Section] = field(default_factory=list)


class SectionBuilder:
    """What every worked-solution builder shares (a dense network's in render/document.py,
    a layered network's in kinds/layered_text.py): the step shown in full, which is each
    section's context, the published values' judgements, and which of them were shown."""

    def __init__(self, step: int, judged: Mapping[str, Judgement]) -> None:
        self.step = step
        self.judged = judged
        self.shown: set[str] = set()

    def section(self, title: str | list[Inline], level: int = 1,
                context: int | None = None) -> Section:
        parts: list[Inline] = [title] if isinstance(title, str) else title
        return Section(parts, level, context=self.step if context is None else context)

    def judge(self, key: str) -> Judgement | None:
        """The judgement of ``key``'s published value (None: not published); shown now."""
        judgement = self.judged.get(key)
        if judgement is not None:
            self.shown.add(key)
        return judgement
