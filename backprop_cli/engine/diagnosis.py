"""Words for a computation that stopped being finite: what overflowed, where, and why.

The engine checks one number per step, the loss. Only when it is not finite does
it call :func:`numeric_error`, which looks at the parameters and at the pass that
produced the loss to say which value went wrong first, at which step, and the
likely cause (a learning rate too large, numbers too large in the file, the log
of 0), instead of letting NaN reach the output.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from backprop_cli.errors import NumericError
from backprop_cli.model.keys import KeyKind, compose
from backprop_cli.model.losses import Loss
from backprop_cli.model.problem import Problem

Array = NDArray[np.float64]


class Engine(Protocol):
    """What a diagnosis reads of the engine that stopped (the engine implements it; this
    module does not import the engine, which calls it)."""

    @property
    def problem(self) -> Problem: ...
    @property
    def lr(self) -> float: ...
    @property
    def loss(self) -> Loss: ...
    @property
    def y(self) -> Array: ...
    @property
    def sample_offset(self) -> int: ...  # with mini-batches the pass holds rows offset..
    @property
    def weights(self) -> list[Array]: ...
    @property
    def biases(self) -> list[Array | None]: ...


class Pass(Protocol):
    """What a diagnosis reads of the forward pass whose loss is not finite."""

    @property
    def z(self) -> list[Array]: ...
    @property
    def a(self) -> list[Array]: ...
    @property
    def sample_losses(self) -> Array: ...

BEYOND = "beyond ±1.8e308, the largest float64"


def _what(value: float) -> str:
    if math.isnan(value):
        return "became undefined (NaN: ∞ − ∞ or 0·∞ after an overflow)"
    return f"overflowed ({BEYOND})"


def numeric_error(engine: Engine, step: int, final: bool, p: Pass | None) -> NumericError:
    """The error for a loss that is not finite at ``step`` (1-based).

    ``final``: the loss of the forward pass after the last update (``step`` is then
    the number of updates run, plus one).
    """
    when = f"after the last update (step {step - 1})" if final and step > 1 else (
        f"at step {step}")
    lr = f"the learning rate {engine.lr:g} is too large for this problem; try a smaller one"
    param = _first_bad_parameter(engine)
    if param is not None:
        name, value = param
        updated = step - 1
        if updated < 1:
            return NumericError(f"parameter {name} is not a finite number at step {step}", step)
        became = ("undefined (NaN: ∞ − ∞ or 0·∞ after an overflow)" if math.isnan(value)
                  else f"overflow ({BEYOND})")
        return NumericError(f"gradient descent diverged at step {updated}: its update made "
                            f"{name} {became}; {lr}", updated)
    if p is None:
        return NumericError(f"the loss {when} is not a finite number", step)
    cause = (f"gradient descent is diverging ({lr})" if step > 1 or final
             else "the numbers in the file are too large to compute with")
    forward = _first_bad_forward(engine, p)
    if forward is not None:
        key, value = forward
        return NumericError(f"{when}, {key} {_what(value)}: {cause}", step)
    detail, overflow = _loss_detail(engine, p)
    return NumericError(f"{when}, the loss {detail}" + (f"; {cause}" if overflow else ""), step)


def _first_bad_parameter(engine: Engine) -> tuple[str, float] | None:
    problem = engine.problem
    bad = [not np.isfinite(w).all() for w in engine.weights]
    bad_b = [b is not None and not np.isfinite(b).all() for b in engine.biases]
    if not any(bad) and not any(bad_b):
        return None
    for name, param in problem.parameters.items():
        for use in param.uses:
            if use.is_bias:
                bias = engine.biases[use.layer]
                value = float(bias[use.row]) if bias is not None else 0.0
            else:
                value = float(engine.weights[use.layer][use.row, use.col])
            if not math.isfinite(value):
                return name, value
    return None


def _suffix(engine: Engine, k: int) -> str:
    return engine.problem.sample_suffix(k + engine.sample_offset)


def _first_bad_forward(engine: Engine, p: Pass) -> tuple[str, float] | None:
    for li, layer in enumerate(engine.problem.layers):
        kinds: tuple[KeyKind, ...] = ("z", "a")
        for kind, values in zip(kinds, (p.z[li], p.a[li]), strict=True):
            bad = np.argwhere(~np.isfinite(values))
            if bad.size:
                k, j = (int(i) for i in bad[0])
                return (compose("", kind, layer.units[j], _suffix(engine, k)),
                        float(values[k, j]))
    return None


def _loss_detail(engine: Engine, p: Pass) -> tuple[str, bool]:
    """Why the loss is not finite when every z and a is; and whether it overflowed
    (rather than taking the log of 0)."""
    losses = p.sample_losses
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size == 0:
        return (f"overflowed: its {engine.problem.reduction} over the samples is "
                f"{BEYOND}"), True
    k = int(bad[0])
    name = engine.loss.name
    outputs = engine.problem.output_names
    a = p.a[-1][k]
    y = engine.y[k]
    suffix = _suffix(engine, k)
    logs_of = engine.loss.spec.logs_of
    if logs_of:
        for j, unit in enumerate(outputs):
            outside = a[j] <= 0 or ("1-a" in logs_of and a[j] >= 1)
            if outside and y[j] != (1.0 if a[j] >= 1 else 0.0):
                return (f"is {'undefined' if a[j] < 0 or a[j] > 1 else 'infinite'}: {name} "
                        f"takes the log of {compose('', 'a', unit, suffix)} = {a[j]:.6g} "
                        f"(target {y[j]:g}), "
                        "and the log needs outputs in (0, 1)"), False
    j = int(np.argmax(np.abs(y - a)))
    output = compose("", "a", outputs[j], suffix)
    return (f"{_what(float(losses[k]))}: output {output} = {a[j]:.6g}, "
            f"target {y[j]:g}"), True
