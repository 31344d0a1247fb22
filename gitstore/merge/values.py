"""Values of entries for the merges that need them (lists for ``union``, strings for ``text``).

The common shapes are read by hand, so a merge seldom imports ruamel.yaml: a literal block
(``|``, ``|-``) and a list of plain words or whole numbers, flow (``[a, b]``) or block (``- a``).
Anything else is parsed by :func:`gitstore.record.loads`. Values are written back in the style
they came in: a block list stays a block list, at its indentation.
"""

from __future__ import annotations

from gitstore.errors import TYPE_CHECKING, RecordError
from gitstore.merge.tree import code, indent_of
from gitstore.textrules import is_plain

if TYPE_CHECKING:
    from typing import Any

    from gitstore.merge.tree import Entry

_RESOLVES = {"yes", "no", "y", "n", "on", "off", "true", "false", "null", "~", "nan", "inf"}
_MISSING = object()


def _word(token: str) -> bool:
    """A list item that reads back as itself: a plain word (the shape record.py writes unquoted)
    or a whole number. Items of this shape are compared by their text, which then is their
    value."""
    return (
        (is_plain(token) or _whole(token)) and token.lower() not in _RESOLVES and token[-1] != " "
    )


def _whole(token: str) -> bool:
    """``-?[1-9][0-9]*|0`` in full."""
    digits = token[1:] if token[:1] == "-" else token
    return token == "0" or (digits[:1] in _NONZERO and digits.isascii() and digits.isdigit())


_NONZERO = ("1", "2", "3", "4", "5", "6", "7", "8", "9")


class Listed:
    """A list value: its items (words when ``words``), and how it was written."""

    def __init__(self, items: list[Any], words: bool, block: str | None):
        self.items, self.words, self.block = items, words, block  # block: the item indent


def dedent(lines: list[str], indent: int) -> str:
    return "".join(line[indent:] if line[:indent].strip() == "" else line for line in lines)


def loaded(entry: Entry, indent: int) -> Any:
    """The value, parsed in full (ruamel.yaml); RecordError when it does not parse."""
    from gitstore.record import loads

    return loads(dedent(entry.lines, indent)).get(entry.key)


def read_list(entry: Entry | None, indent: int) -> Listed | None:
    """The list in ``entry`` (an empty one for a missing entry), or None if it is no list."""
    if entry is None:
        return Listed([], True, None)
    head = code(entry.lines[0])[indent + len(entry.key) + 1 :].strip()
    body = [code(line) for line in entry.lines[1:]]
    body = [line for line in body if line.strip()]
    if head.startswith("[") and head.endswith("]") and not body:
        inner = head[1:-1].strip()
        tokens = [t.strip() for t in inner.split(",")] if inner else []
        if all(t and _word(t) for t in tokens):
            return Listed(tokens, True, None)
    elif not head and body and all(line.lstrip(" ").startswith("- ") for line in body):
        tokens = [line.lstrip(" ")[2:].strip() for line in body]
        if all(_word(t) for t in tokens) and len({indent_of(line) for line in body}) == 1:
            return Listed(tokens, True, " " * (indent_of(body[0]) - indent))
    try:
        value = loaded(entry, indent)
    except RecordError:
        return None
    if not isinstance(value, list):
        return None
    block = None
    if not head and body and body[0].lstrip(" ").startswith("-"):
        block = " " * (indent_of(body[0]) - indent)
    return Listed(value, False, block)


def read_text(entry: Entry | None, indent: int) -> str | object | None:
    """The string in ``entry``; ``_MISSING`` for no entry; None when it is not a string."""
    if entry is None:
        return _MISSING
    head = code(entry.lines[0])[indent + len(entry.key) + 1 :].strip()
    if head in ("|", "|-"):
        body = [line.rstrip("\n") for line in entry.lines[1:]]
        width = min((indent_of(line) for line in body if line.strip()), default=0)
        if width > indent and all(line[:width].strip() == "" for line in body):
            text = "\n".join(line[width:] for line in body).rstrip("\n")
            return text + ("\n" if head == "|" and text else "")
    try:
        value = loaded(entry, indent)
    except RecordError:
        return None
    return value if isinstance(value, str) else None


def multiline(entry: Entry | None, indent: int) -> bool:
    """Whether ``entry`` holds a string of more than one line (without parsing, when it can)."""
    if entry is None:
        return False
    first = entry.lines[0]
    head = code(first)[indent + len(entry.key) + 1 :].strip()
    if head[:1] in ("|", ">"):
        return True
    if len(entry.lines) == 1 and "\\n" not in first:
        return False
    if len(entry.lines) == 1 and not head.startswith('"'):
        return False  # only a double-quoted scalar writes a line break as \n
    if head[:1] in ("[", "-") or (not head and entry.lines[1].lstrip(" ")[:1] == "-"):
        return False
    value = read_text(entry, indent)
    return isinstance(value, str) and "\n" in value.rstrip("\n")


def list_lines(key: str, items: list[Any], words: bool, block: str | None) -> str | None:
    """``key: items`` in flow style, or block style with items at ``block`` indentation."""
    if not words:
        from gitstore.record import value_lines

        return value_lines(key, items, block)
    if block is not None and items:
        return f"{key}:\n" + "".join(f"{block}- {t}\n" for t in items)
    flow = ", ".join(items)
    if len(flow) <= 72:
        return f"{key}: [{flow}]\n"
    return f"{key}:\n" + "".join(f"  - {t}\n" for t in items)


def indented(text: str, indent: int) -> list[str]:
    pad = " " * indent
    return [pad + line if line.strip() else line for line in text.splitlines(keepends=True)]


def identity(item: Any) -> Any:
    """A hashable stand-in for a list item, equal for equal values (1 and True differ)."""
    if isinstance(item, (dict, list)):
        return (type(item).__name__, repr(item))
    return (type(item).__name__, item)


MISSING = _MISSING
