"""Training runs: many steps of gradient descent, the loss of each, the state reached.

:func:`train` runs :meth:`Engine.run <backprop_cli.engine.passes.Engine.run>` recording
only the final values (``final.*``) and keeping the loss of every step in one
array, so memory does not grow with the number of steps beyond 8 bytes a step. A layered
network (issue 19) runs :func:`backprop_cli.engine.layered_train.train_layered` the same
way; its result lists its parameters as tensors (:class:`LayeredTrainingResult`).

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
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from backprop_cli.engine import make_engine
from backprop_cli.engine.layered_train import train_layered
from backprop_cli.engine.passes import Recorder
from backprop_cli.model.keys import FINAL_PREFIX, compose, time_suffix, value_key
from backprop_cli.model.layered import LayeredProblem
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

    @property
    def parameter_rows(self) -> list[str | TensorSummary]:
        """The final parameters as the plain report lists them, in order: a key, or a
        tensor too large to list summed up (a dense network's parameters are numbers)."""
        return list(self.parameter_keys)

    @property
    def tensors(self) -> list[TensorSummary]:
        """The tensors of :attr:`parameter_rows`."""
        return [row for row in self.parameter_rows if isinstance(row, TensorSummary)]

    # the outputs the plain report lists (None: every one)
    listed_outputs: ClassVar[int | None] = None


@dataclass(frozen=True)
class TensorSummary:
    """A parameter tensor too large to list: its name, shape, norm and range."""

    key: str  # final.K
    shape: tuple[int, ...]
    norm: float
    minimum: float
    maximum: float

    @property
    def shape_text(self) -> str:
        return "×".join(map(str, self.shape))


# a tensor of at most this many elements is listed element by element (as `solve` shows a
# layer of at most 12 values in full)
LISTED_ELEMENTS = 12


@dataclass
class LayeredTrainingResult(TrainingResult):
    """A layered network's run (issue 19): its parameters are tensors."""

    problem: LayeredProblem  # type: ignore[assignment]
    summaries: list[TensorSummary] = field(default_factory=list)
    listed_outputs: ClassVar[int | None] = 24  # 64 samples × 10 classes: not 640 rows

    @property
    def parameter_keys(self) -> list[str]:
        return [compose(FINAL_PREFIX, "param", key) for _, param in self.problem.parameters()
                for key in param.element_keys()]

    @property
    def output_keys(self) -> list[str]:
        problem = self.problem
        output = problem.output
        times = [time_suffix(t + 1) for t in range(output.output_shape[0])] if (
            output.over_time) else [""]
        return [compose(FINAL_PREFIX, "a", unit + t, problem.sample_suffix(k))
                for k in range(problem.n_samples) for t in times for unit in problem.output_names]

    @property
    def parameter_rows(self) -> list[str | TensorSummary]:
        summaries = iter(self.summaries)  # in the order of the parameters
        rows: list[str | TensorSummary] = []
        for _, param in self.problem.parameters():
            if param.values.size > LISTED_ELEMENTS:
                rows.append(next(summaries))
            else:
                rows += [compose(FINAL_PREFIX, "param", key) for key in param.element_keys()]
        return rows


def train(problem: Problem | LayeredProblem, steps: int | None = None,
          until_loss: float | None = None,
          on_step: Callable[[int, float], None] | None = None) -> TrainingResult:
    """Run ``steps`` updates (default: the problem's) or until the loss reaches ``until_loss``.

    ``on_step(step, loss)`` is called after each update with the loss before it;
    a KeyboardInterrupt it raises ends the run with the state after that update.
    """
    if isinstance(problem, LayeredProblem):
        return _train_layered(problem, steps, until_loss, on_step)
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


def _train_layered(problem: LayeredProblem, steps: int | None, until_loss: float | None,
                   on_step: Callable[[int, float], None] | None) -> LayeredTrainingResult:
    """The run of engine/layered_train.py, its final pass as final.* values."""
    steps = problem.steps if steps is None else steps
    run = train_layered(problem, steps, until_loss, on_step)
    final: dict[str, float] = {}
    summaries = []
    for spec, param in problem.parameters():
        values = run.final.params[problem.layers.index(spec)][param.role]
        keys = [compose(FINAL_PREFIX, "param", key) for key in param.element_keys()]
        final.update(zip(keys, values.ravel().tolist(), strict=True))
        if values.size > LISTED_ELEMENTS:
            summaries.append(TensorSummary(
                compose(FINAL_PREFIX, "param", param.tensor_name), values.shape,
                float(np.linalg.norm(values)), float(values.min()), float(values.max())))
    result = LayeredTrainingResult(problem, run.losses, run.steps_run, steps, final,
                                   until_loss, run.stopped, run.interrupted,
                                   summaries=summaries)
    outputs = run.final.outs[-1][-1]  # (N, K), or (N, T, K) over a sequence's steps
    final.update(zip(result.output_keys, outputs.ravel().tolist(), strict=True))
    final[FINAL_LOSS] = run.final.loss
    return result


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
    params = [row for row in result.parameter_rows if not isinstance(row, str) or row in final]
    keys = [row for row in params if isinstance(row, str)]
    hidden = set(keys[LISTED_PARAMETERS:])
    shown = [row for row in params if row not in hidden]
    outputs = [k for k in result.output_keys if k in final]
    listed = outputs[:result.listed_outputs]
    key_width = max((len(row if isinstance(row, str) else row.key)
                     for row in [*shown, *listed, FINAL_LOSS]), default=0)

    def row(key: str | TensorSummary) -> str:
        if isinstance(key, str):
            return f"  {key.ljust(key_width)}  {format_number(final[key], digits)}"
        return (f"  {key.key.ljust(key_width)}  {key.shape_text}: norm "
                f"{format_number(key.norm, digits)}, min {format_number(key.minimum, digits)}"
                f", max {format_number(key.maximum, digits)}")

    def more(count: int) -> list[str]:
        return [f"  … and {count} more (--format json lists them all)"] if count else []

    lines += ["", "final parameters", *(row(k) for k in shown)]
    lines += more(len(hidden))
    if result.tensors:
        lines.append(f"  (a tensor of more than {LISTED_ELEMENTS} elements summed up: "
                     "--format json lists every element)")
    lines += ["final outputs", *(row(k) for k in listed)]
    lines += more(len(outputs) - len(listed))
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
    if result.tensors:
        doc["tensors"] = {tensor.key: {"shape": list(tensor.shape), "norm": tensor.norm,
                                       "min": tensor.minimum, "max": tensor.maximum}
                          for tensor in result.tensors}
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
