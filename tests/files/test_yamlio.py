"""The YAML reader's fast loop gives what its reference path gives, event for event.

:func:`backprop_cli.files.yamlio.build` handles the common events itself and hands
the rest to :meth:`_Builder.feed`, which can build any document alone. Both
must agree on every document: the same tree (values, source text, positions)
or the same error at the same place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from backprop_cli.errors import ProblemError
from backprop_cli.files.yamlio import (
    YMap,
    YNode,
    YScalar,
    YSeq,
    _Builder,
    _check_characters,
    _Parser,
    build,
    parse_yaml,
)
from tests.cli.test_fuzz import SLOW_OK, documents, yamlish

ROOT = Path(__file__).resolve().parent.parent.parent
FILES = sorted([*ROOT.glob("problems/*.yaml"), *ROOT.glob("tests/bad/*.yaml")])


def _outcome(text: str, fast: bool) -> Any:
    """The tree as plain data with positions, or the error with its place."""
    builder = _Builder()
    try:
        _check_characters(text)  # as parse_yaml does, before any parser sees the text
        parser = _Parser(text)
        if fast:
            build(builder, parser.get_event)
        else:
            while (event := parser.get_event()) is not None:
                builder.feed(event)
    except ProblemError as error:
        return ("error", error.message, error.mark)
    except yaml.YAMLError as error:
        return ("yaml error", str(error))
    return _plain(builder.root)


def _plain(node: YNode | None) -> Any:
    if node is None:
        return None
    if isinstance(node, YScalar):
        return ("scalar", node.mark, repr(node.value), node.text, node.quoted)
    if isinstance(node, YSeq):
        return ("seq", node.mark, node.flow, [_plain(item) for item in node.items])
    assert isinstance(node, YMap)
    return ("map", node.mark, [(key, mark, _plain(value))
                               for key, (mark, value) in node.entries.items()])


def _same(text: str) -> None:
    assert _outcome(text, fast=True) == _outcome(text, fast=False)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fast_loop_matches_the_reference_on_every_file(path: Path) -> None:
    _same(path.read_text(encoding="utf-8", errors="replace"))


@pytest.mark.parametrize("text", [
    "a: 1\nb: [1, 2, {c: d}]\n",
    "a: &x [1, 2]\nb: *x\nc: !!str 3\n",
    "? [1, 2]\n: 3\n",  # a list as a key
    "? {a: 1}\n: 3\n",
    "a: 1\na: 2\n",
    "<<: {a: 1}\n",
    "'<<': 1\n",
    "[1, 2, 3]\n",
    "- a\n- - b\n  - c\n",
    "x\n",
    "a: !!python/object:os.system 1\n",
    "a: &a [*a]\n",
    "a: 1\n---\nb: 2\n",
    "'1.0': a\n1.0: b\n",
    "a: !!int '7'\nb: !!float 1\nc: !!bool true\n",
    "a: &b !!map {c: 1}\nd: *b\n",
    "n: 1e400\nm: -.inf\no: 0x1F\np: 0o17\nq: ~\nr: True\ns: ''\n",
])
def test_fast_loop_matches_the_reference_on_corner_cases(text: str) -> None:
    _same(text)


def test_fast_loop_keeps_the_depth_limit() -> None:
    deep = "[" * 70 + "]" * 70
    assert _outcome(deep, fast=True)[0] == "error"
    _same(deep)


@SLOW_OK
@given(st.one_of(yamlish, documents.map(yaml.safe_dump),
                 documents.map(lambda d: yaml.safe_dump(d, default_flow_style=True))))
def test_fast_loop_matches_the_reference_on_random_yaml(text: str) -> None:
    _same(text)


def test_parse_yaml_reads_positions_and_values() -> None:
    root = parse_yaml("a:\n  - 1.5\n  - 'x'\nb: {c: null}\n")
    assert isinstance(root, YMap)
    items = root.get("a")
    assert isinstance(items, YSeq)
    first, second = items.items
    assert isinstance(first, YScalar) and isinstance(second, YScalar)
    assert (first.value, first.text, tuple(first.mark)) == (1.5, "1.5", (2, 5))
    assert (second.value, second.quoted, tuple(second.mark)) == ("x", True, (3, 5))
    assert tuple(root.key_mark("b")) == (4, 1)
    inner = root.get("b")
    assert isinstance(inner, YMap)
    c = inner.get("c")
    assert isinstance(c, YScalar) and c.value is None


@given(st.text(alphabet="0123456789+-.eE", min_size=1, max_size=12))
def test_plain_numbers_follow_the_core_schema(text: str) -> None:
    """resolve_plain's float() shortcut reads exactly what the core schema's regex reads."""
    from backprop_cli.files.yamlio import _DECIMAL, resolve_plain

    value = resolve_plain(text)
    if _DECIMAL.fullmatch(text) is None:
        assert value == text
    elif "." in text or "e" in text or "E" in text:
        assert type(value) is float and value == float(text)
    else:
        assert type(value) is int and value == int(text)


def test_the_refused_characters_are_the_complement_of_the_allowed_ones() -> None:
    """The patterns list the characters refused (a negated class over all of Unicode
    costs 12 ms to compile on every run); each is exactly the complement of what YAML,
    an escape, or XML allows."""
    import re

    from backprop_cli.files import yamlio
    from backprop_cli.render import sanitize

    every = "".join(map(chr, range(0x110000)))
    allowed = {
        yamlio._BAD_CHARACTER: "[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd"
                               "\U00010000-\U0010ffff]",
        yamlio._BAD_ESCAPED: "[^\t\n\x20-\x7e\xa0-\u2027\u202f-\u2065\u206a-\ud7ff"
                             "\ue000-\ufffd\U00010000-\U0010ffff]",
        sanitize._XML_INVALID: "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]",
    }
    for refused, complement in allowed.items():
        assert refused.findall(every) == re.compile(complement).findall(every)
