"""The value keys of a layered network (issue 19), in the order a hand calculation
produces them: the twin of :mod:`backprop_cli.model.keyspace` for dense networks, apart so
that a dense network's run never loads the layered model."""

from __future__ import annotations

from backprop_cli.model.keys import (
    EPOCH_KINDS,
    FINAL_PREFIX,
    KeyKind,
    compose,
    epoch_key,
    named_kind,
    prefix_for,
    time_suffix,
)
from backprop_cli.model.layered import LayeredProblem


def layered_keys(problem: LayeredProblem) -> list[str]:
    """Every key of a layered network's problem (issue 19), in the order a hand
    calculation produces them: the data, then each step's parameters, forward pass
    (layer by layer, a sequence's steps in order), losses, backward pass (from the
    output down, then the parameters' batch gradients), update; then the final pass."""
    samples = [problem.sample_suffix(k) for k in range(problem.n_samples)]
    times = [time_suffix(t) for t in range(1, problem.time_steps + 1)] if problem.sequence else [
        ""]
    output = problem.output
    data = [compose("", "input", name + t) for t in times
            for name in problem.input_value_names()]
    target_times = times if problem.loss_at == "every" else [""]
    data += [compose("", "target", name + t) for t in target_times
             for name in output.value_names()]
    params = [key for _, param in problem.parameters() for key in param.element_keys()]
    keys = [key + suffix for suffix in samples for key in data]
    for step in range(1, max(problem.steps, 1) + 1):
        prefix = prefix_for(step)
        batch = [samples[k] for k in problem.batch(step)]  # the samples this step uses
        keys += [prefix + key for key in params]
        keys += _layered_forward(problem, prefix, batch, times)
        for suffix in batch:
            for layer in reversed(problem.layers):
                if not layer.has_keys:
                    continue
                kinds: tuple[KeyKind, ...] = ("grad.a", "grad.z") if layer.has_z else (
                    "grad.a",)
                for t in reversed(times if layer.over_time else [""]):
                    keys += [compose(prefix, kind, name + t + suffix)
                             for name in layer.value_names() for kind in kinds]
                if problem.has_samples:  # each sample's own parameter gradients
                    keys += [compose(prefix, "grad", key + suffix)
                             for param in layer.params for key in param.element_keys()]
            keys += [compose(prefix, "grad.input", name + t + suffix)
                     for t in times for name in problem.input_value_names()]
        keys += [compose(prefix, "grad", key) for key in params]
        if problem.steps >= step:
            kinds = (*map(named_kind, problem.optimizer.kinds), "new", "change")
            keys += [compose(prefix, kind, key) for key in params for kind in kinds]
    keys += [FINAL_PREFIX + key for key in params]
    keys += _layered_forward(problem, FINAL_PREFIX, samples, times)
    keys += [epoch_key(kind, k) for k in range(1, problem.epochs_run + 1)
             for kind in EPOCH_KINDS[:2]]
    return keys


def _layered_forward(problem: LayeredProblem, prefix: str, samples: list[str],
                     times: list[str]) -> list[str]:
    keys: list[str] = []
    for suffix in samples:
        for layer in problem.layers:
            if not layer.has_keys:
                continue
            kinds: tuple[KeyKind, ...] = ("a",)
            if layer.activation is not None:
                kinds = ("z", "a") if layer.activation.per_layer else ("z", "a", "dadz")
            for t in times if layer.over_time else [""]:
                keys += [compose(prefix, kind, name + t + suffix)
                         for name in layer.value_names() for kind in kinds]
        if problem.loss_at == "every":
            keys += [compose(prefix, "loss", t + suffix) for t in times]
        if problem.has_samples:
            keys.append(compose(prefix, "loss", suffix))
    keys.append(compose(prefix, "loss"))
    return keys
