"""The worked solution, step by step: a document model and one writer per format.

``document`` turns a problem, the engine's values and the formulas into a
renderer-neutral :class:`~backprop_cli.render.document.Document` (sections,
equations, tables, notes). ``plain``, ``terminal`` (rich) and ``markdown``
write it; ``notation`` says how each value key is written as a symbol in
Unicode, ASCII or LaTeX. Only this package imports rich, and only when a rich,
HTML or SVG rendering is asked for.
"""

from __future__ import annotations

from backprop_cli.render.api import RenderOptions, render_problem, solve_for_display

__all__ = ["RenderOptions", "render_problem", "solve_for_display"]
