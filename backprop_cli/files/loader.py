"""Read a problem file (format v1) into a :class:`~backprop_cli.model.problem.Problem`.

Every error names the key and its place (``path:line:col: message``) and
suggests the nearest valid word for typos. See the README for the format.
"""

from __future__ import annotations

import fnmatch
import re
from types import ModuleType
from typing import Any

import numpy as np

from backprop_cli.errors import Mark, ProblemError, raise_collected, suggest
from backprop_cli.files.fields import (
    MAX_COUNT,
    MAX_STEPS,
    NAME,
    _actual_shape,
    _check_keys,
    _count_word,
    _describe,
    _int,
    _listed,
    _map,
    _name,
    _null,
    _number,
    _plain_float,
    _plural,
    _seq,
    _shape_text,
    _short,
    _string,
    is_expression,
    read_entry_options,
)
from backprop_cli.files.yamlio import YMap, YNode, YScalar, YSeq, parse_yaml
from backprop_cli.model.activations import (
    ACTIVATION_NAMES,
    ALIASES,
    find_activation,
    make_activation,
)
from backprop_cli.model.keys import CONVENTION_KINDS, head
from backprop_cli.model.keyspace import key_index, parse_key
from backprop_cli.model.losses import LOSS_NAMES, LOSSES, make_loss
from backprop_cli.model.problem import Expected, Layer, Problem, Use
from backprop_cli.model.questions import match_patterns

# training settings, read by backprop_cli.files.training_settings (imported only for them)
TRAINING_KEYS = ("optimizer", "weight_decay", "batch_size", "epochs", "round")
TOP_KEYS = (
    "title", "description", "notes", "network", "loss", "reduction", "learning_rate", "steps",
    "freeze", "input", "target", "samples", "expected", "tolerance", "min_digits", "quiz",
    "points", "learning_rule", "upstream", "predict", "threshold", *TRAINING_KEYS,
)
LEARNING_RULES = ("gradient_descent", "perceptron")
NETWORK_KEYS = ("inputs", "layers")
LAYER_KEYS = ("units", "activation", "weights", "weight_names", "bias", "bias_names",
              "weights_by")
WEIGHTS_BY = ("unit", "input")  # a row per unit (W·a), or a row per input unit (X·W)
BIAS_IN_WEIGHTS = ("first", "last")  # bias: {in_weights: ...}: the bias inside each weight row
SAMPLE_KEYS = ("input", "target")
ACTIVATION_KEYS = ("name", "alpha", "at_zero")  # at_zero: step's value at z = 0

MAX_MIN_DIGITS = 17  # significant digits a float holds
QUIZ_CHECK_STEPS = 100  # steps whose keys a file's quiz patterns are checked against



def _datafiles() -> ModuleType:
    """Data files and initialisation, imported when a file asks for them."""
    # lazy: most files have no data file; its import costs start-up time in a batch
    from backprop_cli.files import datafiles

    return datafiles


# a top-level key in block style starts a line: without such a line the file has no kind
_KIND_LINE = re.compile(r"^kind[ \t]*:", re.MULTILINE)


def kind_node(root: YNode | None, text: str) -> YNode | None:
    """The value of the file's top-level ``kind:`` key, None when it has none (a network
    problem). The text is searched first: most files have no such key."""
    if _KIND_LINE.search(text) and isinstance(root, YMap):
        return root.get("kind")
    return None


def layered_network(root: YNode | None) -> bool:
    """Whether a network file is a layered one (issue 19: files/layered.py reads it): a
    layer with a ``type:``, a tensor input, a ``sequence:`` (top level or in a sample) or a
    ``loss_at:``."""
    if not isinstance(root, YMap):
        return False
    if "sequence" in root.entries or "loss_at" in root.entries:
        return True  # (whatever the network: the layered reader names its mistakes)
    network = root.get("network")
    if not isinstance(network, YMap):
        return False
    layers = network.get("layers")
    samples = root.get("samples")
    return (isinstance(network.get("inputs"), YMap)
            or any(isinstance(item, YMap) and "sequence" in item.entries
                   for item in (samples.items if isinstance(samples, YSeq) else ()))
            or any(isinstance(item, YMap) and "type" in item.entries
                   for item in (layers.items if isinstance(layers, YSeq) else ())))


def parse_problem(text: str, path: str = "<input>", steps: int | None = None,
                  title_default: str = "problem") -> Problem:
    try:
        root = parse_yaml(text)
    except ProblemError as error:
        raise error.with_path(path) from None
    return problem_from_tree(root, path, steps=steps, title_default=title_default)


def problem_from_tree(root: YNode | None, path: str = "<input>", steps: int | None = None,
                      title_default: str = "problem") -> Problem:
    """A network problem from an already parsed YAML tree."""
    if root is None:
        raise ProblemError("empty file: a problem file is a YAML mapping with a 'network'",
                           Mark(1, 1), path)
    if not isinstance(root, YMap):
        raise ProblemError(f"a problem file is a YAML mapping (key: value), found "
                           f"{_describe(root)}", root.mark, path)
    try:
        return _Reader(root, path, title_default).read(steps)
    except ProblemError as error:
        raise error.with_path(path) from None


class _Reader:
    def __init__(self, root: YMap, path: str, title_default: str) -> None:
        self.root = root
        self.path = path
        self.title_default = title_default
        # where each unit or input name, and each parameter name, was written
        self.name_marks: dict[str, Mark] = {}
        self.param_marks: dict[tuple[int, int, int], Mark] = {}  # (layer, row, col|-1)

    def require(self, node: YMap, key: str, where: str) -> YNode:
        value = node.get(key)
        if value is None:
            raise ProblemError(f"missing required key '{key}' in {where}", node.mark)
        return value

    def read(self, steps_override: int | None) -> Problem:
        root = self.root
        for key in NETWORK_KEYS:  # inputs: or layers: at the top level
            if key in root.entries:
                how = ("indent it below network:" if "network" in root.entries
                       else f"nest it under network: (network:, then {key}: indented below it)")
                raise ProblemError(f"'{key}' belongs to the network: {how}",
                                   root.entries[key][0])
        _check_keys(root, TOP_KEYS, "the problem")
        title = self.title_default
        if (node := root.get("title")) is not None:
            title = _string(node, "title")
        description = None
        if (node := root.get("description")) is not None and not (
            isinstance(node, YScalar) and node.value is None
        ):
            description = _string(node, "description")

        notes = None
        if (node := root.get("notes")) is not None and not (
            isinstance(node, YScalar) and node.value is None
        ):
            notes = _string(node, "notes")

        network = _map(self.require(root, "network", "the problem"), "network")
        _check_keys(network, NETWORK_KEYS, "network")
        input_names = self.read_inputs(self.require(network, "inputs", "network"))
        layers = self.read_layers(self.require(network, "layers", "network"), input_names)

        learning_rule = self.read_learning_rule(root, layers)
        loss_node = root.get("loss")
        if loss_node is None and learning_rule == "perceptron":
            # the perceptron needs no loss: ½·(t − y)², ½ for each misclassified sample
            loss_node = YScalar(root.mark, "half_squared_error", "half_squared_error")
        loss_node = loss_node or self.require(root, "loss", "the problem")
        loss_name = _string(loss_node, "loss")
        try:
            loss = make_loss(loss_name)
        except KeyError:
            hint = suggest(loss_name, [*LOSS_NAMES, "none"])
            if loss_name.lower() in ("mse", "mean_squared", "l2"):
                hint = (" ('mse' is ambiguous: half_squared_error is ½·Σ(y−a)², "
                        "mean_squared_error is (1/n)·Σ(y−a)²)")
            hint = hint or f" (known: {', '.join(LOSS_NAMES)})"
            raise ProblemError(f"unknown loss '{_short(loss_name)}'{hint}",
                               loss_node.mark) from None
        output = layers[-1]
        if output.size < loss.spec.min_outputs:
            raise ProblemError(f"{loss.name} needs at least {_count_word(loss.spec.min_outputs)}"
                               " output units; for a single output use "
                               f"{loss.spec.single_output_loss}", loss_node.mark)
        if not loss.given:
            self.check_output_activation(loss.name, loss_node, output)
        reduction = "mean"
        if (node := root.get("reduction")) is not None:
            reduction = _string(node, "reduction")
            if reduction not in ("mean", "sum"):
                raise ProblemError(f"reduction must be 'mean' or 'sum', found "
                                   f"'{_short(reduction)}'"
                                   f"{suggest(reduction, ['mean', 'sum'])}", node.mark)
        learning_rate = _number(self.require(root, "learning_rate", "the problem"),
                                "learning_rate", positive=True)
        steps = 1
        if (node := root.get("steps")) is not None:
            steps = _int(node, "steps", 0, MAX_STEPS)
        file_steps = steps
        if steps_override is not None:
            if not 0 <= steps_override <= MAX_STEPS:
                raise ProblemError(f"--steps must be between 0 and {MAX_STEPS:,}, found "
                                   f"{steps_override}")
            steps = steps_override
        freeze: list[str] = []
        if (node := root.get("freeze")) is not None:
            if isinstance(node, YScalar) and isinstance(node.value, str):
                freeze = [node.value]
            else:
                freeze = [_string(item, "freeze entry") for item in _seq(node, "freeze").items]
            freeze = list(dict.fromkeys(freeze))  # a repeated pattern changes nothing

        inputs, targets, has_samples, labels = self.read_data(root, input_names, layers, loss.name)
        problem = Problem(
            path=self.path, title=title, description=description, input_names=input_names,
            layers=layers, loss=loss, reduction=reduction, learning_rate=learning_rate,
            steps=steps, freeze=freeze, inputs=inputs, targets=targets,
            has_samples=has_samples, target_labels=labels, learning_rule=learning_rule,
        )
        if learning_rule == "perceptron":
            self.perceptron_settings(root, problem)
        if any(key in root.entries for key in TRAINING_KEYS):
            # lazy: most files have no training settings (start-up time in a batch)
            from backprop_cli.files.training_settings import read_training

            read_training(root, problem, steps_override)
        if any(layer.named_by_author for layer in layers) or freeze:
            self.check_parameters(problem)
        if (node := root.get("tolerance")) is not None:
            problem.tolerance = _number(node, "tolerance", nonnegative=True)
        if (node := root.get("min_digits")) is not None:
            problem.min_digits = _int(node, "min_digits", 1, MAX_MIN_DIGITS)
        if (node := root.get("threshold")) is not None:
            problem.threshold = _number(node, "threshold")
        if (node := root.get("predict")) is not None:
            self.read_predict(node, problem)
        problem.shown_kinds = self.shown_kinds(root)
        problem.notes = notes
        # expected and quiz: every entry is independent, so every wrong one is reported
        errors: list[ProblemError] = []
        if (node := root.get("expected")) is not None:
            try:
                problem.expected = self.read_expected(_map(node, "expected"), problem,
                                                      file_steps, errors)
            except ProblemError as error:
                errors.extend(error.each())
        if (node := root.get("quiz")) is not None:
            try:
                self.read_quiz(node, problem, errors)
            except ProblemError as error:
                errors.extend(error.each())
        if (node := root.get("points")) is not None:
            try:
                problem.points = self.read_points(_map(node, "points"), problem)
            except ProblemError as error:
                errors.extend(error.each())
        raise_collected(errors)
        return problem

    def read_learning_rule(self, root: YMap, layers: list[Layer]) -> str:
        """``learning_rule: perceptron`` needs one layer of step units."""
        node = root.get("learning_rule")
        if node is None:
            return "gradient_descent"
        rule = _string(node, "learning_rule")
        if rule not in LEARNING_RULES:
            hint = suggest(rule, LEARNING_RULES) or f" (known: {', '.join(LEARNING_RULES)})"
            raise ProblemError(f"unknown learning_rule '{_short(rule)}'{hint}", node.mark)
        if rule == "perceptron":
            if len(layers) != 1:
                raise ProblemError(f"learning_rule perceptron trains a single layer of step "
                                   f"units; this network has {len(layers)} layers (use "
                                   "gradient_descent with differentiable activations)",
                                   node.mark)
            if layers[0].activation.name != "step":
                raise ProblemError("learning_rule perceptron needs the step activation "
                                   f"(activation: step), found {layers[0].activation.name}",
                                   node.mark)
        return rule

    @staticmethod
    def perceptron_settings(root: YMap, problem: Problem) -> None:
        """The perceptron rule is online: one sample per update, with plain steps."""
        for key in ("optimizer", "weight_decay"):
            if key in root.entries:
                raise ProblemError(f"learning_rule perceptron updates w ← w + η·(t − y)·x: "
                                   f"it takes no {key}", root.key_mark(key))
        node = root.get("batch_size")
        if node is not None and not (isinstance(node, YScalar) and node.value == 1):
            raise ProblemError("learning_rule perceptron is online: one sample per update "
                               "(batch_size 1, or leave it out)", node.mark)
        if problem.n_samples > 1:
            problem.batch_size = 1

    def read_predict(self, node: YNode, problem: Problem) -> None:
        """``predict:`` rows: input lists (or mappings by input name), or ``{input, target}``
        (for predict.accuracy); or ``{file: rows.csv}`` with inputs and targets."""
        inputs, outputs = problem.input_names, problem.output_names
        if isinstance(node, YMap):
            xs, ys = _datafiles().read_samples(node, inputs, outputs, problem.loss.name,
                                               self.path)
            problem.predict_inputs = np.asarray(xs, dtype=np.float64)
            problem.predict_targets = np.asarray(ys, dtype=np.float64)
            return
        items = _seq(node, "predict").items
        if not items:
            raise ProblemError("predict is empty: list input rows, or leave it out", node.mark)
        rows: list[Any] = []
        targets: list[Any] = []
        for k, item in enumerate(items, start=1):
            what = f"predict row {k}"
            if isinstance(item, YMap) and "input" in item.entries and "input" not in inputs:
                _check_keys(item, ("input", "target"), what)
                rows.append(self.read_vector(item.entries["input"][1], len(inputs),
                                             f"{what} input", inputs, "input"))
                if (target := item.get("target")) is not None:
                    targets.append(self.read_target(target, outputs, problem.loss.name,
                                                    f"{what} target")[0])
            else:
                rows.append(self.read_vector(item, len(inputs), what, inputs, "input"))
        if targets and len(targets) != len(rows):
            raise ProblemError("predict: give a target in every row or in none (the "
                               "accuracy is over every row)", node.mark)
        problem.predict_inputs = np.array(rows, dtype=np.float64)
        problem.predict_targets = np.array(targets, dtype=np.float64) if targets else None

    @staticmethod
    def shown_kinds(root: YMap) -> frozenset[str]:
        """The convention kinds (error., change., grad.input.) the file's expected keys or
        quiz patterns name: solve shows them beside the others."""
        texts: list[str] = []
        if isinstance(node := root.get("expected"), YMap):
            texts += node.entries
        if isinstance(node := root.get("quiz"), YSeq):
            texts += [item.value for item in node.items
                      if isinstance(item, YScalar) and isinstance(item.value, str)]
        elif isinstance(node, YScalar) and isinstance(node.value, str):
            texts.append(node.value)
        kinds = {kind for kind in CONVENTION_KINDS if any(head(kind) in text for text in texts)}
        if any("accuracy" in text for text in texts):
            kinds.add("accuracy")
        return frozenset(kinds)

    # ---------------------------------------------------------------- network

    def check_output_activation(self, loss: str, loss_node: YNode, output: Layer) -> None:
        """Log losses need outputs in (0, 1): anything else gives log(0) or the log of a
        negative number, an undefined loss instead of a number."""
        allowed = LOSSES[loss].output_activations
        name = output.activation.name
        if not allowed or name in allowed:
            return
        wanted = " or ".join(allowed)
        # the first loss that takes these outputs (softmax: cross_entropy)
        fits = [spec.name for spec in LOSSES.values() if name in spec.output_activations]
        other = f" ({name} outputs with {loss}: use {fits[0]})" if fits else ""
        raise ProblemError(
            f"loss {loss} takes the log of the outputs, so the output layer (layer "
            f"{output.index}) needs the {wanted} activation, found "
            f"{output.activation.name}{other}", loss_node.mark)

    def read_inputs(self, node: YNode) -> list[str]:
        if isinstance(node, YScalar) and not isinstance(node.value, str):
            count = _int(node, "network.inputs", 1, MAX_COUNT)
            names = [f"x{i + 1}" for i in range(count)]
            self.name_marks.update(dict.fromkeys(names, node.mark))
            return names
        if not isinstance(node, YSeq):
            raise ProblemError("network.inputs must be a list of names or a count, found "
                               f"{_describe(node)}", node.mark)
        items = node.items
        if not items:
            raise ProblemError("network.inputs is empty: a network needs at least one input",
                               node.mark)
        return [self.unit_name(item, "input name") for item in items]

    def unit_name(self, node: YNode, what: str) -> str:
        """A unit or input name, unique across the network."""
        name = _name(node, what, unit=True)
        if name in self.name_marks:
            first = self.name_marks[name]
            raise ProblemError(f"{what} '{name}' is used twice (first at line {first.line}, "
                               f"column {first.column}): every input and unit needs its own "
                               "name", node.mark)
        self.name_marks[name] = node.mark
        return name

    def read_layers(self, node: YNode, input_names: list[str]) -> list[Layer]:
        items = _seq(node, "network.layers").items
        if not items:
            raise ProblemError("network.layers is empty: a network needs at least one layer",
                               node.mark)
        layers: list[Layer] = []
        below = input_names
        n_hidden = len(items) - 1
        for index, item in enumerate(items, start=1):
            layer = self.read_layer(_map(item, f"layer {index}"), index, below,
                                    is_output=index == len(items), n_hidden=n_hidden)
            layers.append(layer)
            below = layer.units
        return layers

    def read_layer(self, node: YMap, index: int, below: list[str], *, is_output: bool,
                   n_hidden: int) -> Layer:
        where = f"layer {index}"
        _check_keys(node, LAYER_KEYS, where)
        units_node = self.require(node, "units", where)
        if isinstance(units_node, YScalar) and not isinstance(units_node.value, str):
            count = _int(units_node, f"{where} units", 1, MAX_COUNT)
            if is_output:
                units = [f"o{i + 1}" for i in range(count)] if count > 1 else ["o"]
            elif n_hidden == 1:
                units = [f"h{i + 1}" for i in range(count)]
            else:
                units = [f"h{index}_{i + 1}" for i in range(count)]
            for unit in units:
                if unit in self.name_marks:
                    raise ProblemError(f"{where} unit name '{unit}' (from its count) is "
                                       "already used: name the units", units_node.mark)
                self.name_marks[unit] = units_node.mark
        else:
            if not isinstance(units_node, YSeq):
                raise ProblemError(f"{where} units must be a list of names or a count, found "
                                   f"{_describe(units_node)}", units_node.mark)
            unit_items = units_node.items
            if not unit_items:
                raise ProblemError(f"{where} units is empty: a layer needs at least one unit",
                                   units_node.mark)
            units = [self.unit_name(item, "unit name") for item in unit_items]

        activation = make_activation("identity")
        if (act_node := node.get("activation")) is not None:
            activation = self.read_activation(act_node)
            if activation.per_layer and len(units) == 1:
                raise ProblemError(
                    f"{where}: softmax over one unit is always 1, so the loss and every "
                    "gradient through it are constant: give the layer at least two units, "
                    "or use sigmoid for a single unit", act_node.mark)

        weights_node = self.require(node, "weights", where)
        bias_node = node.get("bias")
        layout = _Layout(index, units, below, self.read_weights_by(node, where),
                         self.read_bias_in_weights(bias_node, units, where))
        if isinstance(weights_node, YMap):  # {file: w.npy} or {init: he, seed: 1}
            weights = _datafiles().read_weights(weights_node, layout.rows, layout.cols, where,
                                                self.path)
        else:
            weights = self.read_matrix(weights_node, layout)
        weight_names = None
        if (names_node := node.get("weight_names")) is not None and not _null(names_node):
            weight_names = self.read_name_matrix(names_node, layout)
        if layout.by_input or layout.bias_at is not None:
            return self.laid_out_layer(node, index, units, activation, below, layout, weights,
                                       weight_names)
        bias = None
        bias_names = None
        names_node = node.get("bias_names")
        if bias_node is None and isinstance(weights_node, YMap) and _datafiles().is_initialised(
                weights_node):
            bias_node = YScalar(weights_node.mark, 0, "0")  # initialised: biases start at 0
        if bias_node is not None and not _null(bias_node):
            if isinstance(bias_node, YMap) and _datafiles().is_bias_file(bias_node, units):
                bias = _datafiles().load_bias(bias_node, len(units), where, self.path)
            else:
                bias = self.read_vector(bias_node, len(units), f"{where} bias", units, "unit")
            if names_node is not None and not _null(names_node):
                if isinstance(names_node, YScalar):
                    bias_names = [_name(names_node, "bias name")] * len(units)
                    marks = [names_node.mark] * len(units)
                else:
                    items = _seq(names_node, f"{where} bias_names").items
                    if len(items) != len(units):
                        raise ProblemError(
                            f"{where} bias_names has {_plural(len(items), 'name')} but the "
                            f"layer has {_plural(len(units), 'unit')} ({_listed(units)}): one "
                            "name per unit, or one name for a shared bias", names_node.mark)
                    bias_names = [_name(item, "bias name") for item in items]
                    marks = [item.mark for item in items]
                for row, mark in enumerate(marks):
                    self.param_marks[(index - 1, row, -1)] = mark
        elif names_node is not None and not _null(names_node):
            raise ProblemError(f"{where} has bias_names but no bias", names_node.mark)
        return Layer(index=index, units=units, activation=activation, weights=weights,
                     bias=bias, input_names=below, explicit_weight_names=weight_names,
                     explicit_bias_names=bias_names, mark=node.mark)

    @staticmethod
    def read_weights_by(node: YMap, where: str) -> bool:
        """``weights_by: input`` (a row per input unit, X·W): True; ``unit`` (default): False."""
        by_node = node.get("weights_by")
        if by_node is None:
            return False
        word = _string(by_node, f"{where} weights_by")
        if word not in WEIGHTS_BY:
            hint = suggest(word, WEIGHTS_BY) or " (unit: a row per unit; input: a row per input)"
            raise ProblemError(f"{where} weights_by must be 'unit' or 'input', found "
                               f"'{_short(word)}'{hint}", by_node.mark)
        return word == "input"

    @staticmethod
    def read_bias_in_weights(bias_node: YNode | None, units: list[str],
                             where: str) -> str | None:
        """``bias: {in_weights: first|last}``: where each weight row carries its bias."""
        if not isinstance(bias_node, YMap) or "in_weights" not in bias_node.entries or (
                "in_weights" in units):
            return None
        _check_keys(bias_node, ("in_weights",), f"{where} bias")
        at_node = bias_node.entries["in_weights"][1]
        at = _string(at_node, f"{where} bias in_weights")
        if at not in BIAS_IN_WEIGHTS:
            hint = suggest(at, BIAS_IN_WEIGHTS) or " (first: w0 with x0 = 1; last)"
            raise ProblemError(f"{where} bias in_weights must be 'first' or 'last', found "
                               f"'{_short(at)}'{hint}", at_node.mark)
        return at

    def laid_out_layer(self, node: YMap, index: int, units: list[str], activation: Any,
                       below: list[str], layout: _Layout, written: Any,
                       written_names: list[list[str]] | None) -> Layer:
        """A layer written with ``weights_by: input`` or ``bias: {in_weights: ...}``, in the
        model's layout: a row per unit, the bias apart (the worked solution is the same
        whatever the layout)."""
        where = f"layer {index}"
        if (names_node := node.get("bias_names")) is not None and not _null(names_node) and (
                layout.bias_at is not None):
            raise ProblemError(f"{where} has bias: {{in_weights: {layout.bias_at}}}: the bias "
                               "names go in weight_names, at the same place as the biases",
                               names_node.mark)
        layer = index - 1
        matrix = np.ascontiguousarray(written.T if layout.by_input else written,
                                      dtype=np.float64)
        names = ([list(row) for row in zip(*written_names, strict=True)] if layout.by_input
                 and written_names is not None else written_names)
        marks = {(r, c): mark for (li, r, c), mark in self.param_marks.items() if li == layer}
        if layout.by_input:
            marks = {(c, r): mark for (r, c), mark in marks.items()}
        bias = None
        bias_names = None
        if layout.bias_at is not None:
            col = 0 if layout.bias_at == "first" else matrix.shape[1] - 1
            bias = np.ascontiguousarray(matrix[:, col])
            matrix = np.ascontiguousarray(np.delete(matrix, col, axis=1))
            if names is not None:
                bias_names = [row.pop(col) for row in names]
            shift = 1 if col == 0 else 0
            moved = {}
            for (r, c), mark in marks.items():
                moved[(r, -1) if c == col else (r, c - shift)] = mark
            marks = moved
        elif (bias_node := node.get("bias")) is not None and not _null(bias_node):
            bias = self.read_vector(bias_node, len(units), f"{where} bias", units, "unit")
            if (names_node := node.get("bias_names")) is not None and not _null(names_node):
                items = ([names_node] * len(units) if isinstance(names_node, YScalar)
                         else _seq(names_node, f"{where} bias_names").items)
                if len(items) != len(units):
                    raise ProblemError(f"{where} bias_names has {_plural(len(items), 'name')} "
                                       f"but the layer has {_plural(len(units), 'unit')}",
                                       names_node.mark)
                bias_names = [_name(item, "bias name") for item in items]
                for row, item in enumerate(items):
                    marks[(row, -1)] = item.mark
        for key in [key for key in self.param_marks if key[0] == layer]:
            del self.param_marks[key]
        for (r, c), mark in marks.items():
            self.param_marks[(layer, r, c)] = mark
        return Layer(index=index, units=units, activation=activation, weights=matrix,
                     bias=bias, input_names=below, explicit_weight_names=names,
                     explicit_bias_names=bias_names, mark=node.mark)

    def read_activation(self, node: YNode) -> Any:
        alpha = None
        if isinstance(node, YMap):
            _check_keys(node, ACTIVATION_KEYS, "activation")
            name_node = self.require(node, "name", "activation")
            name = _string(name_node, "activation name")
            for key in ("alpha", "at_zero"):
                if (alpha_node := node.get(key)) is None:
                    continue
                spec = find_activation(ALIASES.get(name, name))
                if spec is not None and spec.param_key != key:
                    takes = (f"takes {spec.param_key}" if spec.default_alpha is not None
                             else "takes no parameter")
                    raise ProblemError(f"activation '{spec.name}' {takes}, not {key}",
                                       node.key_mark(key))
                alpha = _number(alpha_node, f"activation {key}")
                if key == "at_zero" and alpha not in (0.0, 1.0):
                    raise ProblemError(f"activation at_zero is step's value at z = 0: 0 or 1, "
                                       f"found {alpha:g}", alpha_node.mark)
        else:
            name_node = node
            name = _string(node, "activation")
        known = list(ACTIVATION_NAMES) + list(ALIASES)
        try:
            return make_activation(name, alpha)
        except KeyError:
            hint = suggest(name, known) or f" (known: {', '.join(ACTIVATION_NAMES)})"
            raise ProblemError(f"unknown activation '{_short(name)}'{hint}",
                               name_node.mark) from None
        except ValueError as error:
            raise ProblemError(str(error), node.mark) from None

    def read_matrix(self, node: YNode, layout: _Layout) -> np.ndarray[Any, np.dtype[np.float64]]:
        """A rows×cols matrix; a flat list is accepted for one row or one column."""
        rows, cols = layout.rows, layout.cols
        what = f"{layout.where} weights"
        if isinstance(node, YScalar) and rows == 1 and cols == 1:
            return np.array([[_number(node, what)]])
        items = self.shaped(node, layout, what, "value")
        if all(isinstance(item, YScalar) for item in items) and (rows == 1 or cols == 1):
            values = [_plain_float(item) for item in items]
            if None in values:
                values = [_number(item, f"{what} entry {i + 1}") for i, item in enumerate(items)]
            return np.array(values, dtype=np.float64).reshape(rows, cols)
        matrix = []
        for r, row_node in enumerate(items):
            assert isinstance(row_node, YSeq)
            row = [_plain_float(entry) for entry in row_node.items]
            if None in row:
                row = [_number(entry, f"{what} row {r + 1}, column {c + 1}")
                       for c, entry in enumerate(row_node.items)]
            matrix.append(row)
        return np.array(matrix, dtype=np.float64).reshape(rows, cols)

    def read_name_matrix(self, node: YNode, layout: _Layout) -> list[list[str]]:
        rows, cols = layout.rows, layout.cols
        what = f"{layout.where} weight_names"
        layer = layout.index - 1
        if isinstance(node, YScalar) and rows == 1 and cols == 1:
            self.param_marks[(layer, 0, 0)] = node.mark
            return [[_name(node, "weight name")]]
        items = self.shaped(node, layout, what, "name")
        if all(isinstance(item, YScalar) for item in items) and (rows == 1 or cols == 1):
            names = [_name(item, "weight name") for item in items]
            for i, item in enumerate(items):
                self.param_marks[(layer, i if cols == 1 else 0, 0 if cols == 1 else i)] = (
                    item.mark)
            return [names] if rows == 1 else [[n] for n in names]
        result = []
        for r, row_node in enumerate(items):
            assert isinstance(row_node, YSeq)
            for c, item in enumerate(row_node.items):
                self.param_marks[(layer, r, c)] = item.mark
            result.append([_name(item, "weight name") for item in row_node.items])
        return result

    @staticmethod
    def shaped(node: YNode, layout: _Layout, what: str, entry: str) -> list[YNode]:
        """The items of a matrix written with the layer's shape (rows of entries, or one
        flat list for a single row or column); else an error with both shapes."""
        rows, cols = layout.rows, layout.cols

        def expected() -> str:  # only for a message: most matrices have the right shape
            return f"{what}: expected shape {layout.want}{layout.because}"

        if not isinstance(node, YSeq):
            raise ProblemError(f"{expected()}, found {_describe(node)}", node.mark)
        items = node.items
        if all(isinstance(item, YScalar) for item in items) and (rows == 1 or cols == 1):
            if len(items) != rows * cols:
                raise ProblemError(f"{expected()}, found {_plural(len(items), entry)}", node.mark)
            return items
        if len(items) != rows:
            raise ProblemError(f"{expected()}, found {_actual_shape(items)}", node.mark)
        for r, row_node in enumerate(items):
            if not isinstance(row_node, YSeq):
                raise ProblemError(f"{what} row {r + 1} must be a list of {cols} {entry}s, "
                                   f"found {_describe(row_node)}", row_node.mark)
            if len(row_node.items) != cols:
                found = _actual_shape(items)
                if "×" not in found:
                    found = f"row {r + 1} with {_plural(len(row_node.items), entry)}"
                raise ProblemError(f"{expected()}, found {found}", row_node.mark)
        return items

    def read_vector(self, node: YNode, size: int, what: str, names: list[str],
                    noun: str) -> np.ndarray[Any, np.dtype[np.float64]]:
        """A vector: a list of ``size`` numbers, a mapping by name, or one number for all."""
        if isinstance(node, YScalar):
            return np.array([_number(node, what)] * size, dtype=np.float64)
        if isinstance(node, YMap):
            result = np.empty(size)
            for key in node.entries:
                if key not in names:
                    hint = suggest(key, names) or f" ({noun}s: {_listed(names)})"
                    raise ProblemError(f"{what}: no {noun} named '{_short(key)}'{hint}",
                                       node.key_mark(key))
            for i, name in enumerate(names):
                value = node.get(name)
                if value is None:
                    raise ProblemError(f"{what}: missing a value for '{name}' (one for each "
                                       f"{noun}: {_listed(names)})", node.mark)
                result[i] = _number(value, f"{what} '{name}'")
            return result
        items = _seq(node, what).items
        if len(items) != size:
            raise ProblemError(f"{what} has {_plural(len(items), 'value')} but needs {size}, "
                               f"one per {noun} ({_listed(names)})", node.mark)
        values = [_plain_float(item) for item in items]
        if None in values:
            values = [_number(item, f"{what} '{names[i]}'") for i, item in enumerate(items)]
        return np.array(values, dtype=np.float64)

    def check_parameters(self, problem: Problem) -> None:
        def mark_of(use: Use) -> Mark | None:
            return self.param_marks.get((use.layer, use.row, use.col),
                                        problem.layers[use.layer].mark)

        for name, param in problem.parameters.items():
            if name in self.name_marks:
                first = self.name_marks[name]
                raise ProblemError(f"parameter name '{name}' is also the name of a unit or "
                                   f"input (line {first.line}): value keys would be ambiguous",
                                   mark_of(param.uses[0]))
            first_use = param.uses[0]
            for use in param.uses[1:]:
                layer = problem.layers[use.layer]
                value = layer.bias[use.row] if use.is_bias else layer.weights[use.row, use.col]  # type: ignore[index]
                if value != param.value:
                    raise ProblemError(
                        f"parameter '{name}' is used more than once (a shared parameter) but "
                        f"starts from different values ({param.value:g} in layer "
                        f"{problem.layers[first_use.layer].index}, {float(value):g} in layer "
                        f"{layer.index})", mark_of(use))
        freeze_node = self.root.get("freeze")
        for i, pattern in enumerate(problem.freeze):
            if not any(fnmatch.fnmatchcase(n, pattern) for n in problem.parameters):
                mark = freeze_node.mark if freeze_node else None
                if isinstance(freeze_node, YSeq) and i < len(freeze_node.items):
                    mark = freeze_node.items[i].mark
                hint = (suggest(pattern, problem.parameters)
                        or f" (parameters: {_listed(list(problem.parameters))})")
                raise ProblemError(f"freeze: '{_short(pattern)}' matches no parameter{hint}",
                                   mark)

    # ------------------------------------------------------------------- data

    def read_data(self, root: YMap, input_names: list[str], layers: list[Layer],
                  loss: str) -> tuple[Any, Any, bool, list[str | None] | None]:
        outputs = layers[-1].units
        if loss == "none":
            return self.read_upstream_data(root, input_names, outputs)
        if "upstream" in root.entries:
            raise ProblemError("upstream is the gradient given with loss: none; with a loss, "
                               "give the target", root.key_mark("upstream"))
        input_node = root.get("input")
        target_node = root.get("target")
        samples_node = root.get("samples")
        if samples_node is not None and (input_node is not None or target_node is not None):
            other = "input" if input_node is not None else "target"
            raise ProblemError(f"give either 'samples' or 'input' and 'target', not both "
                               f"('{other}' is at line {root.key_mark(other).line})",
                               root.key_mark("samples"))
        if isinstance(samples_node, YMap):  # {file: data.csv} or {inputs: x.npy, targets: ...}
            inputs, targets = _datafiles().read_samples(samples_node, input_names, outputs, loss,
                                                        self.path)
            return inputs, targets, True, None
        pairs: list[tuple[YNode, YNode, str]] = []
        if samples_node is not None:
            items = _seq(samples_node, "samples").items
            if not items:
                raise ProblemError("samples is empty: give at least one {input, target}",
                                   samples_node.mark)
            for k, item in enumerate(items, start=1):
                sample = _map(item, f"sample {k}")
                _check_keys(sample, SAMPLE_KEYS, f"sample {k}")
                pairs.append((self.require(sample, "input", f"sample {k}"),
                              self.require(sample, "target", f"sample {k}"), f"sample {k} "))
        else:
            if input_node is None and target_node is None:
                raise ProblemError("missing the data: give 'input' and 'target' (one sample) or "
                                   "'samples' (several)", root.mark)
            if input_node is None or target_node is None:
                missing, given = ("input", "target") if input_node is None else ("target",
                                                                                 "input")
                raise ProblemError(f"missing required key '{missing}' in the problem ('{given}' "
                                   f"is at line {root.key_mark(given).line})", root.mark)
            pairs.append((input_node, target_node, ""))
        xs = []
        ys = []
        labels: list[str | None] = []
        for input_value, target_value, where in pairs:
            xs.append(self.read_vector(input_value, len(input_names), f"{where}input",
                                       input_names, "input"))
            y, label = self.read_target(target_value, outputs, loss, f"{where}target")
            ys.append(y)
            labels.append(label)
        return (np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64),
                samples_node is not None, labels if any(labels) else None)

    def read_upstream_data(self, root: YMap, input_names: list[str],
                           outputs: list[str]) -> tuple[Any, Any, bool, None]:
        """``loss: none``: the inputs (``input`` or ``samples`` of inputs) and ``upstream``,
        ∂L/∂a of each output: one list (or number, or mapping) for every sample, or with
        ``samples`` one list per sample. It takes the place of the targets."""
        for key in ("target",):
            if key in root.entries:
                raise ProblemError("loss: none has no target: give upstream, ∂L/∂a of each "
                                   "output (the gradient the backward pass starts from)",
                                   root.key_mark(key))
        upstream = self.require(root, "upstream", "the problem (loss: none)")
        samples_node = root.get("samples")
        inputs: list[YNode] = []
        if samples_node is not None:
            if "input" in root.entries:
                raise ProblemError("give either 'samples' or 'input', not both",
                                   root.key_mark("samples"))
            for k, item in enumerate(_seq(samples_node, "samples").items, start=1):
                sample = _map(item, f"sample {k}")
                _check_keys(sample, ("input",), f"sample {k} (loss: none: the upstream is "
                                                "given apart)")
                inputs.append(self.require(sample, "input", f"sample {k}"))
            if not inputs:
                raise ProblemError("samples is empty: give at least one {input}",
                                   samples_node.mark)
        else:
            inputs.append(self.require(root, "input", "the problem"))
        xs = [self.read_vector(node, len(input_names), "input", input_names, "input")
              for node in inputs]
        per_sample = (isinstance(upstream, YSeq) and samples_node is not None and bool(
            upstream.items) and all(isinstance(item, (YSeq, YMap)) for item in upstream.items))
        if per_sample:
            assert isinstance(upstream, YSeq)
            if len(upstream.items) != len(xs):
                raise ProblemError(f"upstream has {_plural(len(upstream.items), 'list')} but "
                                   f"there are {_plural(len(xs), 'sample')}: one list per "
                                   "sample, or one list for all", upstream.mark)
            ys = [self.read_vector(node, len(outputs), f"upstream of sample {k}", outputs,
                                   "output unit")
                  for k, node in enumerate(upstream.items, start=1)]
        else:
            if isinstance(upstream, YScalar) and len(outputs) > 1:
                raise ProblemError(f"upstream is one number but the network has "
                                   f"{len(outputs)} outputs ({_listed(outputs)})",
                                   upstream.mark)
            ys = [self.read_vector(upstream, len(outputs), "upstream", outputs,
                                   "output unit")] * len(xs)
        return (np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64),
                samples_node is not None, None)

    def read_target(self, node: YNode, outputs: list[str], loss: str,
                    what: str) -> tuple[Any, str | None]:
        targets = LOSSES[loss].targets
        if isinstance(node, YScalar) and isinstance(node.value, str) and not (
                targets != "distribution" and is_expression(node)
                and not NAME.match(node.value)):  # "1/2" is a number, "o2" a unit's name
            if targets != "distribution":
                naming = " or ".join(s.name for s in LOSSES.values() if s.targets == "distribution")
                raise ProblemError(f"{what} '{_short(node.value)}' is not a number (naming the "
                                   f"true unit is for {naming} only)", node.mark)
            if node.value not in outputs:
                hint = suggest(node.value, outputs) or f" (outputs: {_listed(outputs)})"
                raise ProblemError(f"{what} '{_short(node.value)}' names no output unit{hint}",
                                   node.mark)
            y = np.zeros(len(outputs))
            y[outputs.index(node.value)] = 1.0
            return y, node.value
        if isinstance(node, YScalar) and len(outputs) > 1:
            raise ProblemError(f"{what} is one number but the network has {len(outputs)} "
                               f"outputs ({_listed(outputs)})", node.mark)
        y = self.read_vector(node, len(outputs), what, outputs, "output unit")
        if targets == "unit_interval":
            for i, value in enumerate(y):
                if not 0.0 <= value <= 1.0:
                    raise ProblemError(f"{what} for '{outputs[i]}' is {value:g}, but "
                                       f"{loss} needs targets in [0, 1]",
                                       _entry_mark(node, i, outputs))
        if targets == "distribution":
            for i, value in enumerate(y):
                if value < 0:
                    raise ProblemError(f"{what} for '{outputs[i]}' is {value:g}, but "
                                       f"{loss} needs non-negative targets that sum to 1",
                                       _entry_mark(node, i, outputs))
            total = float(y.sum())
            if abs(total - 1.0) > 1e-9:
                raise ProblemError(f"{what} sums to {total:g}, but {loss} needs targets "
                                   "that sum to 1 (or the name of the true unit)", node.mark)
        return y, None

    # ------------------------------------------------------------------- quiz

    def read_quiz(self, node: YNode, problem: Problem,
                  errors: list[ProblemError] | None = None) -> list[str]:
        """Value keys or glob patterns of computed values (`backprop quiz` asks for them)."""
        items = [node] if isinstance(node, YScalar) else _seq(node, "quiz").items
        if not items:
            raise ProblemError("quiz is empty: list value keys or patterns, or leave it out",
                               node.mark)
        patterns = [_string(item, "quiz entry") for item in items]
        # the patterns checked against the first steps and the last (every step's keys
        # are alike): loading never lists the keys of a million steps (issue 18)
        why = match_patterns(problem, patterns, max_steps=QUIZ_CHECK_STEPS)[1]
        wrong = [ProblemError(f"quiz: '{_short(pattern)}' {why[pattern]}", item.mark)
                 for item, pattern in zip(items, patterns, strict=True) if pattern in why]
        if errors is None:
            raise_collected(wrong)
        else:
            errors.extend(wrong)
        problem.quiz = patterns
        return patterns

    def read_points(self, node: YMap, problem: Problem) -> dict[str, float]:
        """`backprop grade`'s points: value key or glob -> points (the first match wins)."""
        points = {}
        for pattern, (key_mark, value_node) in node.entries.items():
            why = match_patterns(problem, [pattern], max_steps=QUIZ_CHECK_STEPS)[1]
            if pattern in why:
                raise ProblemError(f"points: '{_short(pattern)}' {why[pattern]}", key_mark)
            points[pattern] = _number(value_node, f"points '{_short(pattern)}'",
                                      nonnegative=True)
        return points

    # --------------------------------------------------------------- expected

    def read_expected(self, node: YMap, problem: Problem, file_steps: int | None = None,
                      errors: list[ProblemError] | None = None) -> dict[str, Expected]:
        """The expected values; a key of the file's own ``file_steps`` that a --steps
        override removed (``new.w1`` with --steps 0) is skipped and listed in
        ``problem.skipped_expected``, not an error: the override, not the file, removed it."""
        result: dict[str, Expected] = {}
        found: list[ProblemError] = []
        for key, (key_mark, value_node) in node.entries.items():
            try:
                parts = parse_key(key, problem)
                if parts is None and file_steps is not None and file_steps != problem.steps:
                    overridden = problem.steps
                    problem.steps = file_steps
                    try:
                        was_a_key = parse_key(key, problem) is not None
                    finally:
                        problem.steps = overridden
                    if was_a_key:
                        problem.skipped_expected.append(key)
                        continue
                if parts is None:
                    # a large network's keys are not listed: a hint is not worth that
                    index = key_index(problem)
                    hint = suggest(key, list(index) if index is not None else [])
                    first = key + problem.sample_suffix(0)  # z.h1 -> z.h1@1
                    if (problem.has_samples and "@" not in key
                            and parse_key(first, problem) is not None):
                        hint = (f" (did you mean '{first}'? With samples, a sample's value "
                                "ends in @k)")
                    raise ProblemError(f"expected: unknown value key '{_short(key)}'{hint}",
                                       key_mark)
                entry = Expected(key=key, value=0.0, text="", mark=key_mark, parts=parts)
                number_node = read_entry_options(entry, key, value_node)
                value = _plain_float(number_node)
                entry.value = value if value is not None else _number(number_node,
                                                                      f"expected '{key}'")
                assert isinstance(number_node, YScalar)
                entry.text = number_node.text
                result[key] = entry
            except ProblemError as error:  # each entry is independent: report them all
                found.extend(error.each())
        if errors is None:
            raise_collected(found)
        else:
            errors.extend(found)
        return result


class _Layout:
    """A layer's weight matrix shape as written, and how to say it in a message.

    ``by_input``: a row per input unit and a column per unit (``weights_by: input``);
    ``bias_at``: 'first' or 'last' when each unit's weights carry its bias there
    (``bias: {in_weights: ...}``: one more column, or one more row by input).
    """

    def __init__(self, index: int, units: list[str], below: list[str], by_input: bool = False,
                 bias_at: str | None = None) -> None:
        self.index = index
        self.where = f"layer {index}"
        self.units = units
        self.below = below
        self.by_input = by_input
        self.bias_at = bias_at
        sources = len(below) + (bias_at is not None)
        self.rows, self.cols = (sources, len(units)) if by_input else (len(units), sources)

    @property
    def want(self) -> str:
        return _shape_text(self.rows, self.cols)

    @property
    def because(self) -> str:
        source = "input" if self.index == 1 else f"unit of layer {self.index - 1}"
        sources = _listed(self.below)
        if self.bias_at is not None:
            sources = (f"the bias, {sources}" if self.bias_at == "first"
                       else f"{sources}, the bias")
        if self.by_input:
            return (f" (weights_by: input: a row per {source}: {sources}; a column per unit: "
                    f"{_listed(self.units)})")
        return (f" (a row per unit: {_listed(self.units)}; a column per {source}: "
                f"{sources})")


def _entry_mark(node: YNode, index: int, names: list[str]) -> Mark:
    """Where entry ``index`` of a vector was written (its list item or mapping key)."""
    if isinstance(node, YSeq) and index < len(node.items):
        return node.items[index].mark
    if isinstance(node, YMap) and (value := node.get(names[index])) is not None:
        return value.mark
    return node.mark
