"""Reading a problem file's training settings (format v1, see the README).

Top-level keys, all optional::

    optimizer: sgd                       # default; or momentum, adam
    optimizer: {name: momentum, beta: 0.9}
    optimizer: {name: adam, beta1: 0.9, beta2: 0.999, epsilon: 1e-8}
    weight_decay: 0.01                   # λ: L2 on the weights (not the biases)
    batch_size: 2                        # default: every sample in every step
    epochs: 100                          # instead of steps: epochs × ⌈N / batch_size⌉
    round: 4                             # hand-calculation mode: 4 decimals throughout

:func:`read_training` is called by the loader once the data is read (epochs
need the number of samples) and sets the fields of the :class:`Problem`. Errors
are ``path:line:col: message`` with a did-you-mean for misspelt names, like
every other key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backprop_cli.errors import ProblemError, raise_collected, suggest
from backprop_cli.files.fields import MAX_STEPS, _check_keys, _int, _number, _string
from backprop_cli.files.yamlio import YMap, YNode
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.model.optimizers import OPTIMIZER_NAMES, OPTIMIZERS, SETTINGS, Optimizer
from backprop_cli.model.problem import Problem
from backprop_cli.rounding import MAX_DECIMALS


def read_training(root: YMap, problem: Problem, steps_override: int | None) -> None:
    """Set ``problem``'s optimizer, weight decay, batches, epochs and rounding from ``root``.

    The settings are independent: every wrong one is reported, not only the first
    (epochs, which count batches, are read only when batch_size is right)."""
    read_schedule(root, problem, steps_override, (_read_optimizer, _read_decay))


def read_schedule(root: YMap, problem: Problem | LayeredProblem, steps_override: int | None,
                  first: tuple[Callable[[YMap, Problem], None], ...] = ()) -> None:
    """Set ``problem``'s rounding, batch size and epochs (a layered network's too, which
    reads its optimizer itself), after the readers ``first`` (of a dense problem's other
    settings); every wrong setting is reported."""
    errors: list[ProblemError] = []
    readers: list[Callable[[YMap, Any], None]] = [*first, _read_round, _read_batch_size]
    for read in readers:
        try:
            read(root, problem)
        except ProblemError as error:
            errors.extend(error.each())
    batch_ok = not any(error.mark == getattr(root.get("batch_size"), "mark", None)
                       for error in errors)
    if batch_ok:
        try:
            _read_epochs(root, problem, steps_override)
        except ProblemError as error:
            errors.extend(error.each())
    raise_collected(errors)


def _read_optimizer(root: YMap, problem: Problem) -> None:
    if (node := root.get("optimizer")) is not None:
        problem.optimizer = read_optimizer(node)


def _read_decay(root: YMap, problem: Problem) -> None:
    if (node := root.get("weight_decay")) is not None:
        problem.weight_decay = _number(node, "weight_decay", nonnegative=True)
        if problem.weight_decay:
            _check_decay_applies(problem, node)


def _read_round(root: YMap, problem: Problem | LayeredProblem) -> None:
    if (node := root.get("round")) is not None:
        problem.round = _int(node, "round (decimals)", 0, MAX_DECIMALS)


def _read_batch_size(root: YMap, problem: Problem | LayeredProblem) -> None:
    n = problem.n_samples
    if (node := root.get("batch_size")) is not None:
        size = _int(node, "batch_size", 1, MAX_STEPS)
        if size > n:
            raise ProblemError(f"batch_size is {size} but there {'is' if n == 1 else 'are'} "
                               f"only {n} sample{'s' * (n != 1)}", node.mark)
        problem.batch_size = size


def _read_epochs(root: YMap, problem: Problem | LayeredProblem, steps_override: int | None) -> None:
    if (node := root.get("epochs")) is not None:
        if "steps" in root.entries:
            raise ProblemError(f"give either 'steps' or 'epochs', not both ('steps' is at line "
                               f"{root.key_mark('steps').line})", root.key_mark("epochs"))
        epochs = _int(node, "epochs", 0, MAX_STEPS)
        problem.epochs = epochs
        steps = epochs * problem.batches_per_epoch
        if steps > MAX_STEPS:
            raise ProblemError(f"{epochs} epochs of {problem.batches_per_epoch} batches are "
                               f"{steps:,} steps, over the limit of {MAX_STEPS:,}", node.mark)
        if steps_override is None:
            problem.steps = steps


def read_optimizer(node: YNode) -> Optimizer:
    """``sgd``, ``momentum``, ``adam``, or a mapping with ``name`` and settings."""
    settings: dict[str, float] = {}
    if not isinstance(node, YMap):
        return Optimizer(_optimizer_name(node))
    if "name" not in node.entries:
        names = f"{', '.join(OPTIMIZER_NAMES[:-1])} or {OPTIMIZER_NAMES[-1]}"
        raise ProblemError(f"missing required key 'name' in optimizer ({names})", node.mark)
    name = _optimizer_name(node.entries["name"][1])
    _check_keys(node, ("name", *SETTINGS[name]), f"optimizer {name}")
    for key in SETTINGS[name]:
        if (value_node := node.get(key)) is None:
            continue
        what = f"optimizer {key}"
        if key in OPTIMIZERS[name].positive:
            settings[key] = _number(value_node, what, positive=True)
            continue
        value = _number(value_node, what, nonnegative=True)
        if value >= 1.0:
            raise ProblemError(f"{what} must be below 1 (a decay rate), found {value:g}",
                               value_node.mark)
        settings[key] = value
    return Optimizer(name, tuple(settings.items()))


def _optimizer_name(node: YNode) -> str:
    name = _string(node, "optimizer")
    if name not in OPTIMIZER_NAMES:
        hint = suggest(name, OPTIMIZER_NAMES)
        # names people use for the optimizers, and what they are called here
        aliases = {hint: spec.name for spec in OPTIMIZERS.values() for hint in spec.hints}
        if name.lower() in aliases:
            hint = f" (did you mean '{aliases[name.lower()]}'?)"
        hint = hint or f" (known: {', '.join(OPTIMIZER_NAMES)})"
        raise ProblemError(f"unknown optimizer '{name}'{hint}", node.mark)
    return name


def _check_decay_applies(problem: Problem, node: YNode) -> None:
    """Weight decay treats weights and biases differently: no parameter may be both."""
    for name, param in problem.parameters.items():
        if len({use.is_bias for use in param.uses}) > 1:
            raise ProblemError(f"weight_decay applies to weights, not biases, but parameter "
                               f"'{name}' is both (a weight and a bias share its name)",
                               node.mark)
