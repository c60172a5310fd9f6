"""A network with layers beyond dense ones (issue 19): convolution, pooling, dropout,
flatten, dense and recurrent layers, on a tensor input or a sequence.

Read by :mod:`backprop_cli.files.layered`, run by :mod:`backprop_cli.engine.layered`,
judged and written by :mod:`backprop_cli.kinds.layered`. Its value keys are
:func:`backprop_cli.model.layered_keyspace.layered_keys`.

Shapes are one sample's (no samples axis): a tensor input (C, H, W) or (C, L); a sequence
(T, D). :func:`output_shape` is the arithmetic of each layer type, so that the reader can
check weights and masks and name every key without running anything.

Naming (keys): a layer of tensors (conv, pooling, dropout) has a ``name`` (default
``L<position>``) and its values are ``z.<name>[f,i,j]``; a dense or rnn layer has unit
names (``z.o``, ``a.h#2``). A parameter is a tensor with a name (``K[1,1,2,2]``, default
``W<position>``, ``b<position>``, ``U<position>`` for the recurrent weights) unless the
file names its elements (``weight_names``, ``recurrent_names``, ``bias_names``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from backprop_cli.errors import Mark
from backprop_cli.model.activations import Activation
from backprop_cli.model.keys import element_names, index_suffix, suffix_for
from backprop_cli.model.losses import Loss
from backprop_cli.model.optimizers import SGD, Optimizer
from backprop_cli.model.problem import BatchSchedule, Expected
from backprop_cli.records import cached_property, field, record

Array = NDArray[np.float64]
Shape = tuple[int, ...]

CONV_TYPES = ("conv1d", "conv2d")
POOL_TYPES = ("maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d")
LAYER_TYPES = ("dense", *CONV_TYPES, *POOL_TYPES, "dropout", "flatten", "rnn")
LOSS_AT = ("last", "every")
# the parameters of a layer, in the order they are listed (the roles of engine/layers)
PARAM_ROLES = ("weights", "recurrent", "bias")


@record(frozen=True, eq=False)
class LayerParam:
    """One parameter tensor of a layer: its values and how its elements are named."""

    role: str  # "weights", "recurrent" or "bias"
    values: Array  # the starting values, its shape
    tensor_name: str  # the tensor's name (K): element keys K[i,j] unless element names
    element_names: tuple[str, ...] | None = None  # row-major, one per element (w, u, b)

    def element_keys(self) -> list[str]:
        """The key name of every element, row-major (``K[1,1,2,2]`` or ``w``); shared:
        not to be changed."""
        return self._element_keys

    @cached_property
    def _element_keys(self) -> list[str]:
        if self.element_names is not None:
            return list(self.element_names)
        return element_names(self.tensor_name, self.values.shape)


@record(frozen=True, eq=False)
class LayerSpec:
    """One layer as the file gives it; ``type`` one of :data:`LAYER_TYPES`."""

    type: str
    index: int  # 1-based position
    name: str  # used in tensor keys (z.C[1,2,3]); dense and rnn layers: their units
    input_shape: Shape
    output_shape: Shape
    mark: Mark
    activation: Activation | None = None  # conv, dense, rnn
    units: tuple[str, ...] = ()  # dense and rnn: the unit names
    filters: int = 0
    kernel: Shape = ()  # conv: kernel; pooling: the window size
    stride: Shape = ()
    padding: Shape = ()
    rate: float = 0.0  # dropout
    mask: Array | None = None  # dropout: one sample's, or (N, *shape)
    initial: Array | None = None  # rnn: h_0
    params: tuple[LayerParam, ...] = ()

    @property
    def has_z(self) -> bool:
        """Whether the layer has z. and dadz. keys (conv, dense and rnn layers)."""
        return self.activation is not None

    @property
    def has_keys(self) -> bool:
        """Flatten is a reshape: it has no values of its own."""
        return self.type != "flatten"

    @property
    def over_time(self) -> bool:
        """A dense layer after an rnn, or the rnn: its values carry #t."""
        return len(self.input_shape) == 2 and self.type in ("dense", "rnn")

    def value_names(self) -> list[str]:
        """The name of each output value of one sample (at one time step), row-major:
        unit names, or the layer's name with indices."""
        return self._value_names

    @cached_property
    def _value_names(self) -> list[str]:
        if self.units:
            return list(self.units)
        return element_names(self.name, self.output_shape)


@record(eq=False)
class LayeredProblem(BatchSchedule):
    """An exercise on a layered network: its data, loss and training settings."""

    path: str
    title: str
    description: str | None
    input_name: str  # tensor input: x; sequence input: the input names below
    input_names: tuple[str, ...]  # named inputs (a vector, or a sequence's step); () for a tensor
    input_shape: Shape  # one sample's: (C, H, W), (C, L), or (T, D) for a sequence
    layers: list[LayerSpec]
    loss: Loss
    reduction: str
    learning_rate: float
    steps: int
    inputs: Array  # (N, *input_shape)
    targets: Array  # (N, K), or (N, T, K) for a sequence with loss_at every
    has_samples: bool
    sequence: bool = False
    loss_at: str = "last"
    optimizer: Optimizer = SGD
    weight_decay: float = 0.0  # λ: adds λ·w to each weight's gradient (not the biases')
    freeze: list[str] = field(default_factory=list)  # globs of element keys never updated
    quiz: list[str] = field(default_factory=list)  # the keys (globs) `backprop quiz` asks
    expected: dict[str, Expected] = field(default_factory=dict)
    # `backprop grade`: value key or glob -> points (the first match wins; default 1)
    points: dict[str, float] | None = None
    tolerance: float | None = None
    min_digits: int | None = None
    batch_size: int | None = None  # None: every step uses every sample (BatchSchedule)
    epochs: int | None = None  # as written; then steps = epochs × batches_per_epoch
    round: int | None = None  # hand-calculation mode: decimals of every value produced
    kind: str = "layered"

    @property
    def n_samples(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def time_steps(self) -> int:
        return self.input_shape[0] if self.sequence else 0

    @property
    def output(self) -> LayerSpec:
        return self.layers[-1]

    @property
    def output_names(self) -> list[str]:
        return self.output.value_names()

    def sample_suffix(self, sample: int) -> str:
        return suffix_for(sample) if self.has_samples else ""

    def parameters(self) -> Iterator[tuple[LayerSpec, LayerParam]]:
        for layer in self.layers:
            for param in layer.params:
                yield layer, param

    def input_value_names(self) -> list[str]:
        """The name of each input value of one sample (at one step for a sequence)."""
        return self._input_value_names

    @cached_property
    def _input_value_names(self) -> list[str]:
        if self.input_names:
            return list(self.input_names)
        return element_names(self.input_name, self.input_shape)


def index_text(index: tuple[int, ...]) -> str:
    """0-based array index -> the key's 1-based ``[1,2,3]``."""
    return index_suffix(tuple(i + 1 for i in index))


def indices(shape: Shape) -> list[tuple[int, ...]]:
    """Every index of an array of ``shape``, row-major (0-based)."""
    return [tuple(int(i) for i in index) for index in np.ndindex(*shape)]


def output_shape(spec_type: str, input_shape: Shape, *, filters: int = 0, kernel: Shape = (),
                 stride: Shape = (), padding: Shape = (), units: int = 0,
                 sequence: bool = False) -> Shape:
    """One sample's output shape of a layer; ValueError with a sentence when the input
    does not fit (the reader adds the place)."""
    if spec_type in CONV_TYPES or spec_type in POOL_TYPES:
        if sequence:  # its channels would be the steps: the values after it lose their time
            raise ValueError("a sequence (steps × inputs) goes through rnn, dense and dropout "
                             "layers only: a convolution or pooling takes a tensor input "
                             "(inputs: {shape: [...]})")
        dims = int(spec_type[-2])
        if len(input_shape) != 1 + dims:
            axes = "channels × length" if dims == 1 else "channels × height × width"
            raise ValueError(f"{spec_type} takes an input of {axes}, found one of shape "
                             f"{list(input_shape)}")
        pads = padding or (0,) * dims
        sizes = []
        for size, k, s, p in zip(input_shape[1:], kernel, stride, pads, strict=True):
            if size + 2 * p < k:
                what = "kernel" if spec_type in CONV_TYPES else "window"
                raise ValueError(f"the {what} ({k}) is larger than the "
                                 f"{'padded ' if p else ''}input ({size + 2 * p})")
            sizes.append((size + 2 * p - k) // s + 1)
        channels = filters if spec_type in CONV_TYPES else input_shape[0]
        return (channels, *sizes)
    if spec_type == "dropout":
        return input_shape
    if spec_type == "flatten":
        return (math.prod(input_shape),)
    if spec_type == "rnn":
        if len(input_shape) != 2 or not sequence:
            raise ValueError("an rnn layer takes a sequence (steps × inputs): give the file "
                             "a sequence")
        return (input_shape[0], units)
    # dense: over the last axis (a sequence's steps stay)
    if len(input_shape) != (2 if sequence else 1):
        raise ValueError(f"a dense layer takes a vector, found an input of shape "
                         f"{list(input_shape)}: put a flatten layer before it")
    return (*input_shape[:-1], units)
