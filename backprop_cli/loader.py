"""Read a problem file (format v1) into a :class:`~backprop_cli.problem.Problem`.

Every error names the key and its place (``path:line:col: message``) and
suggests the nearest valid word for typos. See the README for the format.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from backprop_cli.activations import ACTIVATION_NAMES, ALIASES, make_activation
from backprop_cli.errors import Mark, ProblemError, suggest
from backprop_cli.losses import LOSS_NAMES, make_loss
from backprop_cli.problem import RESERVED_WORDS, Expected, Layer, Problem
from backprop_cli.yamlio import YMap, YNode, YScalar, YSeq, parse_yaml, read_text

NAME = re.compile(r"^[^\W\d][\w^]*$")

TOP_KEYS = (
    "title", "description", "network", "loss", "reduction", "learning_rate", "steps",
    "freeze", "input", "target", "samples", "expected", "tolerance",
)
NETWORK_KEYS = ("inputs", "layers")
LAYER_KEYS = ("units", "activation", "weights", "weight_names", "bias", "bias_names")
SAMPLE_KEYS = ("input", "target")
EXPECTED_ENTRY_KEYS = ("value", "tolerance", "erratum", "note")


def load_problem(path: str | Path, steps: int | None = None) -> Problem:
    """Load and validate a problem file; raises ProblemError with the path set."""
    path = Path(path)
    try:
        text = read_text(path)
        return parse_problem(text, str(path), steps=steps, title_default=path.stem)
    except ProblemError as error:
        raise error.with_path(str(path)) from None


def parse_problem(text: str, path: str = "<input>", steps: int | None = None,
                  title_default: str = "problem") -> Problem:
    root = parse_yaml(text)
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


def _describe(node: YNode) -> str:
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    assert isinstance(node, YScalar)
    value = node.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({node.text})"
    if isinstance(value, (int, float)):
        return f"a number ({node.text})"
    return f"a string ('{_short(node.text)}')"


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_keys(node: YMap, allowed: Sequence[str], where: str) -> None:
    for key in node.entries:
        if key not in allowed:
            hint = suggest(key, allowed)
            if not hint:
                hint = f" (allowed: {', '.join(allowed)})"
            raise ProblemError(f"unknown key '{key}' in {where}{hint}", node.key_mark(key))


def _number(node: YNode, what: str, *, positive: bool = False,
            nonnegative: bool = False) -> float:
    if not isinstance(node, YScalar) or isinstance(node.value, bool) or not isinstance(
        node.value, (int, float)
    ):
        raise ProblemError(f"{what} must be a number, found {_describe(node)}", node.mark)
    value = float(node.value)
    if not math.isfinite(value):
        raise ProblemError(f"{what} must be a finite number, found {node.text}", node.mark)
    if positive and value <= 0:
        raise ProblemError(f"{what} must be greater than 0, found {node.text}", node.mark)
    if nonnegative and value < 0:
        raise ProblemError(f"{what} must not be negative, found {node.text}", node.mark)
    return value


def _string(node: YNode, what: str) -> str:
    if not isinstance(node, YScalar) or not isinstance(node.value, str):
        raise ProblemError(f"{what} must be a string, found {_describe(node)}", node.mark)
    return node.value


def _name(node: YNode, what: str) -> str:
    if isinstance(node, YScalar) and isinstance(node.value, (int, float)) and not isinstance(
        node.value, bool
    ):
        raise ProblemError(f"{what} '{node.text}' is not a name: names start with a letter",
                           node.mark)
    text = _string(node, what)
    if not NAME.match(text):
        raise ProblemError(
            f"{what} '{_short(text)}' is not a valid name: use letters, digits, '_' and '^', "
            "starting with a letter", node.mark)
    if text in RESERVED_WORDS:
        reserved = ", ".join(sorted(RESERVED_WORDS))
        raise ProblemError(f"{what} '{text}' is a reserved word ({reserved})", node.mark)
    return text


def _seq(node: YNode, what: str) -> YSeq:
    if not isinstance(node, YSeq):
        raise ProblemError(f"{what} must be a list, found {_describe(node)}", node.mark)
    return node


def _map(node: YNode, what: str) -> YMap:
    if not isinstance(node, YMap):
        raise ProblemError(f"{what} must be a mapping, found {_describe(node)}", node.mark)
    return node


def _int(node: YNode, what: str, minimum: int) -> int:
    if (not isinstance(node, YScalar) or isinstance(node.value, bool)
            or not isinstance(node.value, (int, float))):
        raise ProblemError(f"{what} must be a whole number, found {_describe(node)}", node.mark)
    value = node.value
    if isinstance(value, float):
        if not value.is_integer():
            raise ProblemError(f"{what} must be a whole number, found {node.text}", node.mark)
        value = int(value)
    if value < minimum:
        raise ProblemError(f"{what} must be at least {minimum}, found {node.text}", node.mark)
    return int(value)


def _shape_text(rows: int, cols: int) -> str:
    return f"{rows}×{cols}"


class _Reader:
    def __init__(self, root: YMap, path: str, title_default: str) -> None:
        self.root = root
        self.path = path
        self.title_default = title_default

    def require(self, node: YMap, key: str, where: str) -> YNode:
        value = node.get(key)
        if value is None:
            raise ProblemError(f"missing required key '{key}' in {where}", node.mark)
        return value

    def read(self, steps_override: int | None) -> Problem:
        root = self.root
        _check_keys(root, TOP_KEYS, "the problem")
        title = self.title_default
        if (node := root.get("title")) is not None:
            title = _string(node, "title")
        description = None
        if (node := root.get("description")) is not None and not (
            isinstance(node, YScalar) and node.value is None
        ):
            description = _string(node, "description")

        network = _map(self.require(root, "network", "the problem"), "network")
        _check_keys(network, NETWORK_KEYS, "network")
        input_names = self.read_inputs(self.require(network, "inputs", "network"))
        layers = self.read_layers(self.require(network, "layers", "network"), input_names)
        self.check_unique_units(input_names, layers)

        loss_node = self.require(root, "loss", "the problem")
        loss_name = _string(loss_node, "loss")
        try:
            loss = make_loss(loss_name)
        except KeyError:
            hint = suggest(loss_name, LOSS_NAMES)
            if loss_name.lower() in ("mse", "mean_squared", "l2"):
                hint = (" ('mse' is ambiguous: half_squared_error is ½·Σ(y−a)², "
                        "mean_squared_error is (1/n)·Σ(y−a)²)")
            hint = hint or f" (known: {', '.join(LOSS_NAMES)})"
            raise ProblemError(f"unknown loss '{loss_name}'{hint}", loss_node.mark) from None
        output = layers[-1]
        if loss.name == "cross_entropy" and output.size == 1:
            raise ProblemError("cross_entropy needs at least two output units; for a single "
                               "output use binary_cross_entropy", loss_node.mark)
        reduction = "mean"
        if (node := root.get("reduction")) is not None:
            reduction = _string(node, "reduction")
            if reduction not in ("mean", "sum"):
                raise ProblemError(f"reduction must be 'mean' or 'sum', found '{reduction}'"
                                   f"{suggest(reduction, ['mean', 'sum'])}", node.mark)
        learning_rate = _number(self.require(root, "learning_rate", "the problem"),
                                "learning_rate", positive=True)
        steps = 1
        if (node := root.get("steps")) is not None:
            steps = _int(node, "steps", 0)
        if steps_override is not None:
            steps = steps_override
        freeze: list[str] = []
        if (node := root.get("freeze")) is not None:
            if isinstance(node, YScalar) and isinstance(node.value, str):
                freeze = [node.value]
            else:
                freeze = [_string(item, "freeze entry") for item in _seq(node, "freeze").items]

        inputs, targets, has_samples, labels = self.read_data(root, input_names, layers, loss.name)
        problem = Problem(
            path=self.path, title=title, description=description, input_names=input_names,
            layers=layers, loss=loss, reduction=reduction, learning_rate=learning_rate,
            steps=steps, freeze=freeze, inputs=inputs, targets=targets,
            has_samples=has_samples, target_labels=labels,
        )
        if any(layer.named_by_author for layer in layers) or freeze:
            self.check_parameters(problem)
        if (node := root.get("tolerance")) is not None:
            problem.tolerance = _number(node, "tolerance", nonnegative=True)
        if (node := root.get("expected")) is not None:
            problem.expected = self.read_expected(_map(node, "expected"), problem)
        return problem

    # ---------------------------------------------------------------- network

    def read_inputs(self, node: YNode) -> list[str]:
        if isinstance(node, YScalar):
            count = _int(node, "network.inputs", 1)
            return [f"x{i + 1}" for i in range(count)]
        items = _seq(node, "network.inputs (a list of names or a count)").items
        if not items:
            raise ProblemError("network.inputs is empty: a network needs at least one input",
                               node.mark)
        return [_name(item, "input name") for item in items]

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
        if isinstance(units_node, YScalar):
            count = _int(units_node, f"{where} units", 1)
            if is_output:
                units = [f"o{i + 1}" for i in range(count)] if count > 1 else ["o"]
            elif n_hidden == 1:
                units = [f"h{i + 1}" for i in range(count)]
            else:
                units = [f"h{index}_{i + 1}" for i in range(count)]
        else:
            unit_items = _seq(units_node, f"{where} units").items
            if not unit_items:
                raise ProblemError(f"{where} has no units", units_node.mark)
            units = [_name(item, "unit name") for item in unit_items]

        activation = make_activation("identity")
        if (act_node := node.get("activation")) is not None:
            activation = self.read_activation(act_node)

        weights_node = self.require(node, "weights", where)
        weights = self.read_matrix(weights_node, len(units), len(below), f"{where} weights",
                                   units)
        weight_names = None
        if (names_node := node.get("weight_names")) is not None:
            weight_names = self.read_name_matrix(names_node, len(units), len(below),
                                                 f"{where} weight_names")
        bias = None
        bias_names = None
        if (bias_node := node.get("bias")) is not None and not (
            isinstance(bias_node, YScalar) and bias_node.value is None
        ):
            bias = self.read_vector(bias_node, len(units), f"{where} bias", units)
            if (names_node := node.get("bias_names")) is not None:
                if isinstance(names_node, YScalar):
                    bias_names = [_name(names_node, "bias name")] * len(units)
                else:
                    items = _seq(names_node, f"{where} bias_names").items
                    if len(items) != len(units):
                        raise ProblemError(
                            f"{where} bias_names has {len(items)} names for {len(units)} units",
                            names_node.mark)
                    bias_names = [_name(item, "bias name") for item in items]
        elif (names_node := node.get("bias_names")) is not None:
            raise ProblemError(f"{where} has bias_names but no bias", names_node.mark)
        return Layer(index=index, units=units, activation=activation, weights=weights,
                     bias=bias, input_names=below, explicit_weight_names=weight_names,
                     explicit_bias_names=bias_names, mark=node.mark)

    def read_activation(self, node: YNode) -> Any:
        alpha = None
        if isinstance(node, YMap):
            _check_keys(node, ("name", "alpha"), "activation")
            name_node = self.require(node, "name", "activation")
            name = _string(name_node, "activation name")
            if (alpha_node := node.get("alpha")) is not None:
                alpha = _number(alpha_node, "activation alpha")
        else:
            name_node = node
            name = _string(node, "activation")
        known = list(ACTIVATION_NAMES) + list(ALIASES)
        try:
            return make_activation(name, alpha)
        except KeyError:
            hint = suggest(name, known) or f" (known: {', '.join(ACTIVATION_NAMES)})"
            raise ProblemError(f"unknown activation '{name}'{hint}", name_node.mark) from None
        except ValueError as error:
            raise ProblemError(str(error), node.mark) from None

    def read_matrix(self, node: YNode, rows: int, cols: int, what: str,
                    units: list[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
        """A rows×cols matrix; a flat list is accepted for one row or one column."""
        want = _shape_text(rows, cols)
        if isinstance(node, YScalar):
            if rows == 1 and cols == 1:
                return np.array([[_number(node, what)]])
            raise ProblemError(f"{what} must be a {want} matrix (one row per unit, one column "
                               f"per input), found {_describe(node)}", node.mark)
        items = _seq(node, what).items
        if all(isinstance(item, YScalar) for item in items) and (rows == 1 or cols == 1):
            values = [_number(item, f"{what} entry") for item in items]
            if len(values) != rows * cols:
                raise ProblemError(f"{what} has shape {len(values)} but the layer needs {want} "
                                   f"({rows} unit{'s' * (rows > 1)} × {cols} input"
                                   f"{'s' * (cols > 1)})", node.mark)
            return np.array(values, dtype=np.float64).reshape(rows, cols)
        if len(items) != rows:
            raise ProblemError(f"{what} has {len(items)} rows but the layer has {rows} units "
                               f"({', '.join(units[:8])}{', …' if rows > 8 else ''}): expected "
                               f"shape {want}", node.mark)
        matrix = np.empty((rows, cols))
        for r, row_node in enumerate(items):
            row = _seq(row_node, f"{what} row {r + 1}").items
            if len(row) != cols:
                raise ProblemError(f"{what} row {r + 1} has {len(row)} entries but the layer "
                                   f"below has {cols} units: expected shape {want}",
                                   row_node.mark)
            for c, entry in enumerate(row):
                matrix[r, c] = _number(entry, f"{what} entry")
        return matrix

    def read_name_matrix(self, node: YNode, rows: int, cols: int, what: str) -> list[list[str]]:
        want = _shape_text(rows, cols)
        if isinstance(node, YScalar) and rows == 1 and cols == 1:
            return [[_name(node, "weight name")]]
        items = _seq(node, what).items
        if all(isinstance(item, YScalar) for item in items) and (rows == 1 or cols == 1):
            names = [_name(item, "weight name") for item in items]
            if len(names) != rows * cols:
                raise ProblemError(f"{what} has {len(names)} names but the weights are {want}",
                                   node.mark)
            return [names] if rows == 1 else [[n] for n in names]
        if len(items) != rows:
            raise ProblemError(f"{what} has {len(items)} rows but the weights are {want}",
                               node.mark)
        result = []
        for r, row_node in enumerate(items):
            row = _seq(row_node, f"{what} row {r + 1}").items
            if len(row) != cols:
                raise ProblemError(f"{what} row {r + 1} has {len(row)} names but the weights "
                                   f"are {want}", row_node.mark)
            result.append([_name(item, "weight name") for item in row])
        return result

    def read_vector(self, node: YNode, size: int, what: str,
                    names: list[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
        """A vector: a list of ``size`` numbers, a mapping by name, or one number for all."""
        if isinstance(node, YScalar):
            return np.full(size, _number(node, what))
        if isinstance(node, YMap):
            result = np.empty(size)
            for key in node.entries:
                if key not in names:
                    raise ProblemError(f"{what}: no unit or input named '{key}'"
                                       f"{suggest(key, names)}", node.key_mark(key))
            for i, name in enumerate(names):
                value = node.get(name)
                if value is None:
                    raise ProblemError(f"{what}: missing a value for '{name}'", node.mark)
                result[i] = _number(value, f"{what} '{name}'")
            return result
        items = _seq(node, what).items
        if len(items) != size:
            raise ProblemError(f"{what} has {len(items)} values but needs {size} "
                               f"({', '.join(names[:8])}{', …' if size > 8 else ''})",
                               node.mark)
        return np.array([_number(item, f"{what} entry") for item in items], dtype=np.float64)

    def check_unique_units(self, input_names: list[str], layers: list[Layer]) -> None:
        seen: dict[str, str] = {}
        for name in input_names:
            if name in seen:
                raise ProblemError(f"input name '{name}' is used twice", None)
            seen[name] = "input"
        for layer in layers:
            for unit in layer.units:
                if unit in seen:
                    user = "an input" if seen[unit] == "input" else "a unit"
                    raise ProblemError(f"unit name '{unit}' in layer {layer.index} is already "
                                       f"used by {user}", layer.mark)
                seen[unit] = "unit"

    def check_parameters(self, problem: Problem) -> None:
        units = set(problem.input_names) | {u for layer in problem.layers for u in layer.units}
        for name, param in problem.parameters.items():
            if name in units:
                raise ProblemError(f"parameter name '{name}' is also a unit or input name",
                                   problem.layers[param.uses[0].layer].mark)
            first = param.uses[0]
            for use in param.uses[1:]:
                layer = problem.layers[use.layer]
                value = layer.bias[use.row] if use.is_bias else layer.weights[use.row, use.col]  # type: ignore[index]
                if value != param.value:
                    raise ProblemError(
                        f"parameter '{name}' is used more than once (a shared parameter) but "
                        f"starts from different values ({param.value:g} in layer "
                        f"{problem.layers[first.layer].index}, {float(value):g} in layer "
                        f"{layer.index})", layer.mark)
        for pattern in problem.freeze:
            import fnmatch

            if not any(fnmatch.fnmatchcase(n, pattern) for n in problem.parameters):
                node = self.root.get("freeze")
                raise ProblemError(f"freeze: '{pattern}' matches no parameter"
                                   f"{suggest(pattern, problem.parameters)}",
                                   node.mark if node else None)

    # ------------------------------------------------------------------- data

    def read_data(self, root: YMap, input_names: list[str], layers: list[Layer],
                  loss: str) -> tuple[Any, Any, bool, list[str | None] | None]:
        outputs = layers[-1].units
        input_node = root.get("input")
        target_node = root.get("target")
        samples_node = root.get("samples")
        if samples_node is not None and (input_node is not None or target_node is not None):
            other = "input" if input_node is not None else "target"
            raise ProblemError(f"give either 'samples' or 'input' and 'target', not both "
                               f"('{other}' is here too)", samples_node.mark)
        pairs: list[tuple[YNode, YNode, str]] = []
        if samples_node is not None:
            items = _seq(samples_node, "samples").items
            if not items:
                raise ProblemError("samples is empty", samples_node.mark)
            for k, item in enumerate(items, start=1):
                sample = _map(item, f"sample {k}")
                _check_keys(sample, SAMPLE_KEYS, f"sample {k}")
                pairs.append((self.require(sample, "input", f"sample {k}"),
                              self.require(sample, "target", f"sample {k}"), f"sample {k} "))
        else:
            if input_node is None:
                raise ProblemError("missing the data: give 'input' and 'target' (one sample) or "
                                   "'samples' (several)", root.mark)
            if target_node is None:
                raise ProblemError("missing required key 'target' in the problem", root.mark)
            pairs.append((input_node, target_node, ""))
        xs = []
        ys = []
        labels: list[str | None] = []
        for input_value, target_value, where in pairs:
            xs.append(self.read_vector(input_value, len(input_names), f"{where}input",
                                       input_names))
            y, label = self.read_target(target_value, outputs, loss, f"{where}target")
            ys.append(y)
            labels.append(label)
        return (np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64),
                samples_node is not None, labels if any(labels) else None)

    def read_target(self, node: YNode, outputs: list[str], loss: str,
                    what: str) -> tuple[Any, str | None]:
        label = None
        if isinstance(node, YScalar) and isinstance(node.value, str):
            if loss != "cross_entropy":
                raise ProblemError(f"{what} '{node.value}' names a unit: that form is for "
                                   "cross_entropy only; give numbers", node.mark)
            if node.value not in outputs:
                raise ProblemError(f"{what}: no output unit named '{node.value}'"
                                   f"{suggest(node.value, outputs)}", node.mark)
            y = np.zeros(len(outputs))
            y[outputs.index(node.value)] = 1.0
            return y, node.value
        if isinstance(node, YScalar) and len(outputs) > 1:
            raise ProblemError(f"{what} is one number but the network has {len(outputs)} "
                               f"outputs ({', '.join(outputs)})", node.mark)
        y = self.read_vector(node, len(outputs), what, outputs)
        if loss == "binary_cross_entropy" and np.any((y < 0) | (y > 1)):
            raise ProblemError(f"{what}: binary_cross_entropy needs targets in [0, 1]", node.mark)
        if loss == "cross_entropy" and (np.any(y < 0) or abs(float(y.sum()) - 1.0) > 1e-9):
            raise ProblemError(f"{what}: cross_entropy needs targets that are non-negative "
                               "and sum to 1 (or the name of the true unit)", node.mark)
        return y, label

    # --------------------------------------------------------------- expected

    def read_expected(self, node: YMap, problem: Problem) -> dict[str, Expected]:
        from backprop_cli.keys import all_keys, parse_key

        result: dict[str, Expected] = {}
        known: list[str] | None = None
        for key, (key_mark, value_node) in node.entries.items():
            if parse_key(key, problem) is None:
                if known is None:
                    known = all_keys(problem)
                hint = suggest(key, known)
                raise ProblemError(f"expected: unknown value key '{key}'{hint}", key_mark)
            entry = Expected(key=key, value=0.0, text="", mark=key_mark)
            number_node: YNode = value_node
            if isinstance(value_node, YMap):
                _check_keys(value_node, EXPECTED_ENTRY_KEYS, f"expected '{key}'")
                number_node = self.require(value_node, "value", f"expected '{key}'")
                if (tol := value_node.get("tolerance")) is not None:
                    entry.tolerance = _number(tol, f"expected '{key}' tolerance",
                                              nonnegative=True)
                if (err := value_node.get("erratum")) is not None:
                    entry.erratum = _number(err, f"expected '{key}' erratum")
                    assert isinstance(err, YScalar)
                    entry.erratum_text = err.text
                if (note := value_node.get("note")) is not None:
                    entry.note = _string(note, f"expected '{key}' note")
            entry.value = _number(number_node, f"expected '{key}'")
            assert isinstance(number_node, YScalar)
            entry.text = number_node.text
            result[key] = entry
        return result
