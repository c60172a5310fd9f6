"""`backprop new --layers` with conv, pooling, dropout, flatten and rnn layers (issue 19).

The grammar (docs/format.md, "Generating a layered exercise"): items joined by '-'. The
first is the input: a number (a vector, or one time step's inputs when an rnn follows),
``CxL`` (conv1d) or ``CxHxW`` (conv2d). Then one item per layer:

=====================  ==========================================================
``3``                  a dense layer of 3 units
``conv2d:2x3x3``       2 filters of 3×3 (``conv1d:2x3``: 2 filters of length 3);
                       ``/s2`` a stride of 2, ``/p1`` one zero of padding each side
``maxpool2d:2``        a 2×2 window (also ``avgpool2d``, ``maxpool1d``, ``avgpool1d``);
                       ``/s1`` its stride (default: the size)
``dropout:0.5``        inverted dropout of rate 0.5, its mask drawn from the seed
``flatten``            row-major; inserted by itself before a dense layer that reads
                       a tensor
``rnn:2``              an Elman layer of 2 units over the sequence's time steps;
                       dense and dropout layers (a mask per step) may stand around it
=====================  ==========================================================

A spelling of numbers alone (``2-3-1``, and today's ``2x3x1``) is the dense network of
:mod:`backprop_cli.app.generator`, unchanged.

:func:`generate_layered` draws the numbers with ``numpy.random.default_rng(seed)`` layer
by layer, as the dense generator draws unit by unit: a filter or unit that is dead (a ReLU
whose z is never positive) or (``--nice``) saturated is redrawn, and so is a filter that
leaves a max-pooling window with two equal maxima (which one wins is a convention, not
arithmetic). The file is solved by the layered engine, step 1's answers written under
``expected`` (4 significant digits; of a tensor of more than :data:`SHOWN_PER_TENSOR`
values, its first ones in row-major order: the first filter's), read back and checked.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backprop_cli.app.generator import (
    ALIVE_Z,
    ANSWER_DIGITS,
    ANSWER_NOTES,
    MAX_LAYERS,
    MAX_UNITS,
    NICE_Z_LIMIT,
    QUIZ_HINT,
    Array,
    Draw,
    Generated,
    GeneratorError,
    answer_text,
    check_activation_names,
    check_loss,
    check_samples_and_rate,
    chosen_seed,
    data_lines,
    draw_targets,
    nested,
    output_for_loss,
    plain_number,
    seed_and_flags,
)
from backprop_cli.engine.layered import layer_stack, solve_layered
from backprop_cli.engine.layers import LayerType
from backprop_cli.engine.layers.base import Params
from backprop_cli.engine.layers.pool import PoolCache
from backprop_cli.errors import NumericError, suggest
from backprop_cli.kinds.exercise import parse_exercise
from backprop_cli.kinds.layered import KIND
from backprop_cli.model.activations import ACTIVATIONS, make_activation
from backprop_cli.model.keys import split_key
from backprop_cli.model.layered import CONV_TYPES, POOL_TYPES, LayeredProblem, output_shape

Shape = tuple[int, ...]

LAYER_WORDS = (*CONV_TYPES, *POOL_TYPES, "dropout", "flatten", "rnn")
ACTIVATED = ("dense", *CONV_TYPES, "rnn")
DEFAULT_SEQUENCE_LENGTH = 3
MAX_SEQUENCE_LENGTH = 12
# draws of one layer (its failing filters or units redrawn), of the whole network
SEGMENT_TRIES = 100
NETWORK_TRIES = 10
# the answers of a tensor (z.C, grad.K, ...) written under expected: its first ones
SHOWN_PER_TENSOR = 12
# the kinds of step 1's values written under expected, as dense `new` writes (z, a, the
# loss, deltas, the batch's gradients, the new parameters), and a pooling or dropout
# layer's ∂L/∂a (its delta: it has no z)
EXPECTED_KINDS = ("z", "a", "loss", "grad.z", "grad", "new")
GRAMMAR_HINT = ("a number (dense units), conv2d:FxKxK, conv1d:FxK (F filters, a kernel "
                "of K; /sN stride, /pN padding), maxpool2d:K, avgpool2d:K, maxpool1d:K, "
                "avgpool1d:K (/sN stride), dropout:RATE, flatten or rnn:UNITS")
_STRIDE = re.compile(r"s([0-9]{1,9})", re.ASCII)
_PADDING = re.compile(r"p([0-9]{1,9})", re.ASCII)
# values of one tensor (the input, a layer's output, a parameter) in an exercise by hand
MAX_TENSOR = 4096


@dataclass(frozen=True)
class LayerItem:
    """One layer of ``--layers``, as written (``text``; '' for an inserted flatten)."""

    type: str  # dense, conv1d, conv2d, maxpool1d, ..., dropout, flatten, rnn
    text: str
    size: int = 0  # dense and rnn units, conv filters, the pooling window
    kernel: Shape = ()
    stride: Shape = ()  # conv and pooling: one per axis
    padding: Shape = ()
    rate: float = 0.0

    @property
    def activated(self) -> bool:
        """Conv, dense and rnn layers: weights, a bias and an activation."""
        return self.type in ACTIVATED

    @property
    def dims(self) -> int:
        return int(self.type[-2]) if self.type in CONV_TYPES or self.type in POOL_TYPES else 0

    def spelled(self) -> str:
        """The item as ``--layers`` spells it (an inserted flatten too)."""
        return self.text or self.type


@dataclass(frozen=True)
class Architecture:
    """A layered ``--layers``: the input's shape and the layers (flatten inserted)."""

    text: str
    input_shape: Shape  # (D,), (C, L) or (C, H, W); a sequence's: (D,), one step
    items: tuple[LayerItem, ...]

    @property
    def sequence(self) -> bool:
        return any(item.type == "rnn" for item in self.items)

    def shapes(self, steps: int) -> list[Shape]:
        """One sample's input shape, then each layer's output shape."""
        shape = (steps, *self.input_shape) if self.sequence else self.input_shape
        found = [shape]
        for item in self.items:
            shape = self._next_shape(item, shape)
            found.append(shape)
        return found

    def _next_shape(self, item: LayerItem, shape: Shape) -> Shape:
        return output_shape(item.type, shape, filters=item.size, kernel=item.kernel,
                            stride=item.stride, padding=item.padding, units=item.size,
                            sequence=self.sequence)


def is_layered(text: str) -> bool:
    """Whether ``--layers`` names more than dense layers (a letter or a ':' in it)."""
    return any(c.isalpha() and c != "x" for c in text) or ":" in text


def _whole(text: str) -> bool:
    """ASCII digits only (str.isdigit takes other scripts' digits, and superscripts)."""
    return text.isascii() and text.isdigit()


def _bad(item: str, expected: str) -> GeneratorError:
    return GeneratorError(f"'{item}': {expected}")


def _count(text: str, item: str, expected: str) -> int:
    if not _whole(text) or not 1 <= int(text) <= MAX_UNITS:
        raise _bad(item, expected)
    return int(text)


def _suffixes(item: str, parts: list[str], stride: bool, padding: bool
              ) -> tuple[int, int]:
    found_stride, found_padding = 1, 0
    seen: set[str] = set()
    for part in parts:
        if part[:1] in seen and (_STRIDE.fullmatch(part) or _PADDING.fullmatch(part)):
            raise _bad(item, f"'/{part}' repeats the {'stride' if part[0] == 's' else 'padding'}")
        seen.add(part[:1])
        if stride and (match := _STRIDE.fullmatch(part)):
            found_stride = int(match.group(1))
            if not 1 <= found_stride <= MAX_UNITS:
                raise _bad(item, f"the stride /s{part[1:]} must be between 1 and {MAX_UNITS}")
        elif padding and (match := _PADDING.fullmatch(part)):
            found_padding = int(match.group(1))
            if found_padding > MAX_UNITS:
                raise _bad(item, f"the padding /p{part[1:]} must be at most {MAX_UNITS}")
        else:
            allowed = " or ".join(w for w, ok in (("/sN (stride)", stride),
                                                  ("/pN (padding)", padding)) if ok)
            raise _bad(item, f"unknown suffix '/{part}': expected {allowed}")
    return found_stride, found_padding


def _layer_item(item: str) -> LayerItem:
    if _whole(item):
        return LayerItem("dense", item, size=_count(item, item, "a dense layer needs 1 to "
                                                    f"{MAX_UNITS} units"))
    word, colon, rest = item.partition(":")
    if word not in LAYER_WORDS:
        hint = suggest(word, LAYER_WORDS)
        raise _bad(item, f"unknown layer '{word}'{hint}; expected {GRAMMAR_HINT}")
    if word == "flatten":
        if colon:
            raise _bad(item, "flatten takes no setting: write flatten")
        return LayerItem("flatten", item)
    if not rest:
        example = {"rnn": "rnn:2", "dropout": "dropout:0.5"}.get(
            word, "conv2d:2x3x3" if word == "conv2d" else "conv1d:2x3" if word == "conv1d"
            else f"{word}:2")
        raise _bad(item, f"{word} needs its setting after ':', e.g. {example}")
    head, *suffixes = rest.split("/")
    if word in CONV_TYPES:
        dims = int(word[-2])
        numbers = head.split("x")
        shape_words = "filters x kernel height x kernel width" if dims == 2 else (
            "filters x kernel length")
        example = "conv2d:2x3x3 (2 filters of 3×3)" if dims == 2 else (
            "conv1d:2x3 (2 filters of length 3)")
        if len(numbers) != 1 + dims or not all(_whole(n) and 1 <= int(n) <= MAX_UNITS
                                               for n in numbers):
            raise _bad(item, f"{word} takes {shape_words}, each 1 to {MAX_UNITS}, e.g. "
                             f"{example}, with optional /s2 (stride) and /p1 (padding)")
        stride, padding = _suffixes(item, suffixes, stride=True, padding=True)
        return LayerItem(word, item, size=int(numbers[0]),
                         kernel=tuple(int(n) for n in numbers[1:]), stride=(stride,) * dims,
                         padding=(padding,) * dims)
    if word in POOL_TYPES:
        if not _whole(head) or not 1 <= int(head) <= MAX_UNITS:
            raise _bad(item, f"{word} takes the window's size, 1 to {MAX_UNITS}, e.g. "
                             f"{word}:2, with an optional /s1 (stride; default the size)")
        size = int(head)
        stride, _ = _suffixes(item, suffixes, stride=True, padding=False)
        if not any(_STRIDE.fullmatch(part) for part in suffixes):
            stride = size
        dims = int(word[-2])
        return LayerItem(word, item, size=size, kernel=(size,) * dims, stride=(stride,) * dims)
    if suffixes:
        raise _bad(item, f"{word} takes no /suffix")
    if word == "dropout":
        try:
            rate = float(head)
        except ValueError:
            rate = math.nan
        if not 0.0 <= rate < 1.0:
            raise _bad(item, "dropout takes a rate at least 0 and below 1, e.g. dropout:0.5")
        return LayerItem("dropout", item, rate=rate)
    return LayerItem("rnn", item, size=_count(head, item, f"an rnn layer needs 1 to "
                                                          f"{MAX_UNITS} units, e.g. rnn:2"))


def _input_shape(item: str) -> Shape:
    numbers = item.split("x")
    if not 1 <= len(numbers) <= 3 or not all(_whole(n) and 1 <= int(n) <= MAX_UNITS
                                             for n in numbers):
        raise _bad(item, "the first item is the input: a number of inputs, CxL (conv1d: "
                         "channels x length) or CxHxW (conv2d: channels x height x width), "
                         f"each 1 to {MAX_UNITS}, e.g. 1x4x4")
    return tuple(int(n) for n in numbers)


def parse_architecture(text: str) -> Architecture:
    """``1x4x4-conv2d:1x2x2-maxpool2d:2-1`` -> the input shape and the layers; a flatten
    is inserted before a dense layer that reads a tensor. GeneratorError names the item
    that is wrong and what was expected."""
    parts = [part.strip() for part in text.strip().split("-")]
    if len(parts) < 2 or not all(parts):
        raise GeneratorError(f"'{text}' is not a network: write the input and each layer "
                             "joined by '-', e.g. 1x4x4-conv2d:1x2x2-maxpool2d:2-1")
    input_shape = _input_shape(parts[0])
    if math.prod(input_shape) > MAX_TENSOR:
        raise _bad(parts[0], f"the input has {math.prod(input_shape):,} values: at most "
                             f"{MAX_TENSOR:,} in an exercise")
    written = [_layer_item(part) for part in parts[1:]]
    if len(written) > MAX_LAYERS:
        raise GeneratorError(f"'{text}': at most {MAX_LAYERS} layers in an exercise")
    items: list[LayerItem] = []
    tensor = len(input_shape) > 1
    for item in written:
        if item.type == "dense" and tensor:
            items.append(LayerItem("flatten", ""))
            tensor = False
        if item.type == "rnn" and items and any(i.type not in ("dense", "dropout")
                                                for i in items):
            raise _bad(item.text, "an rnn layer reads the sequence: only dense and dropout "
                                  "layers may come before it")
        if item.type not in ("dense", "dropout") and any(i.type == "rnn" for i in items):
            raise _bad(item.text, "after an rnn layer: dense and dropout layers only (they "
                                  "apply at every time step)")
        items.append(item)
        if item.type == "flatten":
            tensor = False
    last = items[-1]
    if last.type not in ("dense", "rnn"):
        raise _bad(last.spelled(), "the last layer is the output, whose units the loss "
                                   "reads: a number (dense units) or rnn:UNITS")
    if any(item.type == "rnn" for item in items) and len(input_shape) != 1:
        raise _bad(parts[0], "an rnn network's input is a number: the inputs of one time "
                             "step")
    architecture = Architecture(text, input_shape, tuple(items))
    shape: Shape = (1, *input_shape) if architecture.sequence else input_shape
    for item in items:  # each layer's shape arithmetic, the item named when it fails
        below = shape
        try:
            shape = architecture._next_shape(item, shape)
        except ValueError as error:
            raise _bad(item.spelled(), str(error)) from None
        weights = (math.prod(_param_shapes(item, below)["weights"]) if item.activated
                   else 0)
        for what, count in (("output", math.prod(shape)), ("weights", weights)):
            if count > MAX_TENSOR:
                raise _bad(item.spelled(), f"its {what} would have {count:,} values: at most "
                                           f"{MAX_TENSOR:,} in an exercise")
    return architecture


# ------------------------------------------------------------------ options


@dataclass(frozen=True)
class LayeredOptions:
    architecture: Architecture
    activations: tuple[str, ...] | None = None  # one per conv, dense and rnn layer, or one
    loss: str = "half_squared_error"
    learning_rate: float = 0.1
    seed: int | None = None
    nice: bool = False
    allow_dead: bool = False
    samples: int = 1
    sequence_length: int = DEFAULT_SEQUENCE_LENGTH
    loss_at: str = "last"


def resolve_layered_activations(options: LayeredOptions) -> list[str]:
    """One activation per conv, dense and rnn layer, checked against the loss."""
    activated = [item for item in options.architecture.items if item.activated]
    check_loss(options.loss)
    given = options.activations
    if given is None:
        output = (output_for_loss(options.loss) or ("sigmoid",))[0]
        if activated[-1].type == "rnn" and output_for_loss(options.loss) is None:
            output = "tanh"  # an rnn's own activation, its outputs the loss reads
        names = ["tanh" if item.type == "rnn" else "relu" for item in activated[:-1]]
        names.append(output)
    elif len(given) == 1:
        names = list(given) * len(activated)
    elif len(given) == len(activated):
        names = list(given)
    else:
        raise GeneratorError(f"{len(given)} activations for {len(activated)} layers with an "
                             "activation (conv, dense, rnn): give one per such layer, or one "
                             "for all")
    for item, name in zip(activated, names, strict=True):
        if item.type != "dense" and ACTIVATIONS[name].per_layer:
            raise GeneratorError(f"{name} is for dense layers, not '{item.text}' (an "
                                 "elementwise activation there)")
    check_activation_names(names, [item.size for item in activated], options.loss)
    return names


# ------------------------------------------------------------------ drawing


@dataclass
class DrawnLayer:
    item: LayerItem
    activation: str | None
    params: dict[str, Array] = field(default_factory=dict)  # weights, recurrent, bias
    mask: Array | None = None  # dropout: one per sample, (N, *shape)


@dataclass
class DrawnNetwork:
    inputs: Array  # (N, *input_shape), a sequence's (N, T, D)
    layers: list[DrawnLayer]
    targets: Array  # (N, K), or (N, T, K) with loss_at every


class _LayeredDraw(Draw):
    """The numbers of one exercise; nice: tenths, small whole inputs (as dense `new`)."""

    def tensor_weights(self, shape: Shape, fan_in: int) -> Array:
        if not self.nice or fan_in <= 4:
            return self.weights(shape)
        # tenths up to 0.5 under a wide window, never 0, so that a sum of many products of
        # small whole numbers stays where a sigmoid or tanh has a slope
        tenths = self.rng.integers(1, 6, size=shape) * self.rng.choice([-1, 1], size=shape)
        return tenths / 10.0

    def mask(self, shape: Shape, rate: float) -> Array:
        """Kept with probability 1 − rate, at least one element of each sample kept."""
        while True:
            mask = (self.rng.uniform(size=shape) >= rate).astype(np.float64)
            if all(mask[k].any() for k in range(shape[0])):
                return mask


def _engine_layers(layer: DrawnLayer) -> list[LayerType[Any]]:
    item = layer.item
    activation = make_activation(layer.activation) if layer.activation is not None else None
    return layer_stack(item.type, activation, size=item.size, kernel=item.kernel,
                       stride=item.stride, padding=item.padding, rate=item.rate,
                       mask=layer.mask)


def _param_shapes(item: LayerItem, input_shape: Shape) -> dict[str, Shape]:
    if item.type in CONV_TYPES:
        return {"weights": (item.size, input_shape[0], *item.kernel), "bias": (item.size,)}
    shapes = {"weights": (item.size, input_shape[-1]), "bias": (item.size,)}
    if item.type == "rnn":
        shapes["recurrent"] = (item.size, item.size)
    return shapes


def _z_of(layer_type: str, outs: list[Array], caches: list[Any]) -> Array:
    """The layer's z with its units (filters) on axis 0: (units, everything else)."""
    if layer_type == "rnn":
        z = caches[0].z  # (N, T, H)
        return np.moveaxis(z, -1, 0).reshape(z.shape[-1], -1)
    z = outs[0]
    axis = 1 if layer_type in CONV_TYPES else -1
    return np.moveaxis(z, axis, 0).reshape(z.shape[axis], -1)


def _bad_units(layer_type: str, activation: str, outs: list[Array], caches: list[Any],
               nice: bool, allow_dead: bool) -> set[int]:
    """The units (filters) of a conv, dense or rnn layer that are dead or saturated (the
    engine's outputs and caches of its layers)."""
    spec = ACTIVATIONS[activation]
    if spec.per_layer:  # softmax: judged together, never dead
        return set()
    z = _z_of(layer_type, outs, caches)
    bad = set()
    for unit in range(z.shape[0]):
        dead = spec.dies and not allow_dead and not np.any(z[unit] > ALIVE_Z)
        saturated = nice and spec.saturating and np.any(np.abs(z[unit]) > NICE_Z_LIMIT)
        if dead or saturated:
            bad.add(unit)
    return bad


def _tied_channels(cache: PoolCache) -> set[int]:
    """The channels where a max-pooling window has its maximum twice."""
    windows = cache.windows
    dims = (windows.ndim - 2) // 2
    flat = windows.reshape(*windows.shape[:2 + dims], -1)
    top = flat.max(axis=-1, keepdims=True)
    ties = (flat == top).sum(axis=-1) > 1  # (N, C, *out)
    return {int(c) for c in np.nonzero(ties.any(axis=tuple(i for i in range(ties.ndim)
                                                             if i != 1)))[0]}


def _run_segment(segment: list[DrawnLayer], x: Array, options: LayeredOptions
                 ) -> tuple[Array, set[int], set[int], bool]:
    """Run a segment (a layer with parameters and the layers up to the next one): its
    output, the units of its first layer that are dead or saturated, the filters whose
    max-pooling windows have a tie, and whether a segment without parameters (pooling on
    the data) has one."""
    bad: set[int] = set()
    tied: set[int] = set()
    data_tie = False
    a = x
    for layer in segment:
        outs: list[Array] = []
        caches: list[Any] = []
        params: Params = layer.params
        for engine_layer in _engine_layers(layer):
            a, cache = engine_layer.forward(a, params)
            outs.append(a)
            caches.append(cache)
            params = {}  # an activation after a conv or dense layer has none
        if layer.activation is not None:
            bad |= _bad_units(layer.item.type, layer.activation, outs, caches, options.nice,
                              options.allow_dead)
        if layer.item.type.startswith("maxpool"):
            channels = _tied_channels(caches[0])
            if segment[0].item.type in CONV_TYPES:
                tied |= channels  # a pooled channel is a filter of the conv layer
            elif channels:
                data_tie = True
    return a, bad, tied, data_tie


def draw_layered(options: LayeredOptions, activations: list[str], rng: np.random.Generator
                 ) -> DrawnNetwork:
    """The numbers of an exercise of ``options``' architecture; GeneratorError when no
    usable draw is found in :data:`NETWORK_TRIES` draws of the whole network (new inputs
    each: some inputs leave a tie no filter can undo, three equal numbers in a row)."""
    for attempt in range(NETWORK_TRIES + 1):
        try:  # the last attempt takes a max-pooling tie it cannot avoid
            return _draw_once(options, activations, rng, ties=attempt == NETWORK_TRIES)
        except _NoDraw as failure:
            if attempt == NETWORK_TRIES:
                raise GeneratorError(
                    f"could not draw '{failure.item}' without a dead or saturated output "
                    f"in {NETWORK_TRIES + 1} × {SEGMENT_TRIES} tries; try another seed or shape"
                    + ("" if options.allow_dead else ", or --allow-dead")) from None
    raise AssertionError("unreachable")


class _NoDraw(Exception):
    def __init__(self, item: str) -> None:
        super().__init__(item)
        self.item = item


def _draw_once(options: LayeredOptions, activations: list[str], rng: np.random.Generator,
               ties: bool) -> DrawnNetwork:
    arch = options.architecture
    draw = _LayeredDraw(rng, options.nice)
    steps = options.sequence_length
    shapes = arch.shapes(steps)
    n = options.samples
    names = iter(activations)
    layers = [DrawnLayer(item, next(names) if item.activated else None)
              for item in arch.items]
    x = draw.inputs((n, *shapes[0]))
    # segments: the layers before the first with parameters, then each layer with
    # parameters and the ones without after it
    starts = [0] + [i for i, item in enumerate(arch.items) if item.activated and i > 0]
    a = x
    for number, start in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(arch.items)
        segment = layers[start:end]
        head = segment[0]
        if head.item.activated:
            fan_in = math.prod(_param_shapes(head.item, shapes[start])["weights"][1:])
            for role, shape in _param_shapes(head.item, shapes[start]).items():
                head.params[role] = (draw.biases(shape[0]) if role == "bias"
                                     else draw.tensor_weights(shape, fan_in))
        # ties are avoided where a redraw can: a large map after a ReLU has windows of
        # zeros that no draw undoes; then (``ties``) the first draw without a dead or
        # saturated unit
        fallback: tuple[list[dict[str, Array]], list[Array | None], Array, Array] | None = None
        for tries in range(SEGMENT_TRIES):
            for layer, shape in zip(segment, shapes[start:end], strict=True):
                if layer.item.type == "dropout" and (layer.mask is None or tries):
                    layer.mask = draw.mask((n, *shape), layer.item.rate)
            out, bad, tied, data_tie = _run_segment(segment, a, options)
            if not bad and not tied and not data_tie:
                break
            if not bad and fallback is None:
                fallback = ([{k: v.copy() for k, v in layer.params.items()} for layer in segment],
                            [layer.mask for layer in segment], x, out)
            if head.item.activated:
                _redraw(head, bad | tied, draw, fan_in, flip=tries == 0)
            elif start == 0:  # a tie in the data itself: new inputs
                x = a = draw.inputs((n, *shapes[0]))
        else:
            if fallback is None or not ties:
                raise _NoDraw(head.item.spelled())
            params, masks, x, out = fallback
            for layer, kept, mask in zip(segment, params, masks, strict=True):
                layer.params, layer.mask = kept, mask
        a = out
    output = layers[-1].activation
    assert output is not None
    if arch.sequence and options.loss_at == "last":
        a = a[:, -1]
    flat = a.reshape(-1, a.shape[-1])
    targets = draw_targets(draw, options.loss, make_activation(output), flat)
    return DrawnNetwork(x, layers, targets.reshape(a.shape))


def _redraw(layer: DrawnLayer, units: set[int], draw: _LayeredDraw, fan_in: int,
            flip: bool) -> None:
    """New weights (the first time: the signs flipped) and bias for these units."""
    for unit in sorted(units):
        for role, values in layer.params.items():
            if role == "bias":
                if not flip:
                    values[unit] = draw.biases(1)[0]
            elif flip:
                values[unit] = -values[unit]
            else:
                values[unit] = draw.tensor_weights(values[unit].shape, fan_in)


def usable(problem: LayeredProblem, nice: bool = True, ties: bool = False) -> bool:
    """Whether a problem's step 1 has no dead unit or filter, no saturated one (``nice``)
    and (unless ``ties``) no max-pooling tie: the draw's own tests, redone on a file
    (``backprop vary`` writes drawn numbers into an author's file, a shared bias as one
    number)."""
    try:
        first = solve_layered(problem).passes[0]
    except NumericError:  # a value overflows: not a draw to hand out
        return False
    for layer, outs, caches in zip(problem.layers, first.outs, first.caches, strict=True):
        if layer.activation is not None and _bad_units(
                layer.type, layer.activation.name, outs, caches, nice, allow_dead=False):
            return False
        if not ties and layer.type.startswith("maxpool") and _tied_channels(caches[0]):
            return False
    return True


def architecture_of(problem: LayeredProblem) -> Architecture:
    """The layers of a problem file as ``--layers`` items (for ``backprop vary``)."""
    items = []
    for layer in problem.layers:
        size = (layer.filters or len(layer.units) or (layer.kernel[0] if layer.kernel else 0))
        items.append(LayerItem(layer.type, layer.name, size=size, kernel=layer.kernel,
                               stride=layer.stride, padding=layer.padding, rate=layer.rate))
    shape = problem.input_shape[1:] if problem.sequence else problem.input_shape
    return Architecture(problem.title, shape, tuple(items))


# ------------------------------------------------------------------ writing


def layered_command_line(options: LayeredOptions, seed: int) -> str:
    parts = ["backprop new", "--layers", options.architecture.text.strip()]
    if options.activations is not None:
        parts += ["--activations", ",".join(options.activations)]
    parts += ["--loss", options.loss, "--learning-rate", plain_number(options.learning_rate)]
    if options.samples != 1:
        parts += ["--samples", str(options.samples)]
    if options.architecture.sequence:
        if options.sequence_length != DEFAULT_SEQUENCE_LENGTH:
            parts += ["--sequence-length", str(options.sequence_length)]
        if options.loss_at != "last":
            parts += ["--loss-at", options.loss_at]
    return " ".join(parts + seed_and_flags(seed, options.nice, options.allow_dead))


def _description(options: LayeredOptions, answers: bool) -> str:
    rate = plain_number(options.learning_rate)
    data = "each sample" if options.samples > 1 else "the input"
    over = (" over the time steps of the sequence (then back through time from the last "
            "step)" if options.architecture.sequence else "")
    text = textwrap.fill(
        f"A generated exercise. For {data}, compute the forward pass{over}: every layer's "
        "outputs and the loss; then the deltas, the gradient of every weight and bias, and "
        f"the parameters after one gradient-descent step (learning rate {rate}).", 78) + "\n"
    return text if answers else text + QUIZ_HINT


SUBSET_COMMENT = (f"  # step 1's values; of a tensor of more than {SHOWN_PER_TENSOR} values "
                  f"the first {SHOWN_PER_TENSOR}\n  # in row-major order (the first filter's "
                  "first): backprop solve shows them all")


def _setting(values: Shape) -> str:
    """One number when every axis has it (stride: 2), else a list ([2, 1])."""
    if len(set(values)) == 1:
        return str(values[0])
    return "[" + ", ".join(str(v) for v in values) + "]"


def _layer_lines(layer: DrawnLayer) -> list[str]:
    item = layer.item
    # a dense layer is written as the issue writes it, without its type
    lines = [f"    - units: {item.size}" if item.type == "dense" else f"    - type: {item.type}"]
    if item.type in CONV_TYPES:
        lines += [f"      filters: {item.size}",
                  f"      kernel: {_setting(item.kernel)}",
                  f"      stride: {_setting(item.stride)}",
                  f"      padding: {_setting(item.padding)}"]
    elif item.type in POOL_TYPES:
        lines += [f"      size: {_setting(item.kernel)}", f"      stride: {_setting(item.stride)}"]
    elif item.type == "dropout":
        assert layer.mask is not None
        mask = layer.mask[0] if layer.mask.shape[0] == 1 else layer.mask
        lines += [f"      rate: {plain_number(item.rate)}", f"      mask: {nested(mask)}"]
    elif item.type == "rnn":
        lines.append(f"      units: {item.size}")
    if item.activated:
        lines.append(f"      activation: {layer.activation}")
        for role in ("weights", "recurrent", "bias"):
            if role in layer.params:
                lines.append(f"      {role}: {nested(layer.params[role])}")
    return lines


def render_layered(options: LayeredOptions, seed: int, net: DrawnNetwork,
                   expected: dict[str, str], subset: bool) -> str:
    """The problem file, written by hand so its layout is stable and readable."""
    arch = options.architecture
    title = f"{arch.text.strip()} network (seed {seed})"
    if len(arch.input_shape) == 1:  # a vector, or one step of a sequence
        inputs = f"[{', '.join(f'x{i + 1}' for i in range(arch.input_shape[0]))}]"
    else:
        inputs = f"{{shape: [{', '.join(str(s) for s in arch.input_shape)}]}}"
    lines = [
        f"# {layered_command_line(options, seed)}",
        f"title: {json.dumps(title, ensure_ascii=False)}",
        "description: |",
        *(f"  {line}" for line in _description(options, bool(expected)).splitlines()),
        *(["notes: |", *(f"  {line}" for line in ANSWER_NOTES.splitlines())]
          if expected else []),
        "network:",
        f"  inputs: {inputs}",
        "  layers:",
    ]
    for layer in net.layers:
        lines += _layer_lines(layer)
    lines += [f"loss: {options.loss}", f"learning_rate: {plain_number(options.learning_rate)}"]
    data = "sequence" if arch.sequence else "input"
    target = "targets" if arch.sequence and options.loss_at == "every" else "target"
    if arch.sequence:
        lines.append(f"loss_at: {options.loss_at}")
    lines += data_lines(net.inputs, net.targets, data, target)
    if expected:
        lines.append("expected:")
        if subset:
            lines.append(SUBSET_COMMENT)
        lines += [f"  {key}: {text}" for key, text in expected.items()]
    return "\n".join(lines) + "\n"


def answer_keys(problem: LayeredProblem, values: dict[str, float]) -> tuple[list[str], bool]:
    """Step 1's values an exercise publishes, in hand order, and whether some tensor was
    cut to its first :data:`SHOWN_PER_TENSOR` values: z, a, the loss, the deltas (a
    pooling or dropout layer's ∂L/∂a), the batch's gradients and the new parameters."""
    no_z = {layer.name for layer in problem.layers if not layer.has_z}
    counts: dict[tuple[str, str], int] = {}
    keys = []
    cut = False
    for key in values:
        parts = split_key(key)
        if parts is None or parts.step != 1:
            continue
        wanted = parts.kind in EXPECTED_KINDS or (parts.kind == "grad.a" and parts.name in no_z)
        if not wanted or (parts.kind == "grad" and parts.sample is not None):
            continue
        group = (parts.kind, parts.name)
        counts[group] = counts.get(group, 0) + 1
        if parts.index is not None and counts[group] > SHOWN_PER_TENSOR:
            cut = True
            continue
        keys.append(key)
    return keys, cut


def generate_layered(options: LayeredOptions) -> Generated:
    """A new layered exercise with its answer key, checked to pass ``backprop check``."""
    check_samples_and_rate(options.samples, options.learning_rate)
    if not 1 <= options.sequence_length <= MAX_SEQUENCE_LENGTH:
        raise GeneratorError(f"--sequence-length must be between 1 and {MAX_SEQUENCE_LENGTH}")
    activations = resolve_layered_activations(options)
    seed = chosen_seed(options.seed)
    net = draw_layered(options, activations, np.random.default_rng(seed))
    bare = render_layered(options, seed, net, {}, False)
    problem = parse_exercise(bare, "<generated>")
    assert isinstance(problem, LayeredProblem)
    try:
        values = solve_layered(problem).values
    except NumericError as error:  # a dropout of 0.999 scales by 1,000, cross entropy's log
        raise GeneratorError(f"the drawn exercise overflows ({error}); try another seed, a "
                             "smaller dropout rate or learning rate") from None
    keys, cut = answer_keys(problem, values)
    expected = {key: answer_text(values[key], ANSWER_DIGITS) for key in keys}
    text = render_layered(options, seed, net, expected, cut)
    final = parse_exercise(text, "<generated>")
    assert isinstance(final, LayeredProblem)
    report = KIND.check(final, "<generated>")
    failed = [r.key for r in report.results if not r.passed]
    if failed or report.status == "invalid":
        raise RuntimeError(f"generated answers fail the check: {', '.join(failed)}")
    return Generated(text, bare, seed, layered_command_line(options, seed))


