"""Parameters as coordinates: read and set them by name, the loss and its gradient at a point.

`gradcheck`, `probe` and `surface` look at the loss as a function of the
parameters, L(w1, w2, ...), over every sample at once. They use the engine's
forward and backward passes on a fresh :class:`~backprop_cli.engine.passes.Engine`,
moving parameters in place through its weight and bias arrays (a shared
parameter moves at all its uses, as it is one parameter).

The loss here is the exact, full-batch loss: :func:`exact` drops
hand-calculation rounding (a finite difference of 10⁻⁶ would vanish in a value
rounded to 4 decimals) and mini-batches (whose steps see part of the data).
"""

from __future__ import annotations

import math

import numpy as np

from backprop_cli import records
from backprop_cli.engine.passes import Engine, Pass
from backprop_cli.errors import NumericError, suggest
from backprop_cli.model.problem import Problem


def exact(problem: Problem) -> Problem:
    """The problem without rounding and mini-batches (the same network, data and start)."""
    changes: dict[str, object] = {}
    if getattr(problem, "round", None) is not None:
        changes["round"] = None
    if getattr(problem, "batch_size", None) is not None:
        changes["batch_size"] = None
    return records.replace(problem, **changes) if changes else problem


def unknown_parameter(name: str, problem: Problem) -> str:
    """A message for a name that is no parameter of the problem."""
    return no_parameter(name, list(problem.parameters))


def no_parameter(name: str, names: list[str]) -> str:
    """A message for a name that is none of ``names`` (a network's parameters), with a
    suggestion for a typo."""
    listed = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
    return f"no parameter '{name}'{suggest(name, names)} (parameters: {listed})"


class Point:
    """An engine whose parameters are moved by name; the loss and gradients where they are."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.engine = Engine(problem)

    def get(self, name: str) -> float:
        use = self.problem.parameters[name].uses[0]
        if use.is_bias:
            bias = self.engine.biases[use.layer]
            assert bias is not None
            return float(bias[use.row])
        return float(self.engine.weights[use.layer][use.row, use.col])

    def set(self, name: str, value: float) -> None:
        for use in self.problem.parameters[name].uses:
            if use.is_bias:
                bias = self.engine.biases[use.layer]
                assert bias is not None
                bias[use.row] = value
            else:
                self.engine.weights[use.layer][use.row, use.col] = value

    def forward(self) -> Pass:
        """The forward pass where the parameters are; an overflow is ±inf or NaN, not a warning
        (a probe far from the start may overflow; the callers decide what that means)."""
        with np.errstate(all="ignore"):
            return self.engine.forward()

    def loss(self) -> float:
        return float(self.forward().loss)

    def gradients(self) -> tuple[float, dict[str, float]]:
        """The loss and ∂L/∂p of every parameter (a shared one: the sum over its uses).

        Raises NumericError when the loss is not finite: there is no gradient to look at.
        """
        with np.errstate(all="ignore"):
            p = self.engine.forward()
            if not math.isfinite(p.loss):
                raise NumericError("the loss at the starting parameters is not a finite number "
                                   "(overflow, or the log of 0), so neither are its gradients")
            self.engine.backward(p)
        grads: dict[str, float] = {}
        for name, param in self.problem.parameters.items():
            use = param.uses[0]  # the backward pass gives every use the summed gradient
            if use.is_bias:
                gb = p.grad_b[use.layer]
                assert gb is not None
                grads[name] = float(gb[use.row])
            else:
                grads[name] = float(p.grad_w[use.layer][use.row, use.col])
        return float(p.loss), grads
