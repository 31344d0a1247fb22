r"""Flat regular expressions (``T-[0-9a-z]+``) matched without the ``re`` module.

A collection's ``id_pattern`` is a regular expression, and the merge driver checks every record
it writes against its collection's (reading the configuration checks each pattern, and whether
random ids fit it): once per file, in a process whose budget importing ``re`` would take a
third of. The patterns people write are flat: a run of single-character atoms, each maybe
repeated. Those are compiled and matched here, in a process without ``re``; any other pattern,
and any pattern in a process that has ``re`` loaded already, goes to ``re``.
``tests/test_flatpattern.py`` holds this module to ``re``.

The subset, in ASCII: a literal letter, digit, ``_`` or ``-``; ``\d`` (any Unicode decimal
digit, as in ``re``), ``\.``, ``\-``; ``.`` (anything but a line break); a class ``[...]`` of
those letters, digits, ``_`` and ``.``, ranges between two letters or digits, ``\d``, ``\.``,
``\-`` and a ``-`` first or last; each atom followed by at most one of ``*``, ``+``, ``?``.
"""

from __future__ import annotations

import sys

from gitstore.errors import TYPE_CHECKING

if TYPE_CHECKING:
    Step = tuple[frozenset[str], bool, bool, int, int]  # chars, \d, any, at least, at most

_WORDS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_LITERALS = _WORDS | {"_", "-"}
_ESCAPES = {"d": "", ".": ".", "-": "-"}  # "" for \d
_MANY = 1 << 62  # no repeat bound


class _NotFlat(Exception):
    pass


def _escape(pattern: str, at: int) -> tuple[str, int]:
    r"""The escape at ``pattern[at]`` (a backslash): its character ("" for ``\d``) and the end."""
    char = _ESCAPES.get(pattern[at + 1 : at + 2])
    if char is None:
        raise _NotFlat
    return char, at + 2


def _klass(pattern: str, at: int) -> tuple[frozenset[str], bool, int]:
    r"""The class opening at ``pattern[at]``: its characters, whether it holds ``\d``, its end."""
    end = pattern.find("]", at + 1)
    body = pattern[at + 1 : end]
    if end < 0 or not body or body[0] == "^" or "--" in body:
        raise _NotFlat  # negated, empty, set operations: re
    chars: set[str] = set()
    digit = False
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            char, i = _escape(body, i)
            digit |= char == ""
            chars.update(char)
        elif c == "-" and (i == 0 or i == len(body) - 1):
            chars.add(c)
            i += 1
        elif c in _WORDS and body[i + 1 : i + 2] == "-" and i + 2 < len(body):
            last = body[i + 2]
            if last not in _WORDS or last < c:
                raise _NotFlat
            chars.update(map(chr, range(ord(c), ord(last) + 1)))
            i += 3
        elif c in _WORDS or c in "_.":
            chars.add(c)
            i += 1
        else:
            raise _NotFlat
    return frozenset(chars), digit, end + 1


def _steps(pattern: str) -> tuple[Step, ...]:
    steps: list[Step] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        digit = anything = False
        chars: frozenset[str] = frozenset()
        if c == "[":
            chars, digit, i = _klass(pattern, i)
        elif c == "\\":
            char, i = _escape(pattern, i)
            digit, chars = char == "", frozenset(char)
        elif c == ".":
            anything, i = True, i + 1
        elif c in _LITERALS:
            chars, i = frozenset(c), i + 1
        else:
            raise _NotFlat
        low, high = 1, 1
        repeat = pattern[i : i + 1]
        if repeat in ("*", "+", "?"):
            low, high = (0 if repeat != "+" else 1), (1 if repeat == "?" else _MANY)
            i += 1
            if pattern[i : i + 1] in ("*", "+", "?", "{"):
                raise _NotFlat  # lazy, possessive, or a repeated repeat (an error): re
        elif repeat == "{":
            raise _NotFlat
        steps.append((chars, digit, anything, low, high))
    return tuple(steps)


_compiled: dict[str, tuple[Step, ...] | None] = {}


def compile_flat(pattern: str) -> tuple[Step, ...] | None:
    """``pattern``'s steps when it is flat (see the module's docstring), else None."""
    if pattern not in _compiled:
        try:
            _compiled[pattern] = _steps(pattern) if pattern.isascii() else None
        except _NotFlat:
            _compiled[pattern] = None
    return _compiled[pattern]


def unbounded(steps: tuple[Step, ...]) -> int:
    """How many of the steps repeat without bound (``*`` or ``+``)."""
    return sum(high == _MANY for *_, high in steps)


def fullmatch(steps: tuple[Step, ...], text: str) -> bool:
    """Whether the flat pattern compiled to ``steps`` matches all of ``text`` (as
    ``re.fullmatch`` does): the set of places each step can end at, step by step."""
    at = {0}
    size = len(text)
    for chars, digit, anything, low, high in steps:
        reached: set[int] = set()
        for start in at:
            end = start
            while end < size and end - start < high:
                c = text[end]
                if not (c in chars or (digit and c.isdecimal()) or (anything and c != "\n")):
                    break
                end += 1
            if end - start >= low:
                reached.update(range(start + low, end + 1))
        if not reached:
            return False
        at = reached
    return size in at


def matches(pattern: str, text: str) -> bool:
    """``re.fullmatch(pattern, text)`` as a truth value. ``re`` matches when the process has it
    already (every command does: it is several times faster, and ``status`` matches every id)
    or the pattern is not flat; this module only where importing ``re`` would be the cost."""
    steps = None if "re" in sys.modules else compile_flat(pattern)
    if steps is not None:
        return fullmatch(steps, text)
    import re

    return re.fullmatch(pattern, text) is not None
