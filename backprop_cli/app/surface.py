"""The loss over two parameters, and the path gradient descent takes across it.

:func:`loss_surface` evaluates L on a grid over two chosen parameters, every
other parameter held at its starting value, and runs the file's own training
(its optimizer, learning rate, batches) from its starting point, recording
where the two parameters go. By default the other parameters are frozen for
that run, so the path lies on the surface drawn; with ``train_others`` they
move too and the path is the projection of the full run.

For the seed's chain ŷ = x·w1·w2 with target 20 the valley is the hyperbola
w1·w2 = 10, and gradient descent from (2, 0.5) with α = 0.01 walks into it at
(3.391, 2.949).

The grid loss is exact and over all samples (see :mod:`backprop_cli.engine.paramspace`);
a point where the loss overflows is NaN. A layered network (conv, pooling, dropout, rnn)
works the same way over two of its parameter elements (``K[1,1,2,2]``, ``c[1]``, an rnn's
``w``), through :mod:`backprop_cli.engine.layered_loss`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backprop_cli import records
from backprop_cli.engine import make_engine
from backprop_cli.engine.layered_loss import LayeredLoss
from backprop_cli.engine.paramspace import Point, exact, no_parameter
from backprop_cli.engine.passes import Recorder
from backprop_cli.errors import NumericError
from backprop_cli.model.keys import value_key
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.model.problem import Problem
from backprop_cli.render.jsonout import finite_only
from backprop_cli.render.textplot import shaded_map, spaced

Array = NDArray[np.float64]

# the path kept in JSON: at most this many points, evenly spaced, first and last included
JSON_PATH_POINTS = 1000
MARGIN = 0.25  # of the path's extent, on each side of the default range


class SurfaceError(ValueError):
    """Parameters or ranges that do not make a surface."""


@dataclass
class Surface:
    problem: Problem | LayeredProblem
    x_name: str
    y_name: str
    xs: Array  # (nx,) grid values of the x parameter
    ys: Array  # (ny,) grid values of the y parameter
    loss: Array  # (ny, nx): loss[j, i] at (xs[i], ys[j]); NaN where it overflows
    path_x: Array  # (steps_run + 1,) x after k updates
    path_y: Array
    path_loss: Array  # the loss after k updates (the batch's, with mini-batches)
    steps_run: int
    fixed: dict[str, float] = field(default_factory=dict)  # the other parameters
    final: dict[str, float] = field(default_factory=dict)  # final.* values of the run
    stopped: str | None = None
    train_others: bool = False

    @property
    def start(self) -> tuple[float, float]:
        return float(self.path_x[0]), float(self.path_y[0])

    @property
    def end(self) -> tuple[float, float]:
        return float(self.path_x[-1]), float(self.path_y[-1])

    @property
    def minimum(self) -> tuple[float, float, float]:
        """The lowest grid point (x, y, loss)."""
        if np.all(np.isnan(self.loss)):
            return math.nan, math.nan, math.nan
        j, i = np.unravel_index(int(np.nanargmin(self.loss)), self.loss.shape)
        return float(self.xs[i]), float(self.ys[j]), float(self.loss[j, i])


def parse_range(text: str) -> tuple[float, float]:
    """``LO:HI`` (e.g. ``0:4``)."""
    low, sep, high = text.replace("−", "-").partition(":")
    try:
        lo, hi = float(low), float(high)
    except ValueError:
        raise SurfaceError(f"'{text}' is not LO:HI (e.g. 0:4)") from None
    if not sep or not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise SurfaceError(f"'{text}' is not LO:HI with LO < HI (e.g. 0:4)")
    return lo, hi


def loss_surface(problem: Problem | LayeredProblem, x_name: str, y_name: str,
                 steps: int | None = None, size: tuple[int, int] = (61, 41),
                 x_range: tuple[float, float] | None = None,
                 y_range: tuple[float, float] | None = None,
                 train_others: bool = False) -> Surface:
    """The grid of losses over (x_name, y_name) and the descent path from the file's start."""
    point: Point | LayeredLoss
    if isinstance(problem, LayeredProblem):
        point = LayeredLoss(problem)
        names = point.names
    else:
        names = list(problem.parameters)
    for name in (x_name, y_name):
        if name not in names:
            raise SurfaceError(no_parameter(name, names))
    if x_name == y_name:
        raise SurfaceError("choose two different parameters")
    others = [n for n in names if n not in (x_name, y_name)]
    if isinstance(problem, LayeredProblem):
        assert isinstance(point, LayeredLoss)
        path_x, path_y, path_loss, steps_run, final, stopped = _layered_descent(
            point, x_name, y_name, problem.steps if steps is None else steps, train_others)
    else:
        run_problem = problem
        if not train_others and others:
            run_problem = records.replace(problem, freeze=[*problem.freeze, *others])
        path_x, path_y, path_loss, steps_run, final, stopped = _descent(run_problem, x_name,
                                                                        y_name, steps)
        point = Point(exact(problem))
    xs = np.linspace(*(x_range or _extent(path_x)), size[0])
    ys = np.linspace(*(y_range or _extent(path_y)), size[1])
    fixed = {n: point.get(n) for n in others}
    grid = np.empty((len(ys), len(xs)))
    with np.errstate(all="ignore"):  # an overflow far from the path is a NaN, not an error
        for j, y in enumerate(ys):
            point.set(y_name, float(y))
            for i, x in enumerate(xs):
                point.set(x_name, float(x))
                loss = point.loss()
                grid[j, i] = loss if math.isfinite(loss) else math.nan
    return Surface(problem, x_name, y_name, xs, ys, grid, path_x, path_y, path_loss, steps_run,
                   fixed, final, stopped, train_others)


def _descent(problem: Problem, x_name: str, y_name: str, steps: int | None
             ) -> tuple[Array, Array, Array, int, dict[str, float], str | None]:
    engine = make_engine(problem)
    steps = problem.steps if steps is None else steps
    xs = np.empty(steps + 1)
    ys = np.empty(steps + 1)
    x_use = problem.parameters[x_name].uses[0]
    y_use = problem.parameters[y_name].uses[0]

    def read(use: Any) -> float:
        if use.is_bias:
            bias = engine.biases[use.layer]
            assert bias is not None
            return float(bias[use.row])
        return float(engine.weights[use.layer][use.row, use.col])

    xs[0], ys[0] = read(x_use), read(y_use)

    def on_step(step: int, loss: float) -> None:  # after update `step`
        xs[step], ys[step] = read(x_use), read(y_use)

    try:
        solution = engine.run(Recorder(["final.*"]), steps=steps, on_step=on_step)
    except NumericError as error:
        raise SurfaceError(f"gradient descent did not stay finite: {error}") from None
    n = solution.steps_run
    return (xs[: n + 1], ys[: n + 1], solution.losses, n, solution.values, solution.stopped)


def _layered_descent(point: LayeredLoss, x_name: str, y_name: str, steps: int,
                     train_others: bool
                     ) -> tuple[Array, Array, Array, int, dict[str, float], str | None]:
    """:func:`_descent` for a layered network (its training has no early stop)."""
    try:
        run = point.descend(steps, [x_name, y_name], None if train_others else (x_name, y_name))
    except NumericError as error:
        raise SurfaceError(f"gradient descent did not stay finite: {error}") from None
    final = {value_key("param", name, None): value for name, value in run.final.items()}
    final[value_key("loss", step=None)] = float(run.losses[-1])
    return run.path[:, 0], run.path[:, 1], run.losses, steps, final, None


def _extent(values: Array) -> tuple[float, float]:
    """The path's range with a margin, never empty."""
    low, high = float(np.min(values)), float(np.max(values))
    span = high - low
    if span < 1e-9 * max(1.0, abs(low), abs(high)):
        span = max(1.0, abs(low)) * 0.5
        return low - span, high + span
    return low - MARGIN * span, high + MARGIN * span


def cell(surface: Surface, x: float, y: float) -> tuple[int, int] | None:
    """The grid (row from the top, column) nearest (x, y), or None outside the grid."""
    xs, ys = surface.xs, surface.ys
    if not (xs[0] <= x <= xs[-1] and ys[0] <= y <= ys[-1]):
        return None
    col = round(float((x - xs[0]) / (xs[-1] - xs[0])) * (len(xs) - 1))
    row_from_bottom = round(float((y - ys[0]) / (ys[-1] - ys[0])) * (len(ys) - 1))
    return len(ys) - 1 - row_from_bottom, col


def terminal_map(surface: Surface, digits: int = 3) -> list[str]:
    """The loss as a shaded map, the path marked: S start, • the steps, E the end."""
    rows = [list(map(float, surface.loss[j])) for j in range(len(surface.ys) - 1, -1, -1)]
    marks: dict[tuple[int, int], str] = {}
    for x, y in zip(surface.path_x, surface.path_y, strict=True):
        where = cell(surface, float(x), float(y))
        if where is not None:
            marks[where] = "•"
    for label, (x, y) in (("S", surface.start), ("E", surface.end)):
        where = cell(surface, x, y)
        if where is not None:
            marks[where] = label
    return shaded_map(rows, marks, (float(surface.xs[0]), float(surface.xs[-1])),
                      (float(surface.ys[0]), float(surface.ys[-1])), surface.x_name,
                      surface.y_name, digits)


def json_document(surface: Surface, path: str | None = None) -> dict[str, Any]:
    """JSON: the grid, the path, the final values (null where the loss overflows:
    JSON has no NaN or Infinity)."""
    keep = spaced(len(surface.path_x), JSON_PATH_POINTS)
    doc: dict[str, Any] = {}
    if path is not None:
        doc["file"] = path
    doc.update({
        "title": surface.problem.title,
        "x": surface.x_name,
        "y": surface.y_name,
        "fixed": surface.fixed,
        "train_others": surface.train_others,
        "grid": {
            "x": [float(v) for v in surface.xs],
            "y": [float(v) for v in surface.ys],
            "loss": surface.loss.tolist(),
        },
        "steps_run": surface.steps_run,
        "path": [{"step": k, "x": float(surface.path_x[k]), "y": float(surface.path_y[k]),
                  "loss": float(surface.path_loss[k])} for k in keep],
        "values": {k: float(v) for k, v in surface.final.items()
                   if k in (value_key("param", surface.x_name, None),
                            value_key("param", surface.y_name, None),
                            value_key("loss", step=None))},
    })
    if surface.stopped:
        doc["stopped"] = surface.stopped
    return finite_only(doc)
