"""Value keys: the canonical name of every number the engine produces.

Grammar (see the README's "Value keys"):

    key      := [prefix] body [ "@" k ]
    prefix   := "step" k "." (k >= 2) | "final."
    body     := "z." unit | "a." unit | "dadz." unit | "loss"
              | "grad.a." unit | "grad.z." unit | "grad." param
              | param | "new." param
              | ("v" | "m" | "s" | "mhat" | "shat") "." param   (the optimizer's)
              | "input." input | "target." unit        (data, never prefixed)

Per-sample quantities carry ``@k`` (k from 1) when the file uses ``samples``;
plain ``loss`` and ``grad.<param>`` are then the batch's, and
``grad.<param>@k`` is sample k's contribution to it.

k is always the sample's place in the data (its row in the file), whatever
the step: with ``batch_size``, step s only has the keys of the samples in its
batch (``step2.z.h1@3`` with batches of 2), the data keys ``input.x1@3`` are
the same for every step, and ``final.`` keys cover every sample.

The optimizer's values exist for the steps that update (like ``new.``):
``v.<param>`` (momentum), ``m.``, ``s.``, ``mhat.``, ``shat.<param>`` (Adam).

:func:`ordered_keys` lists the keys of a problem in the order one computes them
by hand, which is the order in which the checker reports the first wrong value.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator

from backprop_cli.model.problem import Problem
from backprop_cli.records import record

_KEY = re.compile(
    r"^(?:(?P<prefix>step(?P<step>[0-9]+)\.|final\.))?(?P<body>.+?)(?:@(?P<k>[0-9]+))?\Z"
)



def prefix_for(step: int | None) -> str:
    """Key prefix of step ``step`` (1-based); None means the final forward pass."""
    if step is None:
        return "final."
    return "" if step == 1 else f"step{step}."


@record(frozen=True)
class KeyParts:
    step: int | None  # None for final.
    kind: str  # z, a, dadz, loss, grad.a, grad.z, grad, param, new, input, target,
    #            or an optimizer's: v, m, s, mhat, shat
    name: str  # unit, param or input name ('' for loss)
    sample: int | None  # 0-based sample index, or None

    @property
    def prefix(self) -> str:
        return prefix_for(self.step)


def parse_key(key: str, problem: Problem) -> KeyParts | None:
    """Split a key into its parts, or None when it is not a key of this problem."""
    parts = _parse_key(key, problem)
    if (parts is not None and parts.sample is not None and problem.batch_size is not None
            and parts.kind not in ("input", "target")
            and parts.sample not in problem.batch(parts.step)):
        return None  # that sample is not in this step's batch
    return parts


def _parse_key(key: str, problem: Problem) -> KeyParts | None:
    prefix: str | None
    step_text: str | None
    k_text: str | None
    if "@" not in key and not key.startswith(("step", "final.")):  # most keys: a body only
        prefix = step_text = k_text = None
        body = key
        if not body or "\n" in body:
            return None
    else:
        match = _KEY.match(key)
        if match is None:
            return None
        prefix, step_text, body, k_text = match.groups()
    if (step_text is not None and len(step_text) > 9) or (k_text is not None
                                                          and len(k_text) > 9):
        return None  # no problem has a billion steps or samples (and int() has a digit limit)
    step: int | None = 1
    if prefix:
        if prefix == "final.":
            step = None
        else:
            assert step_text is not None  # the pattern has the digits with "step"
            step = int(step_text)
            if step < 2 or step > max(problem.steps, 1) or step_text.startswith("0"):
                return None
    sample: int | None = None
    if k_text is not None:
        k = int(k_text)
        if not problem.has_samples or k < 1 or k > problem.n_samples:
            return None
        sample = k - 1
    # a per-sample value has '@k' exactly when the file uses samples
    per_sample_ok = (sample is not None) == problem.has_samples
    kind, _, name = body.partition(".")
    if body == "loss":
        return KeyParts(step, "loss", "", sample)
    if kind in ("input", "target"):
        pool = problem.input_names if kind == "input" else problem.output_set
        if step != 1 or prefix or name not in pool or not per_sample_ok:
            return None
        return KeyParts(1, kind, name, sample)
    units = problem.unit_set
    if kind in ("z", "a", "dadz") and name in units:
        if kind == "dadz" and _is_softmax_unit(problem, name):
            return None
        return KeyParts(step, kind, name, sample) if per_sample_ok else None
    params = problem.parameters
    if kind == "grad":
        sub_kind, _, sub_name = name.partition(".")
        if sub_kind in ("a", "z") and sub_name in units:
            if step is None or not per_sample_ok:
                return None
            return KeyParts(step, f"grad.{sub_kind}", sub_name, sample)
        if name in params and step is not None:
            if sample is not None and not problem.has_samples:
                return None
            return KeyParts(step, "grad", name, sample)
        return None
    if (kind == "new" or kind in problem.optimizer.kinds) and name in params:
        if step is None or sample is not None or step > problem.steps:
            return None
        return KeyParts(step, kind, name, None)
    if body in params and sample is None:
        return KeyParts(step, "param", body, None)
    return None


def _is_softmax_unit(problem: Problem, unit: str) -> bool:
    return unit in problem.softmax_units


def ordered_keys(problem: Problem, only_steps: Collection[int] | None = None) -> Iterator[str]:
    """Every key of the problem, in the order a hand calculation produces them.

    ``only_steps``: list the keys of these steps only (with the data and the
    final pass), so that ordering a few values of a long run stays cheap.
    """
    n = problem.n_samples
    samples = [problem.sample_suffix(k) for k in range(n)]
    batched = problem.batch_size is not None and problem.batch_size < n
    for suffix in samples:
        for name in problem.input_names:
            yield f"input.{name}{suffix}"
        for name in problem.output_names:
            yield f"target.{name}{suffix}"
    steps = range(1, max(problem.steps, 1) + 1)
    for step in steps if only_steps is None else sorted(s for s in only_steps if s in steps):
        prefix = prefix_for(step)
        batch = [samples[k] for k in problem.batch(step)] if batched else samples
        yield from (f"{prefix}{name}" for name in problem.parameters)
        yield from _forward_keys(problem, prefix, batch)
        yield from _backward_keys(problem, prefix, batch)
        if problem.steps >= step:
            yield from _update_keys(problem, prefix)
    yield from (f"final.{name}" for name in problem.parameters)
    yield from _forward_keys(problem, "final.", samples)


def _update_keys(problem: Problem, prefix: str) -> Iterator[str]:
    """Parameter by parameter, as in an update table: its optimizer values, then new."""
    kinds = (*problem.optimizer.kinds, "new")
    for name in problem.parameters:
        for kind in kinds:
            yield f"{prefix}{kind}.{name}"


def _forward_keys(problem: Problem, prefix: str, samples: list[str]) -> Iterator[str]:
    for suffix in samples:
        for layer in problem.layers:
            for unit in layer.units:
                yield f"{prefix}z.{unit}{suffix}"
                yield f"{prefix}a.{unit}{suffix}"
                if not layer.activation.per_layer:
                    yield f"{prefix}dadz.{unit}{suffix}"
        if problem.has_samples:
            yield f"{prefix}loss{suffix}"
    yield f"{prefix}loss"


def _backward_keys(problem: Problem, prefix: str, samples: list[str]) -> Iterator[str]:
    lowest_use = {name: min(use.layer for use in p.uses)
                  for name, p in problem.parameters.items()}
    for suffix in samples:
        for li in range(len(problem.layers) - 1, -1, -1):
            layer = problem.layers[li]
            for unit in layer.units:
                yield f"{prefix}grad.a.{unit}{suffix}"
            for unit in layer.units:
                yield f"{prefix}grad.z.{unit}{suffix}"
            for name, lowest in lowest_use.items():
                if lowest == li:
                    yield f"{prefix}grad.{name}{suffix}"
    if problem.has_samples:
        yield from (f"{prefix}grad.{name}" for name in problem.parameters)


def key_rank(parts: KeyParts, problem: Problem) -> tuple[int, ...]:
    """A key's place in :func:`ordered_keys`, from its parts, without listing the keys.

    Sorting a few keys (a file's expected answers) by this rank gives their order
    in the listing; tests/test_engine.py holds the two to each other.
    """
    kind, name, sample = parts.kind, parts.name, parts.sample
    k = 0 if sample is None else sample
    if kind in ("input", "target"):
        names = problem.input_names if kind == "input" else problem.output_names
        return (0, 0, 0, k, kind == "target", names.index(name))
    step = parts.step
    section, step_order = (2, 0) if step is None else (1, step)
    if kind in ("z", "a", "dadz", "loss"):
        if kind == "loss":
            # a sample's loss after its last unit; the batch's after every sample
            place: tuple[int, ...] = (problem.n_samples, 0, 0) if sample is None else (
                k, len(problem.layers), 0)
        else:
            li, j = problem.unit_places[name]
            place = (k, li, 3 * j + ("z", "a", "dadz").index(kind))
        return (section, step_order, 1, *place)
    params = problem.parameter_order
    if kind == "param":
        return (section, step_order, 0, params[name])
    if kind in ("grad.a", "grad.z"):
        li, j = problem.unit_places[name]
        below = len(problem.layers) - li  # layers from the output down
        return (section, step_order, 2, k, below, kind == "grad.z", j)
    if kind == "grad":
        if sample is None and problem.has_samples:  # the batch's, after every sample
            return (section, step_order, 2, problem.n_samples, 0, 0, params[name])
        lowest = min(use.layer for use in problem.parameters[name].uses)
        return (section, step_order, 2, k, len(problem.layers) - lowest, 2, params[name])
    kinds = (*problem.optimizer.kinds, "new")
    return (section, step_order, 3, params[name], kinds.index(kind))


def step_of(key: str) -> int | None:
    """The step a key belongs to (1 for data keys), None for ``final.`` keys."""
    if key.startswith("final."):
        return None
    if key.startswith("step"):
        number, dot, _ = key[4:].partition(".")
        if dot and number.isdigit():
            return int(number)
    return 1


def all_keys(problem: Problem) -> list[str]:
    return list(ordered_keys(problem))
