"""The one key grammar (backprop_cli/model/keys.py): build -> text -> parse round-trips."""

from __future__ import annotations

import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backprop_cli.model import keys
from backprop_cli.model.keys import (
    KEY_KINDS,
    KeyKind,
    KeyParts,
    compose,
    keys_of,
    prefix_for,
    prefix_of,
    split_key,
    step_number,
    step_of,
    suffix_for,
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
    name = "" if kind == "loss" else draw(NAME)
    steps = st.integers(1, 10**9 - 1)
    if kind in ("input", "target"):
        step: int | None = 1
    elif kind in ("grad", "grad.a", "grad.z", "new", *keys.OPTIMIZER_KINDS):
        step = draw(steps)  # no final. update or gradient: the final pass is forward only
    else:
        step = draw(st.none() | steps)
    per_sample = kind not in ("param", "new", *keys.OPTIMIZER_KINDS)
    sample = draw(st.none() | st.integers(0, 10**9 - 2)) if per_sample else None
    return KeyParts(step, kind, name, sample)


@given(key_parts())
def test_build_text_parse_round_trips(parts: KeyParts) -> None:
    text = parts.text
    assert split_key(text) == parts
    assert value_key(parts.kind, parts.name, parts.step, parts.sample) == text
    assert compose(parts.prefix, parts.kind, parts.name, parts.suffix) == text
    assert keys_of(parts.prefix, parts.kind, [parts.name], parts.suffix) == [text]
    assert step_of(text) == parts.step
    assert prefix_of(text) == parts.prefix


def test_every_kind_is_in_the_literal_type() -> None:
    assert typing.get_args(KeyKind) == KEY_KINDS


def test_the_optimizers_kinds_are_the_grammars() -> None:
    assert keys.OPTIMIZER_KINDS == ALL_UPDATE_KINDS
    assert {kind for kinds in UPDATE_KINDS.values() for kind in kinds} == set(ALL_UPDATE_KINDS)


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
])
def test_split_key(text: str, parts: KeyParts) -> None:
    assert split_key(text) == parts


@pytest.mark.parametrize("text", [
    "", "@1", "z.", "z.h1@0", "z.h1@", "z.h1@x", "z.h1@1@1", "w1@1", "new.w1@1",
    "step1.z.h1", "step02.z.h1", "step2.", "final.grad.w1", "final.grad.a.h1",
    "final.new.w1", "step2.input.x1", "final.target.y", "q.w1", "z.h1.x", "z.h1\n",
    "step10000000000.z.h1", "z.h1@10000000000", "step.z.h1",
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
