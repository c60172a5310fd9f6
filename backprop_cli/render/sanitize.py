"""Untrusted text made safe for where it is written.

Everything a problem file or a file name supplies (titles, keys, notes,
messages quoting them, paths) is neutralised for its sink:

- :func:`printable`: for a person (text reports, terminals): control
  characters (C0, DEL, C1, ESC, BEL), line and paragraph separators and
  bidirectional overrides are shown escaped (``\\x1b``, ``\\u202e``), so no
  value can move the cursor, retitle a terminal, start a new line or reorder
  what is shown.
- :func:`display_path`: a file name as text: bytes that are not UTF-8 (kept
  by Python as lone surrogates) become U+FFFD, then :func:`printable`.
- :func:`xml_text`: characters XML 1.0 forbids removed (JUnit, SVG).
- :func:`markdown_cell`: Markdown and HTML syntax escaped, for a table cell
  of the GitHub step summary.
- :func:`github_free_text`: lines that are not the tool's own workflow
  commands, wrapped so the GitHub runner reads none of them as a command.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, line/paragraph separators, bidi embeddings, overrides and
# isolates, the Arabic letter mark, and lone surrogates (bytes that were not UTF-8)
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
                          "\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# emphasis, code, links and images, tables, strike-through, headings; HTML is escaped
# as entities (and '&' first)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]!|~#])")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown escaped (one line unless
    ``keep_newlines``: then only ``\\n`` is kept as a line break)."""
    if keep_newlines:
        return "\n".join(_UNPRINTABLE.sub(_escape, line) for line in text.split("\n"))
    return _UNPRINTABLE.sub(_escape, text)


def valid_unicode(text: str) -> str:
    """``text`` without lone surrogates (a non-UTF-8 file name): each becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def display_path(path: str) -> str:
    """A file name as a person reads it: valid UTF-8, control characters escaped."""
    return printable(valid_unicode(path))


def xml_text(text: str) -> str:
    """``text`` as XML 1.0 allows it: lone surrogates become U+FFFD, the characters XML
    forbids (most C0 controls, U+FFFE, U+FFFF) are removed."""
    return _XML_INVALID.sub("", valid_unicode(text))


def markdown_cell(text: str) -> str:
    """One table cell of GitHub-flavoured Markdown: no HTML, no Markdown syntax, one line."""
    text = printable(valid_unicode(text))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def github_free_text(text: str) -> str:
    """Lines of free text for a GitHub Actions log: between ``::stop-commands::TOKEN``
    and ``::TOKEN::`` with a fresh random token, so that no line of it (whatever a
    problem file wrote) is read as a workflow command."""
    if not text:
        return text
    import secrets  # lazy: only for GitHub mode with free text (it imports hashlib)

    token = secrets.token_hex(16)
    body = text if text.endswith("\n") else text + "\n"
    return f"::stop-commands::{token}\n{body}::{token}::\n"
