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


def solution_document(solution: Solution) -> dict[str, Any]:
    problem = solution.problem
    values: dict[str, float | None] = {}
    not_finite: dict[str, str] = {}
    for key, value in solution.values.items():
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
