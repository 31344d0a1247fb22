"""Leftover conflict markers: a real ``<<<<<<<`` / ``=======`` / ``>>>>>>>`` triple, in that order.

Its own module so that the merge driver, which checks every roadmap it writes, does not import
the validator (13 ms) to do it.
"""

from __future__ import annotations

from gitstore.errors import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


def marker_blocks(lines: Iterable[str]) -> list[tuple[int, int]]:
    """The (first, last) line numbers, from 1, of each block of conflict markers."""
    found = []
    start = middle = None
    for number, line in enumerate(lines, 1):
        if line.startswith("<<<<<<<") and (len(line) == 7 or line[7] == " "):
            start, middle = number, None
        elif line.rstrip() == "=======" and start is not None:
            middle = number
        elif (
            line.startswith(">>>>>>>") and (len(line) == 7 or line[7] == " ") and middle is not None
        ):
            found.append((start or number, number))
            start = middle = None
    return found
