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
from backprop_cli.model.keys import KeyParts, steps_reached
from backprop_cli.model.keyspace import ordered_keys, parse_key
from backprop_cli.model.problem import Problem

# More default questions than this and the quiz follows one path through the network.
DEFAULT_LIMIT = 40


def is_given(parts: KeyParts) -> bool:
    """Data and starting parameters are part of the question, not of the answer."""
    return parts.kind in ("input", "target") or (parts.kind == "param" and parts.step == 1)


def question_order(problem: Problem, only_steps: Collection[int] | None = None
                   ) -> Iterator[str]:
    """:func:`~backprop_cli.model.keyspace.ordered_keys` (of ``only_steps``, with the data and the
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
    """The exercise keys, or for a large exercise the subset :func:`default_selection`
    picks (at most ``limit``)."""
    return default_selection(problem, limit)[0]


def default_selection(problem: Problem, limit: int = DEFAULT_LIMIT
                      ) -> tuple[list[str], str | None]:
    """The questions of an exercise, and a note saying what is left out and how to ask
    for it (None when nothing is).

    Up to ``limit`` questions every exercise key is asked. Beyond it, every unit is still
    asked about: the first sample's z, a, loss and δ of every unit, with the batch's
    gradients and updates of the parameters on one path; a network too large even for
    that gets one path through it (the first unit of every hidden layer and the outputs).
    """
    keys = exercise_keys(problem)
    if len(keys) <= limit:
        return keys, None
    parsed = {key: parse_key(key, problem) for key in keys}
    first = min((p.sample for p in parsed.values() if p is not None and p.sample is not None),
                default=None)
    params = _path_parameters(problem)
    parameter_kinds = ("grad", "new", *problem.optimizer.kinds)
    per_unit = [k for k, p in parsed.items() if p is not None
                and p.kind not in parameter_kinds and p.sample in (None, first)]
    if len(per_unit) <= limit:
        chosen = set(per_unit)
        rest = [(k, p.name) for k, p in parsed.items() if p is not None
                and p.kind in parameter_kinds]
        every = len(chosen) + len(rest) <= limit
        for key, name in rest:
            if len(chosen) < limit and (every or name in params):
                chosen.add(key)
        selection = [key for key in keys if key in chosen]
        which = ("every unit" + (f" for sample {first + 1}" if first is not None else "")
                 + ("; every parameter" if every else
                    "; the parameters of one path through the network"))
    else:
        units = set(problem.output_names) | {layer.units[0] for layer in problem.layers[:-1]}
        selection = [key for key, p in parsed.items() if p is not None and (
            p.name in params if p.kind in ("grad", "new") else
            p.kind == "loss" or p.name in units)][:limit]
        which = "one path: the first unit of each hidden layer, the outputs and their inputs"
    other = "'*" + problem.sample_suffix(first + 1) + "'" if first is not None else ""
    example = (f"--keys {other} (sample {(first or 0) + 2})"
               if first is not None and problem.n_samples > first + 1 else
               "--keys 'z.*' --keys 'grad.*'")
    note = (f"{len(selection)} of the exercise's {len(keys)} values ({which}). "
            f"Ask for the others with --keys, e.g. {example}.")
    return selection, note


def _path_parameters(problem: Problem) -> set[str]:
    """The parameters of the first unit of every hidden layer and the output units that
    read that path (or are biases)."""
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
    return params


def _steps_matched(pattern: str) -> set[int] | None:
    """The steps whose keys ``pattern`` can match (None: any), so that a long run's
    thousands of step keys are listed only when a pattern can reach them."""
    return steps_reached(re.split(r"[*?\[]", pattern, maxsplit=1)[0])


# Keys kept as candidates for a "did you mean" (the first steps' keys name every kind): the
# memory stays flat in steps, and difflib is never handed a million keys.
SUGGESTION_POOL = 5_000


def match_patterns(problem: Problem, patterns: Sequence[str], max_steps: int | None = None
                   ) -> tuple[list[str], dict[str, str]]:
    """The computed keys matching ``patterns`` (keys or globs) in question order, and
    why each pattern that matches none does not (for an error message).

    ``max_steps``: look at most at the first ``max_steps`` steps and the last (checking
    a file's patterns when it is loaded: a million steps are never listed for that)."""
    steps: set[int] | None = set()
    for pattern in patterns:
        reach = _steps_matched(pattern)
        steps = None if reach is None or steps is None else steps | reach
    if steps is None and max_steps is not None and problem.steps > max_steps:
        steps = {*range(1, max_steps + 1), problem.steps}
    regexes = [re.compile(fnmatch.translate(pattern)) for pattern in patterns]
    any_key = [False] * len(patterns)
    computed_key = [False] * len(patterns)
    selected: list[str] = []
    computed: list[str] = []
    for key in question_order(problem, steps):
        parts = parse_key(key, problem)
        given = parts is None or is_given(parts)
        if not given and len(computed) < SUGGESTION_POOL:
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
