"""One entry point for every kind of exercise file: read it once, dispatch on ``kind:``.

A file is a network problem (the default, ``kind: network``) or a derivative
warm-up (``kind: derivative``, :mod:`backprop_cli.kinds.derivative`). The text is read
and parsed once whatever the kind; the derivative module is imported only for
derivative files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from backprop_cli.errors import ProblemError
from backprop_cli.files.loader import problem_from_tree
from backprop_cli.files.yamlio import YMap, YScalar, parse_yaml, read_text
from backprop_cli.model.problem import Problem
from backprop_cli.render.sanitize import display_path

if TYPE_CHECKING:
    from typing import TypeAlias

    from backprop_cli.kinds.derivative import DerivativeProblem

    Exercise: TypeAlias = Problem | DerivativeProblem

KINDS = ("network", "derivative")
# a top-level key in block style starts a line: without such a line the file has no kind
_KIND_LINE = re.compile(r"^kind[ \t]*:", re.MULTILINE)


def load_exercise(path: str | Path, steps: int | None = None) -> Exercise:
    """The exercise in ``path``; ProblemError (path:line:col) for any mistake."""
    name = str(path)  # as given: no pathlib object per file of a batch
    try:
        text = read_text(name)
        # the file name as a title: its control characters shown escaped (issue 18)
        return parse_exercise(text, name, steps=steps, title_default=display_path(_stem(name)))
    except ProblemError as error:
        raise error.with_path(name) from None


def _stem(name: str) -> str:
    """``Path(name).stem``: the file name without its last suffix."""
    base = os.path.basename(name.rstrip("/" + os.sep))
    dot = base.rfind(".")
    return base[:dot] if 0 < dot < len(base) - 1 else base


def parse_exercise(text: str, path: str = "<input>", steps: int | None = None,
                   title_default: str = "problem") -> Exercise:
    root = parse_yaml(text)
    if _KIND_LINE.search(text) and isinstance(root, YMap) and (node := root.get("kind")):
        kind = node.value if isinstance(node, YScalar) else None
        if kind not in KINDS:
            from backprop_cli.errors import suggest

            hint = suggest(str(kind), KINDS) or f" (known: {', '.join(KINDS)})"
            raise ProblemError(f"unknown kind '{kind}'{hint}", node.mark, path)
        if kind == "derivative":
            from backprop_cli.kinds.derivative import from_tree

            return from_tree(root, path)
    return problem_from_tree(root, path, steps=steps, title_default=title_default)
