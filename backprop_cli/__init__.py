"""backprop: solve and check backpropagation exercises step by step.

The Python API (docs/api.md)::

    import backprop_cli as bp

    solution = bp.solve("problems/001b_two_layer_relu_sigmoid.yaml")
    solution.values["grad.w1"], solution.to_markdown()
    bp.check("problems/").passed

``import backprop_cli`` loads nothing else: the API (:mod:`backprop_cli.api`)
loads on the first use of one of its names, NumPy on the first load or solve,
rich only to render.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["CheckReport", "FileCheck", "GradeReport", "NumericError", "ProblemError", "Solution",
           "check", "grade", "load", "loads", "solve"]

if TYPE_CHECKING:
    from backprop_cli.api import (
        CheckReport,
        FileCheck,
        GradeReport,
        NumericError,
        ProblemError,
        Solution,
        check,
        grade,
        load,
        loads,
        solve,
    )


def __getattr__(name: str) -> Any:
    """The public names, loaded from :mod:`backprop_cli.api` on first use."""
    if name in __all__:
        # lazy: `import backprop_cli` (and every `backprop` command, which imports this
        # package) must not pay for the API's modules; they load on the first bp.<name>
        from backprop_cli import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'backprop_cli' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
