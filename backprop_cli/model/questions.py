"""Which value keys a problem asks about: question order, the exercise's default
questions, and glob patterns over the keys.

`backprop quiz` asks these, the loader checks a file's ``quiz:`` patterns against
them, and grading marks them. Data and starting parameters are given, never asked.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection, Iterator, Sequence

from backprop_cli.errors import suggest
from backprop_cli.model.keys import KeyParts, ordered_keys, parse_key
from backprop_cli.model.problem import Problem

# More default questions than this and the quiz follows one path through the network.
DEFAULT_LIMIT = 40


def is_given(parts: KeyParts) -> bool:
    """Data and starting parameters are part of the question, not of the answer."""
    return parts.kind in ("input", "target") or (parts.kind == "param" and parts.step == 1)


def question_order(problem: Problem, only_steps: Collection[int] | None = None
                   ) -> Iterator[str]:
    """:func:`~backprop_cli.model.keys.ordered_keys` (of ``only_steps``, with the data and the
    final pass), with a softmax layer's activations after all of its pre-activations:
    each of them reads the whole layer's z."""
    softmax_units = {u for layer in problem.layers if layer.activation.per_layer
                     for u in layer.units}
    last_units = {layer.units[-1] for layer in problem.layers if layer.activation.per_layer}
    waiting: list[str] = []
    for key in ordered_keys(problem, only_steps):
        parts = parse_key(key, problem) if softmax_units else None
        if parts is not None and parts.kind == "a" and parts.name in softmax_units:
            waiting.append(key)
            if parts.name in last_units:
                yield from waiting
                waiting.clear()
            continue
        yield key


def exercise_keys(problem: Problem) -> list[str]:
    """What an exercise asks for, in computation order: step 1's z, a, loss, deltas,
    parameter gradients, the optimizer's values (momentum's v, Adam's m, s, m̂, ŝ) and
    updated parameters; per sample where there are samples (those of step 1's batch),
    but the batch's gradients, not each sample's contribution."""
    keys = []
    for key in question_order(problem, (1,)):
        parts = parse_key(key, problem)
        if parts is None:
            continue
        if parts.step != 1:
            break  # ordered_keys lists all of step 1 first
        # a parameter's gradient for the batch, not each sample's contribution
        if parts.kind in ("z", "a", "loss", "grad.z", "new", *problem.optimizer.kinds) or (
                parts.kind == "grad" and parts.sample is None):
            keys.append(key)
    return keys


def default_keys(problem: Problem, limit: int = DEFAULT_LIMIT) -> list[str]:
    """The exercise keys; for a large network, one path through it, at most ``limit``.

    The path: the first unit of every hidden layer and the output units, the
    loss, and the parameters of those units that read the path (or are biases).
    """
    keys = exercise_keys(problem)
    if len(keys) <= limit:
        return keys
    chosen: set[str] = set(problem.output_names)
    for layer in problem.layers[:-1]:
        chosen.add(layer.units[0])
    on_path = set(chosen) | {problem.input_names[0]}
    params: set[str] = set()
    for name, param in problem.parameters.items():
        for use in param.uses:
            layer = problem.layers[use.layer]
            source = problem.layer_inputs(use.layer)[use.col] if not use.is_bias else None
            if layer.units[use.row] in chosen and (source is None or source in on_path):
                params.add(name)
    path = []
    for key in keys:
        parts = parse_key(key, problem)
        assert parts is not None
        if parts.kind in ("grad", "new"):
            if parts.name in params:
                path.append(key)
        elif parts.kind == "loss" or parts.name in chosen:
            path.append(key)
    return path[:limit]


def _steps_matched(pattern: str) -> set[int] | None:
    """The steps whose keys ``pattern`` can match (None: any), so that a long run's
    thousands of step keys are listed only when a pattern can reach them."""
    literal = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
    if (step := re.match(r"step([0-9]+)\.", literal)) is not None:
        return {int(step.group(1))}
    if "step".startswith(literal) or re.fullmatch(r"step[0-9]*", literal):
        return None
    return {1}  # unprefixed keys are step 1's; data and final. keys are always listed


def match_patterns(problem: Problem, patterns: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The computed keys matching ``patterns`` (keys or globs) in question order, and
    why each pattern that matches none does not (for an error message)."""
    steps: set[int] | None = set()
    for pattern in patterns:
        reach = _steps_matched(pattern)
        steps = None if reach is None or steps is None else steps | reach
    regexes = [re.compile(fnmatch.translate(pattern)) for pattern in patterns]
    any_key = [False] * len(patterns)
    computed_key = [False] * len(patterns)
    selected: list[str] = []
    computed: list[str] = []
    for key in question_order(problem, steps):
        parts = parse_key(key, problem)
        given = parts is None or is_given(parts)
        if not given:
            computed.append(key)
        hit = False
        for index, regex in enumerate(regexes):
            if regex.match(key):
                any_key[index] = True
                computed_key[index] = computed_key[index] or not given
                hit = True
        if hit and not given:
            selected.append(key)
    errors = {}
    for index, pattern in enumerate(patterns):
        if not computed_key[index]:
            errors[pattern] = ("names only given values (inputs, targets, starting parameters)"
                               if any_key[index] else
                               f"matches no value key{suggest(pattern, computed)}")
    return selected, errors


def select_keys(problem: Problem, patterns: Sequence[str]) -> list[str]:
    """The computed keys matching ``patterns`` (keys or globs), in question order."""
    return match_patterns(problem, patterns)[0]
