"""Merge the order of unique items (a record's keys, a union list's items), the same either way.

A side *reorders* when the items it shares with the base are not in the base's order. The result
follows the order of the side that reordered; of the base when neither did; of the later side
when both did. Items only one side has are then inserted before the item that follows them on
that side (at the end when none does), the earlier side's first where both inserted at one
place. ``first`` and ``second`` name the earlier and the later side, so merging A into B and B
into A agree.
"""

from __future__ import annotations

from gitstore.errors import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Hashable, Sequence


def reordered(base: Sequence[Hashable], side: Sequence[Hashable]) -> bool:
    shared_side = set(side)
    shared_base = set(base)
    return [k for k in side if k in shared_base] != [k for k in base if k in shared_side]


def merge_order(
    base: Sequence[Hashable], first: Sequence[Hashable], second: Sequence[Hashable]
) -> list[Hashable]:
    """Every item of the three sequences once, in the merged order (the caller drops the items
    that the merge removes)."""
    moved_first, moved_second = reordered(base, first), reordered(base, second)
    others: tuple[Sequence[Hashable], ...]
    if moved_second:
        skeleton, others = second, (first,)
    elif moved_first:
        skeleton, others = first, (second,)
    else:
        skeleton, others = base, (first, second)
    out = list(dict.fromkeys(skeleton))
    placed = set(out)
    for side in others:
        items = list(side)
        for n, item in enumerate(items):
            if item in placed:
                continue
            # Before the item that follows it on its side (so an appended item stays last, and
            # where both sides inserted before one item the earlier side's come first).
            after = next((x for x in items[n + 1 :] if x in placed), None)
            out.insert(out.index(after) if after is not None else len(out), item)
            placed.add(item)
    return out
