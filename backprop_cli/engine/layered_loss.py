"""A layered network's loss as a function of its parameters, and its gradient.

`gradcheck`, `probe` and `surface` look at the loss of a
:class:`~backprop_cli.model.layered.LayeredProblem` as a function L(p) of its parameter
elements, named by their keys (``K[1,1,2,2]``, ``c[1]``, an rnn's ``w``, ``W5[1,4]``):
the batch loss over every sample with the problem's reduction, at the file's starting
parameters until one is moved (:meth:`LayeredLoss.set`), through
:mod:`backprop_cli.engine.layered`'s own forward and backward passes.

Moving a parameter changes nothing before its layer, so :meth:`LayeredLoss.forward`
starts at the first layer moved since the last pass, from that layer's input as the last
pass left it: a finite difference of the benchmark network's dense weights runs the dense
layer and the loss, not the convolution again (the numbers are the same bit for bit: the
same operations on the same operands).

:meth:`LayeredLoss.descend` runs the file's own training (optimizer, learning rate, weight
decay, frozen elements) and keeps where chosen parameters go, for `surface`'s path.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from backprop_cli import records
from backprop_cli.engine.layered import (
    FlatUpdater,
    Pass,
    backward_pass,
    engine_layers,
    forward_pass,
)
from backprop_cli.engine.layers import Activate, LayerType, Pool, Rnn
from backprop_cli.engine.layers.base import Array
from backprop_cli.errors import NumericError
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.records import record

# why a difference quotient across p − h … p + h is no slope (gradcheck's kinks)
ACTIVATION_KINK = "activation"  # a ReLU-like unit's input changes sign
POOLING_KINK = "pooling"  # a max-pooling window's winner changes


@record(frozen=True, eq=False)
class Forward:
    """A forward pass from layer ``start`` of the file on (its input as the last pass left
    it): ``run.outs[k]`` and ``run.caches[k]`` are layer ``start + k``'s."""

    run: Pass
    start: int

    @property
    def loss(self) -> float:
        return self.run.loss


@record(frozen=True, eq=False)
class Descent:
    """Gradient descent from the file's start: ``path[k]`` the watched parameters after
    k updates, ``losses[k]`` the loss there (the last entry: the final loss)."""

    path: Array  # (steps + 1, watched)
    losses: Array  # (steps + 1,)
    final: dict[str, float]  # every parameter element after the last update


class LayeredLoss:
    """The batch loss and its gradient where the parameters are, moved by element key."""

    def __init__(self, problem: LayeredProblem) -> None:
        # the loss and its gradient are exact, over every sample: a difference of 10⁻⁶
        # would vanish in values rounded to a few decimals (as engine/paramspace.exact);
        # the descent follows the file's training, its batches and its rounding
        self.training = problem
        if problem.round is not None:
            problem = records.replace(problem, round=None)
        self.problem = problem
        self.stacks = [engine_layers(spec, problem) for spec in problem.layers]
        self.params = [{p.role: np.array(p.values, dtype=np.float64) for p in spec.params}
                       for spec in problem.layers]
        # element key -> (layer, role, row-major position), in problem.parameters() order
        self._places: dict[str, tuple[int, str, int]] = {
            key: (li, param.role, i)
            for li, spec in enumerate(problem.layers) for param in spec.params
            for i, key in enumerate(param.element_keys())}
        # the input of each layer at the current parameters, up to layer self._valid
        self._inputs: list[Array] = [problem.inputs] * len(problem.layers)
        self._valid = 0
        self._tails: dict[int, LayeredProblem] = {0: problem}

    @property
    def names(self) -> list[str]:
        """Every parameter element's key, in the order of the file."""
        return list(self._places)

    def layer_of(self, name: str) -> int:
        """The file's layer (0-based) that holds parameter ``name``."""
        return self._places[name][0]

    def get(self, name: str) -> float:
        li, role, i = self._places[name]
        return float(self.params[li][role].flat[i])

    def set(self, name: str, value: float) -> None:
        li, role, i = self._places[name]
        self.params[li][role].flat[i] = value
        self._valid = min(self._valid, li)

    def forward(self) -> Forward:
        """The loss where the parameters are, from the first layer moved since the last
        pass; an overflow is ±inf or NaN, not an error (the callers decide)."""
        start = self._valid
        tail = self._tails.get(start)
        if tail is None:  # the same problem from layer `start` on, its input that layer's
            tail = self._tails[start] = records.replace(
                self.problem, layers=self.problem.layers[start:])
        tail.inputs = self._inputs[start]  # (start 0: the problem's own, unchanged)
        run = forward_pass(tail, self.stacks[start:], self.params[start:], None)
        for k, outs in enumerate(run.outs[:-1]):
            self._inputs[start + k + 1] = outs[-1]
        self._valid = len(self.problem.layers) - 1
        return Forward(run, start)

    def loss(self) -> float:
        return self.forward().loss

    def gradients(self) -> tuple[float, dict[str, float]]:
        """The loss and ∂L/∂p of every parameter element by backpropagation (the problem's
        reduction: the mean or the sum of the samples' gradients).

        Raises NumericError when the loss is not finite: there is no gradient to look at.
        """
        loss, grads = self.gradient_arrays()
        return loss, dict(zip(self._places, self._flat(grads), strict=True))

    def gradient_arrays(self) -> tuple[float, list[dict[str, Array]]]:
        """The loss and the gradient of each layer's parameters (layer -> role -> array)."""
        self._valid = 0
        run = self.forward().run
        if not np.isfinite(run.loss):
            raise NumericError("the loss at the starting parameters is not a finite number "
                               "(overflow, or the log of 0), so neither are its gradients")
        backward_pass(self.problem, self.stacks, run)
        return run.loss, run.grads

    def _flat(self, arrays: list[dict[str, Array]]) -> list[float]:
        """Every element of a value per parameter (layer -> role -> array), in the order of
        :attr:`names`."""
        parts = [arrays[li][param.role].ravel()
                 for li, spec in enumerate(self.problem.layers) for param in spec.params]
        return np.concatenate(parts).tolist() if parts else []

    def kinks_between(self, plus: Forward, minus: Forward) -> list[str]:
        """What is not differentiable between two passes that moved one parameter:
        :data:`ACTIVATION_KINK` when a ReLU-like unit's input changes
        sign, :data:`POOLING_KINK` when a max-pooling window's winner changes (the layers
        before the moved one did not change)."""
        found: list[str] = []
        # one pass may have started earlier (it also redid the layers a parameter moved
        # back had changed): the layers from the later start on are compared
        start = max(plus.start, minus.start)
        for stack, caches_plus, caches_minus in zip(
                self.stacks[start:], plus.run.caches[start - plus.start:],
                minus.run.caches[start - minus.start:], strict=True):
            for layer, cache_plus, cache_minus in zip(stack, caches_plus, caches_minus,
                                                      strict=True):
                kind = _kink(layer, cache_plus, cache_minus)
                if kind is not None and kind not in found:
                    found.append(kind)
        return found

    def descend(self, steps: int, watch: Sequence[str],
                moving: Collection[str] | None = None) -> Descent:
        """``steps`` updates of the file's training from where the parameters are,
        recording the ``watch`` parameters after each; ``moving``: only those elements
        are updated (the others as if frozen), None: every one the file does not freeze.
        NumericError when the numbers overflow."""
        problem, stacks = self.training, self.stacks
        updater = FlatUpdater(problem)
        if moving is not None:
            chosen = np.array([name in moving for name in self._places], dtype=bool)
            live = updater.updater.live
            updater.updater.live = chosen if live is None else chosen & live
        places = [self._places[name] for name in watch]
        path = np.empty((steps + 1, len(watch)))
        losses = np.empty(steps + 1)
        params = [{role: values.copy() for role, values in p.items()} for p in self.params]

        def read(row: int) -> None:
            for column, (li, role, i) in enumerate(places):
                path[row, column] = params[li][role].flat[i]

        read(0)
        for step in range(1, steps + 1):
            run = forward_pass(problem, stacks, params, step)
            backward_pass(problem, stacks, run)
            losses[step - 1] = run.loss
            params = updater.step(run.params, run.grads)
            if not all(np.isfinite(v).all() for p in params for v in p.values()):
                raise NumericError(f"the numbers overflow at step {step}")
            read(step)
        losses[steps] = forward_pass(problem, stacks, params, None).loss
        if not np.isfinite(losses).all():
            raise NumericError("the loss overflows on the way")
        return Descent(path, losses, dict(zip(self._places, self._flat(params), strict=True)))


def _kink(layer: LayerType[Any], plus: Any, minus: Any) -> str | None:
    """The kink one engine layer crosses between two of its caches, or None."""
    if isinstance(layer, (Activate, Rnn)) and layer.activation.kinked:
        return ACTIVATION_KINK if np.any((plus.z > 0) != (minus.z > 0)) else None
    if isinstance(layer, Pool) and plus.argmax is not None:
        return POOLING_KINK if np.any(plus.argmax != minus.argmax) else None
    return None


__all__ = ["ACTIVATION_KINK", "POOLING_KINK", "Descent", "Forward", "LayeredLoss"]
