"""Merge the order of unique items (a record's keys, a union list's items), the same either way.

A side *reorders* when the items it shares with the base are not in the base's order. The result
follows the order of the side that reordered; of the base when neither did; of the later side
when both did. Items only one side has are then inserted after the item that precedes them on
that side, the earlier side's first where both sides inserted at one place. ``first`` and
``second`` name the earlier and the later side, so merging A into B and B into A agree.
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
    earlier: set[Hashable] = set()  # what the sides before this one inserted
    for side in others:
        mine: set[Hashable] = set()
        position = 0
        for item in side:
            if item in placed:
                # A new run goes after its predecessor, after what an earlier side put there.
                position = out.index(item) + 1
                while position < len(out) and out[position] in earlier:
                    position += 1
                continue
            out.insert(position, item)
            placed.add(item)
            mine.add(item)
            position += 1
        earlier |= mine
    return out
