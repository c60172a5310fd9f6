"""The exercise generator behind `backprop new`: a problem file with its answer key.

:func:`generate` draws a network (shape, activations, loss and learning rate
from :class:`Options`) with ``numpy.random.default_rng(seed)``, so one seed
always gives the same exercise, solves it with the engine, and writes the answer
key under ``expected``: step 1's z, a, loss, deltas, gradients and updated
parameters (:func:`backprop_cli.app.quiz.exercise_keys`), to 4 significant digits.
The file is written by hand (stable key order, weight matrices as flow lists),
read back through the loader and checked before it is returned: a generated
file always passes ``backprop check``.

Draws avoid dead ReLU units (z ≤ 0 for every sample: no gradient reaches what
is below) unless ``allow_dead``. ``nice`` draws from friendly grids instead
(weights and biases in tenths, small whole inputs, targets the output can
reach), keeps sigmoid-like units out of saturation, and never gives a zero
loss, so a hand calculation stays short. :data:`TEMPLATE` is the commented
file ``backprop new`` writes without options.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from backprop_cli.checking.checker import check_values
from backprop_cli.engine import solve
from backprop_cli.errors import suggest
from backprop_cli.files.loader import parse_problem
from backprop_cli.model.activations import (
    ACTIVATION_NAMES,
    ACTIVATIONS,
    ALIASES,
    Activation,
    make_activation,
)
from backprop_cli.model.losses import LOSS_NAMES, LOSSES
from backprop_cli.model.questions import exercise_keys

Array = NDArray[np.float64]

DEFAULT_LAYERS = (2, 2, 1)
DEFAULT_LOSS = "half_squared_error"
DEFAULT_LEARNING_RATE = 0.1
ANSWER_DIGITS = 4
# Bounds for an exercise done by hand (and for the rejection loop's patience).
MAX_UNITS = 64
MAX_LAYERS = 12
MAX_SAMPLES = 32
ROW_TRIES = 200
TARGET_TRIES = 50
# --nice keeps sigmoid-like units (ActivationSpec.saturating) where their slope is worth
# computing.
NICE_Z_LIMIT = 3.0


def output_for_loss(loss: str) -> tuple[str, ...] | None:
    """The output activation a loss needs (its logs must see values in (0, 1)): the first
    of its LossSpec.output_activations; None: any."""
    return LOSSES[loss].output_activations[:1] or None


class GeneratorError(ValueError):
    """Options that cannot make an exercise (the message says which and why)."""


@dataclass(frozen=True)
class Options:
    layers: tuple[int, ...] = DEFAULT_LAYERS  # inputs, then the units of each layer
    activations: tuple[str, ...] | None = None  # one per layer, or one for all
    loss: str = DEFAULT_LOSS
    learning_rate: float = DEFAULT_LEARNING_RATE
    seed: int | None = None  # None: a fresh one, written into the file's first line
    nice: bool = False
    allow_dead: bool = False
    samples: int = 1


def parse_layers(text: str) -> tuple[int, ...]:
    """'2-2-1' -> (2, 2, 1): the inputs, then each layer's units (the last is the output)."""
    parts = [p.strip() for p in re.split(r"[-x,]", text.strip())]
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise GeneratorError(f"'{text}' is not a network shape: write the inputs and each "
                             "layer's units joined by '-', e.g. 2-2-1")
    sizes = tuple(int(p) for p in parts)
    if any(size < 1 for size in sizes):
        raise GeneratorError(f"'{text}': every layer needs at least one unit")
    if any(size > MAX_UNITS for size in sizes):
        raise GeneratorError(f"'{text}': at most {MAX_UNITS} units a layer in an exercise")
    if len(sizes) - 1 > MAX_LAYERS:
        raise GeneratorError(f"'{text}': at most {MAX_LAYERS} layers in an exercise")
    return sizes


def parse_activations(text: str) -> tuple[str, ...]:
    """'relu,sigmoid' -> ('relu', 'sigmoid'), names checked (aliases allowed)."""
    names = []
    for raw in text.split(","):
        name = raw.strip()
        try:
            names.append(make_activation(name).name)
        except KeyError:
            known = list(ACTIVATION_NAMES) + list(ALIASES)
            hint = suggest(name, known) or f" (known: {', '.join(ACTIVATION_NAMES)})"
            raise GeneratorError(f"unknown activation '{name}'{hint}") from None
    return tuple(names)


def resolve_activations(options: Options) -> list[str]:
    """One activation name per layer, checked against the loss."""
    n_layers = len(options.layers) - 1
    check_loss(options.loss)
    given = options.activations
    if given is None:
        output = (output_for_loss(options.loss) or ("sigmoid",))[0]
        names = ["relu"] * (n_layers - 1) + [output]
    elif len(given) == 1:
        names = list(given) * n_layers
    elif len(given) == n_layers:
        names = list(given)
    else:
        raise GeneratorError(f"{len(given)} activations for {n_layers} layers: give one per "
                             "layer after the inputs, or one for all")
    check_activation_names(names, options.layers[1:], options.loss)
    return names


def check_loss(loss: str) -> None:
    if loss not in LOSS_NAMES:
        hint = suggest(loss, LOSS_NAMES) or f" (known: {', '.join(LOSS_NAMES)})"
        raise GeneratorError(f"unknown loss '{loss}'{hint}")


def check_activation_names(names: Sequence[str], units: Sequence[int], loss: str) -> None:
    """GeneratorError when the activations (one per layer, of ``units`` units each) and
    the loss cannot make an exercise: too few outputs, softmax over one unit, an output
    activation the loss cannot read."""
    spec = LOSSES[loss]
    if units[-1] < spec.min_outputs:
        raise GeneratorError(f"{spec.name} needs at least two output units (e.g. 2-3-2); "
                             f"for one output use {spec.single_output_loss}")
    for index, (name, size) in enumerate(zip(names, units, strict=True), 1):
        if ACTIVATIONS[name].per_layer and size < 2:
            raise GeneratorError(f"{name} over one unit (layer {index}) is always 1, a "
                                 "constant loss: give that layer two or more units, or use "
                                 "sigmoid")
    wanted = output_for_loss(loss)
    if wanted is not None and names[-1] not in wanted:
        raise GeneratorError(f"{loss} needs a {' or '.join(wanted)} output layer, "
                             f"found {names[-1]} (the last of --activations)")


# ------------------------------------------------------------------ drawing


class Draw:
    """Random numbers for one exercise, from a grid with --nice."""

    def __init__(self, rng: np.random.Generator, nice: bool) -> None:
        self.rng = rng
        self.nice = nice

    def weights(self, shape: tuple[int, ...]) -> Array:
        if self.nice:  # tenths in [-1, 1], never 0 (a zero weight is a missing edge)
            tenths = self.rng.integers(1, 11, size=shape) * self.rng.choice([-1, 1], size=shape)
            return tenths / 10.0
        values = np.round(self.rng.uniform(-1.0, 1.0, size=shape), 2)
        return np.where(values == 0.0, 0.01, values)

    def biases(self, size: int) -> Array:
        if self.nice:
            return self.rng.integers(-5, 6, size=size) / 10.0
        return np.round(self.rng.uniform(-0.5, 0.5, size=size), 2) + 0.0

    def inputs(self, shape: tuple[int, ...]) -> Array:
        if self.nice:  # small whole numbers, not 0 (its weights would get no gradient)
            return self.rng.choice([-2.0, -1.0, 1.0, 2.0, 3.0], size=shape)
        values = np.round(self.rng.uniform(-2.0, 2.0, size=shape), 1)
        return np.where(values == 0.0, 0.5, values)

    def target(self, activation: str, loss: str, size: int) -> Array:
        rng = self.rng
        outputs = ACTIVATIONS[activation].outputs
        targets = LOSSES[loss].targets
        if targets == "distribution" or outputs == "distribution":
            one_hot = np.zeros(size)
            one_hot[rng.integers(0, size)] = 1.0
            return one_hot
        if outputs == "unit_interval" or targets == "unit_interval":
            if self.nice:
                return rng.choice([0.0, 1.0], size=size)
            return np.round(rng.uniform(0.0, 1.0, size=size), 2)
        if outputs == "symmetric_unit":
            if self.nice:
                return rng.choice([-1.0, -0.5, 0.5, 1.0], size=size)
            return np.round(rng.uniform(-1.0, 1.0, size=size), 2)
        if self.nice:
            return rng.integers(-4, 5, size=size) / 2.0
        return np.round(rng.uniform(-2.0, 2.0, size=size), 1)


ALIVE_Z = 1e-9


def _unit_ok(z: Array, activation: str, options: Options) -> bool:
    """Whether one unit's z over the samples makes a good exercise."""
    # alive means clearly positive: a z that is 0 on paper comes out as ±1e-17 depending on
    # the order of the sums, and the engine's order may give the negative one
    if ACTIVATIONS[activation].dies and not options.allow_dead and not np.any(z > ALIVE_Z):
        return False
    return not (options.nice and ACTIVATIONS[activation].saturating
                and np.any(np.abs(z) > NICE_Z_LIMIT))


@dataclass
class _Network:
    units: list[list[str]]
    activations: list[Activation]
    weights: list[Array]
    biases: list[Array]
    inputs: Array  # (samples, inputs)
    targets: Array  # (samples, outputs)


def _unit_names(sizes: Sequence[int]) -> list[list[str]]:
    """The loader's names for counted units: h1.. (h<layer>_<i> with several hidden), o."""
    n_layers = len(sizes)
    names = []
    for index, size in enumerate(sizes, start=1):
        if index == n_layers:
            names.append(["o"] if size == 1 else [f"o{i + 1}" for i in range(size)])
        elif n_layers == 2:
            names.append([f"h{i + 1}" for i in range(size)])
        else:
            names.append([f"h{index}_{i + 1}" for i in range(size)])
    return names


def _draw_network(options: Options, activation_names: list[str],
                  rng: np.random.Generator) -> _Network:
    draw = Draw(rng, options.nice)
    sizes = options.layers
    x = draw.inputs((options.samples, sizes[0]))
    a = x
    weights: list[Array] = []
    biases: list[Array] = []
    activations = [make_activation(name) for name in activation_names]
    for li, (size, activation) in enumerate(zip(sizes[1:], activations, strict=True)):
        w = draw.weights((size, a.shape[1]))
        b = draw.biases(size)
        if not activation.per_layer:  # softmax units are judged together, not one by one
            for row in range(size):
                for attempt in range(ROW_TRIES):
                    if _unit_ok(a @ w[row] + b[row], activation.name, options):
                        break
                    if attempt == 0:  # flipping the row's signs often revives a unit
                        w[row] = -w[row]
                    else:
                        w[row] = draw.weights((a.shape[1],))
                        b[row] = draw.biases(1)[0]
                else:
                    raise GeneratorError(
                        f"could not draw layer {li + 1} unit {row + 1} with a usable z in "
                        f"{ROW_TRIES} tries (dead ReLU or saturated); try another seed or "
                        "shape" + ("" if options.allow_dead else ", or --allow-dead"))
        z = a @ w.T + b
        a = activation.forward(z)
        weights.append(w)
        biases.append(b)
    targets = draw_targets(draw, options.loss, activations[-1], a)
    return _Network(_unit_names(sizes[1:]), activations, weights, biases, x, targets)


def draw_network(options: Options, activations: Sequence[str],
                 rng: np.random.Generator) -> _Network:
    """The numbers ``new`` draws for a network of ``options``' shape (weights, biases, inputs
    and targets, with the same guards): ``backprop vary`` redraws an exercise with them."""
    return _draw_network(options, list(activations), rng)


def draw_targets(draw: Draw, loss: str, output: Activation, a: Array) -> Array:
    """One target row per sample; never exactly the output (a zero loss teaches nothing)."""
    rows = []
    for k in range(a.shape[0]):
        for _ in range(TARGET_TRIES):
            y = draw.target(output.name, loss, a.shape[1])
            if not np.allclose(y, a[k], rtol=0.0, atol=1e-9):
                break
        rows.append(y)
    return np.array(rows, dtype=np.float64)


# ------------------------------------------------------------------ writing


def plain_number(value: float) -> str:
    """A drawn number as written in the file: 0.3, -1, 0.25 (no float noise)."""
    value = round(float(value), 10) + 0.0  # + 0.0: no -0
    if value.is_integer():
        return str(int(value))
    return repr(value)


def answer_text(value: float, digits: int = ANSWER_DIGITS) -> str:
    """``value`` to ``digits`` significant digits, keeping the zeros that claim them.

    ``0.5`` stays ``0.5`` (it is exact), but 2.00004 is ``2.000``: ``2`` would claim
    an exact integer, which the checker judges tightly.
    """
    if not math.isfinite(value):
        raise GeneratorError(f"the answer {value} is not a finite number")
    if abs(value) < 1e-12:
        return "0"
    nearest = round(value)
    if abs(value - nearest) <= 1e-9 * max(1.0, abs(value)) and abs(value) < 1e15:
        return str(int(nearest))
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude < -4:
        text = f"{value:.{digits - 1}e}"
        mantissa, exponent = text.split("e")
        if abs(float(text) - value) <= 1e-12 * abs(value):
            mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    decimals = max(digits - 1 - magnitude, 1)
    text = f"{value:.{decimals}f}"
    if abs(float(text) - value) <= 1e-12 * max(1.0, abs(value)):
        text = text.rstrip("0").rstrip(".")
    return text


def nested(values: Array) -> str:
    """An array as nested flow lists, as a generated file writes it: [[1, 0], [0, -1]]."""
    if values.ndim == 0:
        return plain_number(float(values))
    return "[" + ", ".join(nested(row) for row in values) + "]"


def data_lines(inputs: Array, targets: Array, data: str = "input",
               target: str = "target") -> list[str]:
    """A generated file's samples: written inline for one, a ``samples:`` list for several
    (``data``, ``target``: the keys, ``sequence`` and ``targets`` for a recurrent net)."""
    if len(inputs) == 1:
        return [f"{data}: {nested(inputs[0])}", f"{target}: {nested(targets[0])}"]
    return ["samples:", *(f"  - {{{data}: {nested(x)}, {target}: {nested(y)}}}"
                          for x, y in zip(inputs, targets, strict=True))]


def command_line(options: Options, seed: int) -> str:
    """The `backprop new` command that makes this exercise again."""
    parts = ["backprop new", "--layers", "-".join(str(s) for s in options.layers)]
    if options.activations is not None:
        parts += ["--activations", ",".join(options.activations)]
    parts += ["--loss", options.loss, "--learning-rate", plain_number(options.learning_rate)]
    if options.samples != 1:
        parts += ["--samples", str(options.samples)]
    return " ".join(parts + seed_and_flags(seed, options.nice, options.allow_dead))


def seed_and_flags(seed: int, nice: bool, allow_dead: bool) -> list[str]:
    """The end of a `backprop new` command line: --seed, --nice, --allow-dead."""
    return ["--seed", str(seed), *(["--nice"] if nice else []),
            *(["--allow-dead"] if allow_dead else [])]


def _title(options: Options, activations: list[str], seed: int) -> str:
    shape = "-".join(str(s) for s in options.layers)
    hidden = sorted(set(activations[:-1]), key=activations.index)
    kinds = f"{', '.join(hidden)} hidden, " if hidden else ""
    return f"{shape} network, {kinds}{activations[-1]} output (seed {seed})"


def _description(options: Options, answers: bool) -> str:
    rate = plain_number(options.learning_rate)
    data = "each sample" if options.samples > 1 else "the input"
    text = (
        f"A generated exercise. For {data}, compute the forward pass (z and a of every\n"
        "unit) and the loss, then the deltas ∂L/∂z, the gradient of every weight and\n"
        f"bias, and the parameters after one gradient-descent step (learning rate {rate}).\n")
    return text if answers else text + QUIZ_HINT


# for the students of a file without its answers
QUIZ_HINT = ("Check each answer with `backprop quiz` on this file; `backprop solve`\n"
             "shows the worked solution.\n")


# for the instructor, in `notes:` (never rendered), not in the students' description
ANSWER_NOTES = ("The answers are under `expected`, to 4 significant digits: hide them from\n"
                "students, or let them practise with `backprop quiz` on this file.\n")


def render_document(options: Options, seed: int, activations: list[str], net: _Network,
                    expected: dict[str, str]) -> str:
    """The problem file, written by hand so its layout is stable and readable."""
    lines = [
        f"# {command_line(options, seed)}",
        f"title: {json.dumps(_title(options, activations, seed), ensure_ascii=False)}",
        "description: |",
        *(f"  {line}" for line in _description(options, bool(expected)).splitlines()),
        *(["notes: |", *(f"  {line}" for line in ANSWER_NOTES.splitlines())]
          if expected else []),
        "network:",
        f"  inputs: [{', '.join(f'x{i + 1}' for i in range(options.layers[0]))}]",
        "  layers:",
    ]
    for units, activation, w, b in zip(net.units, activations, net.weights, net.biases,
                                       strict=True):
        lines += [
            f"    - units: [{', '.join(units)}]",
            f"      activation: {activation}",
            f"      weights: {nested(w)}",
            f"      bias: {nested(b)}",
        ]
    lines += [f"loss: {options.loss}",
              f"learning_rate: {plain_number(options.learning_rate)}"]
    lines += data_lines(net.inputs, net.targets)
    if expected:
        lines.append("expected:")
        lines += [f"  {key}: {text}" for key, text in expected.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- generate


@dataclass(frozen=True)
class Generated:
    text: str  # the problem file, with the answers under expected
    question: str  # the same file without the answers, to hand out
    seed: int
    command: str


def check_samples_and_rate(samples: int, learning_rate: float) -> None:
    if not 1 <= samples <= MAX_SAMPLES:
        raise GeneratorError(f"--samples must be between 1 and {MAX_SAMPLES}")
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise GeneratorError("the learning rate must be a number greater than 0")


def chosen_seed(seed: int | None) -> int:
    """The seed given, or a fresh one (written into the file's first line)."""
    return seed if seed is not None else secrets.randbelow(1_000_000)


def generate(options: Options) -> Generated:
    """A new exercise with its answer key, checked to pass ``backprop check``."""
    check_samples_and_rate(options.samples, options.learning_rate)
    activations = resolve_activations(options)
    seed = chosen_seed(options.seed)
    net = _draw_network(options, activations, np.random.default_rng(seed))
    bare = render_document(options, seed, activations, net, {})
    problem = parse_problem(bare, "<generated>")
    values = solve(problem).values
    expected = {key: answer_text(values[key]) for key in exercise_keys(problem)}
    text = render_document(options, seed, activations, net, expected)
    # The file must read back and pass check: the key is the product.
    problem = parse_problem(text, "<generated>")
    failed = [r.key for r in check_values(problem, solve(problem).values) if not r.passed]
    if failed:
        raise RuntimeError(f"generated answers fail the check: {', '.join(failed)}")
    return Generated(text, bare, seed, command_line(options, seed))


# ----------------------------------------------------------------- template

TEMPLATE = """\
# A backprop problem file (format v1). Every key is explained below; the keys
# marked optional can be deleted. `backprop solve` prints the worked solution,
# `backprop check` judges the answers under `expected`, `backprop quiz` asks
# a student for them. Reference: docs/format.md.

title: "2-2-1 network, ReLU hidden, sigmoid output"   # optional; default: the file name
description: |                  # optional: free Markdown text shown with the solution
  Compute the forward pass, the loss, the deltas, the gradients and the
  parameters after one gradient-descent step.
notes: |                        # optional: notes for instructors, never rendered
  The published answers are under `expected`: hide them from students.

network:
  inputs: [x1, x2]              # input names, or a count (3 means x1, x2, x3)
  layers:                       # at least one; the last is the output layer
    - units: [h1, h2]           # unit names, or a count (h1, h2, ...; the output: o, o1, ...)
      activation: relu          # identity (default), relu, leaky_relu, sigmoid, tanh,
                                # softmax, softplus, elu, silu; or {name: leaky_relu, alpha: 0.1}
      weights: [[0.5, 0.6],     # one row per unit, one column per unit (or input) below:
                [0.2, 0.3]]     # row h1 = [w from x1, w from x2]
      weight_names: [[w1, w2], [w3, w4]]   # optional; default w_<unit>_<input> (w_h1_x1)
      bias: [0.1, 0.1]          # optional: a list, one number for every unit, or null (none)
      bias_names: [b1, b2]      # optional; default b_<unit>; one name = one shared bias
    - units: [o]
      activation: sigmoid
      weights: [[0.4, 0.7]]
      weight_names: [[v1, v2]]
      bias: 0.2
      bias_names: [b3]

loss: half_squared_error        # half_squared_error ½Σ(y−a)², squared_error Σ(y−a)²,
                                # mean_squared_error (1/n)Σ(y−a)², binary_cross_entropy,
                                # cross_entropy; or none, with upstream instead of target:
# upstream: 1                  # loss: none only: ∂L/∂a of each output (a list for several)
reduction: mean                 # optional, over samples: mean (default) or sum
learning_rate: 0.01             # the gradient-descent step size
steps: 1                        # optional: updates to run (default 1; 0 = no update)
# freeze: ["b*"]               # optional: parameter names or globs never updated
# optimizer: sgd               # optional: sgd (default), {name: momentum, beta: 0.9},
                                # {name: adam, beta1: 0.9, beta2: 0.999, epsilon: 1e-8}
# weight_decay: 0.01           # optional: L2, adds λ·w to each weight's gradient in the update
# batch_size: 2                # optional: samples per step, in file order (default: all)
# epochs: 100                  # optional, instead of steps: steps = epochs × batches
# round: 4                     # optional: hand-calculation mode, every value to 4 decimals
# learning_rule: perceptron    # optional: w ← w + η·(t − y)·x per sample, one layer of step
                                # units, no loss needed (default: gradient_descent)

input: [1, 2]                   # one sample: a list, or a mapping by input name
target: 1.0                     # a number (one output), a list, a mapping by output name,
                                # or (cross_entropy) the name of the true output unit
# samples:                      # several samples instead of input and target:
#   - {input: [1, 2], target: 1.0}
#   - {input: [0, 1], target: 0.0}
# samples: {file: data.csv}    # or from a CSV file (a header row names inputs and outputs),
                                # or {inputs: x.npy, targets: y.npy}; paths are relative
# predict: [[3, 1]]             # optional: rows evaluated with the final parameters
                                # (predict.a.o@1); {input, target} rows: predict.accuracy
# threshold: 0.5               # optional: one output's class is 1 when a ≥ threshold

# tolerance: 0.0005            # optional: absolute tolerance for every expected value;
                                # default: the precision each value is written with
# min_digits: 3                 # optional: values written with fewer significant digits
                                # are imprecise (check --min-digits N overrides it)
expected:                       # optional: published answers, by value key (docs/format.md)
  z.h1: 1.8
  a.o: 0.824
  loss: 0.0154
  grad.v1:                      # the long form: a published value known to be wrong
    value: -0.0461
    erratum: -0.04552           # the correct value
    note: "arithmetic slip"
    tolerance: 0.00001          # optional, for this value only

quiz: ["z.*", "a.*", loss, "grad.*"]   # optional: what `backprop quiz` asks (keys or globs);
                                       # default: z, a, loss, deltas, gradients, updates
points: {"grad.*": 2}           # optional: what `backprop grade` gives a question (key or
                                # glob -> points, the first match wins; default 1 each)
"""
