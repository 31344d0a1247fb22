"""Which regular expressions gitstore.yaml may hold (id and heading patterns).

They come from a file anyone with push access can change, and Python's regular expressions have
no time limit, so a pattern that can backtrack exponentially (or polynomially, with a high
degree) would hang every command that matches a file name against it. Patterns are checked on
their parse tree when the configuration is read.
"""

from __future__ import annotations

from gitstore.errors import TYPE_CHECKING
from gitstore.flatpattern import compile_flat, unbounded

if TYPE_CHECKING:  # the merge driver reads the config: no typing import on its path
    from typing import Any

_RISKY = (
    "nested or many repeats, alternation under a repeat, or a backreference can make "
    "matching take forever; write a flat pattern such as T-[0-9]+"
)


def _separated(body: Any, constants: Any) -> bool:
    """Whether a repeated body is ``<literal> <atoms>``, where no atom can match the literal
    and none is itself a group (so a repeat of it splits a text in only one way)."""
    while len(body) == 1 and body[0][0] == constants.SUBPATTERN:
        body = body[0][1][-1]  # (-[a-z]+)* is -[a-z]+ repeated
    if not body or body[0][0] != constants.LITERAL:
        return False
    first = chr(body[0][1])
    for op, arg in body[1:]:
        if op in (constants.MAX_REPEAT, constants.MIN_REPEAT, constants.POSSESSIVE_REPEAT):
            op, arg = arg[2][0] if len(arg[2]) == 1 else (None, None)
        if op == constants.LITERAL:
            if chr(arg) == first:
                return False
        elif op == constants.IN:
            if _in_class(first, arg, constants):
                return False
        else:
            return False
    return True


def _in_class(char: str, items: Any, constants: Any) -> bool:
    """Whether ``char`` matches a parsed character class (conservatively: unknown is yes)."""
    categories = {
        constants.CATEGORY_DIGIT: str.isdigit,
        constants.CATEGORY_WORD: lambda c: c.isalnum() or c == "_",
        constants.CATEGORY_SPACE: str.isspace,
    }
    found, negated = False, False
    for op, arg in items:
        if op == constants.NEGATE:
            negated = True
        elif op == constants.LITERAL:
            found |= chr(arg) == char
        elif op == constants.RANGE:
            found |= arg[0] <= ord(char) <= arg[1]
        elif op == constants.CATEGORY and arg in categories:
            found |= categories[arg](char)
        else:
            return True
    return found != negated


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` may not be an id pattern, or None. It comes from a file anyone with push
    access can change, and Python's regular expressions have no time limit: a quantifier over a
    group that itself repeats or alternates (``(a+)+``, ``(a|aa)*``) can take longer than the
    universe to fail on a 40-character name, and so can a backreference or a long run of
    unbounded repeats (``\\w*\\w*\\w*\\w*``). Those are refused. A flat pattern
    (:mod:`gitstore.flatpattern`) has no group, alternation or backreference, so only its count
    of unbounded repeats can make it risky: that is counted without ``re`` (the merge driver
    reads the configuration once per file)."""
    steps = compile_flat(pattern)
    if steps is not None:
        return _RISKY if unbounded(steps) > 3 else None
    return _parsed_problem(pattern)


def _parsed_problem(pattern: str) -> str | None:
    """:func:`pattern_problem` on the parse tree ``re`` makes of ``pattern`` (any pattern)."""
    import re

    try:
        parsed = re._parser.parse(pattern)  # type: ignore[attr-defined]
    except re.error as err:
        return str(err)
    constants = re._constants  # type: ignore[attr-defined]
    repeats = {constants.MAX_REPEAT, constants.MIN_REPEAT, constants.POSSESSIVE_REPEAT}

    repeats_seen = [0]

    def risky(items: Any, inside_repeat: bool) -> bool:
        for op, arg in items:
            if op in (constants.GROUPREF, constants.GROUPREF_EXISTS):
                return True
            if op in repeats:
                _low, high, body = arg
                repeats_seen[0] += high > 16
                if inside_repeat:
                    return True
                if high != 1 and _separated(body, constants):
                    continue  # (?:\.\d+)*: each turn starts with a character the rest never
                    # matches, so there is one way to split the text: linear, not exponential
                if risky(body, high != 1):
                    return True
            elif op == constants.SUBPATTERN:
                if risky(arg[-1], inside_repeat):
                    return True
            elif op == constants.BRANCH:
                if inside_repeat or any(risky(b, inside_repeat) for b in arg[1]):
                    return True
            elif op in (constants.ASSERT, constants.ASSERT_NOT) and risky(arg[1], inside_repeat):
                return True
        return False

    if risky(parsed, False) or repeats_seen[0] > 3:
        return _RISKY
    return None
