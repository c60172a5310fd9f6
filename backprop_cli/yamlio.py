"""A safe YAML reader that keeps the source position of every value.

It builds its own small tree (:class:`YMap`, :class:`YSeq`, :class:`YScalar`)
from PyYAML's event stream (the C parser when available), so that:

- nothing is ever constructed from a tag: only the standard scalar and
  collection tags are accepted, every other tag is an error;
- plain scalars follow the YAML 1.2 core schema (``1e-3`` is a float,
  ``yes`` is a string);
- duplicate mapping keys are errors (PyYAML keeps the last one silently);
- aliases are counted before anything is expanded (no "billion laughs"),
  nesting depth and file size are bounded;
- every value carries its line and column, and scalars keep their source
  text (the checker reads the precision an author wrote from it).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from backprop_cli.errors import Mark, ProblemError

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 2_000_000

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_TRUE = re.compile(r"^(?:true|True|TRUE)$")
_FALSE = re.compile(r"^(?:false|False|FALSE)$")
_INT10 = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
    "!",
}


@dataclass
class YNode:
    """A value read from YAML with its position."""

    mark: Mark


@dataclass
class YScalar(YNode):
    value: Any  # None, bool, int, float or str
    text: str  # the scalar as written in the source
    quoted: bool = False


@dataclass
class YSeq(YNode):
    items: list[YNode] = field(default_factory=list)
    flow: bool = False


@dataclass
class YMap(YNode):
    # key -> (mark of the key, value node); insertion order is the file's order
    entries: dict[str, tuple[Mark, YNode]] = field(default_factory=dict)

    def get(self, key: str) -> YNode | None:
        entry = self.entries.get(key)
        return entry[1] if entry else None

    def key_mark(self, key: str) -> Mark:
        return self.entries[key][0]


def _mark(event: Any) -> Mark:
    m = event.start_mark
    return Mark(m.line + 1, m.column + 1)


def resolve_plain(text: str) -> Any:
    """The YAML 1.2 core-schema value of a plain (unquoted) scalar."""
    if _NULL.match(text):
        return None
    if _TRUE.match(text):
        return True
    if _FALSE.match(text):
        return False
    if _INT10.match(text):
        return int(text)
    if _INT8.match(text):
        return int(text[2:], 8)
    if _INT16.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text


def _resolve_tagged(tag: str, text: str, mark: Mark) -> Any:
    short = tag.rsplit(":", 1)[-1]
    if short == "str" or tag == "!":
        return text
    value = resolve_plain(text)
    expected = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}[short]
    if short != "bool" and isinstance(value, bool):
        value = text
    if not isinstance(value, expected):  # type: ignore[arg-type]
        raise ProblemError(f"'{text}' is not a valid !!{short}", mark)
    return float(value) if short == "float" else value


def _check_tag(tag: str | None, mark: Mark) -> None:
    if tag is not None and tag not in _STANDARD_TAGS:
        raise ProblemError(
            f"YAML tag '{tag}' is not allowed: problem files hold plain data only", mark
        )


class _Builder:
    """Turns an event stream into a tree, iteratively (no recursion limit)."""

    def __init__(self) -> None:
        self.anchors: dict[str, tuple[YNode, int]] = {}
        self.stack: list[tuple[YNode, int, str | None, Mark | None]] = []
        self.root: YNode | None = None
        self.documents = 0

    def _attach(self, node: YNode, size: int, key_event_mark: Mark) -> None:
        if not self.stack:
            self.root = node
            return
        parent, psize, pending_key, pending_mark = self.stack[-1]
        if isinstance(parent, YSeq):
            parent.items.append(node)
            self.stack[-1] = (parent, psize + size, None, None)
            return
        assert isinstance(parent, YMap)
        if pending_key is None:
            if not isinstance(node, YScalar):
                raise ProblemError("mapping keys must be plain names, not lists or mappings",
                                   node.mark)
            if node.value is None or isinstance(node.value, bool):
                key = node.text
            else:
                key = str(node.value) if not isinstance(node.value, str) else node.value
            if key == "<<" and not node.quoted:
                raise ProblemError("YAML merge keys ('<<') are not supported", node.mark)
            if key in parent.entries:
                first = parent.entries[key][0]
                raise ProblemError(
                    f"duplicate key '{key}' (first defined at line {first.line})", node.mark
                )
            self.stack[-1] = (parent, psize + size, key, node.mark)
        else:
            assert pending_mark is not None
            parent.entries[pending_key] = (pending_mark, node)
            self.stack[-1] = (parent, psize + size, None, None)

    def _register(self, anchor: str | None, node: YNode, size: int) -> None:
        if anchor is not None:
            self.anchors[anchor] = (node, size)

    def feed(self, event: Any) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise ProblemError("a problem file holds one YAML document, found several",
                                   _mark(event))
        elif isinstance(event, yaml.ScalarEvent):
            mark = _mark(event)
            _check_tag(event.tag, mark)
            plain = event.style in (None, "") and event.implicit[0]
            if plain:
                value = resolve_plain(event.value)
            elif event.tag and event.tag != "!":
                value = _resolve_tagged(event.tag, event.value, mark)
            else:
                value = event.value
            scalar = YScalar(mark, value, event.value, quoted=not plain)
            self._register(event.anchor, scalar, 1)
            self._attach(scalar, 1, mark)
        elif isinstance(event, yaml.AliasEvent):
            mark = _mark(event)
            if event.anchor not in self.anchors:
                raise ProblemError(f"unknown alias '*{event.anchor}'", mark)
            target, size = self.anchors[event.anchor]
            if any(open_node is target for open_node, _, _, _ in self.stack):
                raise ProblemError(f"recursive alias '*{event.anchor}'", mark)
            self._attach(target, size, mark)
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            mark = _mark(event)
            _check_tag(event.tag, mark)
            if len(self.stack) >= MAX_DEPTH:
                raise ProblemError(f"nesting deeper than {MAX_DEPTH} levels", mark)
            collection: YNode
            if isinstance(event, yaml.SequenceStartEvent):
                collection = YSeq(mark, flow=bool(event.flow_style))
            else:
                collection = YMap(mark)
            self.stack.append((collection, 1, None, None))
            if event.anchor is not None:
                self.anchors[event.anchor] = (collection, 1)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            closed, size, _, _ = self.stack.pop()
            for anchor, (anchored, _) in list(self.anchors.items()):
                if anchored is closed:
                    self.anchors[anchor] = (closed, size)
            if size > MAX_EXPANDED_NODES:
                raise ProblemError(
                    "the document expands to too many values (aliases nested too deeply?)",
                    closed.mark,
                )
            self._attach(closed, size, closed.mark)
            if self.stack:
                top, tsize, _, _ = self.stack[-1]
                if tsize > MAX_EXPANDED_NODES:
                    raise ProblemError(
                        "the document expands to too many values (aliases nested too deeply?)",
                        top.mark,
                    )


def parse_yaml(text: str) -> YNode | None:
    """Parse one YAML document into a positioned tree (None for an empty file)."""
    builder = _Builder()
    try:
        for event in yaml.parse(text, Loader=_Loader):
            builder.feed(event)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = Mark(mark.line + 1, mark.column + 1) if mark else None
        problem = error.problem or "invalid YAML"
        if ("\t" in text and "tab" in problem.lower()) or "found character '\\t'" in problem:
            problem = "tab character: YAML indents with spaces only"
        context = f" ({error.context})" if error.context else ""
        raise ProblemError(f"YAML syntax error: {problem}{context}", where) from None
    except yaml.YAMLError as error:
        raise ProblemError(f"YAML error: {error}") from None
    return builder.root


def read_text(path: Path) -> str:
    """Read a problem file as UTF-8 text, refusing huge and binary files."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ProblemError(f"cannot read file: {error.strerror}", path=str(path)) from None
    if size > MAX_FILE_BYTES:
        raise ProblemError(
            f"file is {size / 1e6:.1f} MB, over the {MAX_FILE_BYTES // 1_000_000} MB limit",
            path=str(path),
        )
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ProblemError(f"cannot read file: {error.strerror}", path=str(path)) from None
    if b"\x00" in raw:
        raise ProblemError("binary file, not a YAML problem file", Mark(1, 1), path=str(path))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise ProblemError(
            f"not UTF-8 text (byte 0x{raw[error.start]:02x})", Mark(line, column), path=str(path)
        ) from None
    return text


def to_python(node: YNode | None) -> Any:
    """Plain Python data from a tree (for tools that do not need positions)."""
    if node is None:
        return None
    if isinstance(node, YScalar):
        return node.value
    if isinstance(node, YSeq):
        return [to_python(item) for item in node.items]
    assert isinstance(node, YMap)
    return {key: to_python(value) for key, (_, value) in node.entries.items()}
