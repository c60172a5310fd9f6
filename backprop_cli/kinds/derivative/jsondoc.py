"""The JSON form of a worked derivative exercise: every value key and formula."""

from __future__ import annotations

import math
from typing import Any

from backprop_cli import calculus as calc
from backprop_cli.kinds.derivative.model import DerivativeProblem, shadow_notes
from backprop_cli.kinds.derivative.working import Worked


def json_document(worked: Worked, path: str | None = None) -> dict[str, Any]:
    """The JSON form: the exercise, the formulas and every value key (no NaN, no ∞)."""
    exercise = worked.derivation
    values: dict[str, float | None] = {}
    not_finite: dict[str, str] = {}
    for key, value in worked.values.items():
        if math.isfinite(value):
            values[key] = value
        else:
            values[key] = None
            not_finite[key] = "undefined" if math.isnan(value) else "overflow"
    doc: dict[str, Any] = {}
    if path is not None:
        doc["file"] = path
    doc.update({
        "kind": DerivativeProblem.kind,
        "title": exercise.title,
        "function": calc.to_ascii(worked.function),
        "name": exercise.name,
        "variables": exercise.variables,
        "chain": {name: calc.to_ascii(calc.simplify(d.expr))
                  for name, d in exercise.chain.items()},
        "at": exercise.at,
        "step": exercise.step,
        "formulas": worked.formulas,
        "values": values,
    })
    if not_finite:
        doc["not_finite"] = not_finite
    if exercise.shadowed:  # e or pi written in the formulas above are variables
        doc["notes"] = shadow_notes(exercise)
    return doc
