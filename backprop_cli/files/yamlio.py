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

import errno
import gc
import math
import os
import re
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import yaml

from backprop_cli.errors import Mark, ProblemError
from backprop_cli.files import trust

if TYPE_CHECKING:
    from pathlib import Path  # annotations only: pathlib costs start-up time

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64
# Values in the document once aliases are expanded. Reading costs about a microsecond
# per value, so this also bounds the time a huge list takes to be refused; large
# networks keep their numbers in .npy files, not in YAML.
MAX_EXPANDED_NODES = 1_000_000

# Only the event stream is used: libyaml's parser alone where PyYAML has it (none of the
# Python constructor and resolver that CSafeLoader adds), else the pure-Python one.
_Parser: Any = getattr(getattr(yaml, "_yaml", None), "CParser", yaml.SafeLoader)

# The YAML 1.2 core schema for plain scalars: these numbers and the words below (decimals
# first and with one match: a large file has millions of them).
_DECIMAL = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_OTHER_NUMBER = re.compile(
    r"(?P<oct>0o[0-7]+)|(?P<hex>0x[0-9a-fA-F]+)"
    r"|(?P<inf>[-+]?\.(?:inf|Inf|INF))|(?P<nan>\.(?:nan|NaN|NAN))"
)

_STANDARD_PREFIX = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_STANDARD_PREFIX + name for name in ("str", "int", "float", "bool", "null")}
_STANDARD_TAGS = _SCALAR_TAGS | {_STANDARD_PREFIX + "seq", _STANDARD_PREFIX + "map"}


# Mark(line, column) without the Python-level __new__ of a named tuple (hot path)
_new_mark: Any = tuple.__new__

# Plain classes with slots rather than data classes: one is made per value of
# every file a batch checks, and they are defined at every start of the tool.


class YNode:
    """A value read from YAML with its position.

    The reader keeps the position as the parser gives it (0-based line and
    column) and it becomes a :class:`Mark` when first read: most positions only
    serve error messages, and making a Mark for every value took a fifth of the
    reading time of a file.
    """

    __slots__ = ("_at",)

    def __init__(self, mark: Mark) -> None:
        self._at: Any = mark

    @property
    def mark(self) -> Mark:
        at = self._at
        if at.__class__ is not Mark:  # the parser's own mark, 0-based
            at = self._at = _new_mark(Mark, (at.line + 1, at.column + 1))
        return at

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields())
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._fields())

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def _fields(self) -> tuple[str, ...]:
        return tuple("mark" if n == "_at" else n for klass in reversed(type(self).__mro__)
                     for n in getattr(klass, "__slots__", ()))


class YScalar(YNode):
    __slots__ = ("quoted", "text", "value")

    def __init__(self, mark: Mark, value: Any, text: str, quoted: bool = False) -> None:
        self._at = mark
        self.value = value  # None, bool, int, float or str
        self.text = text  # the scalar as written in the source
        self.quoted = quoted


class YSeq(YNode):
    __slots__ = ("flow", "items")

    def __init__(self, mark: Mark, items: list[YNode] | None = None, flow: bool = False) -> None:
        self._at = mark
        self.items = [] if items is None else items
        self.flow = flow


class YMap(YNode):
    __slots__ = ("entries",)

    def __init__(self, mark: Mark, entries: dict[str, tuple[Mark, YNode]] | None = None) -> None:
        self._at = mark
        # key -> (mark of the key, value node); insertion order is the file's order
        self.entries = {} if entries is None else entries

    def get(self, key: str) -> YNode | None:
        entry = self.entries.get(key)
        return entry[1] if entry else None

    def key_mark(self, key: str) -> Mark:
        return self.entries[key][0]


def _mark(event: Any) -> Mark:
    m = event.start_mark
    return Mark(m.line + 1, m.column + 1)


def _big_int(text: str) -> Any:
    # Python refuses int() of more than 4300 digits (CVE-2020-10735); such a number is
    # beyond every float anyway, so it reads as the infinity the loader then rejects.
    try:
        return int(text)
    except ValueError:
        return math.inf if not text.startswith("-") else -math.inf


_WORDS: dict[str, Any] = {
    "": None, "~": None, "null": None, "Null": None, "NULL": None,
    "true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
}
_NUMBER_START = frozenset("0123456789+-.")
_DECIMAL_CHARACTERS = "0123456789+-.eE"


def resolve_plain(text: str) -> Any:
    """The YAML 1.2 core-schema value of a plain (unquoted) scalar."""
    if text in _WORDS:
        return _WORDS[text]
    if text[0] not in _NUMBER_START:  # names, the most common scalars after numbers
        return text
    if not text.strip(_DECIMAL_CHARACTERS) and ("." in text or "e" in text or "E" in text):
        # Over these characters Python's float syntax is the core schema's (_DECIMAL), and
        # float() alone is the cheaper test (tests/files/test_yamlio.py holds the two together)
        try:
            return float(text)
        except ValueError:
            return text
    if _DECIMAL.fullmatch(text):
        if "." in text or "e" in text or "E" in text:
            return float(text)
        return _big_int(text)
    match = _OTHER_NUMBER.fullmatch(text)
    if match is None:
        return text
    kind = match.lastgroup
    if kind == "oct":
        return int(text[2:], 8)  # power-of-two bases have no digit limit
    if kind == "hex":
        return int(text[2:], 16)
    if kind == "inf":
        return -math.inf if text.startswith("-") else math.inf
    return math.nan


def show_tag(tag: str) -> str:
    """A tag as people write it: '!!python/object' rather than 'tag:yaml.org,2002:...'."""
    return "!!" + tag[len(_STANDARD_PREFIX):] if tag.startswith(_STANDARD_PREFIX) else tag


def _resolve_tagged(tag: str, text: str, mark: Mark) -> Any:
    short = tag[len(_STANDARD_PREFIX):]
    if short == "str" or tag == "!":
        return text
    value = resolve_plain(text)
    expected = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}[short]
    if short != "bool" and isinstance(value, bool):
        value = text
    if not isinstance(value, expected):  # type: ignore[arg-type]
        raise ProblemError(f"'{_short(text)}' is not a valid !!{short}", mark)
    if short == "float":
        try:
            return float(value)
        except OverflowError:  # a huge integer written as !!float
            return math.inf if value > 0 else -math.inf
    return value


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_tag(tag: str | None, mark: Mark, kind: str) -> None:
    """Refuse every tag but the plain-data ones, and those on the wrong kind of node."""
    if tag is None or tag == "!":
        return
    if tag not in _STANDARD_TAGS:
        raise ProblemError(
            f"YAML tag '{_short(show_tag(tag), 80)}' is not allowed: problem files hold plain "
            "data only (no tag ever constructs an object)", mark)
    fits = {"scalar": _SCALAR_TAGS, "list": {_STANDARD_PREFIX + "seq"},
            "mapping": {_STANDARD_PREFIX + "map"}}[kind]
    if tag not in fits:
        raise ProblemError(f"YAML tag '{show_tag(tag)}' cannot mark a {kind}", mark)


class _Open:
    """A collection being built: its node, expanded size, anchor and a pending key."""

    __slots__ = ("anchor", "key", "key_mark", "node", "size")

    def __init__(self, node: YMap | YSeq, anchor: str | None) -> None:
        self.node = node
        self.size = 1
        self.anchor = anchor
        self.key: str | None = None
        self.key_mark: Mark | None = None


class _Builder:
    """Turns an event stream into a tree, iteratively (no recursion limit).

    Aliases share the anchored node instead of copying it; what an alias would
    expand to is only counted, so an alias bomb is refused before anything grows.
    """

    def __init__(self) -> None:
        self.anchors: dict[str, tuple[YNode, int]] = {}
        self.stack: list[_Open] = []
        self.root: YNode | None = None
        self.documents = 0
        self.aliases = 0

    def _attach(self, node: YNode, size: int, mark: Mark | None = None) -> None:
        """Add ``node`` to the open collection; ``mark``: where it was used, for an alias."""
        if not self.stack:
            self.root = node
            return
        top = self.stack[-1]
        top.size += size
        if top.size > MAX_EXPANDED_NODES:
            self._too_big(mark or node.mark)
        parent = top.node
        if isinstance(parent, YSeq):
            parent.items.append(node)
            return
        if top.key is None:
            if not isinstance(node, YScalar):
                raise ProblemError("mapping keys must be plain names, not lists or mappings",
                                   node.mark)
            # the key as written: '1.0' stays '1.0', and no huge number is converted
            key = node.value if isinstance(node.value, str) else node.text
            if key == "<<" and not node.quoted:
                raise ProblemError("YAML merge keys ('<<') are not supported", node.mark)
            if key in parent.entries:
                self._duplicate(key, parent.entries[key][0], node.mark)
            top.key, top.key_mark = key, node.mark
        else:
            assert top.key_mark is not None
            parent.entries[top.key] = (top.key_mark, node)
            top.key = top.key_mark = None

    @staticmethod
    def _duplicate(key: str, first: Mark, mark: Mark) -> None:
        raise ProblemError(f"duplicate key '{_short(key)}' (first defined at line "
                           f"{first.line}): YAML would silently keep only the last one", mark)

    def _too_big(self, mark: Mark) -> None:
        if self.aliases:
            raise ProblemError(
                f"the aliases in this file expand to more than {MAX_EXPANDED_NODES:,} values "
                "(an alias bomb?): refused before expanding them", mark)
        raise ProblemError(f"the file holds more than {MAX_EXPANDED_NODES:,} values: "
                           "too large for a problem file", mark)

    def feed(self, event: Any) -> None:
        if type(event) is yaml.ScalarEvent:  # most events: the fast path first
            start: Any = event.start_mark
            mark = _new_mark(Mark, (start.line + 1, start.column + 1))
            tag = event.tag
            text = event.value
            plain = not event.style and event.implicit[0]
            if plain:
                value = resolve_plain(text)
            elif tag is not None and tag != "!":
                _check_tag(tag, mark, "scalar")
                value = _resolve_tagged(tag, text, mark)
            else:
                value = text
            scalar = YScalar(mark, value, text, not plain)
            if event.anchor is not None:
                self.anchors[event.anchor] = (scalar, 1)
            self._attach(scalar, 1)
        elif isinstance(event, yaml.AliasEvent):
            mark = _mark(event)
            name = str(event.anchor)
            if name not in self.anchors:
                raise ProblemError(f"unknown alias '*{_short(name)}' (no anchor "
                                   f"'&{_short(name)}' before it)", mark)
            target, size = self.anchors[name]
            if any(open_.node is target for open_ in self.stack):
                raise ProblemError(f"recursive alias '*{_short(name)}' (it refers to "
                                   "a list or mapping that contains it)", mark)
            self.aliases += 1
            self._attach(target, size, mark)
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            mark = _mark(event)
            is_seq = isinstance(event, yaml.SequenceStartEvent)
            _check_tag(event.tag, mark, "list" if is_seq else "mapping")
            if len(self.stack) >= MAX_DEPTH:
                raise ProblemError(f"nesting deeper than {MAX_DEPTH} levels", mark)
            collection: YMap | YSeq = (YSeq(mark, flow=bool(event.flow_style)) if is_seq
                                       else YMap(mark))
            self.stack.append(_Open(collection, event.anchor))
            if event.anchor is not None:
                self.anchors[event.anchor] = (collection, 1)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            closed = self.stack.pop()
            anchor = closed.anchor
            # an anchor redefined inside the collection keeps its newer meaning
            if anchor is not None and self.anchors.get(anchor, (None, 0))[0] is closed.node:
                self.anchors[anchor] = (closed.node, closed.size)
            self._attach(closed.node, closed.size)
        elif isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise ProblemError("a problem file holds one YAML document, found several "
                                   "('---' starts another)", _mark(event))


def build(builder: _Builder, next_event: Callable[[], Any]) -> None:
    """Feed every event from ``next_event`` (None at the end) to ``builder``.

    The events of a problem file are almost all plain scalars and untagged
    collections: those are handled here, in one loop with local names (calls
    per event took a third of a file's reading time). Anything with a tag or
    an anchor, aliases and document events take :meth:`_Builder.feed`; both
    give the same tree and errors (tests/files/test_yamlio.py compares them).
    """
    feed = builder.feed
    stack = builder.stack
    scalar_event = yaml.ScalarEvent
    seq_start, map_start = yaml.SequenceStartEvent, yaml.MappingStartEvent
    seq_end, map_end = yaml.SequenceEndEvent, yaml.MappingEndEvent
    new_mark = _new_mark
    words = _WORDS
    number_start = _NUMBER_START
    limit = MAX_EXPANDED_NODES
    while (event := next_event()) is not None:
        kind = type(event)
        node: YNode
        if kind is scalar_event:
            if not stack or event.anchor is not None or (
                    event.tag is not None and event.tag != "!"):
                feed(event)
                continue
            start = event.start_mark
            text = event.value
            plain = not event.style and event.implicit[0]
            top = stack[-1]
            parent: Any = top.node  # YMap or YSeq, told apart by class (no isinstance)
            if top.key is None and parent.__class__ is YMap:
                # a key, as written: '1.0' stays '1.0', and no huge number is converted
                mark = new_mark(Mark, (start.line + 1, start.column + 1))
                top.size += 1
                if top.size > limit:
                    builder._too_big(mark)
                if plain and text == "<<":
                    raise ProblemError("YAML merge keys ('<<') are not supported", mark)
                entries = parent.entries
                if text in entries:
                    builder._duplicate(text, entries[text][0], mark)
                top.key, top.key_mark = text, mark
                continue
            if not plain:
                value: Any = text
            elif text in words:
                value = words[text]
            elif text[0] in number_start:
                value = resolve_plain(text)
            else:
                value = text
            node = YScalar(start, value, text, not plain)  # the mark made when read
            size = 1
        elif kind is seq_end or kind is map_end:
            closed = stack.pop()
            node, size = closed.node, closed.size
            anchor = closed.anchor
            # an anchor redefined inside the collection keeps its newer meaning
            if anchor is not None and builder.anchors.get(anchor, (None, 0))[0] is node:
                builder.anchors[anchor] = (node, size)
            if not stack:
                builder.root = node
                continue
            top = stack[-1]
            parent = top.node
            if top.key is None and parent.__class__ is YMap:
                builder._attach(node, size)  # a list or mapping as a key: its error
                continue
        elif (kind is map_start or kind is seq_start) and event.anchor is None and (
                event.tag is None or event.tag == "!") and len(stack) < MAX_DEPTH:
            start = event.start_mark
            collection: YMap | YSeq = (YMap(start) if kind is map_start
                                       else YSeq(start, flow=bool(event.flow_style)))
            stack.append(_Open(collection, None))
            continue
        else:
            feed(event)
            continue
        top.size += size
        if top.size > limit:
            builder._too_big(node.mark)
        if parent.__class__ is YSeq:
            parent.items.append(node)
        else:
            parent.entries[top.key] = (top.key_mark, node)
            top.key = top.key_mark = None


# Written as the characters refused, not as the complement of those allowed: a negated
# class over the whole of Unicode costs 12 ms to compile, on every run of every command.
# tests/files/test_yamlio.py holds each to its complement over every code point.
_BAD_CHARACTER = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
# what an escape in a double-quoted value may not produce: the characters above, tab and
# new line aside, and the bidirectional overrides (a value shown reversed)
_BAD_ESCAPED = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def _position(text: str, index: int) -> Mark:
    line_start = text.rfind("\n", 0, index) + 1
    return Mark(text.count("\n", 0, index) + 1, index - line_start + 1)


def _check_characters(text: str) -> None:
    """Refuse the characters YAML forbids, with their place (PyYAML gives none)."""
    bad = _BAD_CHARACTER.search(text)
    if bad is None:
        return
    code = ord(bad.group())
    raise ProblemError(f"character U+{code:04X} ({_kind(code)}) is not allowed in a YAML file",
                       _position(text, bad.start()))


# a key whose value is rows without the brackets around them: weights: [1, 2], [3, 4]
_UNBRACKETED_MATRIX = re.compile(
    r"^\s*(?:-\s+)?(?P<key>[^\s:#]+):\s*(?P<rows>\[[^\[\]]*\](?:\s*,\s*\[[^\[\]]*\])+)\s*(?:#.*)?$")
def _kind(code: int) -> str:
    if code in (0x85, 0x2028, 0x2029):
        return "a line break that editors do not show: use a new line"
    if 0xD800 <= code <= 0xDFFF:
        return "a lone surrogate"
    if 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        return "a bidirectional override"
    return "a control character" if code < 0xA0 else "a non-character"


def _check_escaped(root: YNode | None) -> None:
    """Refuse what an escape (``"\\e"``, ``"\\x07"``, ``"\\uFFFE"``) put in a quoted
    value or key: the characters a file may not hold raw (terminal escapes, invalid XML)."""
    pending = [root]
    seen: set[int] = set()  # an alias shares its node: each is looked at once
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, YScalar):
            if node.quoted and isinstance(node.value, str):
                bad = _BAD_ESCAPED.search(node.value)
                if bad is not None:
                    code = ord(bad.group())
                    raise ProblemError(f"character U+{code:04X} ({_kind(code)}), written as an "
                                       "escape, is not allowed in a value", node.mark)
        elif isinstance(node, YSeq):
            pending.extend(node.items)
        elif isinstance(node, YMap):
            for key, (mark, value) in node.entries.items():
                bad = _BAD_ESCAPED.search(key)
                if bad is not None:
                    code = ord(bad.group())
                    raise ProblemError(f"character U+{code:04X} ({_kind(code)}), written as an "
                                       "escape, is not allowed in a key", mark)
                pending.append(value)


def _syntax_error(error: yaml.MarkedYAMLError, text: str) -> ProblemError:
    """PyYAML's complaint in words a student can act on, at the place it names."""
    mark = error.problem_mark or error.context_mark
    where = Mark(mark.line + 1, mark.column + 1) if mark else None
    problem = (error.problem or "invalid YAML").rstrip(".")
    if where is not None:
        lines = text.splitlines()
        line = lines[where.line - 1] if where.line <= len(lines) else ""
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        at = line[where.column - 1] if where.column <= len(line) else ""
        if at == "\t" or "tab" in problem or "\t" in indent:
            tab = line.find("\t") if at != "\t" else where.column - 1
            if tab >= 0:
                where = Mark(where.line, tab + 1)
            return ProblemError("tab character in the indentation: YAML indents with spaces "
                                "only", where)
        if "cannot start any token" in problem and at:
            return ProblemError(f"YAML syntax error: a plain value cannot start with '{at}' "
                                "(put the value in quotes)", where)
        rows = _UNBRACKETED_MATRIX.match(line)
        if rows is not None:  # weights: [0.5, 0.6], [0.2, 0.3]
            return ProblemError(f"{rows.group('key')}: a matrix needs its outer brackets: "
                                f"{rows.group('key')}: [{rows.group('rows').strip()}]",
                                Mark(where.line, rows.start("rows") + 1))
    if "maximum nesting depth" in problem:
        return ProblemError(f"nesting deeper than {MAX_DEPTH} levels", where)
    hint = ""
    if "mapping values are not allowed" in problem:
        hint = ": a ': ' inside a value needs quotes, or the indentation is off"
    elif "expected key" in problem or "expected <block end>" in problem:
        hint = ": check the indentation"
    context = ""
    if error.context:
        context = f" ({error.context}"
        if error.context_mark is not None and where is not None and (
                error.context_mark.line + 1 != where.line):
            context += (f" that starts at line {error.context_mark.line + 1}, column "
                        f"{error.context_mark.column + 1}")
        context += ")"
    return ProblemError(f"YAML syntax error: {problem}{hint}{context}", where)


def parse_yaml(text: str) -> YNode | None:
    """Parse one YAML document into a positioned tree (None for an empty file)."""
    _check_characters(text)
    builder = _Builder()
    # The tree has no cycles (recursive aliases are refused), so the cycle collector has
    # nothing to find; left on, it rescans the growing tree and triples the reading time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        parser = _Parser(text)
        try:
            build(builder, parser.get_event)
        finally:
            parser.dispose()
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, text) from None
    except yaml.reader.ReaderError as error:
        where = _position(text, error.position) if 0 <= error.position <= len(text) else None
        raise ProblemError(f"YAML error: {error.reason}", where) from None
    except yaml.YAMLError as error:
        raise ProblemError(f"YAML error: {error}") from None
    finally:
        if collecting:
            gc.enable()
    if "\\" in text:  # only an escape can bring in what the raw check refused
        _check_escaped(builder.root)
    return builder.root


def read_text(path: str | Path) -> str:
    """Read a problem file as UTF-8 text: a regular file only (never a FIFO or a device,
    opened without blocking), within the size limit checked on the open file, and not a
    link leading out of its folder (:mod:`backprop_cli.files.trust`)."""
    limit = f"the {MAX_FILE_BYTES >> 20} MB limit for a problem file"
    name = str(path)
    trust.check_problem_file(name)
    flags = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
             | getattr(os, "O_CLOEXEC", 0))
    try:
        fd = os.open(path, flags)
    except OSError as error:
        if os.path.isdir(path):
            raise ProblemError("is a folder, not a problem file", path=name) from None
        if error.errno == errno.ELOOP:
            raise ProblemError("is a symbolic link that leads back to itself (a loop)",
                               path=name) from None
        if os.path.islink(path) and not os.path.exists(path):
            raise ProblemError("is a symbolic link to a file that does not exist",
                               path=name) from None
        raise ProblemError(f"cannot read file: {error.strerror or error}", path=name) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ProblemError("is a folder, not a problem file", path=name)
        if not stat.S_ISREG(info.st_mode):
            raise ProblemError("is not a regular file (a pipe, a device or a socket): only "
                               "regular files are read", path=name)
        if info.st_size > MAX_FILE_BYTES:
            raise ProblemError(f"file is {info.st_size / (1 << 20):.1f} MB, over {limit}",
                               path=name)
        os.set_blocking(fd, True)
        # its size and one byte more (to see it grow), in bounded pieces, never forever
        want = info.st_size + 1
        parts: list[bytes] = []
        size = 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, want)
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
            if len(chunk) < want:
                break  # a short read of a file is its end
        trust.note_input(info)
    except OSError as error:
        raise ProblemError(f"cannot read file: {error.strerror or error}", path=name) from None
    finally:
        os.close(fd)
    if size > MAX_FILE_BYTES:
        raise ProblemError(f"file is over {limit}", path=name)
    return decode(parts[0] if len(parts) == 1 else b"".join(parts), name)


def _byte_mark(raw: bytes, index: int) -> Mark:
    line_start = raw.rfind(b"\n", 0, index) + 1
    column = len(raw[line_start:index].decode("utf-8", "replace")) + 1
    return Mark(raw.count(b"\n", 0, index) + 1, column)


def decode(raw: bytes, path: str | None = None) -> str:
    """A file's bytes as text: UTF-8 only (a byte-order mark is allowed), never binary."""
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                      (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if raw.startswith(bom):
            raise ProblemError(f"the file is {name} text: save it as UTF-8", path=path)
    if b"\x00" in raw:  # no line or column: a binary file has no lines
        raise ProblemError("binary file (it contains NUL bytes), not a YAML problem file",
                           path=path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        start = error.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        raise ProblemError(
            f"not UTF-8 text (byte 0x{raw[start]:02x}): save the file as UTF-8",
            _byte_mark(raw, start), path=path) from None


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
