"""The JSON form of a solution: every recorded value key at full precision.

``{"file": ..., "title": ..., "values": {key: number}}``. JSON has no NaN or
Infinity: a value that is not finite is written as null and listed under
``"not_finite"`` with the reason.
"""

from __future__ import annotations

import json
import math
from typing import Any

from backprop_cli.engine import Solution
from backprop_cli.keys import ordered_keys

# Above this many values the keys stay in the engine's order (listing the hand
# order of a large network costs more than it helps).
ORDER_LIMIT = 20_000


def in_computation_order(solution: Solution) -> dict[str, float]:
    """The recorded values in the order a hand calculation produces them."""
    recorded = solution.values
    if len(recorded) > ORDER_LIMIT or solution.problem.n_parameters > ORDER_LIMIT:
        return recorded
    ordered = {key: recorded[key] for key in ordered_keys(solution.problem) if key in recorded}
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
    document: dict[str, Any] = {"file": problem.path, "title": problem.title, "values": values}
    if not_finite:
        document["not_finite"] = not_finite
    if solution.stopped:
        document["stopped"] = solution.stopped
    return document


def dumps(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
