"""Arrays from ``.npy`` files, for data and weights too large to write in YAML.

A problem file may name files instead of writing numbers::

    network:
      layers:
        - units: 128
          weights: {file: w1.npy}          # (units × inputs), one row per unit
    samples: {inputs: x.npy, targets: y.npy}   # (samples × inputs), (samples × outputs)

Paths are relative to the problem file, and must stay inside its folder or the
tree being checked (:mod:`backprop_cli.files.trust`). A ``.npy`` file holds
plain numbers: its header is checked and its data read as numbers, never
unpickled, so nothing a problem file names may ever run code. Every error points at the file
name in the problem file (``path:line:col: message``).

Also (see the README's problem format):

- ``samples: {file: data.csv}``: a CSV file whose header row names every input
  and output of the network (any order, no other column), one sample per row;
  read with the csv module, errors name the file, line and column.
- ``bias: {file: b.npy}``: a layer's (units,) bias vector.
- ``weights: {init: he | xavier | uniform, seed: N}``: random weights from
  ``numpy.random.default_rng(seed)``, reproducible: he is normal with std
  √(2/fan_in); xavier (Glorot) uniform on ±√(6/(fan_in + fan_out)); uniform on
  [low, high) (``{init: uniform, low: -0.5, high: 0.5, seed: 1}``). fan_in is
  the layer's number of inputs, fan_out its number of units. An initialised
  layer's biases start at 0 unless ``bias`` is given (``bias: null``: none).
"""

from __future__ import annotations

import csv
import io
import math
from array import array
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backprop_cli.errors import Mark, ProblemError, suggest
from backprop_cli.files.fields import expression_value, is_expression
from backprop_cli.files.trust import (
    MAX_DATA_BYTES,
    check_init_size,
    read_regular,
    resolve_reference,
    short_token,
)
from backprop_cli.files.yamlio import YMap, YNode, YScalar
from backprop_cli.model.losses import LOSSES

Array = NDArray[np.float64]

WEIGHTS_KEYS = ("file",)
SAMPLES_KEYS = ("inputs", "targets")


def _check_keys(node: YMap, allowed: tuple[str, ...], where: str) -> None:
    for key in node.entries:
        if key not in allowed:
            raise ProblemError(f"unknown key '{key}' in {where} (allowed: {', '.join(allowed)})",
                               node.key_mark(key))
    for key in allowed:
        if key not in node.entries:
            raise ProblemError(f"missing required key '{key}' in {where}", node.mark)


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape) if shape else "a single number (0-d)"


def load_array(node: YNode, problem_path: str, what: str) -> Array:
    """The float64 array in the ``.npy`` file that ``node`` names.

    The file is read through the trust boundary (inside the tree, a regular file,
    under the size limit), and its header is checked against its size before any
    array is made: a header claiming 10⁶ × 10⁶ values in a small file is refused,
    not allocated. Pickled (object) arrays are never read.
    """
    if not isinstance(node, YScalar) or not isinstance(node.value, str) or not node.value:
        raise ProblemError(f"{what} must be the name of a .npy file", node.mark)
    name = node.value
    shown = short_token(name, 80)
    real = resolve_reference(name, problem_path, what, node.mark)
    raw = read_regular(real, name, what, node.mark, MAX_DATA_BYTES)
    if raw.startswith(b"PK\x03\x04"):  # a zip file: .npz
        raise ProblemError(f"{what}: '{shown}' is an .npz archive; give one array saved with "
                           "numpy.save (.npy)", node.mark)
    array = _parse_npy(raw, f"{what}: '{shown}'", node.mark)
    if array.dtype.kind not in "biuf":
        raise ProblemError(f"{what}: '{shown}' holds {array.dtype} values, not real numbers",
                           node.mark)
    array = np.array(array, dtype=np.float64, order="C")  # a writable copy, native order
    finite = np.isfinite(array)
    if not finite.all():
        at = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise ProblemError(f"{what}: '{shown}' has {array[at]} at index {list(at)}: every "
                           "value must be a finite number", node.mark)
    return array


def _parse_npy(raw: bytes, where: str, mark: Mark) -> Any:
    """The array in the bytes of a ``.npy`` file, its header checked against its size."""
    from numpy.lib import format as npy  # lazy: only for .npy files

    handle = io.BytesIO(raw)
    try:
        version = npy.read_magic(handle)
    except ValueError:
        raise ProblemError(f"{where} is not a .npy array file (it does not start with the "
                           "signature numpy.save writes)", mark) from None
    try:
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = npy.read_array_header_2_0(handle)
        else:
            raise ValueError(f"version {version[0]}.{version[1]}")
    except (ValueError, SyntaxError, TypeError) as error:
        raise ProblemError(f"{where} has a damaged or unsupported .npy header "
                           f"({short_token(str(error), 60)})", mark) from None
    if dtype.hasobject:
        raise ProblemError(f"{where} holds Python objects (pickled data), which are never "
                           "read: save an array of numbers", mark)
    count = math.prod(shape)
    offset = handle.tell()
    if count * dtype.itemsize != len(raw) - offset:
        raise ProblemError(f"{where}: its header promises {_shape(tuple(shape))} values of "
                           f"{dtype.itemsize} bytes, but the file holds "
                           f"{len(raw) - offset} bytes of data (damaged or cut short?)", mark)
    flat = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
    return flat.reshape(shape, order="F" if fortran else "C")


def load_weights(node: YMap, rows: int, cols: int, where: str, problem_path: str) -> Array:
    """``weights: {file: ...}`` of a layer with ``rows`` units and ``cols`` inputs."""
    _check_keys(node, WEIGHTS_KEYS, f"{where} weights")
    file_node = node.entries["file"][1]
    array = load_array(file_node, problem_path, f"{where} weights")
    if array.ndim == 1 and array.size == rows * cols and (rows == 1 or cols == 1):
        return array.reshape(rows, cols)  # a flat list, as in YAML, for one row or column
    if array.shape != (rows, cols):
        hint = " (transposed? store one row per unit)" if array.shape == (cols, rows) else ""
        raise ProblemError(f"{where} weights: the file has shape {_shape(array.shape)} but the "
                           f"layer needs {rows}×{cols} ({rows} units × {cols} inputs){hint}",
                           file_node.mark)
    return array


def load_samples(node: YMap, n_inputs: int, n_outputs: int,
                 problem_path: str) -> tuple[Array, Array]:
    """``samples: {inputs: ..., targets: ...}``: one row per sample in each file."""
    _check_keys(node, SAMPLES_KEYS, "samples")
    arrays = []
    for key, width, unit in (("inputs", n_inputs, "input"), ("targets", n_outputs, "output")):
        file_node = node.entries[key][1]
        array = load_array(file_node, problem_path, f"samples {key}")
        if array.ndim == 1 and width == 1:
            array = array.reshape(-1, 1)
        if array.ndim != 2 or array.shape[1] != width or array.shape[0] == 0:
            raise ProblemError(f"samples {key}: the file has shape {_shape(array.shape)} but "
                               f"needs one row per sample and {width} column"
                               f"{'s' * (width != 1)} (one per {unit})", file_node.mark)
        arrays.append(array)
    inputs, targets = arrays
    if inputs.shape[0] != targets.shape[0]:
        raise ProblemError(f"samples: {inputs.shape[0]} rows of inputs but "
                           f"{targets.shape[0]} rows of targets", node.mark)
    return inputs, targets


def check_targets(targets: Array, loss: str, node: YMap,
                  lines: list[int] | None = None, names: list[str] | None = None) -> None:
    """The range each loss needs, checked over all rows at once.

    ``lines``: the CSV line of each sample and ``names`` the output units, for the message.
    """
    mark: Mark = node.entries["targets" if "targets" in node.entries else "file"][1].mark
    targets_range = LOSSES[loss].targets
    if targets_range == "unit_interval":
        bad = np.argwhere((targets < 0.0) | (targets > 1.0))
        if bad.size:
            k, j = (int(i) for i in bad[0])
            column = f"column {j + 1}" if names is None else f"column '{names[j]}'"
            raise ProblemError(f"samples targets: sample {_row(k, lines)}, {column} is "
                               f"{targets[k, j]:g}, but {loss} needs targets in [0, 1]", mark)
    elif targets_range == "distribution":
        bad_rows = np.flatnonzero((targets < 0.0).any(axis=1)
                                  | (np.abs(targets.sum(axis=1) - 1.0) > 1e-9))
        if bad_rows.size:
            k = int(bad_rows[0])
            raise ProblemError(f"samples targets: sample {_row(k, lines)} sums to "
                               f"{float(targets[k].sum()):g} or has a negative entry, but "
                               f"{loss} needs non-negative targets that sum to 1", mark)


def _row(k: int, lines: list[int] | None) -> str:
    return f"{k + 1}" if lines is None else f"{k + 1} (line {lines[k]})"


# ------------------------------------------------- CSV samples, bias files, init

CSV_KEYS = ("file",)
INIT_METHODS = ("he", "xavier", "uniform")
INIT_KEYS = ("init", "seed", "low", "high")
MAX_CSV_BYTES = 100 * 1024 * 1024


def _suggest_keys(node: YMap, allowed: tuple[str, ...], where: str) -> None:
    """Unknown keys are errors, with the nearest allowed key suggested."""
    for key in node.entries:
        if key not in allowed:
            hint = suggest(key, allowed) or f" (allowed: {', '.join(allowed)})"
            raise ProblemError(f"unknown key '{key}' in {where}{hint}", node.key_mark(key))


def read_samples(node: YMap, input_names: list[str], output_names: list[str], loss: str,
                 problem_path: str) -> tuple[Array, Array]:
    """``samples`` written as a mapping: ``{file: data.csv}`` or ``{inputs:, targets:}``."""
    if "file" in node.entries:
        _suggest_keys(node, CSV_KEYS, "samples (a CSV file)")
        inputs, targets, lines = load_csv_samples(node.entries["file"][1], input_names,
                                                  output_names, problem_path)
        check_targets(targets, loss, node, lines, output_names)
        return inputs, targets
    _suggest_keys(node, SAMPLES_KEYS, "samples (.npy files)")
    inputs, targets = load_samples(node, len(input_names), len(output_names), problem_path)
    check_targets(targets, loss, node)
    return inputs, targets


def load_csv_samples(node: YNode, input_names: list[str], output_names: list[str],
                     problem_path: str) -> tuple[Array, Array, list[int]]:
    """Inputs (N, n_inputs), targets (N, n_outputs) and each sample's line, from a CSV file
    whose header row names the inputs and outputs."""
    if not isinstance(node, YScalar) or not isinstance(node.value, str) or not node.value:
        raise ProblemError("samples file must be the name of a .csv file", node.mark)
    name, mark = node.value, node.mark
    if name.lower().endswith((".npy", ".npz")):
        raise ProblemError(f"samples file '{name}' is a NumPy file; a .npy array has no "
                           "header to name its columns: write samples: {inputs: x.npy, "
                           "targets: y.npy}", mark)
    shown = short_token(name, 80)
    real = resolve_reference(name, problem_path, "samples file", mark)
    raw = read_regular(real, name, "samples file", mark, MAX_CSV_BYTES)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ProblemError(f"samples: '{shown}' is not UTF-8 text (byte {error.start})",
                           mark) from None
    del raw
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    wanted = input_names + output_names
    header: list[str] | None = None
    header_line = 0
    # the samples as they are read, as floats (8 bytes a value, never a list of strings)
    data = array("d")
    lines = array("q")
    try:
        for row in reader:
            if not any(field.strip() for field in row):
                continue  # blank lines are skipped
            fields = [field.strip() for field in row]
            if header is None:
                header, header_line = fields, reader.line_num
                _check_header(header, wanted, f"'{shown}' line {header_line} (the header)", mark)
                continue
            line = reader.line_num
            if len(fields) != len(header):
                raise ProblemError(f"'{shown}' line {line} has {len(fields)} values but the "
                                   f"header has {len(header)} columns", mark)
            for c, field in enumerate(fields):
                try:
                    value = float(field)
                except ValueError:
                    value = math.nan
                if not math.isfinite(value):
                    raise ProblemError(f"'{shown}' line {line}, column '{header[c]}': "
                                       f"'{short_token(field)}' is not a finite number", mark)
                data.append(value)
            lines.append(line)
    except csv.Error as error:
        raise ProblemError(f"'{shown}' line {reader.line_num}: not valid CSV "
                           f"({short_token(str(error), 60)})", mark) from None
    if header is None:
        raise ProblemError(f"'{shown}' is empty: it needs a header row naming the inputs and "
                           f"outputs ({', '.join(wanted)}), then one row per sample", mark)
    if not lines:
        raise ProblemError(f"'{shown}' has a header but no samples", mark)
    table = np.frombuffer(data, dtype=np.float64).reshape(len(lines), len(header))
    table = table[:, [header.index(n) for n in wanted]]
    n_in = len(input_names)
    return (np.ascontiguousarray(table[:, :n_in]), np.ascontiguousarray(table[:, n_in:]),
            lines.tolist())


def _check_header(header: list[str], wanted: list[str], where: str, mark: Mark) -> None:
    """Every column of the header is an input or output, once, and none is missing.
    A column is quoted only as a short printable token: the file may be anything."""
    for i, column in enumerate(header):
        if column not in wanted:
            hint = suggest(column, wanted) or (
                f" (the network's inputs and outputs: {', '.join(wanted)})")
            if _is_number(column):
                raise ProblemError(f"{where}, column {i + 1}: '{short_token(column)}' is a "
                                   f"number; the first row names the columns "
                                   f"({', '.join(wanted)})", mark)
            raise ProblemError(f"{where}, column {i + 1}: '{short_token(column)}' is not an "
                               f"input or output of the network{hint}", mark)
        if header.index(column) != i:
            raise ProblemError(f"{where}: column '{short_token(column)}' appears twice", mark)
    missing = [n for n in wanted if n not in header]
    if missing:
        raise ProblemError(f"{where} has no column for {', '.join(repr(m) for m in missing)}: "
                           "it names every input and output of the network", mark)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def is_initialised(node: YNode | None) -> bool:
    """Whether a layer's ``weights`` are drawn at random (``{init: ...}``)."""
    return isinstance(node, YMap) and "init" in node.entries


def read_weights(node: YMap, rows: int, cols: int, where: str, problem_path: str) -> Array:
    """``weights`` written as a mapping: ``{file: w.npy}`` or ``{init: he, seed: 1}``."""
    if "init" not in node.entries:
        if "file" not in node.entries:
            _suggest_keys(node, ("file", *INIT_KEYS), f"{where} weights")
            raise ProblemError(f"{where} weights: give a matrix, {{file: w.npy}} or "
                               "{init: he, seed: 1}", node.mark)
        _suggest_keys(node, WEIGHTS_KEYS, f"{where} weights")
        return load_weights(node, rows, cols, where, problem_path)
    _suggest_keys(node, INIT_KEYS, f"{where} weights")
    method_node = node.entries["init"][1]
    method = method_node.value if isinstance(method_node, YScalar) else None
    if not isinstance(method, str) or method not in INIT_METHODS:
        hint = suggest(str(method), INIT_METHODS) or f" (known: {', '.join(INIT_METHODS)})"
        raise ProblemError(f"{where} weights: unknown init '{method}'{hint}", method_node.mark)
    if "seed" not in node.entries:
        raise ProblemError(f"{where} weights: init needs a seed (e.g. seed: 1), so that every "
                           "run draws the same weights", node.mark)
    seed_node = node.entries["seed"][1]
    seed = seed_node.value if isinstance(seed_node, YScalar) else None
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ProblemError(f"{where} weights: seed must be a whole number ≥ 0", seed_node.mark)
    check_init_size(rows, cols, f"{where} weights", node.mark)
    low = high = None
    if method == "uniform":
        for key in ("low", "high"):
            if key not in node.entries:
                raise ProblemError(f"{where} weights: init uniform needs low and high "
                                   "(e.g. low: -0.5, high: 0.5)", node.mark)
        low = _finite(node.entries["low"][1], f"{where} weights low")
        high = _finite(node.entries["high"][1], f"{where} weights high")
        if not low < high:
            raise ProblemError(f"{where} weights: low ({low:g}) must be below high ({high:g})",
                               node.entries["high"][1].mark)
    else:
        for key in ("low", "high"):
            if key in node.entries:
                raise ProblemError(f"{where} weights: {key} is for init uniform; {method} sets "
                                   "its own range from the layer's size", node.key_mark(key))
    return initialise(method, rows, cols, seed, low, high)


def _finite(node: YNode, what: str) -> float:
    if is_expression(node):  # "-1/sqrt(6)": a number written as an expression
        assert isinstance(node, YScalar)
        return expression_value(node, what)
    value = node.value if isinstance(node, YScalar) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
            value):
        raise ProblemError(f"{what} must be a finite number", node.mark)
    return float(value)


def initialise(method: str, rows: int, cols: int, seed: int, low: float | None = None,
               high: float | None = None) -> Array:
    """A (rows, cols) weight matrix from ``numpy.random.default_rng(seed)``.

    fan_in = cols (the layer's inputs), fan_out = rows (its units).
    """
    rng = np.random.default_rng(seed)
    if method == "he":
        return rng.normal(0.0, math.sqrt(2.0 / cols), size=(rows, cols))
    if method == "xavier":
        limit = math.sqrt(6.0 / (cols + rows))
        return rng.uniform(-limit, limit, size=(rows, cols))
    if method == "uniform":
        assert low is not None and high is not None
        return rng.uniform(low, high, size=(rows, cols))
    raise ValueError(method)


def is_bias_file(node: YNode | None, units: list[str]) -> bool:
    """``bias: {file: b.npy}`` (a mapping by unit name is also allowed, unless a unit is
    called 'file')."""
    return isinstance(node, YMap) and "file" in node.entries and "file" not in units


def load_bias(node: YMap, size: int, where: str, problem_path: str) -> Array:
    """``bias: {file: b.npy}``: a (units,) vector; (units, 1) and (1, units) too."""
    _suggest_keys(node, WEIGHTS_KEYS, f"{where} bias")
    file_node = node.entries["file"][1]
    array = load_array(file_node, problem_path, f"{where} bias")
    if array.ndim in (1, 2) and array.size == size and max(array.shape) == size:
        return array.reshape(size)
    raise ProblemError(f"{where} bias: the file has shape {_shape(array.shape)} but the layer "
                       f"needs {size} values, one per unit", file_node.mark)
