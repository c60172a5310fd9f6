"""Entry points: run a problem recording what the worked solution shows, and render it.

A long run keeps only the step shown in full, step 1 (where the author's
values usually are), the keys the file's ``expected`` names and the final
forward pass; the loss of every step comes from :attr:`Solution.losses`. Memory
therefore stays flat in the number of steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from backprop_cli.engine import make_engine
from backprop_cli.engine.passes import Recorder, Solution
from backprop_cli.model.keys import DATA_PREFIXES, prefix_for, prefix_of, step_number
from backprop_cli.model.keyspace import parse_key
from backprop_cli.model.problem import Problem
from backprop_cli.records import record

if TYPE_CHECKING:
    from backprop_cli.render.model import Document
    from backprop_cli.render.notation import MathNotation


@record
class RenderOptions:
    fmt: str = "plain"
    digits: int = 4
    ascii_only: bool = False
    step: int = 1
    width: int = 100  # columns for plain, rich and svg
    color: bool = True  # rich only: False writes styles without colour (NO_COLOR)
    decimals: int | None = None  # fixed-point numbers with N decimals (--decimals)
    handout: bool = False  # no published values, no verdict marks (--handout)
    statement: bool = False  # the problem and what to compute only (--statement)


class StepRecorder(Recorder):
    """Keeps the data and every key of the given step prefixes ('' is step 1)."""

    def __init__(self, prefixes: set[str]) -> None:
        super().__init__(None)
        self.prefixes = prefixes

    def wants_prefix(self, prefix: str) -> bool:
        return prefix in self.prefixes or prefix in DATA_PREFIXES

    def may_want_later_steps(self) -> bool:
        return any(step_number(prefix) is not None for prefix in self.prefixes)

    def wants(self, key: str) -> bool:
        return key.startswith(DATA_PREFIXES) or prefix_of(key) in self.prefixes

    def add(self, key: str, value: float) -> None:
        if self.wants(key):
            self.values[key] = float(value)


def display_prefixes(problem: Problem, step: int) -> set[str]:
    prefixes = {prefix_for(step), prefix_for(1), "final."}
    for key in problem.expected:
        parts = parse_key(key, problem)
        if parts is not None:
            prefixes.add(parts.prefix)
    return prefixes


def solve_for_display(problem: Problem, step: int = 1) -> Solution:
    """Run the problem, keeping what the worked solution of step ``step`` shows."""
    return make_engine(problem).run(StepRecorder(display_prefixes(problem, step)))


def render_problem(problem: Problem, solution: Solution, options: RenderOptions) -> str:
    """The worked solution as text in ``options.fmt`` (formats.DOCUMENT_FORMATS)."""
    # lazy: the document model and its writers load only when a solution is rendered,
    # never on `check`'s path, which imports this module through the network kind
    from backprop_cli.render.document import BuildOptions, build_document
    from backprop_cli.render.handout import handout_document, statement_document
    from backprop_cli.render.notation import make_notation

    build = BuildOptions(options.digits, options.step)
    if options.statement:
        doc = statement_document(problem, solution, build)
    elif options.handout:
        doc = handout_document(problem, solution, build)
    else:
        doc = build_document(problem, solution, build)
    decimals = options.decimals

    def notation(style: str) -> MathNotation:
        return make_notation(style, problem, options.digits, decimals=decimals)

    return write_document(doc, notation, options, hand=problem.round is not None)


def write_document(doc: Document, notation: Callable[[str], MathNotation],
                   options: RenderOptions, hand: bool = False) -> str:
    """A worked-solution document in ``options.fmt``: its numbers settled (``--decimals``,
    or significant digits whose shown sums add up; ``hand``: hand-calculation mode shows
    the rounded arithmetic itself), then written with ``notation(style)`` ('unicode',
    'ascii' or 'latex') by the format's writer."""
    # lazy: the writers and the arithmetic load only when a solution is rendered
    from backprop_cli.render.arithmetic import (
        positional_columns,
        settle_decimals,
        settle_digits,
    )

    if options.decimals is not None:
        settle_decimals(doc, options.decimals)
    elif not hand:
        settle_digits(doc, options.digits)
        positional_columns(doc, options.digits)
    fmt = options.fmt
    if fmt == "markdown":
        # lazy: one writer per run
        from backprop_cli.render.markdown import write_markdown

        return write_markdown(doc, notation("latex"), notation("unicode"))
    if fmt == "latex":
        # lazy: one writer per run
        from backprop_cli.render.latex import write_latex

        return write_latex(doc, notation("latex"))
    if fmt == "html":
        # lazy: one writer per run
        from backprop_cli.render.html import write_html

        return write_html(doc, notation("latex"), notation("unicode"))
    style = "ascii" if options.ascii_only else "unicode"
    if fmt == "plain":
        # lazy: one writer per run
        from backprop_cli.render.plain import write_plain

        return write_plain(doc, notation(style), options.width, options.ascii_only)
    # lazy: rich, for the terminal formats only
    from backprop_cli.render.terminal import export

    return export(doc, notation(style), fmt, options.width, options.ascii_only, options.color)
