"""Figures with matplotlib (the optional ``plot`` extra): the loss curve and the loss surface.

matplotlib is imported only here, only when a figure is asked for, and never
through pyplot (no GUI backend, no global state): a :class:`Figure` is built
and saved, the format chosen by the file's suffix.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from backprop_cli.app.surface import Surface
    from backprop_cli.app.training import TrainingResult

SUFFIXES = (".png", ".svg", ".pdf")
MISSING = ("--plot needs matplotlib: from the repository root, "
           ".venv/bin/pip install -e '.[plot]'")


class PlotError(Exception):
    """A figure that cannot be written (matplotlib missing, an unwritable file)."""


def check_target(path: str) -> None:
    """Raise ValueError for a file name whose suffix names no figure format."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"'{path}': the file name must end in {', '.join(SUFFIXES)}")


def require_matplotlib() -> None:
    """Fail early (before a long run) when the extra is not installed."""
    try:
        # lazy: matplotlib is an optional extra, and costs start-up time where it is
        # installed; no stubs needed when it is absent (mypy runs either way)
        import matplotlib  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
    except ImportError:
        raise PlotError(MISSING) from None


def _figure(**kwargs: Any) -> Any:
    require_matplotlib()
    # lazy: the optional extra, checked just above
    from matplotlib.figure import Figure  # type: ignore[import-not-found, unused-ignore]

    return Figure(**kwargs)


def _save(figure: Any, path: str) -> None:
    try:
        figure.savefig(path, dpi=150, bbox_inches="tight")
    except OSError as error:
        raise PlotError(f"cannot write {path}: {error.strerror or error}") from None


def plot_losses(result: TrainingResult, path: str) -> None:
    """The loss after each update; a log axis when it falls over orders of magnitude."""
    figure = _figure(figsize=(7, 4))
    axes = figure.add_subplot()
    losses = np.asarray(result.losses, dtype=float)
    steps = np.arange(len(losses))
    positive = losses[losses > 0]
    log = positive.size > 0 and np.all(losses >= 0) and positive.max() / positive.min() > 100
    if log:
        # a loss of exactly 0 has no place on a log axis: the line stops there (no floor
        # is invented for it) and a note says from which update the loss is 0
        shown = np.where(losses > 0, losses, np.nan)
        axes.semilogy(steps, shown, color="#1f77b4")
        zeros = np.flatnonzero(losses == 0)
        if zeros.size:
            first = int(zeros[0])
            axes.annotate(f"loss 0 from update {first}", (first, positive.min()),
                          textcoords="offset points", xytext=(-40, 10))
    else:
        axes.plot(steps, losses, color="#1f77b4")
    axes.set_xlabel("updates")
    axes.set_ylabel("loss" + (" (log scale)" if log else ""))
    axes.set_title(literal(result.problem.title), fontsize=10)
    axes.grid(True, alpha=0.3)
    if result.interrupted:
        last = losses[-1] if not log or losses[-1] > 0 else positive.min()
        axes.annotate("interrupted", (steps[-1], last),
                      textcoords="offset points", xytext=(-60, 10))
    _save(figure, path)


def plot_surface(surface: Surface, path: str, kind: str = "contour") -> None:
    """Filled contours (or a 3-D surface) of the loss, with the descent path on top."""
    figure = _figure(figsize=(7, 5.5))
    x, y = np.meshgrid(surface.xs, surface.ys)
    z = np.ma.masked_invalid(surface.loss)
    finite = surface.loss[np.isfinite(surface.loss)]
    positive = finite[finite > 0]
    # a loss valley spans orders of magnitude: log-spaced contours show its floor
    log = positive.size > 0 and finite.min() >= 0 and positive.max() / positive.min() > 100
    # six decades of colour: the valley floor shows as a band, not a hairline
    floor = max(positive.min(), positive.max() * 1e-6) if positive.size else 1e-12
    shown = np.ma.log10(np.ma.maximum(z, floor)) if log else z
    label = "log₁₀ loss" if log else "loss"
    px, py = surface.path_x, surface.path_y
    pl = np.log10(np.maximum(surface.path_loss, floor)) if log else surface.path_loss
    if kind == "surface":
        axes = figure.add_subplot(projection="3d")
        axes.plot_surface(x, y, shown, cmap="viridis", alpha=0.75, linewidth=0)
        axes.plot(px, py, pl, color="#d62728", marker=".", markersize=3, zorder=10)
        axes.set_zlabel(label)
    else:
        axes = figure.add_subplot()
        filled = axes.contourf(x, y, shown, levels=30, cmap="viridis")
        axes.contour(x, y, shown, levels=12, colors="white", linewidths=0.4, alpha=0.5)
        figure.colorbar(filled, ax=axes, label=label)
        axes.plot(px, py, color="#d62728", marker=".", markersize=4, linewidth=1.2,
                  label=f"gradient descent, {surface.steps_run} steps")
        axes.plot(*surface.start, marker="o", color="white", markeredgecolor="black")
        axes.plot(*surface.end, marker="*", markersize=12, color="#d62728",
                  markeredgecolor="black")
        end_x, end_y = surface.end
        axes.annotate(f"({_short(end_x)}, {_short(end_y)})", surface.end,
                      textcoords="offset points", xytext=(-10, -14), ha="right",
                      color="white", fontsize=9)
        axes.legend(loc="upper left", fontsize=8)
    axes.set_xlabel(surface.x_name)
    axes.set_ylabel(surface.y_name)
    axes.set_title(literal(surface.problem.title), fontsize=10)
    _save(figure, path)


def _short(value: float) -> str:
    return "nan" if not math.isfinite(value) else f"{value:.4g}"


def literal(text: str) -> str:
    """A title as it is written: '$' escaped, so that matplotlib never reads ``$…$`` in a
    problem file as mathtext (whose parse errors end the run)."""
    return text.replace("$", r"\$")
