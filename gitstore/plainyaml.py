"""A reader for the plain subset of YAML that gitstore writes, without ruamel.yaml.

Importing ruamel.yaml's loader costs the merge driver about 20 ms a file, and parsing through it
is most of the cost of listing records. Almost every file gitstore reads is in a small subset:
``key: value`` lines, nested mappings, lists of scalars (flow or block), ``|`` literal blocks and
comments. :func:`parse` reads exactly that subset and returns ``None`` for anything else, which
the caller then hands to ruamel.yaml. It never guesses: whenever a text could mean something
other than the plain reading (a tab, a continuation line, a float, a tag, a flow mapping, a
duplicate key, a character YAML breaks lines at), it declines. A differential hypothesis test
holds it to ruamel's YAML 1.2 safe loader on every text it accepts (``tests/test_plainyaml.py``).

Timestamps are read only where gitstore keeps them as text (``last_modified`` and the
``clocks:`` block, see :func:`gitstore.record.loads`); anywhere else they are declined.
"""

from __future__ import annotations

from gitstore.errors import TYPE_CHECKING
from gitstore.textrules import at_end, is_date, is_key, is_stamp, usable_stamp, yaml_printable

if TYPE_CHECKING:
    from typing import Any

_NULL = frozenset(("~", "null", "Null", "NULL"))
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`.+<=0123456789")  # a plain value may not start so
_FLOW_SPECIAL = frozenset(",[]{}#'\"")
_ESCAPES = {"\\": "\\", '"': '"', "/": "/", "n": "\n", "t": "\t", "r": "\r", "0": "\0"}


def _unreadable(text: str) -> bool:
    r"""Whether ``text`` holds a character declined anywhere: one YAML cannot hold raw, a tab
    (YAML's rules for them vary), or one YAML reads as a line break (NEL, LS, PS; CR is handled
    before). Was ``[\x00-\x09\x0b-\x1f\x7f]`` searched in ASCII text, and
    ``[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]``
    in any other."""
    return not yaml_printable(text) or "\t" in text or "\u2028" in text or "\u2029" in text


def _key(line: str, start: int) -> tuple[str, str] | None:
    """The key of a ``key:`` line at ``start`` and what follows the spaces after its colon, or
    None: ``([A-Za-z_][A-Za-z0-9_.-]*):(?: +|$)`` matched at ``start``, its group and the rest."""
    colon = line.find(":", start)  # a key holds none: the first one ends it
    key = line[start:colon]
    if colon <= start or not is_key(key):
        return None
    rest = line[colon + 1 :]
    if rest[:1] == " ":
        return key, rest.lstrip(" ")
    return (key, rest) if at_end(line, colon + 1) else None


def _is_int(text: str) -> bool:
    """``-?(?:0|[1-9][0-9]{0,17})`` in full."""
    digits = text[1:] if text[:1] == "-" else text
    return digits == "0" or (
        0 < len(digits) <= 18 and digits[0] != "0" and digits.isascii() and digits.isdigit()
    )


class _Decline(Exception):
    """The text is outside the subset: ruamel.yaml decides."""


def parse(text: str, max_depth: int, *, stamps: bool = False) -> dict[str, Any] | None:
    """The mapping ``text`` holds when it is in the plain subset (and nests no deeper than
    ``max_depth``), else None. An empty or comment-only text is None too. With ``stamps``, a
    record's ``last_modified`` and ``clocks:`` timestamps are read as the text
    :func:`gitstore.record.loads` makes of them."""
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            return None
        text = text.replace("\r\n", "\n")
    if _unreadable(text):
        return None
    lines = text.split("\n")
    reader = _Reader(lines, max_depth, stamps)
    try:
        data = reader.mapping(0, 1)
        if reader.skip() < len(lines) or not data:
            return None
    except _Decline:
        return None
    return data


class _Reader:
    def __init__(self, lines: list[str], max_depth: int, stamps: bool):
        self.lines = lines
        self.i = 0
        self.max_depth = max_depth
        self.stamps = stamps

    def skip(self) -> int:
        """Move past blank and comment lines; the index of the next content line."""
        lines = self.lines
        while self.i < len(lines):
            stripped = lines[self.i].lstrip(" ")
            if stripped and not stripped.startswith("#"):
                break
            self.i += 1
        return self.i

    def indent(self) -> int:
        line = self.lines[self.i]
        return len(line) - len(line.lstrip(" "))

    def mapping(self, indent: int, depth: int, parent: str = "") -> dict[str, Any]:
        if depth > self.max_depth:
            raise _Decline
        out: dict[str, Any] = {}
        while self.skip() < len(self.lines):
            here = self.indent()
            if here < indent:
                break
            line = self.lines[self.i]
            if here > indent:
                raise _Decline
            found = _key(line, here)
            if found is None:
                raise _Decline
            key, rest = found
            if key in out or key in _NULL or key in _BOOL:
                raise _Decline
            self.i += 1
            # the timestamps loads() keeps as text: last_modified and the clocks' values
            stamp = (self.stamps and (depth, key) == (1, "last_modified")) or parent == "clocks"
            out[key] = self.value(rest, indent, depth, key, stamp)
        return out

    def value(self, rest: str, indent: int, depth: int, key: str, stamp: bool) -> Any:
        if not rest or rest.startswith("#"):
            return self.nested(indent, depth, key)
        if rest[0] == "|":
            return self.literal(rest, indent)
        if rest[0] == "[":
            value: Any = _flow(rest)
        elif rest == "{}" or rest.startswith("{} #"):
            value = {}
        else:
            value = _scalar(rest, stamp)
        self.no_continuation(indent)
        return value

    def nested(self, indent: int, depth: int, key: str) -> Any:
        """The value below ``key:``: a mapping or a list indented under it, a list at the same
        indentation, or null."""
        if self.skip() >= len(self.lines):
            return None
        here = self.indent()
        item = self.lines[self.i][here : here + 2] in ("- ", "-")
        if here > indent and not item:
            parent = key if self.stamps and depth == 1 else ""
            return self.mapping(here, depth + 1, parent)
        if here >= indent and item:
            return self.sequence(here, depth + 1)
        return None

    def sequence(self, indent: int, depth: int) -> list[Any]:
        if depth > self.max_depth:
            raise _Decline
        out = []
        while self.skip() < len(self.lines):
            here = self.indent()
            line = self.lines[self.i]
            if here < indent or (here == indent and not line.startswith("-", here)):
                break
            if here > indent or not line.startswith("- ", here):
                raise _Decline
            rest = line[here + 2 :].lstrip(" ")
            if not rest or rest[0] in "[|-" or rest.startswith("#") or _key(rest, 0):
                raise _Decline  # nested collections, empty items and blocks: ruamel
            self.i += 1
            out.append(_scalar(rest, False))
            self.no_continuation(indent)
        return out

    def no_continuation(self, indent: int) -> None:
        """Decline a more indented line after a scalar: YAML would fold it into the value."""
        i = self.i
        while i < len(self.lines):
            line = self.lines[i]
            stripped = line.lstrip(" ")
            if stripped and not stripped.startswith("#"):  # a comment ends a plain value
                if len(line) - len(stripped) > indent:
                    raise _Decline
                return
            i += 1

    def literal(self, header: str, indent: int) -> str:
        """A ``|`` block: its lines, less their common indentation, chomped as the header says."""
        head, _, comment = header.partition(" ")
        remark = comment.strip()
        if head not in ("|", "|-", "|+") or (remark and not remark.startswith("#")):
            raise _Decline
        body: list[str] = []
        block = None
        lines = self.lines
        while self.i < len(lines):
            line = lines[self.i]
            if not line:
                if self.i == len(lines) - 1:
                    break  # the end of the text, past its last line break
                body.append("")
                self.i += 1
                continue
            here = len(line) - len(line.lstrip(" "))
            if block is None:
                if here <= indent:
                    break
                block = here
            if here < block:
                if line.strip() == "" or here > indent:
                    raise _Decline  # whitespace-only or under-indented lines: ruamel
                break
            if line.strip(" ") == "":
                raise _Decline
            body.append(line[block:])
            self.i += 1
        else:
            raise _Decline  # no final line break: chomping differs
        trailing = 0
        while body and body[-1] == "":
            body.pop()
            trailing += 1
        if not body:
            if head == "|+" and trailing:
                raise _Decline
            return ""
        text = "\n".join(body)
        if head == "|":
            return text + "\n"
        if head == "|-":
            return text
        return text + "\n" * (trailing + 1)


def _scalar(text: str, stamp: bool) -> Any:
    """One scalar and what may follow it on its line (a comment)."""
    if text[0] in "\"'":
        value, rest = _quoted(text)
    else:
        plain = text
        cut = plain.find(" #")
        if cut >= 0:
            plain = plain[:cut]
        plain = plain.rstrip(" ")
        if ": " in plain or plain.endswith(":"):
            raise _Decline
        return _resolve(plain, stamp)
    if (rest.strip(" ") and not rest.lstrip(" ").startswith("#")) or rest[:1] not in ("", " "):
        raise _Decline
    return value


def _double(text: str) -> tuple[str, str]:
    out = []
    i = 1
    while True:
        end = min((p for p in (text.find('"', i), text.find("\\", i)) if p >= 0), default=-1)
        if end < 0:
            raise _Decline
        out.append(text[i:end])
        if text[end] == '"':
            return "".join(out), text[end + 1 :]
        code = text[end + 1 : end + 2]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i = end + 2
        elif code in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[code]
            digits = text[end + 2 : end + 2 + width]
            if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise _Decline
            number = int(digits, 16)
            if 0xD800 <= number < 0xE000 or number > 0x10FFFF:
                raise _Decline
            out.append(chr(number))
            i = end + 2 + width
        else:
            raise _Decline


def _resolve(plain: str, stamp: bool = False) -> Any:
    """A plain scalar as YAML 1.2 reads it, within the subset."""
    if plain in _NULL:
        return None
    if plain in _BOOL:
        return _BOOL[plain]
    if plain[0] in _INDICATORS:
        if _is_int(plain):
            return int(plain)
        if is_date(plain):
            import datetime as dt  # only when a date appears: most records hold none

            try:
                return dt.date.fromisoformat(plain)
            except ValueError:
                raise _Decline from None
        if stamp and (usable_stamp(plain) or (is_stamp(plain) and _a_moment(plain))):
            return plain
        raise _Decline
    return plain


def _a_moment(stamp: str) -> bool:
    """Whether datetime reads ``stamp`` as a moment (what :func:`usable_stamp` leaves open)."""
    import datetime as dt

    try:
        dt.datetime.fromisoformat(stamp)
    except ValueError:
        return False
    return True


def _flow(text: str) -> list[Any]:
    """A one-line flow list of scalars: ``[a, "b c", 3]``."""
    out: list[Any] = []
    i = 1
    while True:
        while text.startswith(" ", i):
            i += 1
        if text.startswith("]", i):
            if out:
                raise _Decline  # a trailing comma
            break
        if i >= len(text):
            raise _Decline
        if text[i] in "\"'":
            value, rest = _quoted(text[i:])
        else:
            end = i
            while end < len(text) and text[end] not in _FLOW_SPECIAL:
                end += 1
            item = text[i:end].rstrip(" ")
            if not item or ":" in item or "#" in text[i:end]:
                raise _Decline
            value, rest = _resolve(item), text[end:]
        out.append(value)
        rest = rest.lstrip(" ")
        if rest.startswith(","):
            i = len(text) - len(rest) + 1
            if text[i:].lstrip(" ").startswith("]"):
                raise _Decline
            continue
        if rest.startswith("]"):
            i = len(text) - len(rest)
            break
        raise _Decline
    tail = text[i + 1 :]
    if tail.strip(" ") and not (tail.startswith(" ") and tail.lstrip(" ").startswith("#")):
        raise _Decline
    return out


def _quoted(text: str) -> tuple[str, str]:
    """A quoted scalar at the start of ``text``: its value, and the text after it."""
    if text[0] == '"':
        return _double(text)
    end = 1
    while True:
        end = text.find("'", end)
        if end < 0:
            raise _Decline
        if text.startswith("''", end):
            end += 2
            continue
        return text[1:end].replace("''", "'"), text[end + 1 :]
