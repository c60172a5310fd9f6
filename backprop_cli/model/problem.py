"""The problem model: a small fully connected network and one exercise on it.

Shapes (N samples, layer l with n_l units, n_0 inputs):

- ``Problem.inputs``  (N, n_0) input values, one row per sample
- ``Problem.targets`` (N, n_L) target values
- ``Layer.weights``   (n_l, n_{l-1}): row i holds the weights into unit i
- ``Layer.bias``      (n_l,) or None when the layer has no bias term

Parameters are named; a name used at several places denotes one shared
parameter (its gradient is the sum over its uses, it is updated once).

Training settings: the optimizer and weight decay (:mod:`backprop_cli.model.optimizers`),
mini-batches (``batch_size``: step s uses the samples of batch (s − 1) mod B, in
file order, the last batch of an epoch possibly smaller) and hand-calculation
mode (``round``: every value the calculation produces is rounded to that many
decimals, see :mod:`backprop_cli.rounding`).
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numpy.typing import NDArray

from backprop_cli.errors import Mark
from backprop_cli.model.activations import Activation
from backprop_cli.model.keys import KeyParts, suffix_for
from backprop_cli.model.losses import Loss
from backprop_cli.model.optimizers import SGD, Optimizer
from backprop_cli.records import cached_property, field, record

Array = NDArray[np.float64]

# The one name a parameter cannot have: its key would be the loss's (issue 16). Units and
# inputs may have any name (their keys always have a kind before the name: a.loss, a.4).
RESERVED_WORDS = frozenset({"loss"})


@record
class Layer:
    """One fully connected layer: z = W·a_prev + b, a = f(z)."""

    index: int  # 1-based; the last layer is the output layer
    units: list[str]
    activation: Activation
    weights: Array
    bias: Array | None
    input_names: list[str]  # the units (or inputs) of the layer below
    explicit_weight_names: list[list[str]] | None = None
    explicit_bias_names: list[str] | None = None
    mark: Mark | None = None

    @property
    def size(self) -> int:
        return len(self.units)

    @property
    def named_by_author(self) -> bool:
        return self.explicit_weight_names is not None or self.explicit_bias_names is not None

    @cached_property
    def weight_names(self) -> list[list[str]]:
        """Author's names, else ``w_<unit>_<input>`` (built only when asked for)."""
        if self.explicit_weight_names is not None:
            return self.explicit_weight_names
        return [[f"w_{unit}_{source}" for source in self.input_names] for unit in self.units]

    @cached_property
    def bias_names(self) -> list[str] | None:
        if self.bias is None:
            return None
        if self.explicit_bias_names is not None:
            return self.explicit_bias_names
        return [f"b_{unit}" for unit in self.units]


@record(frozen=True)
class Use:
    """One place a parameter stands: a weight (row, col) or a bias (row, -1)."""

    layer: int  # 0-based index into Problem.layers
    row: int
    col: int  # -1 for a bias

    @property
    def is_bias(self) -> bool:
        return self.col < 0


@record
class Parameter:
    name: str
    value: float
    uses: list[Use]
    frozen: bool = False


@record
class Expected:
    """An author's answer for one value key."""

    key: str
    value: float
    text: str  # as written: its precision is what the checker judges
    mark: Mark
    tolerance: float | None = None
    erratum: float | None = None  # the correct value, when the published one is wrong
    erratum_text: str | None = None
    note: str | None = None
    parts: KeyParts | None = field(default=None, compare=False, repr=False)  # the key, parsed


class BatchSchedule:
    """Which samples each step uses, for a problem with ``n_samples``, ``batch_size``,
    ``epochs`` and ``steps`` (a dense :class:`Problem` and a layered network's alike):
    step s uses batch (s − 1) mod B in file order, the last batch of an epoch possibly
    smaller; ``final.`` every sample."""

    if TYPE_CHECKING:  # the fields of the record that mixes this in
        batch_size: int | None
        epochs: int | None
        steps: int

        @property
        def n_samples(self) -> int: ...

    @property
    def batches_per_epoch(self) -> int:
        if self.batch_size is None:
            return 1
        return -(-self.n_samples // self.batch_size)

    def batch(self, step: int | None) -> range:
        """The (0-based) samples of step ``step``'s batch; every sample for None (final.)."""
        n = self.n_samples
        size = self.batch_size
        if step is None or size is None or size >= n:
            return range(n)
        start = (step - 1) % self.batches_per_epoch * size
        return range(start, min(start + size, n))

    @property
    def epochs_run(self) -> int:
        """The epochs whose every step is run (epoch<k>. keys exist for these)."""
        if self.epochs is None:
            return 0
        return min(self.epochs, self.steps // self.batches_per_epoch)


@record
class Problem(BatchSchedule):
    kind: ClassVar[str] = "network"  # the exercise kind (backprop_cli.kinds)
    path: str
    title: str
    description: str | None
    input_names: list[str]
    layers: list[Layer]
    loss: Loss
    reduction: str  # "mean" or "sum"
    learning_rate: float
    steps: int
    freeze: list[str]
    inputs: Array  # (N, n_inputs)
    targets: Array  # (N, n_outputs)
    has_samples: bool  # True when written with `samples:` (keys get @k)
    expected: dict[str, Expected] = field(default_factory=dict)
    tolerance: float | None = None
    min_digits: int | None = None  # values written with fewer significant digits: imprecise
    target_labels: list[str | None] | None = None  # cross_entropy: the true unit's name
    quiz: list[str] | None = None  # value keys or globs `backprop quiz` asks for
    # `backprop grade`: value key or glob -> points (the first match wins; default 1)
    points: dict[str, float] | None = None
    optimizer: Optimizer = SGD
    weight_decay: float = 0.0  # λ: the update adds λ·w to the gradient of every weight
    batch_size: int | None = None  # None: every step uses every sample
    epochs: int | None = None  # as written; then steps = epochs × batches_per_epoch
    round: int | None = None  # hand-calculation mode: decimals of every value produced
    # the convention kinds (keys.CONVENTION_KINDS: error, change, grad.input) the file's
    # expected or quiz uses: listed, recorded and shown by solve like the others
    shown_kinds: frozenset[str] = frozenset()
    # "gradient_descent", or "perceptron": online, w ← w + η·(t − y)·x (δ = y − t, f' not used)
    learning_rule: str = "gradient_descent"
    # `predict:` rows, evaluated with the final parameters (predict.z.<unit>@k, predict.a.),
    # their targets when given (predict.accuracy), and the class threshold of one output
    predict_inputs: Array | None = None
    predict_targets: Array | None = None
    threshold: float = 0.5
    notes: str | None = None  # the instructor's notes: never rendered
    # expected keys of the file's own steps that a --steps override leaves without a value
    skipped_expected: list[str] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def output_layer(self) -> Layer:
        return self.layers[-1]

    @property
    def output_names(self) -> list[str]:
        return self.layers[-1].units

    def layer_inputs(self, layer_index: int) -> list[str]:
        """Names of the units (or inputs) feeding layer ``layer_index`` (0-based)."""
        return self.input_names if layer_index == 0 else self.layers[layer_index - 1].units

    @cached_property
    def parameters(self) -> dict[str, Parameter]:
        """Every distinct parameter by name, in network order (weights before bias)."""
        params: dict[str, Parameter] = {}
        for li, layer in enumerate(self.layers):
            # .tolist(): Python floats at once, not one NumPy scalar per entry
            weights = layer.weights.tolist()
            bias = None if layer.bias is None or layer.bias_names is None else (
                layer.bias.tolist())
            for row, names in enumerate(layer.weight_names):
                for col, name in enumerate(names):
                    if name in params:
                        params[name].uses.append(Use(li, row, col))
                    else:
                        params[name] = Parameter(name, weights[row][col], [Use(li, row, col)])
                if bias is not None:
                    name = layer.bias_names[row]  # type: ignore[index]
                    if name in params:
                        params[name].uses.append(Use(li, row, -1))
                    else:
                        params[name] = Parameter(name, bias[row], [Use(li, row, -1)])
        if self.freeze:
            for param in params.values():
                param.frozen = any(fnmatch.fnmatchcase(param.name, pat) for pat in self.freeze)
        return params

    @cached_property
    def parameter_order(self) -> dict[str, int]:
        """Each parameter's place in :attr:`parameters`."""
        return {name: index for index, name in enumerate(self.parameters)}

    @cached_property
    def unit_places(self) -> dict[str, tuple[int, int]]:
        """(layer, index in the layer), 0-based, of every unit."""
        return {unit: (li, j) for li, layer in enumerate(self.layers)
                for j, unit in enumerate(layer.units)}

    @cached_property
    def unit_set(self) -> frozenset[str]:
        return frozenset(u for layer in self.layers for u in layer.units)

    @cached_property
    def output_set(self) -> frozenset[str]:
        return frozenset(self.output_names)

    @cached_property
    def softmax_units(self) -> frozenset[str]:
        return frozenset(u for layer in self.layers if layer.activation.per_layer
                         for u in layer.units)

    @cached_property
    def shared(self) -> bool:
        return any(len(p.uses) > 1 for p in self.parameters.values())

    @property
    def n_parameters(self) -> int:
        return sum(layer.weights.size + (0 if layer.bias is None else layer.size)
                   for layer in self.layers)

    @property
    def lists_accuracy(self) -> bool:
        """Whether the predictions and accuracies are among the problem's listed (and by
        default recorded) keys: with `predict:` rows, or when expected or quiz names one."""
        return self.predict_inputs is not None or "accuracy" in self.shown_kinds

    @property
    def n_predict(self) -> int:
        return 0 if self.predict_inputs is None else int(self.predict_inputs.shape[0])

    def classes(self, outputs: Array) -> Array:
        """The class of each row of outputs (or targets): argmax over several output units,
        a ≥ threshold for one."""
        if outputs.shape[1] == 1:
            return (outputs[:, 0] >= self.threshold).astype(np.int64)
        return np.argmax(outputs, axis=1)

    @property
    def perceptron(self) -> bool:
        return self.learning_rule == "perceptron"

    def sample_suffix(self, k: int) -> str:
        """'@k' (1-based) when the file uses samples, else ''."""
        return suffix_for(k) if self.has_samples else ""
