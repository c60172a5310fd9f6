"""The one key grammar (backprop_cli/model/keys.py): build -> text -> parse round-trips."""

from __future__ import annotations

import ast
import re
import tokenize
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import backprop_cli
from backprop_cli.model import keys
from backprop_cli.model.keys import (
    EXERCISE_STEP_KEYS,
    KEY_KINDS,
    ExerciseHead,
    KeyKind,
    KeyParts,
    compose,
    exercise_key,
    index_suffix,
    is_formula_key,
    key_glob,
    keys_of,
    prefix_for,
    prefix_of,
    split_exercise_key,
    split_key,
    step_number,
    step_of,
    suffix_for,
    time_suffix,
    value_key,
)
from backprop_cli.model.optimizers import ALL_UPDATE_KINDS, UPDATE_KINDS
from backprop_cli.model.problem import RESERVED_WORDS

NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_^]{0,6}", fullmatch=True).filter(
    lambda name: name not in RESERVED_WORDS)


@st.composite
def key_parts(draw: st.DrawFn) -> KeyParts:
    """Parts of any grammatical key: every kind, step and sample the grammar allows."""
    kind: KeyKind = draw(st.sampled_from(KEY_KINDS))
    if kind in keys.EPOCH_KINDS:  # epoch<k>.loss: k is the name, never a step or a sample
        return KeyParts(1, kind, str(draw(st.integers(1, 10**9 - 1))), None)
    if kind in ("predict.z", "predict.a"):  # always a row's: @k
        return KeyParts(1, kind, draw(NAME), draw(st.integers(0, 10**9 - 2)))
    if kind in ("accuracy", "predict.accuracy"):  # final.accuracy, predict.accuracy
        return KeyParts(None if kind == "accuracy" else 1, kind, "", None)
    name = "" if kind == "loss" else draw(NAME)
    steps = st.integers(1, 10**9 - 1)
    if kind in ("input", "target"):
        step: int | None = 1
    elif kind in ("grad", "grad.a", "grad.z", "new", "change", "error", "grad.input",
                  *keys.OPTIMIZER_KINDS):
        step = draw(steps)  # no final. update or gradient: the final pass is forward only
    else:
        step = draw(st.none() | steps)
    per_sample = kind not in ("param", "new", "change", *keys.OPTIMIZER_KINDS)
    sample = draw(st.none() | st.integers(0, 10**9 - 2)) if per_sample else None
    # layered networks: a tensor index after the name, a time step for per-sample values
    index = None if kind == "loss" else draw(
        st.none() | st.lists(st.integers(1, 10**6), min_size=1, max_size=4).map(tuple))
    per_time = per_sample and kind != "grad"
    time = draw(st.none() | st.integers(1, 10**6)) if per_time else None
    return KeyParts(step, kind, name, sample, index, time)


@given(key_parts())
def test_build_text_parse_round_trips(parts: KeyParts) -> None:
    text = parts.text
    assert split_key(text) == parts
    assert value_key(parts.kind, parts.name, parts.step, parts.sample, parts.index,
                     parts.time) == text
    name = parts.name + index_suffix(parts.index) + time_suffix(parts.time)
    assert compose(parts.prefix, parts.kind, name, parts.suffix) == text
    assert keys_of(parts.prefix, parts.kind, [name], parts.suffix) == [text]
    assert step_of(text) == parts.step
    assert prefix_of(text) == parts.prefix


def test_every_kind_is_in_the_literal_type() -> None:
    assert typing.get_args(KeyKind) == KEY_KINDS


def test_the_optimizers_kinds_are_the_grammars() -> None:
    assert keys.OPTIMIZER_KINDS == ALL_UPDATE_KINDS
    assert {kind for kinds in UPDATE_KINDS.values() for kind in kinds} <= set(ALL_UPDATE_KINDS)


@pytest.mark.parametrize(("text", "parts"), [
    ("z.h1", KeyParts(1, "z", "h1", None)),
    ("step2.grad.a.h1@3", KeyParts(2, "grad.a", "h1", 2)),
    ("final.loss", KeyParts(None, "loss", "", None)),
    ("loss@2", KeyParts(1, "loss", "", 1)),
    ("grad.w1@1", KeyParts(1, "grad", "w1", 0)),
    ("step12.mhat.w1", KeyParts(12, "mhat", "w1", None)),
    ("w1", KeyParts(1, "param", "w1", None)),
    ("stepsize", KeyParts(1, "param", "stepsize", None)),
    ("final.w1", KeyParts(None, "param", "w1", None)),
    ("input.x1@4", KeyParts(1, "input", "x1", 3)),
    ("a.y@01", KeyParts(1, "a", "y", 0)),  # read as it always was; written a.y@1
    ("error.h1@2", KeyParts(1, "error", "h1", 1)),
    ("step3.change.w1", KeyParts(3, "change", "w1", None)),
    ("grad.input.x1@1", KeyParts(1, "grad.input", "x1", 0)),
    ("grad.input", KeyParts(1, "grad", "input", None)),  # a parameter named input
    ("epoch3.loss", KeyParts(1, "epoch.loss", "3", None)),
    ("epoch12.errors", KeyParts(1, "epoch.errors", "12", None)),
    ("epoch1", KeyParts(1, "param", "epoch1", None)),
    ("predict.a.o@2", KeyParts(1, "predict.a", "o", 1)),
    ("final.accuracy", KeyParts(None, "accuracy", "", None)),
    ("accuracy", KeyParts(1, "param", "accuracy", None)),
    ("predict.accuracy", KeyParts(1, "predict.accuracy", "", None)),
])
def test_split_key(text: str, parts: KeyParts) -> None:
    assert split_key(text) == parts


@pytest.mark.parametrize("text", [
    "", "@1", "z.", "z.h1@0", "z.h1@", "z.h1@x", "z.h1@1@1", "w1@1", "new.w1@1",
    "step1.z.h1", "step02.z.h1", "step2.", "final.grad.w1", "final.grad.a.h1",
    "final.new.w1", "step2.input.x1", "final.target.y", "q.w1", "z.h1.x", "z.h1\n",
    "step10000000000.z.h1", "z.h1@10000000000", "step.z.h1",
    "final.error.h1", "final.change.w1", "change.w1@1", "final.grad.input.x1",
    "epoch0.loss", "epoch01.loss", "epoch1.loss@1", "step2.epoch1.loss", "epoch1.los",
    "predict.a.o", "predict.a.o.x@1", "final.predict.a.o@1", "predict.accuracy@1",
    "final.accuracy@1", "predict.w.o@1",
])
def test_split_key_refuses(text: str) -> None:
    assert split_key(text) is None


def test_prefixes_suffixes_and_steps() -> None:
    assert [prefix_for(s) for s in (1, 2, None)] == ["", "step2.", "final."]
    assert [suffix_for(s) for s in (None, 0, 9)] == ["", "@1", "@10"]
    assert [step_number(t) for t in ("step3.z", "step0.", "step", "step3", "stepx.")] == [
        3, 0, None, None, None]
    assert [prefix_of(t) for t in ("step3.z.h1", "final.w", "w", "step.w")] == [
        "step3.", "final.", "", ""]


# --------------------------------------------------------- no key grammar by hand

PACKAGE = Path(backprop_cli.__file__).parent
_HEADS = r"(?:z|a|dadz|grad|new|input|target|v|m|s|mhat|shat|final|loss|step)"
# an f-string that writes a key: a kind's head before a field, a field before a head,
# a sample or step number from a field, or the names of a prefix or a suffix
_FSTRING_KEY = re.compile(r"(?<!\w)" + _HEADS + r"[.@]\{|\}" + _HEADS + r"[.@]|@\{(?!\{)|\}loss\b|"
                          r"step\{[^{}]*\}\.|\{(?:self\.)?(?:prefix|pre|suffix|sfx)\}|\{kind\}\.|"
                          r"\{prefix_for\(|sample_suffix\(")
# a regex that reads one: a step prefix or a sample suffix
_REGEX_KEY = re.compile(r"step(?:\\d|\[0-9\])|final\\\\?\.|@(?:\[0-9\]|\\d|\[1-9\])")
# keys of other grammars, each said where it lives: the derivative exercise's own keys
# (value.x, derivative.f.g, formula.f.g: kinds/derivative.py and its schema pattern) and
# the report entries of gradcheck and probe that are no value of the network
ALLOWED = {
    ("kinds/derivative.py", 'f"formula.{'), ("kinds/derivative.py", 'f"value.{'),
    ("kinds/derivative.py", 'f"derivative.{'), ("app/gradcheck.py", 'f"numgrad.{'),
    ("app/gradcheck.py", 'f"abs_error.{'), ("app/gradcheck.py", 'f"rel_error.{'),
    ("app/probe.py", 'f"nudged.{'),
}


_HEAD_STRING = re.compile(r"^([\"'])" + _HEADS + r"\.\1$")


def _strings(path: Path) -> Iterator[tuple[int, str]]:
    """Every string literal, and every '+' beside a kind's head ("new." + name)."""
    with path.open("rb") as handle:
        tokens = [t for t in tokenize.tokenize(handle.readline)
                  if t.type not in (tokenize.NL, tokenize.COMMENT)]
    for index, token in enumerate(tokens):
        if token.type != tokenize.STRING:
            continue
        yield token.start[0], token.string
        near = {tokens[i].string for i in (index - 1, index + 1) if 0 <= i < len(tokens)}
        if "+" in near and _HEAD_STRING.match(token.string):
            yield token.start[0], f"{token.string} + ..."


def _by_hand(path: Path, relative: str) -> list[str]:
    found = []
    for line, text in _strings(path):
        if any(relative == where and text.startswith(start) for where, start in ALLOWED):
            continue
        prefix = text[: len(text) - len(text.lstrip("rRbBfFuU"))].lower()
        if (text.endswith(" + ...") or ("f" in prefix and _FSTRING_KEY.search(text))
                or _REGEX_KEY.search(text)):
            found.append(f"{relative}:{line}: {text}")
    return found


def test_no_module_builds_or_parses_keys_by_hand() -> None:
    """Keys are written and read by model/keys.py alone (the grammar's one home)."""
    sources = {path.relative_to(PACKAGE).as_posix(): path for path in PACKAGE.rglob("*.py")}
    found = [hit for relative, path in sorted(sources.items()) if relative != "model/keys.py"
             for hit in _by_hand(path, relative)]
    assert found == []


@pytest.mark.parametrize("source", [
    'f"{prefix}z.{unit}{sfx}"', 'f"grad.{name}"', 'f"{p}loss@{k + 1}"', 'f"step{k}."',
    'f"final.{n}"', 'f"{prefix}{kind}.{name}"', 'f"final.a.{o}"', 'f"{prefix_for(k)}loss"',
    're.compile(r"^(step\\d+\\.|final\\.)")', 'r"(@[1-9][0-9]*)?$"', 'prefix + "new."',
    '"grad." + name',
])
def test_the_hand_made_key_check_sees(source: str, tmp_path: Path) -> None:
    path = tmp_path / "by_hand.py"
    path.write_text(f"x = {source}\n", encoding="utf-8")
    assert _by_hand(path, "app/by_hand.py")


def _imports(relative: str) -> list[tuple[str, bool]]:
    """(module, at top level) of every backprop_cli import of a package module."""
    tree = ast.parse((PACKAGE / relative).read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("backprop_cli"):
            found.append((node.module or "", id(node) in top))
    return found


def test_the_grammar_is_a_leaf_and_the_problem_needs_no_lazy_import() -> None:
    assert _imports("model/keys.py") == [("backprop_cli.records", True)]
    for relative in ("model/problem.py", "model/keyspace.py"):
        imports = _imports(relative)
        assert all(top for _, top in imports), relative
    assert "backprop_cli.model.keyspace" not in dict(_imports("model/problem.py"))


@pytest.mark.parametrize(("text", "index", "time", "sample"), [
    ("z.C[1,2,3]", (1, 2, 3), None, None),
    ("grad.K[1,1,2,2]", (1, 1, 2, 2), None, None),
    ("z.h#2", None, 2, None),
    ("step2.grad.a.h#1@2", None, 1, 1),
    ("grad.input.x[1,2,3]@3", (1, 2, 3), None, 2),
])
def test_layered_keys_split(text: str, index: tuple[int, ...] | None, time: int | None,
                            sample: int | None) -> None:
    parts = split_key(text)
    assert parts is not None and parts.text == text
    assert (parts.index, parts.time, parts.sample) == (index, time, sample)


@pytest.mark.parametrize("text", ["z.C[0,1]", "z.C[1,]", "z.C[]", "z.h#0", "grad.w#2",
                                  "new.K[1]@1", "K[1]#2", "loss[1]", "z.C[1,2"])
def test_layered_keys_rejected(text: str) -> None:
    assert split_key(text) is None


def test_key_glob_brackets_are_the_keys_own() -> None:
    assert key_glob("grad.K[*]").match("grad.K[1,1,2,2]")
    assert not key_glob("grad.K[*]").match("grad.c[1]")
    assert key_glob("grad.K[1,1,2,2]").match("grad.K[1,1,2,2]")
    assert not key_glob("grad.K[1,1,2,2]").match("grad.K[1,1,2,1]")
    assert key_glob("z.h#?").match("z.h#3") and not key_glob("z.h#?").match("z.h#3@1")


# --------------------------------------------------- derivative exercises' keys


@pytest.mark.parametrize("head,names,text", [
    ("value", (), "value"), ("value", ("q",), "value.q"), ("derivative", ("x",), "derivative.x"),
    ("derivative", ("z", "y"), "derivative.z.y"), ("derivative2", ("x", "y"), "derivative2.x.y"),
    ("formula", ("q",), "formula.q"), ("formula2", ("y", "y"), "formula2.y.y"),
])
def test_exercise_keys_are_built_and_split_by_one_grammar(head: ExerciseHead,
                                                          names: tuple[str, ...],
                                                          text: str) -> None:
    assert exercise_key(head, *names) == text
    assert split_exercise_key(text) == (head, names)
    assert is_formula_key(text) == head.startswith("formula")


@pytest.mark.parametrize("text", ["derivative", "derivative2.x", "derivative2.x.y.z",
                                  "formula.a.b.c", "value.a.b", "derivative..x", "grad.x",
                                  "z.h1"])
def test_what_is_no_exercise_key(text: str) -> None:
    assert split_exercise_key(text) is None


def test_the_change_keys_stand_alone() -> None:
    assert [split_exercise_key(k) for k in EXERCISE_STEP_KEYS] == [
        (k, ()) for k in EXERCISE_STEP_KEYS]
