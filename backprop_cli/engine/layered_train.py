"""A long training run of a layered network (issue 19): many steps, no value recorded.

:func:`backprop_cli.engine.layered.solve_layered` records every value key of every step
for the worked solution; a run of thousands of steps on a convolution over 64 images
cannot keep that. :func:`train_layered` runs the same passes (``forward_pass``, ``backward_pass``
without the input's gradient and the samples' own gradients, ``FlatUpdater``) and keeps
the loss of each step in one array (8 bytes a step) and the last pass: memory is flat in
the number of steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from backprop_cli.engine.layered import (
    FlatUpdater,
    Pass,
    backward_pass,
    engine_layers,
    forward_pass,
)
from backprop_cli.engine.layers.base import Array
from backprop_cli.errors import NumericError
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.records import record


@record(eq=False)
class LayeredRun:
    """What a training run of a layered network reached."""

    losses: Array  # losses[k]: the loss after k updates, k = 0 .. steps_run
    steps_run: int
    final: Pass  # the forward pass on the parameters reached (final.*)
    stopped: str | None = None  # why the run ended before its steps, in words
    interrupted: bool = False  # on_step raised KeyboardInterrupt (after a whole update)


def train_layered(problem: LayeredProblem, steps: int | None = None,
                  until_loss: float | None = None,
                  on_step: Callable[[int, float], None] | None = None) -> LayeredRun:
    """Run ``steps`` updates (default: the problem's), or until the loss before an update
    is at most ``until_loss`` (that update is not made), then one forward pass.

    ``on_step(step, loss)`` is called after update ``step`` with the loss before it; a
    KeyboardInterrupt it raises ends the run with the parameters after that update
    (``interrupted``). NumericError when a loss is not finite.
    """
    steps = problem.steps if steps is None else steps
    stacks = [engine_layers(spec, problem) for spec in problem.layers]
    params = [{p.role: p.values.copy() for p in spec.params} for spec in problem.layers]
    updater = FlatUpdater(problem)
    losses = np.empty(steps + 1)
    stopped = None
    interrupted = False
    done = 0
    for step in range(1, steps + 1):
        run = forward_pass(problem, stacks, params, step)
        _finite(run.loss, step)
        losses[step - 1] = run.loss
        if until_loss is not None and run.loss <= until_loss:
            stopped = f"loss {run.loss:.6g} reached {until_loss:g} after {done} updates"
            break
        backward_pass(problem, stacks, run, worked=False)
        params = updater.step(run.params, run.grads)
        done = step
        if on_step is not None:
            try:
                on_step(step, run.loss)
            except KeyboardInterrupt:
                interrupted = True
                stopped = f"interrupted after {done} of {steps} steps"
                break
    final = forward_pass(problem, stacks, params, None)
    _finite(final.loss, None)
    losses[done] = final.loss
    return LayeredRun(losses[:done + 1], done, final, stopped, interrupted)


def _finite(loss: float, step: int | None) -> None:
    if not math.isfinite(loss):
        where = "after the last update" if step is None else f"before update {step}"
        raise NumericError(f"the loss {where} is {loss}: the run is diverging (the numbers "
                           "overflow); try a smaller learning rate")


__all__ = ["LayeredRun", "train_layered"]
