"""Read a layered network file (issue 19) into a
:class:`~backprop_cli.model.layered.LayeredProblem`.

A network file is layered when a layer has a ``type:`` other than ``dense``, its input
is a tensor (``inputs: {shape: [...]}``) or it has a ``sequence:``
(:func:`backprop_cli.files.loader.layered_network` decides; the kinds registry hands such
a file here). Every error is ``path:line:col: message`` naming the key, with a suggestion
for a typo. The format is docs/format.md's "Layers beyond dense".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backprop_cli.errors import Mark, ProblemError, suggest
from backprop_cli.files import trust
from backprop_cli.files.datafiles import load_array
from backprop_cli.files.fields import (
    MAX_COUNT,
    MAX_STEPS,
    _check_keys,
    _describe,
    _int,
    _map,
    _name,
    _null,
    _number,
    _plain_float,
    _seq,
    _short,
    _string,
    read_entry_options,
)
from backprop_cli.files.loader import MAX_MIN_DIGITS
from backprop_cli.files.training_settings import read_optimizer, read_schedule
from backprop_cli.files.yamlio import YMap, YNode, YScalar, YSeq
from backprop_cli.model.activations import ACTIVATION_NAMES, ALIASES, make_activation
from backprop_cli.model.keys import key_glob
from backprop_cli.model.layered import (
    CONV_TYPES,
    LAYER_TYPES,
    LOSS_AT,
    PARAM_ROLES,
    POOL_TYPES,
    Array,
    LayeredProblem,
    LayerParam,
    LayerSpec,
    Shape,
    output_shape,
)
from backprop_cli.model.layered_keyspace import layered_keys
from backprop_cli.model.losses import LOSS_NAMES, LOSSES, make_loss
from backprop_cli.model.optimizers import ALL_UPDATE_KINDS
from backprop_cli.model.problem import Expected

TOP_KEYS = ("title", "description", "notes", "kind", "network", "loss", "reduction",
            "learning_rate", "steps", "input", "target", "targets", "sequence", "samples",
            "loss_at", "optimizer", "weight_decay", "freeze", "expected", "tolerance",
            "min_digits", "quiz", "points", "batch_size", "epochs", "round")
NETWORK_KEYS = ("inputs", "layers")
INPUT_KEYS = ("shape", "name")
_PARAM_KEYS = ("weights", "weight_name", "bias", "bias_name")
TYPE_KEYS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(CONV_TYPES, ("type", "name", "filters", "kernel", "stride", "padding",
                                 *_PARAM_KEYS, "activation")),
    **dict.fromkeys(POOL_TYPES, ("type", "name", "size", "stride")),
    "dropout": ("type", "name", "rate", "mask"),
    "flatten": ("type", "name"),
    "dense": ("type", "name", "units", "activation", *_PARAM_KEYS, "weight_names",
              "bias_names"),
    "rnn": ("type", "name", "units", "activation", *_PARAM_KEYS, "weight_names",
            "bias_names", "recurrent", "recurrent_name", "recurrent_names", "initial"),
}
SAMPLE_KEYS = ("input", "sequence", "target", "targets")
# samples in NumPy files: one array of every input (or sequence), one of every target
SAMPLE_FILE_KEYS = ("inputs", "sequences", "targets")
MAX_ELEMENTS = 10_000_000  # a tensor's elements: a typo in a shape is no hang


def read_layered(root: YMap, path: str, *, steps: int | None,
                 title_default: str) -> LayeredProblem:
    """The problem of a layered network file; ProblemError (path:line:col) for any mistake."""
    try:
        return _Reader(root, path).read(steps, title_default)
    except ProblemError as error:
        raise error.with_path(path) from None


def _ints(node: YNode, what: str, dims: int, minimum: int) -> Shape:
    """A setting given as one whole number or ``dims`` of them (kernel, stride, ...)."""
    if isinstance(node, YSeq):
        if len(node.items) != dims:
            raise ProblemError(f"{what} must be one whole number or {dims} of them, found "
                               f"{len(node.items)}", node.mark)
        return tuple(_int(item, what, minimum, MAX_COUNT) for item in node.items)
    return (_int(node, what, minimum, MAX_COUNT),) * dims


def _shape_words(shape: Shape) -> str:
    return "×".join(map(str, shape)) if shape else "a number"


def _check_target_range(target: Array, loss: str, what: str, mark: Mark) -> None:
    """The range the loss needs (a log of the output, of 1 − the output): binary cross
    entropy targets in [0, 1], cross entropy's a distribution (each step's, over time)."""
    rows = target.reshape(-1, target.shape[-1])
    wanted = LOSSES[loss].targets
    if wanted == "unit_interval" and ((rows < 0.0) | (rows > 1.0)).any():
        bad = float(rows[(rows < 0.0) | (rows > 1.0)][0])
        raise ProblemError(f"{what} has {bad:g}, but {loss} needs targets in [0, 1]", mark)
    if wanted == "distribution":
        sums = rows.sum(axis=1)
        if (rows < 0.0).any() or (np.abs(sums - 1.0) > 1e-9).any():
            raise ProblemError(f"{what} sums to {float(sums[np.argmax(np.abs(sums - 1.0))]):g} "
                               f"or has a negative entry, but {loss} needs non-negative "
                               "targets that sum to 1", mark)


def read_tensor(node: YNode, shape: Shape, what: str) -> Array:
    """Nested lists of numbers of exactly ``shape``; an error at the first list that
    does not fit, with the shape expected."""
    values: list[float] = []

    def walk(item: YNode, depth: int, where: str) -> None:
        # where: the position of ``item`` in the tensor, [1][2] (empty: the whole tensor)
        if depth == len(shape):
            value = _plain_float(item)
            values.append(value if value is not None else _number(item, f"{what}{where}"))
            return
        if not isinstance(item, YSeq):
            raise ProblemError(f"{what}: expected shape {_shape_words(shape)}, found "
                               f"{_describe(item)}{f' at {where}' if where else ''}", item.mark)
        if len(item.items) != shape[depth]:
            raise ProblemError(f"{what}: expected shape {_shape_words(shape)}, found "
                               f"{len(item.items)} entries along axis {depth + 1} "
                               f"(needs {shape[depth]})", item.mark)
        for i, child in enumerate(item.items):
            walk(child, depth + 1, f"{where}[{i + 1}]")

    walk(node, 0, "")
    return np.array(values, dtype=np.float64).reshape(shape)


class _Reader:
    def __init__(self, root: YMap, path: str) -> None:
        self.root = root
        self.path = path
        self.names: dict[str, Mark] = {}  # every name a key uses, where it was given
        self.sequence = False
        self.sample_files: YMap | None = None  # samples: {inputs: x.npy, targets: y.npy}
        self.n_file_samples = 0
        self.read_so_far: list[LayerSpec] = []  # what the next layer takes: the last's output

    def require(self, node: YMap, key: str, where: str) -> YNode:
        value = node.get(key)
        if value is None:
            raise ProblemError(f"missing required key '{key}' in {where}", node.mark)
        return value

    def claim(self, name: str, mark: Mark, what: str) -> str:
        """A name of the network (input, layer, unit, parameter), unique."""
        if name in self.names:
            first = self.names[name]
            raise ProblemError(f"{what} '{name}' is used twice (first at line {first.line}, "
                               f"column {first.column}): every name needs its own", mark)
        self.names[name] = mark
        return name

    # ------------------------------------------------------------------ the file

    def read(self, steps_override: int | None, title_default: str) -> LayeredProblem:
        root = self.root
        _check_keys(root, TOP_KEYS, "the problem")
        title = title_default
        if (node := root.get("title")) is not None:
            title = _string(node, "title")
        description = None
        if (node := root.get("description")) is not None and not _null(node):
            description = _string(node, "description")
        if (node := root.get("notes")) is not None and not _null(node):
            _string(node, "notes")  # the instructor's notes: never rendered
        network = _map(self.require(root, "network", "the problem"), "network")
        _check_keys(network, NETWORK_KEYS, "network")
        samples = root.get("samples")
        self.sequence = "sequence" in root.entries or any(
            isinstance(s, YMap) and "sequence" in s.entries
            for s in (samples.items if isinstance(samples, YSeq) else [])) or (
            isinstance(samples, YMap) and "sequences" in samples.entries)
        inputs_node = self.require(network, "inputs", "network")
        input_name, input_names, feature_shape = self.read_inputs(inputs_node)
        data = self.read_data(root, input_names, feature_shape)
        inputs, sample_nodes = data
        self.n_file_samples = inputs.shape[0]
        input_shape: Shape = tuple(int(n) for n in inputs.shape[1:])
        layers = self.read_layers(self.require(network, "layers", "network"), input_shape)
        output = layers[-1]
        if not output.units:
            raise ProblemError(f"the output layer (layer {output.index}) is {output.type}: "
                               "end the network with a dense layer (units: [...]) for the "
                               "loss", output.mark)
        loss_node = self.require(root, "loss", "the problem")
        loss_name = _string(loss_node, "loss")
        try:
            loss = make_loss(loss_name)
        except KeyError:
            hint = suggest(loss_name, LOSS_NAMES) or f" (known: {', '.join(LOSS_NAMES)})"
            raise ProblemError(f"unknown loss '{_short(loss_name)}'{hint}",
                               loss_node.mark) from None
        assert output.activation is not None
        allowed = LOSSES[loss.name].output_activations
        if allowed and output.activation.name not in allowed:
            raise ProblemError(f"loss {loss.name} takes the log of the outputs, so the output "
                               f"layer needs the {' or '.join(allowed)} activation, found "
                               f"{output.activation.name}", loss_node.mark)
        if len(output.units) < loss.spec.min_outputs:
            raise ProblemError(f"{loss.name} needs at least {loss.spec.min_outputs} output "
                               "units", loss_node.mark)
        loss_at = "last"
        if (node := root.get("loss_at")) is not None:
            loss_at = _string(node, "loss_at")
            if loss_at not in LOSS_AT:
                raise ProblemError(f"loss_at must be one of {', '.join(LOSS_AT)}, found "
                                   f"'{_short(loss_at)}'{suggest(loss_at, LOSS_AT)}", node.mark)
            if not self.sequence:
                raise ProblemError("loss_at is for a sequence (sequence:)", node.mark)
        targets = self.read_targets(root, sample_nodes, len(output.units), loss_at,
                                    input_shape, loss.name)
        reduction = "mean"
        if (node := root.get("reduction")) is not None:
            reduction = _string(node, "reduction")
            if reduction not in ("mean", "sum"):
                raise ProblemError(f"reduction must be 'mean' or 'sum', found "
                                   f"'{_short(reduction)}'{suggest(reduction, ['mean', 'sum'])}",
                                   node.mark)
        learning_rate = _number(self.require(root, "learning_rate", "the problem"),
                                "learning_rate", positive=True)
        steps = 1
        if (node := root.get("steps")) is not None:
            steps = _int(node, "steps", 0, MAX_STEPS)
        if steps_override is not None:
            if not 0 <= steps_override <= MAX_STEPS:
                raise ProblemError(f"--steps must be between 0 and {MAX_STEPS:,}, found "
                                   f"{steps_override}")
            steps = steps_override
        for layer in layers:
            if layer.mask is not None and layer.mask.ndim > len(layer.input_shape) and (
                    layer.mask.shape[0] != inputs.shape[0]):
                raise ProblemError(f"layer {layer.index} mask has {layer.mask.shape[0]} "
                                   f"masks for {inputs.shape[0]} samples", layer.mark)
        problem = LayeredProblem(
            path=self.path, title=title, description=description, input_name=input_name,
            input_names=tuple(input_names), input_shape=input_shape, layers=layers,
            loss=loss, reduction=reduction, learning_rate=learning_rate, steps=steps,
            inputs=inputs, targets=targets, has_samples="samples" in root.entries,
            sequence=self.sequence, loss_at=loss_at)
        read_schedule(root, problem, steps_override)  # batch_size, epochs, round
        # before anything lists the run's keys (expected and quiz read them)
        listed = check_recorded_work(problem)
        if (node := root.get("optimizer")) is not None:
            problem.optimizer = read_optimizer(node)
        if (node := root.get("weight_decay")) is not None:
            problem.weight_decay = _number(node, "weight_decay", nonnegative=True)
        if (node := root.get("freeze")) is not None:
            problem.freeze = self.read_freeze(node, problem)
        if (node := root.get("tolerance")) is not None:
            problem.tolerance = _number(node, "tolerance", nonnegative=True)
        if (node := root.get("min_digits")) is not None:
            problem.min_digits = _int(node, "min_digits", 1, MAX_MIN_DIGITS)
        if (node := root.get("expected")) is not None and listed:
            problem.expected = self.read_expected(_map(node, "expected"), problem)
        if (node := root.get("quiz")) is not None and listed:
            problem.quiz = self.read_quiz(node, problem)
        if (node := root.get("points")) is not None:
            problem.points = self.read_points(_map(node, "points"), problem)
        return problem

    # ------------------------------------------------------------------ inputs and data

    def read_inputs(self, node: YNode) -> tuple[str, list[str], Shape]:
        """(the tensor's name, a sequence's input names, one sample's shape without the
        time steps)."""
        if isinstance(node, YMap):
            _check_keys(node, INPUT_KEYS, "network.inputs")
            if self.sequence:
                raise ProblemError("a sequence's inputs are a list of names (inputs: [x])",
                                   node.mark)
            shape_node = _seq(self.require(node, "shape", "network.inputs"),
                              "network.inputs shape")
            if not 1 <= len(shape_node.items) <= 3:
                raise ProblemError("network.inputs shape has 1 to 3 axes: [inputs], "
                                   "[channels, length] or [channels, height, width], found "
                                   f"{len(shape_node.items)}", shape_node.mark)
            shape = tuple(_int(item, "network.inputs shape", 1, MAX_COUNT)
                          for item in shape_node.items)
            if math.prod(shape) > MAX_ELEMENTS:
                raise ProblemError(f"network.inputs shape has more than {MAX_ELEMENTS:,} "
                                   "elements", shape_node.mark)
            name = "x"
            if (name_node := node.get("name")) is not None:
                name = _name(name_node, "input name")
            self.claim(name, node.mark, "input name")
            return name, [], shape
        if isinstance(node, YSeq) and node.items:
            names = [self.claim(_name(item, "input name"), item.mark, "input name")
                     for item in node.items]
            return names[0], names, (len(names),)  # a vector (or one step of a sequence)
        raise ProblemError("network.inputs must be {shape: [...]} or a list of names, found "
                           f"{_describe(node)}", node.mark)

    def read_data(self, root: YMap, input_names: list[str], shape: Shape
                  ) -> tuple[Array, list[YMap]]:
        """The inputs of every sample (N, *shape) or (N, T, D), and the sample mappings."""
        key = "sequence" if self.sequence else "input"
        samples = root.get("samples")
        if isinstance(samples, YMap):
            return self.read_data_files(root, samples, input_names, shape), [root]
        if samples is not None:
            for other in (key, "target", "targets"):
                if other in root.entries:
                    raise ProblemError(f"give '{other}' in each sample, not beside samples",
                                       root.key_mark(other))
            items = _seq(samples, "samples").items
            if not items:
                raise ProblemError("samples is empty", samples.mark)
            maps = [_map(item, f"sample {i + 1}") for i, item in enumerate(items)]
            nodes = []
            for i, sample in enumerate(maps):
                _check_keys(sample, SAMPLE_KEYS, f"sample {i + 1}")
                nodes.append(self.require(sample, key, f"sample {i + 1}"))
        else:
            maps = [root]
            nodes = [self.require(root, key, "the problem")]
        if self.sequence:
            first = _seq(nodes[0], key)
            if not first.items:
                raise ProblemError("the sequence is empty", first.mark)
            shape = (len(first.items), len(input_names))
        arrays = [read_tensor(node, shape, key if len(nodes) == 1 else f"sample {i + 1} {key}")
                  for i, node in enumerate(nodes)]
        return np.stack(arrays), maps

    def read_data_files(self, root: YMap, samples: YMap, input_names: list[str],
                        shape: Shape) -> Array:
        """``samples: {inputs: x.npy, targets: y.npy}`` (``sequences:`` for a recurrent
        network): every sample's input in one array, (N, *shape) or (N, T, D); read
        through the trust boundary (inside the problem's folder, size-limited)."""
        key = "sequences" if self.sequence else "inputs"
        _check_keys(samples, (key, "targets"), "samples")
        for other in ("input", "sequence", "target", "targets"):
            if other in root.entries:
                raise ProblemError(f"give '{other}' in the samples' files, not beside samples",
                                   root.key_mark(other))
        node = self.require(samples, key, "samples")
        self.require(samples, "targets", "samples")
        inputs = load_array(node, self.path, f"samples {key}")
        if self.sequence and inputs.ndim == 2 and len(input_names) == 1:
            inputs = inputs[:, :, None]  # (N, T): one input per time step
        width = (len(input_names),) if self.sequence else shape
        if (inputs.ndim != len(width) + 1 + self.sequence or inputs.shape[0] == 0
                or inputs.shape[1 + self.sequence:] != width
                or (self.sequence and inputs.shape[1] == 0)):
            want = "×".join(["N", *(["T"] if self.sequence else []), *map(str, width)])
            raise ProblemError(f"samples {key}: the file has shape {_shape_words(inputs.shape)} "
                               f"but needs {want} (a sample per row"
                               f"{', a time step per column' if self.sequence else ''})",
                               node.mark)
        self.sample_files = samples
        return inputs

    def read_target_file(self, outputs: int, loss_at: str, input_shape: Shape,
                         n_samples: int, loss: str) -> Array:
        samples = self.sample_files
        assert samples is not None
        node = samples.entries["targets"][1]
        targets = load_array(node, self.path, "samples targets")
        every = loss_at == "every"
        want = (n_samples, input_shape[0], outputs) if every else (n_samples, outputs)
        if targets.shape == want[:-1] and outputs == 1:
            targets = targets[..., None]
        if targets.shape != want:
            raise ProblemError(f"samples targets: the file has shape "
                               f"{_shape_words(targets.shape)} but needs "
                               f"{_shape_words(want)} (a sample per row"
                               f"{', a time step per column' if every else ''}, "
                               f"{outputs} output{'s' * (outputs != 1)})", node.mark)
        _check_target_range(targets, loss, "samples targets", node.mark)
        return targets

    def read_targets(self, root: YMap, samples: list[YMap], outputs: int, loss_at: str,
                     input_shape: Shape, loss: str) -> Array:
        every = loss_at == "every"
        if self.sample_files is not None:
            return self.read_target_file(outputs, loss_at, input_shape, self.n_file_samples,
                                         loss)
        key, other = ("targets", "target") if every else ("target", "targets")
        found = []
        for i, sample in enumerate(samples):
            where = "the problem" if sample is root else f"sample {i + 1}"
            if (wrong := sample.get(other)) is not None:
                why = ("loss_at: every needs one target per step: targets" if every else
                       "targets (one per step) need loss_at: every")
                raise ProblemError(f"{why}", wrong.mark)
            node = self.require(sample, key, where)
            shape = (input_shape[0], outputs) if every else (outputs,)
            if not every and isinstance(node, YScalar) and outputs == 1:
                target = np.array([_number(node, key)])
            else:
                target = read_tensor(node, shape, key)
            _check_target_range(target, loss, key if sample is root else f"{where} {key}",
                                node.mark)
            found.append(target)
        return np.stack(found)

    # ------------------------------------------------------------------ layers

    def read_layers(self, node: YNode, input_shape: Shape) -> list[LayerSpec]:
        items = _seq(node, "network.layers").items
        if not items:
            raise ProblemError("network.layers is empty: a network needs at least one layer",
                               node.mark)
        layers = []
        shape = input_shape
        for index, item in enumerate(items, start=1):
            layer = self.read_layer(_map(item, f"layer {index}"), index, shape,
                                    index == len(items))
            layers.append(layer)
            shape = layer.output_shape
            self.read_so_far.append(layer)
        return layers

    def origin(self) -> str:
        """Where the input shape of the layer being read comes from, for an error about a
        tensor that must fit it (a mask, a weight matrix): a shape mistake is usually
        upstream (a pooling stride), not in the tensor the error points at, so the layers
        that only pass a shape on (flatten, dropout) are looked through."""
        if not self.read_so_far:
            return "the network's input"
        parts = []
        for below in reversed(self.read_so_far):
            settings = ""
            if below.type in POOL_TYPES:
                settings = (f" size {_shape_words(below.kernel)} stride "
                            f"{_shape_words(below.stride)}")
            elif below.type in CONV_TYPES:
                settings = (f" kernel {_shape_words(below.kernel)} stride "
                            f"{_shape_words(below.stride)} padding "
                            f"{_shape_words(below.padding)}")
            parts.append(f"layer {below.index} {below.name} ({below.type}{settings}: "
                         f"{_shape_words(below.input_shape)} -> "
                         f"{_shape_words(below.output_shape)})")
            if below.type not in ("flatten", "dropout"):
                break
        return "the output of " + ", after ".join(parts)

    def read_layer(self, node: YMap, index: int, shape: Shape, is_output: bool) -> LayerSpec:
        where = f"layer {index}"
        kind = "dense"
        if (type_node := node.get("type")) is not None:
            kind = _string(type_node, f"{where} type")
            if kind not in LAYER_TYPES:
                hint = suggest(kind, LAYER_TYPES) or f" (known: {', '.join(LAYER_TYPES)})"
                raise ProblemError(f"{where}: unknown layer type '{_short(kind)}'{hint}",
                                   type_node.mark)
        elif "units" not in node.entries:
            raise ProblemError(f"{where} needs a type (one of {', '.join(LAYER_TYPES)}) or "
                               "units (a dense layer)", node.mark)
        _check_keys(node, TYPE_KEYS[kind], f"{where} ({kind})")
        name = f"L{index}"
        if (name_node := node.get("name")) is not None:
            name = _name(name_node, "layer name")
        self.claim(name, node.mark if name_node is None else name_node.mark, "layer name")
        fields: dict[str, Any] = {}
        dims = int(kind[-2]) if kind in CONV_TYPES or kind in POOL_TYPES else 0
        try:
            if kind in CONV_TYPES:
                fields["filters"] = _int(self.require(node, "filters", where), f"{where} filters",
                                         1, MAX_COUNT)
                fields["kernel"] = _ints(self.require(node, "kernel", where),
                                         f"{where} kernel", dims, 1)
                fields["stride"] = self.setting(node, "stride", where, dims, 1, 1)
                fields["padding"] = self.setting(node, "padding", where, dims, 0, 0)
                out = output_shape(kind, shape, **fields, sequence=self.sequence)
            elif kind in POOL_TYPES:
                fields["kernel"] = _ints(self.require(node, "size", where), f"{where} size",
                                         dims, 1)
                stride_node = node.get("stride")
                fields["stride"] = fields["kernel"] if stride_node is None else _ints(
                    stride_node, f"{where} stride", dims, 1)
                out = output_shape(kind, shape, kernel=fields["kernel"],
                                   stride=fields["stride"], sequence=self.sequence)
            elif kind in ("dense", "rnn"):
                fields["units"] = self.read_units(self.require(node, "units", where), index,
                                                  is_output, kind)
                out = output_shape(kind, shape, units=len(fields["units"]),
                                   sequence=self.sequence)
            else:
                out = output_shape(kind, shape)
        except ValueError as error:
            raise ProblemError(f"{where} ({kind}): {error}", node.mark) from None
        if math.prod(out) > MAX_ELEMENTS:
            raise ProblemError(f"{where} has more than {MAX_ELEMENTS:,} outputs", node.mark)
        if kind == "dropout":
            fields["rate"] = _number(self.require(node, "rate", where), f"{where} rate",
                                     nonnegative=True)
            if fields["rate"] >= 1:
                raise ProblemError(f"{where} rate must be below 1", node.get("rate").mark)  # type: ignore[union-attr]
            mask_node = self.require(node, "mask", where)
            what = f"{where} mask, the shape of {self.origin()}"
            if _depth(mask_node) == len(shape):  # one mask for every sample
                mask = read_tensor(mask_node, shape, what)
            else:  # a mask per sample
                masks = len(_seq(mask_node, f"{where} mask").items)
                mask = read_tensor(mask_node, (masks, *shape), what)
            if not np.isin(mask, (0.0, 1.0)).all():
                raise ProblemError(f"{where} mask must hold only 0 (dropped) and 1 (kept)",
                                   mask_node.mark)
            fields["mask"] = mask
        if kind in CONV_TYPES or kind in ("dense", "rnn"):
            fields["activation"] = make_activation("identity")
            if (act := node.get("activation")) is not None:
                fields["activation"] = self.read_activation(act)
            if kind == "rnn" and fields["activation"].per_layer:
                raise ProblemError(f"{where}: an rnn takes an elementwise activation, not "
                                   "softmax", act.mark)  # type: ignore[union-attr]
            fields["params"] = self.read_params(node, kind, index, shape, out, fields)
        if kind == "rnn" and (init := node.get("initial")) is not None:
            fields["initial"] = read_tensor(init, (out[-1],), f"{where} initial")
        return LayerSpec(type=kind, index=index, name=name, input_shape=shape,
                         output_shape=out, mark=node.mark, **fields)

    def setting(self, node: YMap, key: str, where: str, dims: int, minimum: int,
                default: int) -> Shape:
        value = node.get(key)
        return (default,) * dims if value is None else _ints(value, f"{where} {key}", dims,
                                                             minimum)

    def read_units(self, node: YNode, index: int, is_output: bool, kind: str
                   ) -> tuple[str, ...]:
        where = f"layer {index}"
        if isinstance(node, YScalar) and not isinstance(node.value, str):
            count = _int(node, f"{where} units", 1, MAX_COUNT)
            stem = "o" if is_output else "h" if kind == "rnn" else f"h{index}_"
            names = [stem] if count == 1 and is_output else [f"{stem}{i + 1}"
                                                             for i in range(count)]
            return tuple(self.claim(n, node.mark, "unit name") for n in names)
        items = _seq(node, f"{where} units").items
        if not items:
            raise ProblemError(f"{where} units is empty: a layer needs at least one unit",
                               node.mark)
        return tuple(self.claim(_name(item, "unit name"), item.mark, "unit name")
                     for item in items)

    def read_activation(self, node: YNode) -> Any:
        alpha = None
        name_node = node
        if isinstance(node, YMap):
            _check_keys(node, ("name", "alpha"), "activation")
            name_node = self.require(node, "name", "activation")
            if (alpha_node := node.get("alpha")) is not None:
                alpha = _number(alpha_node, "activation alpha")
        name = _string(name_node, "activation")
        try:
            return make_activation(name, alpha)
        except KeyError:
            hint = suggest(name, [*ACTIVATION_NAMES, *ALIASES]) or (
                f" (known: {', '.join(ACTIVATION_NAMES)})")
            raise ProblemError(f"unknown activation '{_short(name)}'{hint}",
                               name_node.mark) from None
        except ValueError as error:
            raise ProblemError(str(error), node.mark) from None

    def read_params(self, node: YMap, kind: str, index: int, shape: Shape, out: Shape,
                    fields: dict[str, Any]) -> tuple[LayerParam, ...]:
        where = f"layer {index}"
        if kind in CONV_TYPES:
            shapes: dict[str, Shape] = {"weights": (fields["filters"], shape[0],
                                                    *fields["kernel"])}
            units = fields["filters"]
        else:
            units = len(fields["units"])
            shapes = {"weights": (units, shape[-1])}
            if kind == "rnn":
                shapes["recurrent"] = (units, units)
        shapes["bias"] = (units,)
        defaults = {"weights": f"W{index}", "recurrent": f"U{index}", "bias": f"b{index}"}
        params = []
        for role in PARAM_ROLES:
            if role not in shapes:
                continue
            value_node = self.require(node, role, where) if role != "bias" else node.get(role)
            if value_node is None or _null(value_node):
                for extra in ("bias_name", "bias_names"):
                    if role == "bias" and (extra_node := node.get(extra)) is not None:
                        raise ProblemError(f"{where} has {extra} but no bias", extra_node.mark)
                continue
            want = shapes[role]
            what = f"{where} {role}"
            if role == "weights" and kind not in CONV_TYPES:
                what += f" (a column per value of {self.origin()})"
            if role == "bias" and isinstance(value_node, YScalar):
                values = np.full(want, _number(value_node, what))
            elif isinstance(value_node, YMap):  # {file: w.npy}: a tensor saved by numpy
                _check_keys(value_node, ("file",), what)
                file_node = self.require(value_node, "file", what)
                values = load_array(file_node, self.path, what)
                if values.shape != want:
                    raise ProblemError(f"{what}: the file has shape {_shape_words(values.shape)} "
                                       f"but needs {_shape_words(want)}", file_node.mark)
            else:
                values = read_tensor(value_node, want, what)
            singular = {"weights": "weight", "recurrent": "recurrent", "bias": "bias"}[role]
            tensor_name = defaults[role]
            if (name_node := node.get(f"{singular}_name")) is not None:
                tensor_name = _name(name_node, f"{singular} name")
            names_node = node.get(f"{singular}_names")
            element_names = None
            if names_node is not None and not _null(names_node):
                element_names = self.read_names(names_node, want, f"{where} {singular}_names")
            else:
                self.claim(tensor_name, (name_node or value_node).mark, f"{singular} name")
            params.append(LayerParam(role, values, tensor_name, element_names))
        return tuple(params)

    def read_names(self, node: YNode, shape: Shape, what: str) -> tuple[str, ...]:
        names: list[str] = []

        def walk(item: YNode, depth: int) -> None:
            if depth == len(shape):
                names.append(self.claim(_param_name(item), item.mark, "parameter name"))
                return
            items = _seq(item, what).items
            if len(items) != shape[depth]:
                raise ProblemError(f"{what}: expected shape {_shape_words(shape)} (one name "
                                   f"per value), found {len(items)} entries along axis "
                                   f"{depth + 1}", item.mark)
            for child in items:
                walk(child, depth + 1)

        if isinstance(node, YScalar) and math.prod(shape) == 1:
            walk(node, len(shape))
        else:
            walk(node, 0)
        return tuple(names)

    def read_freeze(self, node: YNode, problem: LayeredProblem) -> list[str]:
        """Globs of parameter element keys (``K[*]``, ``w``, ``W5[1,?]``) never updated."""
        items = [node] if isinstance(node, YScalar) else _seq(node, "freeze").items
        names = [key for _, param in problem.parameters() for key in param.element_keys()]
        patterns = []
        for item in items:
            pattern = _string(item, "freeze entry")
            if not any(key_glob(pattern).match(name) for name in names):
                raise ProblemError(f"freeze: '{_short(pattern)}' matches no parameter"
                                   f"{suggest(pattern, names)}", item.mark)
            patterns.append(pattern)
        return list(dict.fromkeys(patterns))

    def read_quiz(self, node: YNode, problem: LayeredProblem) -> list[str]:
        """The keys or globs `backprop quiz` asks (brackets are the keys' own)."""
        items = [node] if isinstance(node, YScalar) else _seq(node, "quiz").items
        keys = layered_keys(problem)
        patterns = []
        for item in items:
            pattern = _string(item, "quiz entry")
            _match_some(pattern, keys, "quiz", item.mark)
            patterns.append(pattern)
        return patterns

    def read_points(self, node: YMap, problem: LayeredProblem) -> dict[str, float]:
        """`backprop grade`'s points, as a dense file's: value key or glob -> points (the
        first match wins; brackets are the keys' own, ``grad.K[*]``: the whole tensor)."""
        keys = layered_keys(problem)
        points = {}
        for pattern, (key_mark, value_node) in node.entries.items():
            _match_some(pattern, keys, "points", key_mark)
            points[pattern] = _number(value_node, f"points '{_short(pattern)}'",
                                      nonnegative=True)
        return points

    # ------------------------------------------------------------------ expected

    def read_expected(self, node: YMap, problem: LayeredProblem) -> dict[str, Expected]:
        known = set(layered_keys(problem))
        result: dict[str, Expected] = {}
        for key, (key_mark, value_node) in node.entries.items():
            if key not in known:
                hint = suggest(key, sorted(known)) if len(known) <= 20_000 else ""
                raise ProblemError(f"expected: unknown value key '{_short(key)}'{hint}",
                                   key_mark)
            entry = Expected(key=key, value=0.0, text="", mark=key_mark)
            number_node = read_entry_options(entry, key, value_node)
            entry.value = _number(number_node, f"expected '{key}'")
            assert isinstance(number_node, YScalar)
            entry.text = number_node.text
            result[key] = entry
        return result


def _match_some(pattern: str, keys: list[str], what: str, mark: Mark | None) -> None:
    """ProblemError when the glob ``pattern`` of a ``what:`` entry matches none of ``keys``."""
    if not any(key_glob(pattern).match(key) for key in keys):
        hint = suggest(pattern, keys) if len(keys) <= 20_000 else ""
        raise ProblemError(f"{what}: '{_short(pattern)}' matches no value key{hint}", mark)


def _param_name(node: YNode) -> str:
    """A parameter's name: the optimizers' words (v, m, s, ...) are free here, since a
    layered network has no optimizer values (the issue's rnn names a weight v)."""
    if isinstance(node, YScalar) and node.value in ALL_UPDATE_KINDS:
        return str(node.value)
    return _name(node, "parameter name")


def _depth(node: YNode) -> int:
    """How deep the lists of a node nest (the first item's way down)."""
    depth = 0
    while isinstance(node, YSeq) and node.items:
        node, depth = node.items[0], depth + 1
    return depth


# Values a layered run may record over all its steps (the runner records every key of
# every step, so memory grows with steps): past this, --allow-big (issue 18).
MAX_RECORDED_VALUES = 2_000_000


def check_recorded_work(problem: LayeredProblem) -> bool:
    """Refuse a run whose recording would not fit the budget: a small file with
    ``steps: 1000000`` must not make the tool take gigabytes (docs/security.md). For a run
    that records nothing (:func:`trust.unrecorded_run`, ``backprop train``) only the work
    budget applies, and False says that its keys are too many to list (its ``expected``
    and ``quiz``, which the run does not use, are then not read)."""
    time = max(problem.time_steps, 1)
    elements = sum(math.prod(layer.output_shape) for layer in problem.layers)
    parameters = sum(param.values.size for _, param in problem.parameters())
    # z, a, ∂a/∂z, ∂L/∂a, ∂L/∂z of every element, per sample and time step; the
    # parameters' values, gradients and updates
    per_step = 5 * elements * problem.n_samples * time + 4 * parameters
    trust.check_work(parameters, problem.n_samples * time, problem.steps)
    recorded = max(problem.steps, 1) * per_step
    if recorded <= MAX_RECORDED_VALUES or trust.big_allowed():
        return True
    if not trust.run_unrecorded():
        raise ProblemError(f"{problem.steps:,} step{'s' * (problem.steps != 1)} of this "
                           f"network record about {recorded:,} values, over the limit of "
                           f"{MAX_RECORDED_VALUES:,} (a layered network's run keeps every "
                           f"value of every step); {trust.BIG_HINT}", None, problem.path)
    return False
