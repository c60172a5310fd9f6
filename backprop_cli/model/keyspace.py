"""The keys of one problem: which keys name its values, and in which order.

The grammar itself (building and splitting a key) is :mod:`backprop_cli.model.keys`;
this module asks a :class:`~backprop_cli.model.problem.Problem` whether the
names, the step and the sample of a key exist (:func:`parse_key`).

:func:`ordered_keys` lists the keys of a problem in the order one computes them
by hand, which is the order in which the checker reports the first wrong value;
:func:`key_rank` gives one key's place in that listing without listing the keys
(a deliberate twin, held to it by tests/engine/test_engine.py).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from backprop_cli.model.keys import (
    EPOCH_KINDS,
    FINAL_PREFIX,
    KeyKind,
    KeyParts,
    compose,
    epoch_key,
    for_sample,
    keys_by_name,
    keys_of,
    named_kind,
    prefix_for,
    split_key,
    suffix_for,
    value_key,
)
from backprop_cli.model.problem import Problem

# Parameters × steps up to which every value key of a problem is listed for a hint
KEY_INDEX_LIMIT = 20_000


def parse_key(key: str, problem: Problem) -> KeyParts | None:
    """Split a key into its parts, or None when it is not a key of this problem."""
    parts = split_key(key)
    if parts is None or parts.index is not None or parts.time is not None:
        return None  # (tensor indices and time steps are layered networks')
    # (one function, not two: the batch check parses every published key)
    step, kind, name, sample = parts.step, parts.kind, parts.name, parts.sample
    if kind == "predict.z" or kind == "predict.a":
        return parts if name in problem.unit_set and sample is not None and (
            sample < problem.n_predict) else None
    if kind == "predict.accuracy":
        return parts if problem.predict_targets is not None else None
    if kind == "accuracy":  # final.accuracy, unless a parameter has that name
        if "accuracy" in problem.parameters:
            return KeyParts(None, "param", "accuracy", None)
        return parts
    if kind in EPOCH_KINDS:
        return parts if int(name) <= problem.epochs_run and (
            kind != "epoch.errors" or problem.perceptron) and not problem.loss.given else None
    if step is not None and step > 1 and step > problem.steps:
        return None
    if sample is not None:
        if not problem.has_samples or sample >= problem.n_samples:
            return None
        if (problem.batch_size is not None and kind != "input" and kind != "target"
                and sample not in problem.batch(step)):
            return None  # that sample is not in this step's batch
    # a per-sample value has '@k' exactly when the file uses samples
    if kind == "z" or kind == "a" or kind == "grad.z" or kind == "grad.a" or kind == "dadz":
        if kind == "dadz" and name in problem.softmax_units:
            return None
        ok = name in problem.unit_set and (sample is not None) == problem.has_samples
    elif kind == "param" or kind == "grad":
        ok = name in problem.parameters
    elif kind == "loss":
        ok = not problem.loss.given  # loss: none has no loss key
    elif kind == "error":
        ok = name in problem.unit_set and (sample is not None) == problem.has_samples
    elif kind == "grad.input":
        ok = name in problem.input_names and (sample is not None) == problem.has_samples
    elif kind == "input" or kind == "target":
        pool = problem.input_names if kind == "input" else problem.output_set
        ok = name in pool and (sample is not None) == problem.has_samples
    else:  # new, change and the optimizer's values: for the steps that update (never final.)
        ok = ((kind == "new" or kind == "change" or kind in problem.optimizer.kinds)
              and name in problem.parameters and step is not None and step <= problem.steps)
    return parts if ok else None


def ordered_keys(problem: Problem, only_steps: Collection[int] | None = None) -> Iterator[str]:
    """Every key of the problem, in the order a hand calculation produces them.

    ``only_steps``: list the keys of these steps only (with the data and the
    final pass), so that ordering a few values of a long run stays cheap.
    """
    n = problem.n_samples
    samples = [problem.sample_suffix(k) for k in range(n)]
    batched = problem.batch_size is not None and problem.batch_size < n
    # with loss: none, target.<unit> holds the given upstream ∂L/∂a
    data = keys_of("", "input", problem.input_names) + keys_of("", "target", problem.output_names)
    for suffix in samples:
        yield from for_sample(data, suffix)
    steps = range(1, max(problem.steps, 1) + 1)
    for step in steps if only_steps is None else sorted(s for s in only_steps if s in steps):
        prefix = prefix_for(step)
        batch = [samples[k] for k in problem.batch(step)] if batched else samples
        yield from keys_of(prefix, "param", problem.parameters)
        yield from _forward_keys(problem, prefix, batch)
        yield from _backward_keys(problem, prefix, batch)
        if problem.steps >= step:
            yield from _update_keys(problem, prefix)
    yield from keys_of(FINAL_PREFIX, "param", problem.parameters)
    yield from _forward_keys(problem, FINAL_PREFIX, samples)
    yield from epoch_keys(problem)
    if problem.lists_accuracy:
        yield from accuracy_keys(problem)


def accuracy_keys(problem: Problem) -> list[str]:
    """predict.z. and predict.a. of every unit for each predict row, then the accuracies
    (listed when asked for: the file's expected or quiz names them)."""
    keys: list[str] = []
    for k in range(problem.n_predict):
        keys += keys_by_name("", ("predict.z", "predict.a"),
                             [u for layer in problem.layers for u in layer.units],
                             suffix_for(k))
    keys.append(value_key("accuracy", step=None))
    if problem.predict_targets is not None:
        keys.append(value_key("predict.accuracy"))
    return keys


def epoch_keys(problem: Problem) -> list[str]:
    """epoch<k>.loss, epoch<k>.loss_sum (and the perceptron's epoch<k>.errors), k from 1."""
    kinds = EPOCH_KINDS if problem.perceptron else EPOCH_KINDS[:2]
    if problem.loss.given:
        kinds = ()  # loss: none: no loss, no epoch losses
    return [epoch_key(kind, k) for k in range(1, problem.epochs_run + 1) for kind in kinds]


def _update_keys(problem: Problem, prefix: str) -> list[str]:
    """Parameter by parameter, as in an update table: its optimizer values, then new."""
    return keys_by_name(prefix, update_kinds(problem), problem.parameters)


def optimizer_kinds(problem: Problem) -> tuple[KeyKind, ...]:
    """The kinds of the optimizer's values, in the order it computes them."""
    return tuple(map(named_kind, problem.optimizer.kinds))


def update_kinds(problem: Problem) -> tuple[KeyKind, ...]:
    """The kinds of a step's update, in order: the optimizer's values, then ``new`` (and
    ``change`` when the file uses it)."""
    if "change" in problem.shown_kinds:
        return (*optimizer_kinds(problem), "new", "change")
    return (*optimizer_kinds(problem), "new")


def _forward_keys(problem: Problem, prefix: str, samples: list[str]) -> list[str]:
    # one sample's keys are built once, then given each sample's suffix
    block: list[str] = []
    for layer in problem.layers:
        kinds: tuple[KeyKind, ...] = ("z", "a") if layer.activation.per_layer else (
            "z", "a", "dadz")
        block += keys_by_name(prefix, kinds, layer.units)
    if problem.has_samples and not problem.loss.given:
        block.append(compose(prefix, "loss"))
    keys: list[str] = []
    for suffix in samples:
        keys += for_sample(block, suffix)
    if not problem.loss.given:
        keys.append(compose(prefix, "loss"))
    return keys


def _backward_keys(problem: Problem, prefix: str, samples: list[str]) -> list[str]:
    # a parameter's gradient comes with the lowest layer that uses it
    lowest_use: list[list[str]] = [[] for _ in problem.layers]
    for name, p in problem.parameters.items():
        lowest_use[min(use.layer for use in p.uses)].append(name)
    error = "error" in problem.shown_kinds
    block: list[str] = []
    for li in range(len(problem.layers) - 1, -1, -1):
        units = problem.layers[li].units
        block += keys_of(prefix, "grad.a", units)
        block += keys_of(prefix, "grad.z", units)
        if error:
            block += keys_of(prefix, "error", units)
        block += keys_of(prefix, "grad", lowest_use[li])
    if "grad.input" in problem.shown_kinds:
        block += keys_of(prefix, "grad.input", problem.input_names)
    keys: list[str] = []
    for suffix in samples:
        keys += for_sample(block, suffix)
    if problem.has_samples:
        keys += keys_of(prefix, "grad", problem.parameters)
    return keys


def key_rank(parts: KeyParts, problem: Problem) -> tuple[int, ...]:
    """A key's place in :func:`ordered_keys`, from its parts, without listing the keys.

    Sorting a few keys (a file's expected answers) by this rank gives their order
    in the listing; tests/engine/test_engine.py holds the two to each other.
    """
    kind, name, sample = parts.kind, parts.name, parts.sample
    k = 0 if sample is None else sample
    if kind in EPOCH_KINDS:  # after the final pass
        return (3, int(name), EPOCH_KINDS.index(kind))
    if kind in ("predict.z", "predict.a"):
        li, j = problem.unit_places[name]
        return (4, k, li, j, kind == "predict.a")
    if kind == "accuracy" or kind == "predict.accuracy":
        return (5, kind == "predict.accuracy")
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
    if kind in ("grad.a", "grad.z", "error"):
        li, j = problem.unit_places[name]
        below = len(problem.layers) - li  # layers from the output down
        return (section, step_order, 2, k, below, ("grad.a", "grad.z", "error").index(kind), j)
    if kind == "grad.input":  # after the lowest layer's parameter gradients
        return (section, step_order, 2, k, len(problem.layers) + 1, 0,
                problem.input_names.index(name))
    if kind == "grad":
        if sample is None and problem.has_samples:  # the batch's, after every sample
            return (section, step_order, 2, problem.n_samples, 0, 0, params[name])
        lowest = min(use.layer for use in problem.parameters[name].uses)
        return (section, step_order, 2, k, len(problem.layers) - lowest, 3, params[name])
    return (section, step_order, 3, params[name], (*optimizer_kinds(problem), "new",
                                                   "change").index(kind))


def all_keys(problem: Problem) -> list[str]:
    return list(ordered_keys(problem))


def key_index(problem: Problem) -> dict[str, int] | None:
    """Every value key's place in computation order, for a problem small enough to
    list them all (None otherwise: ask :func:`parse_key` about one key at a time)."""
    if problem.n_parameters * max(problem.steps, 1) > KEY_INDEX_LIMIT:
        return None
    return {key: index for index, key in enumerate(ordered_keys(problem))}
