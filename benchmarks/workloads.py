"""The inputs of the benchmarks, generated at bench time (nothing here is committed data).

- :func:`write_scale_problem`: a 784-128-10 network (sigmoid, softmax,
  cross-entropy) with its weights and 64 samples in ``.npy`` files;
- :func:`write_batch_folder`: a folder of small exercises, each with the
  answers an author would publish (computed here, written to 6 significant
  digits), as a course repository holds them.

Both are deterministic (fixed seeds), so every run times the same work.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import yaml

SCALE_SHAPE = (784, 128, 10)
SCALE_SAMPLES = 64
SCALE_STEPS = 500
SCALE_LEARNING_RATE = 0.1  # benchmarks/ref_scale.py uses the same


def write_scale_problem(folder: Path, steps: int = SCALE_STEPS) -> Path:
    """Write scale.yaml and its .npy files into ``folder``; return the problem's path."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    n_in, n_hidden, n_out = SCALE_SHAPE
    inputs = rng.random((SCALE_SAMPLES, n_in))  # like pixel intensities in [0, 1)
    labels = rng.integers(0, n_out, SCALE_SAMPLES)
    targets = np.eye(n_out)[labels]
    w1 = rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_hidden, n_in))
    w2 = rng.normal(0.0, 1.0 / np.sqrt(n_hidden), (n_out, n_hidden))
    for name, array in (("inputs", inputs), ("targets", targets), ("w1", w1), ("w2", w2)):
        np.save(folder / f"{name}.npy", array)
    problem = {
        "title": "784-128-10 network, 64 samples (benchmark)",
        "network": {
            "inputs": n_in,
            "layers": [
                {"units": n_hidden, "activation": "sigmoid", "weights": {"file": "w1.npy"},
                 "bias": 0.0},
                {"units": n_out, "activation": "softmax", "weights": {"file": "w2.npy"},
                 "bias": 0.0},
            ],
        },
        "loss": "cross_entropy",
        "learning_rate": SCALE_LEARNING_RATE,
        "steps": steps,
        "samples": {"inputs": "inputs.npy", "targets": "targets.npy"},
    }
    path = folder / "scale.yaml"
    path.write_text(yaml.safe_dump(problem, sort_keys=False), encoding="utf-8")
    return path


# (hidden activation, output activation, loss, outputs) of the small exercises
_KINDS = [
    ("sigmoid", "sigmoid", "half_squared_error", 1),
    ("relu", "sigmoid", "binary_cross_entropy", 1),
    ("tanh", "identity", "squared_error", 2),
    ("sigmoid", "sigmoid", "half_squared_error", 2),
    ("relu", "softmax", "cross_entropy", 3),
]


def _small_problem(rng: random.Random, index: int) -> dict[str, Any]:
    hidden_act, out_act, loss, n_out = _KINDS[index % len(_KINDS)]
    n_in = rng.randint(1, 3)
    n_hidden = rng.randint(1, 3)

    def matrix(rows: int, cols: int) -> list[list[float]]:
        return [[round(rng.uniform(-1.0, 1.0), 2) for _ in range(cols)] for _ in range(rows)]

    def names(prefix: str, rows: int, cols: int, start: int) -> list[list[str]]:
        return [[f"{prefix}{start + r * cols + c}" for c in range(cols)] for r in range(rows)]

    outputs = [f"o{j + 1}" for j in range(n_out)]
    if loss == "cross_entropy":
        target: Any = rng.choice(outputs)
    elif loss == "binary_cross_entropy":
        target = [float(rng.randint(0, 1))]
    else:
        target = [round(rng.uniform(0.0, 1.0), 2) for _ in range(n_out)]
    return {
        "title": f"Exercise {index + 1}",
        "network": {
            "inputs": [f"x{i + 1}" for i in range(n_in)],
            "layers": [
                {"units": [f"h{j + 1}" for j in range(n_hidden)], "activation": hidden_act,
                 "weights": matrix(n_hidden, n_in), "weight_names": names("w", n_hidden, n_in, 1),
                 "bias": round(rng.uniform(-0.5, 0.5), 2), "bias_names": "b1"},
                {"units": outputs, "activation": out_act, "weights": matrix(n_out, n_hidden),
                 "weight_names": names("v", n_out, n_hidden, 1)},
            ],
        },
        "loss": loss,
        "learning_rate": rng.choice([0.1, 0.5, 1.0]),
        "input": [round(rng.uniform(-1.0, 1.0), 2) for _ in range(n_in)],
        "target": target,
    }


def write_batch_folder(folder: Path, count: int = 1000) -> list[Path]:
    """Write ``count`` small exercises with their published answers into ``folder``."""
    from backprop_cli.engine import solve
    from backprop_cli.files.loader import parse_problem

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(5)
    paths = []
    for index in range(count):
        document = _small_problem(rng, index)
        text = yaml.safe_dump(document, sort_keys=False)
        problem = parse_problem(text)
        # what a worked solution publishes: the outputs, the loss, the output
        # deltas, a few gradients and updated weights
        values = solve(problem).values
        keys = [k for k in values if k.startswith(("a.o", "grad.z.o"))]
        keys += ["loss", "grad.w1", "grad.v1", "new.w1", "new.v1", "final.loss"]
        document["expected"] = {key: float(f"{values[key]:.6g}") for key in keys}
        path = folder / f"exercise_{index + 1:04d}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths


GRADING_QUESTIONS = 20


def write_grading_class(folder: Path, students: int = 1000) -> tuple[Path, Path]:
    """A 2-3-1 exercise asking 20 values and a class's answers to it (``class.csv``, a row
    per student) as students give them: most right to 4 digits, some to 3, some with a
    flipped sign or doubled, some blank or not a number. Returns (problem, answers)."""
    from backprop_cli.app.generator import Options, answer_text, generate
    from backprop_cli.engine import solve
    from backprop_cli.files.loader import parse_problem
    from backprop_cli.model.questions import exercise_keys

    folder.mkdir(parents=True, exist_ok=True)
    text = generate(Options(layers=(2, 3, 1), seed=11, nice=True)).text
    problem = parse_problem(text)
    keys = exercise_keys(problem)[:GRADING_QUESTIONS]
    path = folder / "exercise.yaml"
    path.write_text(text + f"quiz: [{', '.join(keys)}]\n", encoding="utf-8")
    values = solve(problem).values
    rng = random.Random(15)
    rows = ["student," + ",".join(keys)]
    for index in range(students):
        cells = []
        for key in keys:
            value, draw = values[key], rng.random()
            if draw < 0.70:
                cells.append(answer_text(value, 4))
            elif draw < 0.80:
                cells.append(answer_text(value, 3))
            elif draw < 0.88:
                cells.append(answer_text(-value, 4))
            elif draw < 0.92:
                cells.append(answer_text(2 * value, 4))
            elif draw < 0.98:
                cells.append("")
            else:
                cells.append("?")
        rows.append(f"student{index:04d}," + ",".join(cells))
    answers = folder / "class.csv"
    answers.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path, answers


LAYERS_STEPS = 100


def write_layers_problem(folder: Path, steps: int = LAYERS_STEPS) -> Path:
    """Issue 19's workload as a layered network file (benchmarks/ref_layers.py's arrays:
    64 samples of 1×28×28, conv2d 8 filters 3×3 ReLU, max pool 2, flatten, dense 10 with
    softmax and cross-entropy). Its samples and parameters are the .npy files the
    hand-written loop reads (``samples: {inputs: x.npy, targets: y.npy}``,
    ``weights: {file: k.npy}``), so both sides read the same bytes."""
    from benchmarks.ref_layers import CLASSES, FILTERS, KERNEL, LEARNING_RATE, POOL, SIDE
    from benchmarks.ref_layers import problem as arrays

    folder.mkdir(parents=True, exist_ok=True)
    data = arrays()
    for name, array in data.items():
        np.save(folder / f"{name}.npy", array)
    problem = {
        "title": "Issue 19's conv network, 64 samples of 1×28×28 (benchmark)",
        "network": {
            "inputs": {"shape": [1, SIDE, SIDE]},
            "layers": [
                {"type": "conv2d", "name": "C", "filters": FILTERS, "kernel": KERNEL,
                 "weights": {"file": "k.npy"}, "bias": {"file": "c.npy"},
                 "activation": "relu"},
                {"type": "maxpool2d", "name": "P", "size": POOL},
                {"type": "flatten"},
                {"units": CLASSES, "activation": "softmax", "weights": {"file": "w.npy"},
                 "bias": {"file": "b.npy"}},
            ],
        },
        "loss": "cross_entropy",
        "learning_rate": LEARNING_RATE,
        "steps": steps,
        "samples": {"inputs": "x.npy", "targets": "y.npy"},
    }
    path = folder / "layers.yaml"
    path.write_text(yaml.safe_dump(problem, sort_keys=False, default_flow_style=None,
                                   allow_unicode=True), encoding="utf-8")
    return path
