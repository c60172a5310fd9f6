"""Random layered networks the reader accepts: every layer type in every order the shapes
allow (conv1d/conv2d, pooling, dropout, flatten, rnn, dense; a sequence or a tensor input),
written as a problem file's text. For the property tests that run every command's output
over them (tests/kinds/test_layered_orders.py)."""

from __future__ import annotations

import math
import random
from typing import Any

import yaml

Shape = tuple[int, ...]

MAX_LAYERS = 5
MAX_VALUES = 40  # a layer's outputs: enough for every case (spelled, tabulated), still quick


def _tensor(rng: random.Random, shape: Shape, values: tuple[float, ...] = ()) -> Any:
    if not shape:
        return rng.choice(values) if values else round(rng.uniform(-1, 1), 2)
    return [_tensor(rng, shape[1:], values) for _ in range(shape[0])]


def _choices(shape: Shape, sequence: bool) -> list[str]:
    """The layer types the reader takes after an output of ``shape``."""
    found = ["dropout"]
    if len(shape) == 2 and sequence:
        found.append("rnn")
    if len(shape) == 2 and not sequence:
        found.append("conv1d")
        if shape[1] >= 2:
            found.append("maxpool1d" if shape[1] % 2 else "avgpool1d")
    if len(shape) == 3:
        found.append("conv2d")
        if min(shape[1:]) >= 2:
            found += ["maxpool2d", "avgpool2d"]
    if not sequence and len(shape) > 1:
        found.append("flatten")
    if len(shape) == (2 if sequence else 1):
        found.append("dense")
    return found


def random_stack(seed: int) -> str:
    """The text of a random layered problem file the reader accepts (seeded)."""
    rng = random.Random(seed)
    sequence = rng.random() < 0.4
    root: dict[str, Any] = {"title": f"stack {seed}"}
    if sequence:
        steps, width = rng.randint(1, 3), rng.randint(1, 2)
        shape: Shape = (steps, width)
        root["network"] = {"inputs": [f"x{i + 1}" for i in range(width)]}
        root["sequence"] = _tensor(rng, shape)
    else:
        shape = rng.choice([(rng.randint(2, 4),), (rng.randint(1, 2), rng.randint(3, 5)),
                            (rng.randint(1, 2), rng.randint(3, 4), rng.randint(3, 4))])
        root["network"] = {"inputs": {"shape": list(shape)}}
        root["input"] = _tensor(rng, shape)
    layers: list[dict[str, Any]] = []
    unit_count = 0
    while True:
        finish = len(layers) >= MAX_LAYERS or rng.random() < 0.25
        choices = _choices(shape, sequence)
        kind = "dense" if finish and "dense" in choices else rng.choice(choices)
        layer: dict[str, Any] = {"type": kind, "name": f"Y{len(layers) + 1}"}
        if kind in ("conv1d", "conv2d"):
            dims = int(kind[-2])
            filters = rng.randint(1, 2)
            kernel = [rng.randint(1, min(2, size)) for size in shape[1:]]
            padding = rng.randint(0, 1)
            stride = rng.randint(1, 2)
            out = [(size + 2 * padding - k) // stride + 1 for size, k in zip(shape[1:], kernel,
                                                                 strict=True)]
            layer.update(filters=filters, kernel=kernel, stride=stride, padding=padding,
                         activation=rng.choice(["relu", "tanh", "identity"]),
                         weights=_tensor(rng, (filters, shape[0], *kernel)),
                         bias=_tensor(rng, (filters,)))
            new: Shape = (filters, *out)
            assert len(out) == dims
        elif kind.endswith(("pool1d", "pool2d")):
            layer.update(size=2, stride=rng.randint(1, 2))
            new = (shape[0], *[(size - 2) // layer["stride"] + 1 for size in shape[1:]])
        elif kind == "dropout":
            layer.update(rate=0.5, mask=_tensor(rng, shape, (0, 1)))
            new = shape
        elif kind == "flatten":
            del layer["name"]
            new = (math.prod(shape),)
        else:
            is_output = kind == "dense" and finish
            units = rng.randint(1, 2)
            names = [f"u{unit_count + i + 1}" for i in range(units)]
            unit_count += units
            del layer["name"]
            layer.update(units=names, activation=rng.choice(["tanh", "sigmoid", "identity"]),
                         weights=_tensor(rng, (units, shape[-1])))
            if rng.random() < 0.7:
                layer["bias"] = _tensor(rng, (units,))
            if kind == "rnn":
                layer["recurrent"] = _tensor(rng, (units, units))
            new = (*shape[:-1], units)
            if is_output:
                layers.append(layer)
                shape = new
                break
        if math.prod(new) > MAX_VALUES:
            continue
        layers.append(layer)
        shape = new
    root["network"]["layers"] = layers
    outputs = len(layers[-1]["units"])
    loss_at = "every" if sequence and rng.random() < 0.5 else "last"
    if sequence:
        root["loss_at"] = loss_at
    if loss_at == "every":
        root["targets"] = _tensor(rng, (shape[0], outputs), (0, 1))
    else:
        root["target"] = _tensor(rng, (outputs,), (0, 1))
    root["loss"] = "half_squared_error"
    root["learning_rate"] = 0.1
    return yaml.safe_dump(root, sort_keys=False)
