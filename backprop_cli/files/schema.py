"""A JSON Schema (draft 2020-12) of the problem file format v1, for editors.

``backprop schema`` prints :func:`problem_schema` and ``docs/problem.schema.json``
holds the same text (a test keeps them equal). With the line
``# yaml-language-server: $schema=<path>/problem.schema.json`` at the top of a
problem file, VS Code (the YAML extension) and other editors using the YAML
language server complete keys, show their descriptions and defaults, and
underline mistakes as you type.

The schema describes the shape of a file: keys, types, names, enumerations
(activations, losses, optimizers, ...), defaults. What depends on the whole
file (the weight matrix of a layer has one row per unit, a value key names a
unit that exists, ...) is checked by the loader, which ``backprop check`` runs:
the schema never rejects a file the loader reads. Enumerations and key lists
come from the modules that define them, so they cannot drift apart.
"""

from __future__ import annotations

import json
from typing import Any

from backprop_cli.files.datafiles import INIT_METHODS
from backprop_cli.model.activations import ACTIVATION_NAMES, ACTIVATIONS, ALIASES, DEFAULT_ALPHA
from backprop_cli.model.keys import value_key_pattern
from backprop_cli.model.layered import LAYER_TYPES, LOSS_AT
from backprop_cli.model.losses import LOSS_LABELS, LOSS_NAMES
from backprop_cli.model.optimizers import ALL_UPDATE_KINDS, OPTIMIZER_NAMES, SETTINGS
from backprop_cli.model.problem import RESERVED_WORDS
from backprop_cli.rounding import MAX_DECIMALS

Schema = dict[str, Any]

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# The loader's NAME pattern (letters, digits, '_' and '^', not starting with a digit) in
# the regex dialect every validator shares: non-ASCII letters are accepted as a whole
# range, since JavaScript's \w (used by editors) is ASCII only.
NAME_PATTERN = r"^[A-Za-z_\u00C0-\uFFFF][A-Za-z0-9_^\u00C0-\uFFFF]*$"
_NAME = r"[A-Za-z_\u00C0-\uFFFF][A-Za-z0-9_^\u00C0-\uFFFF]*"
# units and inputs may also be whole numbers (units: [4, 5], keys a.4)
UNIT_NAME_PATTERN = r"^([A-Za-z_\u00C0-\uFFFF][A-Za-z0-9_^\u00C0-\uFFFF]*|[0-9]+)$"
VALUE_KEY_PATTERN = value_key_pattern(f"(?:{_NAME}|[0-9]+)")
LAYERED_KEY_PATTERN = value_key_pattern(_NAME, layered=True)  # issue 19's layered networks
DERIVATIVE_KEY_PATTERN = (rf"^(value(\.{_NAME})?|derivative(\.{_NAME}){{1,2}}|"
                          rf"derivative2(\.{_NAME}){{2}}|new_value|"
                          r"predicted_change|actual_change|difference)$")
FORMULA_KEY_PATTERN = rf"^(formula(\.{_NAME}){{1,2}}|formula2(\.{_NAME}){{2}})$"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


# a number: written as one, or as a quoted expression of numbers and constants ("-1/243")
NUMBER: Schema = {"anyOf": [{"type": "number"}, {"$ref": "#/$defs/number_expression"}]}
# the loader reads a quoted string as an expression unless it is a plain number (a quoted
# "0.5" is a mistake); that it holds no variable is the loader's to check
# (and a word alone, "fast", is no number: an expression has a digit, a call or a constant)
EXPRESSION_PATTERN = (r"^(?!\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$)"
                      r"(?=.*([0-9(π]|(^|[^A-Za-z_0-9])(pi|e)([^A-Za-z_0-9]|$)))")


def _number(description: str, **extra: Any) -> Schema:
    return {"description": description,
            "anyOf": [{"type": "number", **extra}, _ref("number_expression")]}


def _defs() -> dict[str, Schema]:
    activation_names = [*ACTIVATION_NAMES, *ALIASES]
    alphas = {name: value for name, value in DEFAULT_ALPHA.items()
              if ACTIVATIONS[name].param_key == "alpha"}  # step's is at_zero
    alpha_defaults = ", ".join(f"{name} {value:g}" for name, value in alphas.items())
    with_alpha = " and ".join(alphas)
    alpha_is = " or ".join(f"{ACTIVATIONS[name].alpha_doc} ({name})" for name in alphas)
    number_list = {"type": "array", "items": NUMBER, "minItems": 1}
    name_vector: Schema = {
        "type": "object", "propertyNames": _ref("unit_name"),
        "additionalProperties": NUMBER}
    optimizer_objects = []
    for name in OPTIMIZER_NAMES:
        settings = {key: _number(f"{name} setting {key} (default {value:g})", default=value)
                    for key, value in SETTINGS[name].items()}
        optimizer_objects.append({
            "type": "object",
            "properties": {"name": {"const": name}, **settings},
            "required": ["name"], "additionalProperties": False})
    return {
        "name": {
            "description": "A name: letters, digits, '_' and '^' (w_1^4), not starting with "
                           "a digit; a parameter is never named loss (the loss's key).",
            "type": "string", "pattern": NAME_PATTERN,
            "not": {"enum": sorted(RESERVED_WORDS)}},
        "names_or_count": {
            "anyOf": [
                {"type": "integer", "minimum": 1,
                 "description": "A count: inputs x1, x2, ...; hidden units h1, h2, ... "
                                "(h<layer>_<i> with several hidden layers); outputs o "
                                "(o1, o2, ... for several)."},
                {"type": "array", "items": _ref("unit_name"), "minItems": 1,
                 "description": "The names, in order."}]},
        "unit_name": {
            "description": "A unit's or an input's name: a name (any, 'loss' too) or a whole "
                           "number (units: [4, 5]: keys a.4, a.5).",
            "anyOf": [{"type": "string", "pattern": UNIT_NAME_PATTERN},
                      {"type": "integer", "minimum": 0}]},
        "activation": {
            "description": "The layer's activation function (default identity). "
                           f"{with_alpha} take alpha (defaults: {alpha_defaults}). "
                           "ReLU'(0) = 0.",
            "default": "identity",
            "anyOf": [
                {"enum": activation_names},
                {"type": "object",
                 "properties": {
                     "name": {"enum": activation_names},
                     "alpha": _number(f"The {alpha_is} for z < 0."),
                     "at_zero": {"enum": [0, 1], "default": 1,
                                 "description": "step: its value at z = 0 (1: step is 1 "
                                                "when z ≥ 0; 0: only when z > 0)."}},
                 "required": ["name"], "additionalProperties": False}]},
        "weights": {
            "description": "One row per unit of the layer, one column per unit (or input) "
                           "below; a flat list for a single row or column, a number for 1×1; "
                           "or {file: w.npy}; or {init: he|xavier|uniform, seed: N} (biases "
                           "then start at 0).",
            "anyOf": [
                {"type": "number"}, _ref("number_expression"),
                number_list,
                {"type": "array", "items": number_list, "minItems": 1},
                {"type": "object", "properties": {"file": _ref("npy_file")},
                 "required": ["file"], "additionalProperties": False},
                {"type": "object",
                 "properties": {
                     "init": {"enum": list(INIT_METHODS),
                              "description": "he: normal, std √(2/fan_in); xavier: uniform "
                                             "on ±√(6/(fan_in + fan_out)); uniform: on "
                                             "[low, high)."},
                     "seed": {"type": "integer", "minimum": 0,
                              "description": "numpy.random.default_rng(seed): the same "
                                             "weights on every run."},
                     "low": _number("init uniform: the lower bound."),
                     "high": _number("init uniform: the upper bound.")},
                 "required": ["init", "seed"], "additionalProperties": False}]},
        "weight_names": {
            "description": "Names of the weights, shaped like the weights (default "
                           "w_<unit>_<input>). A name used twice is one shared parameter.",
            "anyOf": [
                {"type": "null"}, _ref("name"),
                {"type": "array", "items": _ref("name"), "minItems": 1},
                {"type": "array", "minItems": 1,
                 "items": {"type": "array", "items": _ref("name"), "minItems": 1}}]},
        "bias": {
            "description": "A list (one per unit), one number for every unit, a mapping by "
                           "unit name, {file: b.npy}, {in_weights: first|last} (each unit's "
                           "weights carry its bias at that end), or null/absent: no bias.",
            "anyOf": [
                {"type": "null"}, {"type": "number"}, _ref("number_expression"), number_list,
                {"type": "object", "properties": {"file": _ref("npy_file")},
                 "required": ["file"], "additionalProperties": False},
                {"type": "object", "properties": {"in_weights": {"enum": ["first", "last"]}},
                 "required": ["in_weights"], "additionalProperties": False},
                name_vector]},
        "bias_names": {
            "description": "Names of the biases (default b_<unit>); one name: one bias "
                           "shared by the layer.",
            "anyOf": [{"type": "null"}, _ref("name"),
                      {"type": "array", "items": _ref("name"), "minItems": 1}]},
        "layer": {
            "type": "object",
            "properties": {
                "units": {**_ref("names_or_count"),
                          "description": "Names of the layer's units, or their number."},
                "activation": _ref("activation"),
                "weights": _ref("weights"),
                "weight_names": _ref("weight_names"),
                "bias": _ref("bias"),
                "bias_names": _ref("bias_names"),
                "weights_by": {"enum": ["unit", "input"], "default": "unit",
                               "description": "unit: a row of weights per unit (W·a); input: "
                                              "a row per input unit (X·W, NumPy and Keras); "
                                              "weight_names follow the same layout."}},
            "required": ["units", "weights"], "additionalProperties": False},
        **_layered_defs(number_list),
        "vector": {
            "description": "A list of numbers, a mapping by name, or one number for all.",
            "anyOf": [{"type": "number"}, _ref("number_expression"), number_list, name_vector]},
        "target": {
            "description": "A number (one output), a list, a mapping by output name, or "
                           "(cross_entropy) the name of the true output unit.",
            "anyOf": [{"type": "number"}, _ref("number_expression"), number_list, name_vector,
                      {"type": "string", "pattern": UNIT_NAME_PATTERN}]},
        "sample": {
            "type": "object",
            "properties": {"input": _ref("vector"), "target": _ref("target")},
            "required": ["input", "target"], "additionalProperties": False},
        "npy_file": {
            "description": "A .npy file, relative to the problem file (numbers only, read "
                           "without pickle).",
            "type": "string", "minLength": 1},
        "expected_number": {
            "anyOf": [
                {"type": "number",
                 "description": "The published value: judged at the precision written "
                                "(0.824 means three decimals)."},
                {"type": "object",
                 "properties": {
                     "value": _number("The published value."),
                     "tolerance": _number("An absolute tolerance for this value only.",
                                          minimum=0),
                     "erratum": _number("The correct value, when the published one is "
                                        "wrong (an erratum)."),
                     "note": {"type": "string", "description": "Why, in words."}},
                 "required": ["value"], "additionalProperties": False},
                {"$ref": "#/$defs/number_expression",
                 "description": "The published value as an expression (\"-1/243\"): exact."}]},
        "number_expression": {
            "description": "A number written as an expression of numbers and the constants "
                           "e and pi, in quotes: \"-1/243\", \"sqrt(2)/2\", \"1 + "
                           "sin(pi/4)\".",
            "type": "string", "pattern": EXPRESSION_PATTERN},
        "expected_formula": {
            "anyOf": [
                {"type": "string", "description": "The derivative as a formula (3*x^2 - 6*x "
                                                  "+ 2); right when it is the same function."},
                {"type": "object",
                 "properties": {"value": {"type": "string"},
                                "note": {"type": "string", "description": "Why, in words."}},
                 "required": ["value"], "additionalProperties": False}]},
        "optimizer": {
            "description": "How parameters are updated (default sgd). momentum: v = β·v − "
                           "η·g, w += v; adam: bias-corrected moments.",
            "default": "sgd",
            "anyOf": [{"enum": list(OPTIMIZER_NAMES)}, *optimizer_objects]},
        "variable": {
            "description": "A variable of a derivative exercise: letters, digits and '_', "
                           "starting with a letter (any word: z, a and e are variables here).",
            "type": "string", "pattern": r"^[A-Za-z\u00C0-\uFFFF][A-Za-z0-9_\u00C0-\uFFFF]*$"},
        "point": {
            "type": "object", "propertyNames": _ref("variable"),
            "additionalProperties": NUMBER},
    }


def _layered_defs(number_list: Schema) -> dict[str, Schema]:
    """Issue 19's layer types (files/layered.py reads them; docs/format.md, "Layers beyond
    dense")."""
    # a parameter tensor saved by numpy: {file: w.npy}, of the tensor's shape
    file_form: Schema = {"type": "object", "properties": {"file": _ref("npy_file")},
                         "required": ["file"], "additionalProperties": False}
    tensor_or_file: Schema = {"anyOf": [_ref("tensor"), file_form]}
    ints = {"anyOf": [{"type": "integer", "minimum": 0},
                      {"type": "array", "items": {"type": "integer", "minimum": 0},
                       "minItems": 1}]}
    tensor_name = {**_ref("name"), "description": "The tensor's name in keys (K[1,1,2,2])."}
    return {
        "tensor": {"description": "Nested lists of numbers (a tensor).",
                   "anyOf": [{"type": "number"},
                             {"type": "array", "items": _ref("tensor"), "minItems": 1}]},
        "param_name": {
            "description": "A parameter's name in a layered network: a name, where the "
                           "optimizers' words (v, m, s, ...) are free.",
            "type": "string", "pattern": NAME_PATTERN,
            "not": {"enum": sorted(set(RESERVED_WORDS) - set(ALL_UPDATE_KINDS))}},
        "name_tensor": {"description": "Nested lists of names, shaped like the values.",
                        "anyOf": [_ref("param_name"),
                                  {"type": "array", "items": _ref("name_tensor"),
                                   "minItems": 1}]},
        "tensor_input": {
            "type": "object",
            "properties": {
                "shape": {"type": "array", "items": {"type": "integer", "minimum": 1},
                          "minItems": 1,
                          "description": "[channels, height, width] (conv2d) or "
                                         "[channels, length] (conv1d)."},
                "name": {**_ref("name"), "description": "The input's name (default x)."}},
            "required": ["shape"], "additionalProperties": False},
        "layered_layer": {
            "description": "A layer with a type (conv1d, conv2d, max/avg pooling, dropout, "
                           "flatten, dense, rnn): see docs/format.md.",
            "type": "object",
            "properties": {
                "type": {"enum": list(LAYER_TYPES)},
                "name": {**_ref("name"),
                         "description": "The layer's name in keys (default L<position>)."},
                "filters": {"type": "integer", "minimum": 1},
                "kernel": ints, "stride": ints, "padding": ints, "size": ints,
                "units": _ref("names_or_count"),
                "activation": _ref("activation"),
                "weights": tensor_or_file, "recurrent": tensor_or_file,
                "bias": {"anyOf": [{"type": "null"}, _ref("tensor"), file_form]},
                "weight_name": tensor_name, "recurrent_name": tensor_name,
                "bias_name": tensor_name,
                "weight_names": _ref("name_tensor"), "recurrent_names": _ref("name_tensor"),
                "bias_names": _ref("name_tensor"),
                "initial": number_list,
                "rate": {"type": "number", "minimum": 0, "description": "Below 1."},
                "mask": _ref("tensor")},
            "additionalProperties": False},
        "layered_sample": {
            "type": "object",
            "properties": {"input": _ref("tensor"), "sequence": _ref("tensor"),
                           "target": _ref("tensor"), "targets": _ref("tensor")},
            "additionalProperties": False},
    }


def _common() -> dict[str, Schema]:
    return {
        "title": {"type": "string",
                  "description": "Shown above the solution (default: the file name)."},
        "description": {"type": ["string", "null"],
                        "description": "Free Markdown text shown with the solution."},
        "notes": {"type": ["string", "null"],
                  "description": "The instructor's notes (how to use the exercise, what to "
                                 "hide from students); never rendered."},
        "tolerance": _number("An absolute tolerance for every expected value (default: the "
                             "precision each value is written with).", minimum=0),
        "min_digits": {"type": "integer", "minimum": 1, "maximum": 17,
                       "description": "Values written with fewer significant digits are "
                                      "imprecise unless right to this many anyway "
                                      "(check --min-digits overrides it)."},
    }


def _network_keys() -> dict[str, Schema]:
    losses = "; ".join(f"{name}: {LOSS_LABELS[name]}" for name in LOSS_NAMES)
    number_list = {"type": "array", "items": {"type": "number"}, "minItems": 1}
    name_vector: Schema = {"type": "object", "propertyNames": _ref("unit_name"),
                           "additionalProperties": {"type": "number"}}
    return {
        "network": {
            "description": "The network: its inputs and its layers (the last is the output "
                           "layer).",
            "type": "object",
            "properties": {
                "inputs": {
                    "description": "Names of the inputs, or their number (x1, x2, ...); or "
                                   "a tensor input {shape: [channels, height, width], name: "
                                   "x} (layered networks).",
                    "anyOf": [_ref("names_or_count"), _ref("tensor_input")]},
                "layers": {"type": "array", "items": {"anyOf": [_ref("layer"),
                                                               _ref("layered_layer")]},
                           "minItems": 1,
                           "description": "At least one; the last is the output layer."}},
            "required": ["inputs", "layers"], "additionalProperties": False},
        "loss": {"enum": [*LOSS_NAMES, "none"],
                 "description": f"The loss of one sample. {losses}. none: no loss, the "
                                "backward pass starts from `upstream`."},
        "predict": {
            "description": "Rows to predict with the final parameters (predict.z.<unit>@k, "
                           "predict.a.<unit>@k): input lists or mappings by input name, or "
                           "{input, target} (predict.accuracy); or {file: rows.csv}.",
            "anyOf": [
                {"type": "array", "minItems": 1, "items": {"anyOf": [
                    number_list, name_vector,
                    {"type": "object", "required": ["input"],
                     "properties": {"input": {"anyOf": [number_list, name_vector]},
                                    "target": {}},
                     "additionalProperties": False}]}},
                {"type": "object", "properties": {"file": {"type": "string"}},
                 "required": ["file"], "additionalProperties": False}]},
        "threshold": _number("The class threshold of one output unit for final.accuracy "
                             "and predict.accuracy: class 1 when a ≥ threshold.",
                             default=0.5),
        "upstream": {
            "description": "With loss: none, ∂L/∂a of each output unit: a number (one "
                           "output), a list, a mapping by output name, or with samples one "
                           "list per sample.",
            "anyOf": [{"type": "number"}, number_list, name_vector,
                      {"type": "array", "items": {"anyOf": [number_list, name_vector]},
                       "minItems": 1}]},
        "reduction": {"enum": ["mean", "sum"], "default": "mean",
                      "description": "How sample losses (and gradients) combine: mean or sum."},
        "learning_rate": _number("The gradient-descent step size η.", exclusiveMinimum=0),
        "steps": {"type": "integer", "minimum": 0, "default": 1,
                  "description": "Gradient-descent updates (0: forward and backward only)."},
        "freeze": {
            "description": "Parameter names or glob patterns never updated (they still get "
                           "gradients).",
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "input": {"description": "One sample's input: a list, or a mapping by input name; a "
                                 "tensor input's nested lists (layered networks).",
                  "anyOf": [_ref("vector"), _ref("tensor")]},
        "sequence": {**_ref("tensor"),
                     "description": "An rnn's input: one list of inputs per time step."},
        "targets": {**_ref("tensor"),
                    "description": "With loss_at: every, one target per time step."},
        "loss_at": {"enum": list(LOSS_AT), "default": "last",
                    "description": "A sequence's loss: at the last step, or the sum over "
                                   "every step."},
        "target": _ref("target"),
        "samples": {
            "description": "Several samples instead of input and target: a list of {input, "
                           "target}, a CSV file whose header names every input and output "
                           "({file: data.csv}), or .npy files ({inputs: x.npy, targets: "
                           "y.npy}). Value keys of one sample end in @k.",
            "anyOf": [
                {"type": "array", "items": {"anyOf": [_ref("sample"),
                                                      _ref("layered_sample")]},
                 "minItems": 1},
                {"type": "object", "properties": {"file": {"type": "string", "minLength": 1}},
                 "required": ["file"], "additionalProperties": False},
                {"type": "object",
                 "properties": {"inputs": _ref("npy_file"), "targets": _ref("npy_file")},
                 "required": ["inputs", "targets"], "additionalProperties": False},
                {"type": "object", "description": "A recurrent (layered) network's samples: "
                                                  "(N, T, D) sequences and their targets.",
                 "properties": {"sequences": _ref("npy_file"), "targets": _ref("npy_file")},
                 "required": ["sequences", "targets"], "additionalProperties": False}]},
        "optimizer": _ref("optimizer"),
        "weight_decay": _number("λ: L2 weight decay, adds λ·w to each weight's gradient "
                                "(not the biases').", minimum=0, default=0),
        "batch_size": {"type": "integer", "minimum": 1,
                       "description": "Samples per step, in file order (default: all in "
                                      "every step)."},
        "epochs": {"type": "integer", "minimum": 0,
                   "description": "Instead of steps: epochs × ⌈samples / batch_size⌉ steps."},
        "learning_rule": {
            "enum": ["gradient_descent", "perceptron"], "default": "gradient_descent",
            "description": "perceptron: online, w ← w + η·(t − y)·x per sample, for one layer "
                           "of step units (no loss needed; epoch<k>.errors counts the "
                           "misclassified samples)."},
        "round": {"type": "integer", "minimum": 0, "maximum": MAX_DECIMALS,
                  "description": "Hand-calculation mode: every value produced is rounded to "
                                 "this many decimals, as on paper."},
        "quiz": {
            "description": "The values `backprop quiz` asks for: value keys or glob "
                           "patterns (default: step 1's z, a, loss, deltas, gradients and "
                           "updates).",
            "anyOf": [{"type": "string"},
                      {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
        "points": {
            "description": "`backprop grade`: the points of a question, by value key or glob "
                           "pattern (the first match wins; default 1 each).",
            "type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
    }


def _derivative_keys() -> dict[str, Schema]:
    return {
        "kind": {"enum": ["derivative"],
                 "description": "derivative: a calculus warm-up (function, chain, at, step) "
                                "instead of a network."},
        "function": {"type": "string",
                     "description": "The function to differentiate: \"f(x) = x^3 - 3*x^2\" "
                                    "or \"z = y^2\"."},
        "chain": {"type": "object", "propertyNames": _ref("variable"),
                  "additionalProperties": {"type": "string"},
                  "description": "Intermediate variables by name (y: \"2*x + 3\")."},
        "at": {**_ref("point"), "description": "The point, by variable (x: 2)."},
        "step": {**_ref("point"), "description": "A small change of the variables (x: 0.1): "
                                                 "predicted against actual change."},
    }


def problem_schema() -> Schema:
    """The JSON Schema of a problem file (network problems and ``kind: derivative``)."""
    network = _network_keys()
    derivative = _derivative_keys()
    network_only = sorted(set(network) - {"network"})
    derivative_only = sorted(set(derivative) - {"kind"})
    properties: dict[str, Schema] = {
        **_common(), **network, **derivative,
        "expected": {
            "description": "The published answers by value key (z.h1, a.o, loss, grad.w1, "
                           "new.w1, ...): a number, or {value, tolerance, erratum, note}.",
            "type": "object"},
    }
    return {
        "$schema": DRAFT,
        "title": "backprop problem file (format v1)",
        "description": "A backpropagation exercise for `backprop solve`, `check` and `quiz`. "
                       "Reference: docs/format.md.",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "if": {"required": ["kind"]},
        "then": {
            "required": ["function"],
            "properties": {
                **{key: False for key in ["network", *network_only]},
                "expected": {
                    "patternProperties": {
                        FORMULA_KEY_PATTERN: _ref("expected_formula"),
                        DERIVATIVE_KEY_PATTERN: _ref("expected_number")},
                    "additionalProperties": False}}},
        "else": {
            "required": ["network", "learning_rate"],
            "if": {"not": {"properties": {"learning_rule": {"const": "perceptron"}},
                           "required": ["learning_rule"]}},
            "then": {"required": ["loss"]},
            "properties": {
                **{key: False for key in derivative_only},
                "expected": {
                    "propertyNames": {"anyOf": [{"pattern": VALUE_KEY_PATTERN},
                                                {"pattern": LAYERED_KEY_PATTERN}]},
                    "additionalProperties": _ref("expected_number")}},
            "anyOf": [{"required": ["input", "target"]}, {"required": ["samples"]},
                      {"required": ["input", "upstream"]}, {"required": ["sequence"]}],
            "not": {"anyOf": [{"required": ["samples", "input"]},
                              {"required": ["samples", "target"]},
                              {"required": ["steps", "epochs"]}]}},
        "$defs": _defs(),
    }


def schema_text() -> str:
    """The schema as ``backprop schema`` prints it (and docs/problem.schema.json holds)."""
    return json.dumps(problem_schema(), indent=2, ensure_ascii=False) + "\n"
