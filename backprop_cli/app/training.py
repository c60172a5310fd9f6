"""Training runs: many steps of gradient descent, the loss of each, the state reached.

:func:`train` runs :meth:`Engine.run <backprop_cli.engine.passes.Engine.run>` recording
only the final values (``final.*``) and keeping the loss of every step in one
array, so memory does not grow with the number of steps beyond 8 bytes a step.

A run can be stopped from the ``on_step`` callback by raising
:class:`KeyboardInterrupt` (that is how a Ctrl-C arrives, see
:class:`StopOnInterrupt`): the callback runs after an update is complete, so
the result is the consistent state after that many updates, marked
``interrupted``.

Loss keys follow the value keys: the loss *before* update k is ``step<k>.loss``
(``loss`` for k = 1) and the loss after the last update is ``final.loss``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backprop_cli.engine import make_engine
from backprop_cli.engine.passes import Recorder
from backprop_cli.model.keys import FINAL_PREFIX, compose, value_key
from backprop_cli.model.problem import Problem
from backprop_cli.numfmt import format_number
from backprop_cli.render.jsonout import finite_only
from backprop_cli.render.textplot import Scale, loss_chart

FINAL_LOSS = value_key("loss", step=None)

Array = NDArray[np.float64]


@dataclass
class TrainingResult:
    """What a training run reached."""

    problem: Problem
    losses: Array  # losses[k]: the loss after k updates, k = 0 .. steps_run
    steps_run: int
    steps: int  # the number of updates asked for
    final: dict[str, float]  # the final.* value keys
    until_loss: float | None = None
    stopped: str | None = None  # why the run ended before `steps`, in words
    interrupted: bool = False

    def loss_key(self, updates: int) -> str:
        """The value key of the loss after ``updates`` updates."""
        return value_key("loss", step=None if updates >= self.steps_run else updates + 1)

    def step_label(self, updates: int) -> str:
        """The step whose loss ``losses[updates]`` is: k + 1, or 'final'."""
        return "final" if updates >= self.steps_run else str(updates + 1)

    def table(self, rows: int) -> list[tuple[str, str, float]]:
        """(step, key, loss) for step 1, every s-th step (s = 1, 2, 5, 10, ...), the last step,
        then the final loss.

        ``rows`` <= 0 lists every step.
        """
        count = self.steps_run
        picked = list(range(count)) if rows <= 0 else _every_nth_step(count, rows - 1)
        picked.append(count)
        return [(self.step_label(k), self.loss_key(k), float(self.losses[k])) for k in picked]

    @property
    def parameter_keys(self) -> list[str]:
        return [value_key("param", name, None) for name in self.problem.parameters]

    @property
    def output_keys(self) -> list[str]:
        problem = self.problem
        return [compose(FINAL_PREFIX, "a", unit, problem.sample_suffix(k))
                for k in range(problem.n_samples) for unit in problem.output_names]


def train(problem: Problem, steps: int | None = None, until_loss: float | None = None,
          on_step: Callable[[int, float], None] | None = None) -> TrainingResult:
    """Run ``steps`` updates (default: the problem's) or until the loss reaches ``until_loss``.

    ``on_step(step, loss)`` is called after each update with the loss before it;
    a KeyboardInterrupt it raises ends the run with the state after that update.
    """
    steps = problem.steps if steps is None else steps
    engine = make_engine(problem)
    losses = np.empty(steps + 1)
    state = _Progress()

    def record(step: int, loss: float) -> None:
        losses[step - 1] = loss
        state.updates = step
        if on_step is not None:
            try:
                on_step(step, loss)
            except KeyboardInterrupt:
                state.at_boundary = True
                raise

    try:
        solution = engine.run(Recorder(["final.*"]), steps=steps, until_loss=until_loss,
                              on_step=record)
    except KeyboardInterrupt:
        if not state.at_boundary:
            raise  # not between two steps: the parameters may be half updated
        # the state reached: no update, one final pass on the parameters as they are
        final = engine.run(Recorder(["final.*"]), steps=0)
        done = state.updates
        losses[done] = final.values[FINAL_LOSS]
        return TrainingResult(problem, losses[: done + 1], done, steps, final.values,
                              until_loss, f"interrupted after {done} of {steps} steps",
                              interrupted=True)
    return TrainingResult(problem, solution.losses, solution.steps_run, steps, solution.values,
                          until_loss, solution.stopped)


@dataclass
class _Progress:
    updates: int = 0
    at_boundary: bool = False


@dataclass
class StopOnInterrupt:
    """Turns Ctrl-C into a request that :meth:`check` raises between two steps.

    A KeyboardInterrupt in the middle of an update would leave some weights
    updated and others not; deferring it to the step boundary keeps the state
    consistent. A second Ctrl-C interrupts at once. Outside the main thread
    (where signals cannot be handled) it does nothing.
    """

    requested: bool = False
    _previous: Any = field(default=None, repr=False)
    _installed: bool = field(default=False, repr=False)

    def __enter__(self) -> StopOnInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
            raise KeyboardInterrupt
        self.requested = True

    def check(self) -> None:
        """Raise KeyboardInterrupt if Ctrl-C was pressed since the run started."""
        if self.requested:
            raise KeyboardInterrupt


# ------------------------------------------------------------------ reports

# final parameters listed by name; a larger network lists this many and a count
LISTED_PARAMETERS = 24


def describe_run(result: TrainingResult) -> str:
    """'gradient descent, learning rate 0.01: 30 of 30 steps' and why it stopped."""
    problem = result.problem
    optimizer = getattr(problem, "optimizer", None)
    method = optimizer.label if optimizer is not None else "gradient descent"
    text = (f"{method}, learning rate {format_number(problem.learning_rate, 6)}: "
            f"{result.steps_run} of {result.steps} step{'s' * (result.steps != 1)}")
    batch = getattr(problem, "batch_size", None)
    if batch is not None and batch < problem.n_samples:
        text += f" in mini-batches of {batch} (a step's loss is its batch's)"
    return text


def report_lines(result: TrainingResult, rows: int = 11, digits: int = 4,
                 chart_width: int = 60) -> list[str]:
    """The plain-text report: loss table, loss chart, final parameters and outputs."""
    lines = [result.problem.title, describe_run(result)]
    if result.interrupted:
        lines.append(f"interrupted (Ctrl-C) after step {result.steps_run}: the state reached")
    elif result.stopped:
        lines.append(f"stopped early: {result.stopped}")
    table = result.table(rows)
    step_width = max(len("step"), *(len(label) for label, _, _ in table))
    texts = [format_number(loss, digits) for _, _, loss in table]
    loss_width = max(len("loss"), *(len(t) for t in texts))
    lines += ["", f"{'step'.rjust(step_width)}  {'loss'.ljust(loss_width)}  key"]
    for (label, key, _), text in zip(table, texts, strict=True):
        lines.append(f"{label.rjust(step_width)}  {text.ljust(loss_width)}  {key}")
    if result.steps_run > 0:
        chart = loss_chart(list(map(float, result.losses)), width=chart_width, digits=3)
        scale = " (log scale)" if _is_log(result) else ""
        lines += ["", f"loss after each update{scale}", *chart]
    final = result.final
    params = [k for k in result.parameter_keys if k in final]
    shown = params[:LISTED_PARAMETERS]
    key_width = max((len(k) for k in [*shown, *result.output_keys, FINAL_LOSS]), default=0)

    def row(key: str) -> str:
        return f"  {key.ljust(key_width)}  {format_number(final[key], digits)}"

    lines += ["", "final parameters", *(row(k) for k in shown)]
    if len(params) > len(shown):
        lines.append(f"  … and {len(params) - len(shown)} more (--format json lists them all)")
    outputs = [k for k in result.output_keys if k in final]
    lines += ["final outputs", *(row(k) for k in outputs)]
    lines += ["final loss", row(FINAL_LOSS)]
    return lines


def _is_log(result: TrainingResult) -> bool:
    return Scale.fit(list(map(float, result.losses))).log


def json_document(result: TrainingResult, rows: int = 11,
                  path: str | None = None) -> dict[str, Any]:
    """JSON: the run, the loss table by value key, and the final values (null for what is
    not finite: JSON has no NaN or Infinity)."""
    final = result.final
    keys = [*result.parameter_keys, *result.output_keys, FINAL_LOSS]
    doc: dict[str, Any] = {}
    if path is not None:
        doc["file"] = path
    doc.update({
        "title": result.problem.title,
        "learning_rate": result.problem.learning_rate,
        "steps": result.steps,
        "steps_run": result.steps_run,
        "until_loss": result.until_loss,
        "stopped": result.stopped,
        "interrupted": result.interrupted,
        "losses": {key: loss for _, key, loss in result.table(rows)},
        "values": {key: final[key] for key in keys if key in final},
    })
    return finite_only(doc)


def _every_nth_step(count: int, wanted: int) -> list[int]:
    """Indices (step − 1) of step 1, every s-th step and the last step, evenly spaced: s is
    the smallest of 1, 2, 5, 10, 20, 50, ... that keeps it to about ``wanted`` rows
    (30 steps, 10 rows: steps 1, 5, 10, ..., 30).
    """
    if count <= 0:
        return []
    wanted = max(wanted, 2)

    def steps(stride: int) -> list[int]:
        return sorted({1, *range(stride, count + 1, stride), count})

    stride = 1
    while len(steps(stride)) > wanted:  # 1, 2, 5, 10, 20, 50, ...
        stride = stride * 5 // 2 if str(stride)[0] == "2" else stride * 2
    return [k - 1 for k in steps(stride)]
