"""Random problem files for property tests (hypothesis strategies)."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st

from backprop_cli.model.activations import ACTIVATION_NAMES, ACTIVATIONS
from backprop_cli.model.losses import LOSS_NAMES
from backprop_cli.model.losses import LOSSES as LOSS_SPECS
from backprop_cli.model.optimizers import OPTIMIZER_NAMES

# every registered variant (the registries' order)
HIDDEN_ACTIVATIONS = list(ACTIVATION_NAMES)
LOSSES = list(LOSS_NAMES)
# the output a loss that takes logs needs (the first its spec accepts)
OUTPUT_FOR_LOSS = {name: spec.output_activations[0] for name, spec in LOSS_SPECS.items()
                   if spec.output_activations}

weights = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False).map(lambda v: round(v, 3))


@st.composite
def problem_documents(draw: st.DrawFn, *, max_layers: int = 3, max_units: int = 3,
                      share: bool = True, freeze: bool = True,
                      training: bool = False) -> dict[str, Any]:
    """A valid problem document (a dict, to be dumped as YAML).

    ``training``: also an optimizer (sgd, momentum or adam, with settings), maybe
    weight decay, and with samples maybe mini-batches and epochs.
    """
    loss = draw(st.sampled_from(LOSSES))
    n_inputs = draw(st.integers(1, max_units))
    n_layers = draw(st.integers(1, max_layers))
    sizes = [draw(st.integers(1, max_units)) for _ in range(n_layers)]
    sizes[-1] = max(sizes[-1], LOSS_SPECS[loss].min_outputs)
    layers = []
    below = n_inputs
    names_used: list[str] = []
    for index, size in enumerate(sizes, start=1):
        is_output = index == n_layers
        if is_output:
            activation = OUTPUT_FOR_LOSS.get(loss, draw(st.sampled_from(HIDDEN_ACTIVATIONS)))
        else:
            activation = draw(st.sampled_from(HIDDEN_ACTIVATIONS))
        if activation == "softmax" and size == 1:
            size = sizes[index - 1] = 2  # softmax over one unit is refused (always 1)
        layer: dict[str, Any] = {
            "units": [f"u{index}_{i}" for i in range(size)],
            "activation": activation,
            "weights": [[draw(weights) for _ in range(below)] for _ in range(size)],
        }
        if ACTIVATIONS[activation].default_alpha is not None and draw(st.booleans()):
            layer["activation"] = {"name": activation, "alpha": draw(
                st.floats(0.05, 0.5).map(lambda v: round(v, 2)))}
        names = [[f"w{index}_{i}_{j}" for j in range(below)] for i in range(size)]
        layer["weight_names"] = names
        names_used += [n for row in names for n in row]
        if draw(st.booleans()):
            if share and size > 1 and draw(st.booleans()):
                layer["bias"] = draw(weights)
                layer["bias_names"] = f"b{index}"  # one shared bias for the layer
                names_used.append(f"b{index}")
            else:
                layer["bias"] = [draw(weights) for _ in range(size)]
                layer["bias_names"] = [f"b{index}_{i}" for i in range(size)]
                names_used += layer["bias_names"]
        layers.append(layer)
        below = size
    n_out = sizes[-1]

    def target() -> list[float]:
        if loss == "cross_entropy":
            raw = [draw(st.floats(0.0, 1.0)) for _ in range(n_out)]
            total = sum(raw)
            if total == 0:
                return [1.0] + [0.0] * (n_out - 1)
            return [v / total for v in raw]
        if loss == "binary_cross_entropy":
            return [draw(st.floats(0.0, 1.0)) for _ in range(n_out)]
        return [draw(st.floats(-2.0, 2.0)) for _ in range(n_out)]

    def inputs() -> list[float]:
        return [draw(weights) for _ in range(n_inputs)]

    document: dict[str, Any] = {
        "network": {"inputs": n_inputs, "layers": layers},
        "loss": loss,
        "learning_rate": draw(st.sampled_from([0.01, 0.1, 0.5])),
        "steps": draw(st.integers(0, 3)),
        "reduction": draw(st.sampled_from(["mean", "sum"])),
    }
    if draw(st.booleans()):
        n = draw(st.integers(1, 3))
        document["samples"] = [{"input": inputs(), "target": target()} for _ in range(n)]
    else:
        document["input"] = inputs()
        document["target"] = target()
    if freeze and draw(st.booleans()):
        document["freeze"] = [draw(st.sampled_from(names_used))]
    if training:
        document.update(draw(training_settings(len(document.get("samples", [None])))))
    return document


@st.composite
def training_settings(draw: st.DrawFn, n_samples: int) -> dict[str, Any]:
    """optimizer, weight_decay, batch_size and epochs (or steps) for ``n_samples`` samples."""
    settings: dict[str, Any] = {}
    name = draw(st.sampled_from(OPTIMIZER_NAMES))  # any but these two: default settings
    if name == "momentum":
        settings["optimizer"] = {"name": name, "beta": draw(st.sampled_from([0.0, 0.5, 0.9]))}
    elif name == "adam":
        settings["optimizer"] = {"name": name, "beta1": draw(st.sampled_from([0.8, 0.9])),
                                 "beta2": draw(st.sampled_from([0.9, 0.999])),
                                 "epsilon": draw(st.sampled_from([1e-8, 1e-3]))}
    else:
        settings["optimizer"] = draw(st.sampled_from([name, {"name": name}]))
    if draw(st.booleans()):
        settings["weight_decay"] = draw(st.sampled_from([0.01, 0.1]))
    if n_samples > 1 and draw(st.booleans()):
        settings["batch_size"] = draw(st.integers(1, n_samples))
        if draw(st.booleans()):
            settings["epochs"] = draw(st.integers(1, 2))
            settings["steps"] = None  # the caller drops it: epochs replace steps
    else:
        settings["steps"] = draw(st.integers(1, 4))
    return settings


def dump(document: dict[str, Any]) -> str:
    # a key set to None by a strategy is a key to leave out (e.g. steps, with epochs)
    clean = {key: value for key, value in document.items() if value is not None}
    return yaml.safe_dump(clean, sort_keys=False)
