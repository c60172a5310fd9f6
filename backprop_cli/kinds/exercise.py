"""The registry of exercise kinds, and the one entry point that reads any exercise file.

A file is read and parsed once; its ``kind:`` key (``network`` when absent) chooses the
kind that builds the exercise. Each kind is a module of this package with a ``KIND``
object (:class:`~backprop_cli.kinds.base.ExerciseKind`); adding a kind is one module
and one entry in :data:`KINDS`.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any, cast

from backprop_cli.errors import ProblemError, suggest
from backprop_cli.files.loader import kind_node, layered_network
from backprop_cli.files.yamlio import YScalar, parse_yaml, read_text
from backprop_cli.kinds.base import Exercise, ExerciseKind
from backprop_cli.kinds.network import KIND as NETWORK
from backprop_cli.model.problem import Problem
from backprop_cli.render.sanitize import display_path

if TYPE_CHECKING:
    from pathlib import Path  # annotations only: pathlib costs start-up time

    from backprop_cli.model.layered import LayeredProblem

# kind name -> the module that holds its KIND. The network kind, which nearly every
# file is, is imported with this module; the others on their first file (each costs
# start-up time that `check` on a folder of network files should not pay).
KINDS: dict[str, str] = {
    "network": "backprop_cli.kinds.network",
    "derivative": "backprop_cli.kinds.derivative",
    "layered": "backprop_cli.kinds.layered",  # chosen by the network's layers, see below
}
_loaded: dict[str, ExerciseKind[Any]] = {"network": NETWORK}


def kind_named(name: str) -> ExerciseKind[Any]:
    """The kind registered as ``name`` (KeyError when there is none)."""
    found = _loaded.get(name)
    if found is None:
        found = _loaded[name] = importlib.import_module(KINDS[name]).KIND
    return found


def kind_of(exercise: Exercise) -> ExerciseKind[Any]:
    """The kind that read ``exercise``: it checks and solves it."""
    return kind_named(exercise.kind)


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
    kind: ExerciseKind[Any] = NETWORK
    node = kind_node(root, text)
    if node is not None:
        name = node.value if isinstance(node, YScalar) else None
        if name not in KINDS:
            hint = suggest(str(name), KINDS) or f" (known: {', '.join(KINDS)})"
            raise ProblemError(f"unknown kind '{name}'{hint}", node.mark, path)
        kind = kind_named(str(name))
    elif layered_network(root):  # conv, pooling, dropout, rnn layers (issue 19)
        kind = kind_named("layered")
    exercise: Exercise = kind.read(root, path, steps=steps, title_default=title_default)
    return exercise


def load_problem(path: str | Path, steps: int | None = None) -> Problem:
    """A network problem file; ProblemError (path set) for anything else, another kind
    of exercise included (for the commands that need a network: quiz, train, ...)."""
    return _dense(load_exercise(path, steps=steps), path)


def load_network(path: str | Path, steps: int | None = None) -> Problem | LayeredProblem:
    """A network problem file, dense or layered (conv, pooling, dropout, rnn): for the
    commands that handle both (gradcheck, probe, surface); ProblemError for any other
    exercise."""
    exercise = load_exercise(path, steps=steps)
    if exercise.kind == "layered":
        return cast("LayeredProblem", exercise)
    return _dense(exercise, path)


def _dense(exercise: Exercise, path: str | Path) -> Problem:
    if not isinstance(exercise, Problem):  # narrows the type; the kind names the reason
        if exercise.kind == "layered":
            raise ProblemError("this command does not take a network with conv, pooling, "
                               "dropout or rnn layers yet (solve, check, quiz, grade, train, "
                               "export, gradcheck, probe and surface do)", path=str(path))
        raise ProblemError(f"a {exercise.kind} exercise (kind: {exercise.kind}) has no "
                           "network; use backprop solve, check or derive", path=str(path))
    return exercise
