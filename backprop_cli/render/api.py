"""Entry points: run a problem recording what the worked solution shows, and render it.

A long run keeps only the step shown in full, step 1 (where the author's
values usually are), the keys the file's ``expected`` names and the final
forward pass; the loss of every step comes from :attr:`Solution.losses`. Memory
therefore stays flat in the number of steps.
"""

from __future__ import annotations

import re

from backprop_cli.engine import make_engine
from backprop_cli.engine.passes import Recorder, Solution
from backprop_cli.model.keys import parse_key, prefix_for
from backprop_cli.model.problem import Problem
from backprop_cli.records import record

_STEP_PREFIX = re.compile(r"^(step\d+\.|final\.)")


@record
class RenderOptions:
    fmt: str = "plain"
    digits: int = 4
    ascii_only: bool = False
    step: int = 1
    width: int = 100  # columns for plain, rich, html and svg
    color: bool = True  # rich only: False writes styles without colour (NO_COLOR)


class StepRecorder(Recorder):
    """Keeps the data and every key of the given step prefixes ('' is step 1)."""

    def __init__(self, prefixes: set[str]) -> None:
        super().__init__(None)
        self.prefixes = prefixes

    def wants_prefix(self, prefix: str) -> bool:
        return prefix in self.prefixes or prefix in ("input.", "target.")

    def may_want_later_steps(self) -> bool:
        return any(prefix.startswith("step") for prefix in self.prefixes)

    def wants(self, key: str) -> bool:
        if key.startswith(("input.", "target.")):
            return True
        match = _STEP_PREFIX.match(key)
        return (match.group(1) if match else "") in self.prefixes

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
    from backprop_cli.render.notation import make_notation

    doc = build_document(problem, solution, BuildOptions(options.digits, options.step))
    fmt = options.fmt
    if fmt == "markdown":
        # lazy: one writer per run
        from backprop_cli.render.markdown import write_markdown

        return write_markdown(doc, make_notation("latex", problem, options.digits),
                              make_notation("unicode", problem, options.digits))
    style = "ascii" if options.ascii_only else "unicode"
    notation = make_notation(style, problem, options.digits)
    if fmt == "plain":
        # lazy: one writer per run
        from backprop_cli.render.plain import write_plain

        return write_plain(doc, notation, options.width, options.ascii_only)
    # lazy: rich, for the terminal formats only
    from backprop_cli.render.terminal import export

    return export(doc, notation, fmt, options.width, options.ascii_only, options.color)
