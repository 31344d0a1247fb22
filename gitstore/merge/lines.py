"""diff3 on lines: both sides' non-overlapping changes applied, overlaps marked as conflicts
(or settled by a caller's ``resolve``)."""

from __future__ import annotations

from gitstore.errors import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    # (base region, ours' lines for it, theirs' lines for it) -> the merged lines, or None for a
    # conflict. The base region is empty where both sides inserted at the same point.
    Resolver = Callable[[list[str], list[str], list[str]], list[str] | None]

Change = tuple[int, int, list[str]]  # replace base[i1:i2] with these lines


def _changes(base: list[str], side: list[str]) -> list[Change]:
    """Where ``side`` differs from ``base``: the gaps between their matching blocks (what
    ``difflib``'s opcodes other than ``equal`` say)."""
    out: list[Change] = []
    i = j = 0
    for ai, bj, size in matching_blocks(base, side):
        if i < ai or j < bj:
            out.append((i, ai, side[j:bj]))
        i, j = ai + size, bj + size
    return out


def matching_blocks(a: list[str], b: list[str]) -> list[tuple[int, int, int]]:
    """``difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()``, found the
    same way without importing difflib (which imports re: a third of the driver's budget): the
    longest block of lines the two share (the first in ``a``, then in ``b``, of the longest),
    then the same on each side of it; adjacent blocks joined; ``(len(a), len(b), 0)`` last."""
    where: dict[str, list[int]] = {}
    for j, line in enumerate(b):
        where.setdefault(line, []).append(j)
    found = []
    todo = [(0, len(a), 0, len(b))]
    while todo:
        alo, ahi, blo, bhi = todo.pop()
        i, j, k = _longest(a, where, alo, ahi, blo, bhi)
        if k:
            found.append((i, j, k))
            if alo < i and blo < j:
                todo.append((alo, i, blo, j))
            if i + k < ahi and j + k < bhi:
                todo.append((i + k, ahi, j + k, bhi))
    found.sort()
    joined: list[tuple[int, int, int]] = []
    for i, j, k in found:
        if joined and joined[-1][0] + joined[-1][2] == i and joined[-1][1] + joined[-1][2] == j:
            joined[-1] = (joined[-1][0], joined[-1][1], joined[-1][2] + k)
        else:
            joined.append((i, j, k))
    return [*joined, (len(a), len(b), 0)]


def _longest(
    a: list[str], where: dict[str, list[int]], alo: int, ahi: int, blo: int, bhi: int
) -> tuple[int, int, int]:
    """The longest block ``a[i:i+k] == b[j:j+k]`` inside ``a[alo:ahi]`` and ``b[blo:bhi]``
    (``where`` holds each line's places in ``b``), the earliest in ``a`` and then in ``b`` of
    those: for each line of ``a``, the length of the run that ends there, at each place in
    ``b``."""
    best_i, best_j, best = alo, blo, 0
    runs: dict[int, int] = {}
    for i in range(alo, ahi):
        ending: dict[int, int] = {}
        for j in where.get(a[i], ()):
            if j < blo:
                continue
            if j >= bhi:
                break
            k = ending[j] = runs.get(j - 1, 0) + 1
            if k > best:
                best_i, best_j, best = i - k + 1, j - k + 1, k
        runs = ending
    return best_i, best_j, best


def merge3(
    base: list[str],
    ours: list[str],
    theirs: list[str],
    labels: tuple[str, str] = ("ours", "theirs"),
    resolve: Resolver | None = None,
) -> tuple[list[str], int]:
    """Merged lines and the number of conflict hunks (marked with <<<<<<< ======= >>>>>>>)."""
    if ours == theirs:
        return list(ours), 0
    if ours == base:
        return list(theirs), 0
    if theirs == base:
        return list(ours), 0
    mine, yours = _changes(base, ours), _changes(base, theirs)
    out: list[str] = []
    conflicts = 0
    pos = 0
    a = b = 0
    while a < len(mine) or b < len(yours):
        # take the next change region, growing it while changes from either side overlap it
        first = min(
            (
                c
                for c in (mine[a] if a < len(mine) else None, yours[b] if b < len(yours) else None)
                if c
            ),
            key=lambda c: (c[0], c[1]),
        )
        start, end = first[0], first[1]
        group_a, group_b = [], []
        grown = True
        while grown:
            grown = False
            while a < len(mine) and _touches(mine[a], start, end):
                group_a.append(mine[a])
                start, end = min(start, mine[a][0]), max(end, mine[a][1])
                a += 1
                grown = True
            while b < len(yours) and _touches(yours[b], start, end):
                group_b.append(yours[b])
                start, end = min(start, yours[b][0]), max(end, yours[b][1])
                b += 1
                grown = True
        out += base[pos:start]
        pos = end
        ours_part = _apply(base, start, end, group_a)
        theirs_part = _apply(base, start, end, group_b)
        if not group_b or ours_part == theirs_part:
            out += ours_part
        elif not group_a:
            out += theirs_part
        elif (
            resolve is not None
            and (settled := resolve(base[start:end], ours_part, theirs_part)) is not None
        ):
            out += settled
        else:
            conflicts += 1
            newline = "\r\n" if any(line.endswith("\r\n") for line in base + ours) else "\n"
            out += [
                f"<<<<<<< {labels[0]}{newline}",
                *_ended(ours_part, newline),
                f"======={newline}",
                *_ended(theirs_part, newline),
                f">>>>>>> {labels[1]}{newline}",
            ]
    out += base[pos:]
    return out, conflicts


def _touches(change: Change, start: int, end: int) -> bool:
    i1, i2, _ = change
    if i1 == i2 == start == end:
        return True  # two insertions at the same point
    return (
        (i1 < end and i2 > start)
        or (i1 == i2 and start <= i1 < end)
        or (start == end and i1 <= start < i2)
    )


def _apply(base: list[str], start: int, end: int, changes: list[Change]) -> list[str]:
    out, pos = [], start
    for i1, i2, lines in changes:
        out += base[pos:i1] + lines
        pos = i2
    return out + base[pos:end]


def _ended(lines: list[str], newline: str) -> list[str]:
    if lines and not lines[-1].endswith("\n"):
        return [*lines[:-1], lines[-1] + newline]
    return lines
