"""The JSON form of a solution: every recorded value key at full precision.

``{"file": ..., "title": ..., "values": {key: number}}`` (and ``"round": N`` in
hand-calculation mode). JSON has no NaN or
Infinity: a value that is not finite is written as null and listed under
``"not_finite"`` with the reason.
"""

from __future__ import annotations

import json
import math
from typing import Any

from backprop_cli.engine.passes import Solution
from backprop_cli.model.keys import step_of
from backprop_cli.model.keyspace import ordered_keys

# Above this many values the keys stay in the engine's order (listing the hand
# order of a large network costs more than it helps).
ORDER_LIMIT = 20_000


def in_computation_order(solution: Solution) -> dict[str, float]:
    """The recorded values in the order a hand calculation produces them."""
    recorded = solution.values
    if len(recorded) > ORDER_LIMIT or solution.problem.n_parameters > ORDER_LIMIT:
        return recorded
    # only the steps that were recorded: a long run with a few keys lists a few steps
    steps = {step for step in map(step_of, recorded) if step is not None}
    ordered = {key: recorded[key] for key in ordered_keys(solution.problem, steps)
               if key in recorded}
    if len(ordered) != len(recorded):
        ordered.update(recorded)
    return ordered


def solution_document(solution: Solution) -> dict[str, Any]:
    problem = solution.problem
    values: dict[str, float | None] = {}
    not_finite: dict[str, str] = {}
    for key, value in in_computation_order(solution).items():
        if math.isfinite(value):
            values[key] = value
        else:
            values[key] = None
            not_finite[key] = "undefined" if math.isnan(value) else "overflow"
    document: dict[str, Any] = {"file": problem.path, "title": problem.title}
    if problem.round is not None:  # hand-calculation mode: every value has these decimals
        document["round"] = problem.round
    document["values"] = values
    if not_finite:
        document["not_finite"] = not_finite
    if solution.stopped:
        document["stopped"] = solution.stopped
    return document


def dumps(document: Any) -> str:
    """The document as JSON text, never with NaN or Infinity tokens (invalid JSON)."""
    try:
        text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError:
        # a non-finite number outside "values" (those are already null): null it too,
        # rather than fail at the last moment
        text = json.dumps(finite_only(document), indent=2, ensure_ascii=False,
                          allow_nan=False)
    return text + "\n"


def finite_only(data: Any) -> Any:
    """``data`` with every non-finite float replaced by None (JSON's null)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: finite_only(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite_only(value) for value in data]
    return data
