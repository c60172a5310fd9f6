"""The engine stage: forward pass, backward pass and update, vectorised in float64.

``make_engine(problem)`` is the one way to get an engine for a problem: the exact
:class:`~backprop_cli.engine.passes.Engine`, or in hand-calculation mode (``round: N``)
the :class:`~backprop_cli.engine.handcalc.RoundingEngine` that rounds every value it
produces. :func:`solve` runs one and records the value keys asked for.
"""

from __future__ import annotations

from collections.abc import Iterable

from backprop_cli.engine.handcalc import RoundingEngine
from backprop_cli.engine.passes import Engine, Pass, Recorder, Solution
from backprop_cli.model.problem import Problem

__all__ = ["Engine", "Pass", "Recorder", "RoundingEngine", "Solution",
           "make_engine", "solve"]


def make_engine(problem: Problem) -> Engine:
    """The engine for ``problem``: rounding to ``problem.round`` decimals when it is set."""
    return RoundingEngine(problem) if problem.round is not None else Engine(problem)


def solve(problem: Problem, patterns: Iterable[str] | None = None,
          steps: int | None = None) -> Solution:
    """Run a problem and record the keys matching ``patterns`` (all by default)."""
    return make_engine(problem).run(Recorder(patterns), steps=steps)
