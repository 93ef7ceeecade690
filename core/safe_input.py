"""Rules every piece of client input meets before the site acts on it.

Text never holds a NUL character (PostgreSQL cannot store or even compare one, and no honest
client sends it) nor a lone surrogate (U+D800 to U+DFFF: not encodable as UTF-8, so it can be
neither stored nor echoed back in a response). JSON is parsed only after its nesting depth was
checked, so the parser never recurses deeper than ``MAX_JSON_DEPTH`` levels.

The middleware (``recsite.middleware``) applies the text rule to paths, query strings and form
fields; ``loads_bounded`` applies both rules to JSON bodies for the site's player endpoint and
the API's parser alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _

# Deepest JSON nesting accepted. The site's largest documents (a bulk of watch events) are
# three levels deep; 32 leaves room for any legitimate client.
MAX_JSON_DEPTH = 32

_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON string literal (escapes included), matched without backtracking.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_OPENING = str.maketrans({"[": "(", "{": "(", "]": ")", "}": ")"})


def text_error(value: str, *, key: bool = False) -> str | None:
    """Why the text ``value`` (a name or key if ``key``) is refused, as one sentence, or None when it is fine."""
    if "\x00" in value:
        if key:
            return _("Names must not contain the NUL character (U+0000).")
        return _("Text must not contain the NUL character (U+0000).")
    if not value.isascii() and _SURROGATE.search(value):  # ASCII text (most of it) has no surrogates
        if key:
            return _("Names must not contain unpaired surrogate characters (U+D800 to U+DFFF).")
        return _("Text must not contain unpaired surrogate characters (U+D800 to U+DFFF).")
    return None


class JSONInputError(ValueError):
    """A JSON document was refused; ``path`` names where (keys and list indexes), empty for the whole."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()):
        super().__init__(message)
        self.message = message
        self.path = path

    @property
    def field(self) -> str:
        """The path as ``events.3.client_event_id``; empty for the document as a whole."""
        return ".".join(str(part) for part in self.path)


def json_depth(text: str, *, limit: int) -> int:
    """Nesting depth of the JSON ``text``, counted up to ``limit + 1`` (enough to refuse it).

    Brackets inside string literals do not count. Works on the text, before any parsing, in a few
    passes of C-speed string operations whatever the size.
    """
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text)).translate(_OPENING)
    depth = 0
    while depth <= limit:
        # Each pass removes the innermost pair of every nest: one level per pass.
        inner = brackets.replace("()", "")
        if inner == brackets:
            # Brackets never closed (invalid JSON, but the parser would still descend into each).
            return depth + brackets.count("(")
        brackets = inner
        depth += 1
    return depth


def _refuse_constant(name: str) -> float:
    raise JSONInputError(_("%(value)s is not a JSON number.") % {"value": name})


def loads_bounded(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH, allow_nan: bool = False) -> Any:
    """Parse the JSON document ``raw`` (bytes are read as UTF-8), refusing what the site never accepts.

    Raises ``JSONInputError`` with a readable message when the document is not valid JSON, is
    nested deeper than ``max_depth``, or holds a string or key with a NUL character or a lone
    surrogate (``\\u0000``, ``\\ud800`` escapes included). ``NaN`` and ``Infinity`` (not JSON,
    but Python writes them) are refused unless ``allow_nan``: a caller may prefer to refuse them
    later with a message about the field that holds them.
    """
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONInputError(
                _("The body is not valid UTF-8 (byte %(position)d).") % {"position": exc.start}
            ) from None
    else:
        text = raw
    error = text_error(text)
    if error:  # raw NUL bytes or surrogates outside of any escape
        raise JSONInputError(error)
    if json_depth(text, limit=max_depth) > max_depth:
        raise JSONInputError(_("The JSON is nested too deeply (at most %(limit)d levels).") % {"limit": max_depth})
    try:
        value = json.loads(text, parse_constant=None if allow_nan else _refuse_constant)
    except JSONInputError:
        raise
    except RecursionError:  # unreachable after the depth check; kept so a parser change cannot crash a request
        raise JSONInputError(
            _("The JSON is nested too deeply (at most %(limit)d levels).") % {"limit": max_depth}
        ) from None
    except ValueError as exc:
        raise JSONInputError(_("Invalid JSON: %(error)s.") % {"error": exc}) from None
    for path, text_value, is_key in _strings(value):
        error = text_error(text_value, key=is_key)
        if error:
            raise JSONInputError(error, path)
    return value


def _strings(value: Any) -> Iterator[tuple[tuple[str | int, ...], str, bool]]:
    """Every string of a parsed document with its path, in document order, without recursion.

    A key is yielded (flagged) with the path of its object: the key itself is never echoed back.
    """
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            yield path, node, False
        elif isinstance(node, dict):
            for key in node:
                yield path, key, True
            stack.extend(reversed([((*path, key), item) for key, item in node.items()]))
        elif isinstance(node, list):
            stack.extend(reversed([((*path, index), item) for index, item in enumerate(node)]))
