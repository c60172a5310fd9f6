"""`backprop schema`: the file in docs/ is its output, and every problem file validates.

The ``jsonschema`` package is not a dependency, so this module carries a small
validator for the part of draft 2020-12 the schema uses. It refuses keywords it
does not know, so the schema cannot grow a keyword these tests silently ignore.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given

from backprop_cli.app.generator import TEMPLATE, Options, generate
from backprop_cli.cli import cli
from backprop_cli.files.fields import EXPECTED_ENTRY_KEYS
from backprop_cli.files.layered import SAMPLE_KEYS as LAYERED_SAMPLE_KEYS
from backprop_cli.files.layered import TOP_KEYS as LAYERED_TOP_KEYS
from backprop_cli.files.layered import TYPE_KEYS
from backprop_cli.files.loader import (
    ACTIVATION_KEYS,
    LAYER_KEYS,
    NETWORK_KEYS,
    SAMPLE_KEYS,
    TOP_KEYS,
    parse_problem,
)
from backprop_cli.files.schema import problem_schema, schema_text
from backprop_cli.files.yamlio import parse_yaml, to_python
from backprop_cli.kinds.derivative import TOP_KEYS as DERIVATIVE_KEYS
from backprop_cli.model.activations import ACTIVATION_NAMES, ALIASES
from backprop_cli.model.losses import LOSS_NAMES
from backprop_cli.model.optimizers import OPTIMIZER_NAMES, SETTINGS
from tests.conftest import PROBLEMS, ROOT
from tests.netgen import dump, problem_documents

SCHEMA_FILE = ROOT / "docs" / "problem.schema.json"

ANNOTATIONS = {"$schema", "title", "description", "default"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    # draft 2020-12: a number with no fractional part is an integer (2.0 too)
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (
        isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class Validator:
    """Errors of ``instance`` against the schema, as 'path: message' lines."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def errors(self, instance: Any, schema: Any = None, path: str = "$") -> list[str]:
        schema = self.root if schema is None else schema
        if schema is True:
            return []
        if schema is False:
            return [f"{path}: not allowed here"]
        found: list[str] = []
        for keyword, value in schema.items():
            check = getattr(self, "k_" + keyword.replace("$", "_"), None)
            if check is None:
                if keyword in ANNOTATIONS or keyword in ("$defs", "then", "else"):
                    continue
                raise AssertionError(f"the test validator does not know '{keyword}'")
            found += check(value, instance, schema, path)
        return found

    def valid(self, instance: Any, schema: Any) -> bool:
        return not self.errors(instance, schema)

    def k__ref(self, ref: str, instance: Any, schema: Any, path: str) -> list[str]:
        assert ref.startswith("#/$defs/"), ref
        return self.errors(instance, self.root["$defs"][ref.rsplit("/", 1)[1]], path)

    def k_type(self, kind: Any, instance: Any, schema: Any, path: str) -> list[str]:
        kinds = kind if isinstance(kind, list) else [kind]
        if any(TYPES[k](instance) for k in kinds):
            return []
        return [f"{path}: {instance!r} is not of type {kind}"]

    def k_enum(self, options: list[Any], instance: Any, schema: Any, path: str) -> list[str]:
        return [] if instance in options else [f"{path}: {instance!r} is not one of {options}"]

    def k_const(self, value: Any, instance: Any, schema: Any, path: str) -> list[str]:
        return [] if instance == value else [f"{path}: {instance!r} is not {value!r}"]

    def k_pattern(self, pattern: str, instance: Any, schema: Any, path: str) -> list[str]:
        if not isinstance(instance, str) or re.search(pattern, instance):
            return []
        return [f"{path}: {instance!r} does not match {pattern}"]

    def k_minLength(self, n: int, instance: Any, schema: Any, path: str) -> list[str]:
        return [f"{path}: too short"] if isinstance(instance, str) and len(instance) < n else []

    def k_minimum(self, n: float, instance: Any, schema: Any, path: str) -> list[str]:
        return [f"{path}: below {n}"] if TYPES["number"](instance) and instance < n else []

    def k_maximum(self, n: float, instance: Any, schema: Any, path: str) -> list[str]:
        return [f"{path}: above {n}"] if TYPES["number"](instance) and instance > n else []

    def k_exclusiveMinimum(self, n: float, instance: Any, schema: Any, path: str) -> list[str]:
        return [f"{path}: not above {n}"] if TYPES["number"](instance) and instance <= n else []

    def k_minItems(self, n: int, instance: Any, schema: Any, path: str) -> list[str]:
        return [f"{path}: fewer than {n} items"] if isinstance(instance, list) and len(
            instance) < n else []

    def k_items(self, item: Any, instance: Any, schema: Any, path: str) -> list[str]:
        if not isinstance(instance, list):
            return []
        return [e for i, v in enumerate(instance) for e in self.errors(v, item, f"{path}[{i}]")]

    def k_required(self, keys: list[str], instance: Any, schema: Any, path: str) -> list[str]:
        if not isinstance(instance, dict):
            return []
        return [f"{path}: missing '{key}'" for key in keys if key not in instance]

    def k_properties(self, props: dict[str, Any], instance: Any, schema: Any,
                     path: str) -> list[str]:
        if not isinstance(instance, dict):
            return []
        return [e for key, sub in props.items() if key in instance
                for e in self.errors(instance[key], sub, f"{path}.{key}")]

    def k_patternProperties(self, props: dict[str, Any], instance: Any, schema: Any,
                            path: str) -> list[str]:
        if not isinstance(instance, dict):
            return []
        return [e for pattern, sub in props.items() for key, value in instance.items()
                if re.search(pattern, key) for e in self.errors(value, sub, f"{path}.{key}")]

    def k_additionalProperties(self, sub: Any, instance: Any, schema: Any,
                               path: str) -> list[str]:
        if not isinstance(instance, dict):
            return []
        known = set(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        extra = [key for key in instance
                 if key not in known and not any(re.search(p, key) for p in patterns)]
        return [e for key in extra for e in self.errors(instance[key], sub, f"{path}.{key}")]

    def k_propertyNames(self, sub: Any, instance: Any, schema: Any, path: str) -> list[str]:
        if not isinstance(instance, dict):
            return []
        return [e for key in instance for e in self.errors(key, sub, f"{path} key {key!r}")]

    def k_anyOf(self, subs: list[Any], instance: Any, schema: Any, path: str) -> list[str]:
        if any(self.valid(instance, sub) for sub in subs):
            return []
        return [f"{path}: matches none of {len(subs)} alternatives"]

    def k_not(self, sub: Any, instance: Any, schema: Any, path: str) -> list[str]:
        return [f"{path}: matches a form that is not allowed"] if self.valid(instance, sub) else []

    def k_if(self, test: Any, instance: Any, schema: Any, path: str) -> list[str]:
        branch = schema.get("then" if self.valid(instance, test) else "else", True)
        return self.errors(instance, branch, path)


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(problem_schema())


def read(path: Path) -> Any:
    return to_python(parse_yaml(path.read_text(encoding="utf-8")))


def test_docs_file_is_the_command_output() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    assert result.output == schema_text()
    assert SCHEMA_FILE.read_text(encoding="utf-8") == result.output, (
        "docs/problem.schema.json is stale: backprop schema -o docs/problem.schema.json")
    assert json.loads(result.output)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_covers_every_key_the_loaders_read() -> None:
    schema = problem_schema()
    defs = schema["$defs"]
    assert set(schema["properties"]) == set(TOP_KEYS) | set(DERIVATIVE_KEYS) | set(
        LAYERED_TOP_KEYS)
    layered = {key for keys in TYPE_KEYS.values() for key in keys}
    assert set(defs["layered_layer"]["properties"]) == layered
    assert set(defs["layered_sample"]["properties"]) == set(LAYERED_SAMPLE_KEYS)
    network = schema["properties"]["network"]
    assert set(network["properties"]) == set(NETWORK_KEYS)
    assert set(defs["layer"]["properties"]) == set(LAYER_KEYS)
    assert set(defs["sample"]["properties"]) == set(SAMPLE_KEYS)
    entry = defs["expected_number"]["anyOf"][1]
    assert set(entry["properties"]) == set(EXPECTED_ENTRY_KEYS)
    activation = defs["activation"]["anyOf"]
    assert activation[0]["enum"] == [*ACTIVATION_NAMES, *ALIASES]
    assert set(activation[1]["properties"]) == set(ACTIVATION_KEYS)
    assert schema["properties"]["loss"]["enum"] == [*LOSS_NAMES, "none"]
    optimizers = defs["optimizer"]["anyOf"]
    assert optimizers[0]["enum"] == list(OPTIMIZER_NAMES)
    for form, name in zip(optimizers[1:], OPTIMIZER_NAMES, strict=True):
        assert set(form["properties"]) == {"name", *SETTINGS[name]}


def problem_paths() -> list[Path]:
    return sorted(PROBLEMS.glob("*.yaml"))


@pytest.mark.parametrize("path", problem_paths(), ids=lambda p: p.stem)
def test_every_problem_file_validates(validator: Validator, path: Path) -> None:
    assert validator.errors(read(path)) == []


def test_the_template_and_generated_files_validate(validator: Validator) -> None:
    assert validator.errors(to_python(parse_yaml(TEMPLATE))) == []
    for seed, nice in ((1, True), (2, False)):
        text = generate(Options(layers=(2, 3, 2), seed=seed, nice=nice, samples=2)).text
        assert validator.errors(to_python(parse_yaml(text))) == []


@given(problem_documents())
def test_random_valid_problems_validate(document: dict[str, Any]) -> None:
    parse_problem(dump(document))  # the loader reads it ...
    assert Validator(problem_schema()).errors(document) == []  # ... so the schema accepts it


SEED = PROBLEMS / "001b_two_layer_relu_sigmoid.yaml"


def mutated(change: str) -> Any:
    document = copy.deepcopy(read(SEED))
    layer = document["network"]["layers"][0]
    if change == "unknown top key":
        document["learning_rat"] = 0.1
    elif change == "unknown activation":
        layer["activation"] = "sigmod"
    elif change == "unknown layer key":
        layer["weight"] = layer.pop("weights")
    elif change == "loss misspelt":
        document["loss"] = "mse"
    elif change == "learning rate a string":
        document["learning_rate"] = "fast"
    elif change == "no network":
        del document["network"]
    elif change == "samples and input":
        document["samples"] = [{"input": [1, 2], "target": 1}]
    elif change == "parameter named loss":
        layer["weight_names"][0][0] = "loss"
    elif change == "name starting with a digit":
        layer["weight_names"][0][0] = "1w"
    elif change == "expected entry key misspelt":
        document["expected"]["grad.v1"]["erata"] = document["expected"]["grad.v1"].pop("erratum")
    elif change == "expected key with a space":
        document["expected"]["grad v1"] = 0.1
    elif change == "steps and epochs":
        document["steps"] = 2
        document["epochs"] = 2
    elif change == "derivative key in a network problem":
        document["function"] = "x^2"
    elif change == "quiz empty":
        document["quiz"] = []
    elif change == "optimizer setting of another":
        document["optimizer"] = {"name": "momentum", "beta1": 0.9}
    else:
        raise AssertionError(change)
    return document


@pytest.mark.parametrize("change", [
    "unknown top key", "unknown activation", "unknown layer key", "loss misspelt",
    "learning rate a string", "no network", "samples and input", "parameter named loss",
    "name starting with a digit", "expected entry key misspelt", "expected key with a space",
    "steps and epochs", "derivative key in a network problem", "quiz empty",
    "optimizer setting of another",
])
def test_mistakes_are_found(validator: Validator, change: str) -> None:
    assert validator.errors(mutated(change)), change


def test_a_derivative_problem_is_held_to_its_own_keys(validator: Validator) -> None:
    document = {"kind": "derivative", "function": "f(x) = x^2", "at": {"x": 2},
                "expected": {"formula.x": "2*x", "derivative.x": 4, "value": 4}}
    assert validator.errors(document) == []
    assert validator.errors({**document, "loss": "half_squared_error"})
    assert validator.errors({**document, "expected": {"formula.x": 2}})
    assert validator.errors({**document, "expected": {"z.h1": 1}})
    assert validator.errors({"kind": "derivative"})  # no function


def test_format_reference_names_every_key_and_word() -> None:
    from backprop_cli.files.datafiles import INIT_METHODS
    from backprop_cli.model.optimizers import ALL_UPDATE_KINDS

    text = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    words = [*TOP_KEYS, *DERIVATIVE_KEYS, *NETWORK_KEYS, *LAYER_KEYS, *SAMPLE_KEYS,
             *EXPECTED_ENTRY_KEYS, *ACTIVATION_NAMES, *ALIASES, *LOSS_NAMES, *OPTIMIZER_NAMES,
             *INIT_METHODS, *(s for name in OPTIMIZER_NAMES for s in SETTINGS[name])]
    words += [*LAYERED_TOP_KEYS, *(key for keys in TYPE_KEYS.values() for key in keys),
              *TYPE_KEYS]
    missing = [word for word in words if f"`{word}" not in text and f"{word}:" not in text]
    assert missing == []
    value_keys = ["z.", "a.", "dadz.", "loss", "grad.a.", "grad.z.", "grad.", "new.",
                  "input.", "target.", "step<k>.", "final.", "@k",
                  *(f"{kind}.<param>" for kind in ALL_UPDATE_KINDS)]
    assert [key for key in value_keys if f"`{key}" not in text] == []
