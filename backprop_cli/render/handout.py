"""Documents for students: the handout (a worked solution without the author's values)
and the statement (the problem sheet only: network, data, what to compute).

Both are built by the same :class:`~backprop_cli.render.document.Builder` as the
worked solution, so every writer prints them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from backprop_cli.engine.passes import Solution
from backprop_cli.model.keyspace import parse_key
from backprop_cli.model.problem import Problem
from backprop_cli.model.questions import is_given, match_patterns
from backprop_cli.render.document import Builder, BuildOptions
from backprop_cli.render.model import (
    Cell,
    Column,
    Document,
    Fields,
    Inline,
    Para,
    Section,
    Sym,
    Table,
)

_IN_FULL = re.compile(r" \(step \d+ in full\)")


def handout_document(problem: Problem, solution: Solution, options: BuildOptions) -> Document:
    """The worked solution without published values, verdict marks or their section."""
    builder = Builder(problem, solution, options)
    builder.judged = {}
    return builder.build()


def statement_document(problem: Problem, solution: Solution, options: BuildOptions) -> Document:
    """The problem section, then what to compute: the file's expected keys, then its quiz
    keys (the data and starting parameters excepted), or the whole pass."""
    asked = list(problem.expected)
    if problem.quiz:
        asked += [key for key in match_patterns(problem, problem.quiz)[0] if key not in asked]
    builder = Builder(problem, solution, options)
    builder.judged = {}
    doc = Document(problem.title, problem.description)
    problem_section = builder.problem_section(1)
    for block in problem_section.blocks:  # '(step 1 in full)' is about the worked solution
        if isinstance(block, Fields):
            block.rows = [(label, [_without_in_full(part) for part in value])
                          for label, value in block.rows]
    doc.sections.append(problem_section)
    task = builder.section("2. What to compute", context=1)
    keys = [key for key in asked if (parts := parse_key(key, problem)) is not None
            and not is_given(parts)]
    add_questions(task, keys, problem.steps)
    doc.sections.append(task)
    return doc


def add_questions(task: Section, keys: Sequence[str], steps: int) -> None:
    """What to compute: a table of ``keys`` (symbol, key, a column for the answer), or the
    whole pass when none is asked (the update too when the problem runs ``steps``)."""
    if not keys:
        what = ("the forward pass, the loss and the backward pass (every gradient)"
                if steps == 0 else
                "the forward pass, the loss, the backward pass (every gradient), the update "
                "of every parameter and the loss after it")
        task.add(Para([f"Work out {what}."]))
    else:
        rows: list[Sequence[Cell]] = [[[Sym(key)], [key], []] for key in keys]
        task.add(Para([f"Work out these {len(keys)} value{'s' * (len(keys) != 1)}; "
                       "the key names each for backprop check and backprop quiz."]))
        task.add(Table([Column(["value"]), Column(["key"]), Column(["your answer"])], rows))


def _without_in_full(part: Inline) -> Inline:
    return _IN_FULL.sub("", part) if isinstance(part, str) else part
