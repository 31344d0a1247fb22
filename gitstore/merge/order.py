"""The order of a merged ROADMAP.md: every side's moves and additions kept, the same whichever
side is ours.

Units are named by keys. For each side, the units it *moved* are the fewest whose removal leaves
the rest in base order (the heaviest increasing subsequence of base positions, where a unit the
side did not change weighs more: a ``roadmap move`` stamps the unit it moved, so that is the one
taken as moved). A unit a side moved or added is *placed* by that side: it goes right after its
nearest predecessor on that side that is kept — for a moved unit, one the other side did not move
(the other side's moves are its own to place). Units nobody placed keep base order. Units placed
right after the same unit by both sides are ordered by ``sibling`` (the section number, then the
content), each side's own run kept in its order. A unit both sides moved to different places goes
where the side with the later metadata stamp put it; without a decisive stamp, to the earlier of
the two places. Last, two units that both sides have in the same relative order keep it: where
the placing above would break such a pair, each unit comes as early as the placing puts it once
every unit that both sides put before it is in place.
"""

from __future__ import annotations

from gitstore.errors import TYPE_CHECKING

if TYPE_CHECKING:  # (typing costs the driver 5 ms to import)
    from collections.abc import Callable, Hashable, Sequence
    from typing import Any

    Key = Hashable

START: Any = None  # before the first unit


class Side:
    """One side's view: its order of keys, which of them it left unchanged, its stamps."""

    __slots__ = ("order", "stamps", "unchanged")

    def __init__(self, order: Sequence[Key], unchanged: set[Key], stamps: dict[Key, Any]):
        self.order = list(order)
        self.unchanged = unchanged
        self.stamps = stamps


def merged_order(
    base: Sequence[Key], sides: tuple[Side, Side], kept: set[Key], sibling: Callable[[Key], Any]
) -> list[Key]:
    where = {k: i for i, k in enumerate(base)}
    moved = [_moved(where, side) for side in sides]
    placed = [(moved[i] | {k for k in sides[i].order if k not in where}) & kept for i in range(2)]
    position = [{k: i for i, k in enumerate(side.order)} for side in sides]

    def anchor(key: Key, s: int, skip_moved: bool) -> Any:
        order = sides[s].order
        for j in range(position[s][key] - 1, -1, -1):
            candidate = order[j]
            if candidate not in kept:
                continue
            if (skip_moved or key in where) and candidate in moved[1 - s]:
                continue  # the other side moved it: its place there is not ours to follow
            return candidate
        return START

    def rank(key: Key) -> tuple[int, Any]:
        return (-1, 0) if key is START else (0, where[key]) if key in where else (1, sibling(key))

    owner: dict[Key, int] = {}
    for key in kept:
        by = [s for s in range(2) if key in placed[s]]
        if len(by) == 1:
            owner[key] = by[0]
        elif by:
            first, second = (sides[s].stamps.get(key) for s in range(2))
            if first != second and first is not None and second is not None:
                owner[key] = 0 if first > second else 1
            elif (first is None) != (second is None):
                owner[key] = 0 if first is not None else 1
            else:
                a0, a1 = anchor(key, 0, False), anchor(key, 1, False)
                owner[key] = 0 if a0 == a1 or rank(a0) <= rank(a1) else 1

    anchors = {key: anchor(key, s, False) for key, s in owner.items()}
    for _ in range(len(anchors)):  # break any cycle with the stricter rule (acyclic on its own)
        cycle = _cycle_members(anchors)
        if not cycle:
            break
        for key in cycle:
            anchors[key] = anchor(key, owner[key], True)

    children: dict[Key, list[list[Key]]] = {}
    for s in range(2):
        for key in sides[s].order:
            if owner.get(key) == s:
                runs = children.setdefault(anchors[key], [[], []])
                runs[s].append(key)
    skeleton = [START] + [k for k in base if k in kept and k not in owner]
    out: list[Key] = []
    emitted: set[Key] = set()

    def emit(key: Key) -> None:
        stack = [key]
        while stack:
            node = stack.pop()
            if node is not START:
                out.append(node)
                emitted.add(node)
            runs = children.get(node)
            if runs:
                stack.extend(reversed(_merge_runs(runs[0], runs[1], sibling)))

    for key in skeleton:
        emit(key)
    out += [k for k in sides[0].order + sides[1].order if k in kept and k not in emitted]
    out = list(dict.fromkeys(out))
    if moved[0] or moved[1]:
        out = _agreeing(out, sides)
    return out


def _agreeing(order: list[Key], sides: tuple[Side, Side]) -> list[Key]:
    """``order`` where any two units both sides have in the same relative order keep it. Those
    pairs always form a partial order (two total orders agree on no cycle); Kahn's algorithm
    takes, at each step, the unit earliest in ``order`` whose agreed predecessors are placed, so
    an order that breaks no pair comes back unchanged."""
    import heapq

    first, second = ({k: i for i, k in enumerate(side.order)} for side in sides)
    common = [k for k in order if k in first and k in second]
    after: dict[Key, list[Key]] = {k: [] for k in order}
    waiting = dict.fromkeys(order, 0)
    for i, a in enumerate(common):
        for b in common[i + 1 :]:
            if (first[a] < first[b]) == (second[a] < second[b]):
                early, late = (a, b) if first[a] < first[b] else (b, a)
                after[early].append(late)
                waiting[late] += 1
    rank = {k: i for i, k in enumerate(order)}
    ready = [i for i, k in enumerate(order) if waiting[k] == 0]
    out: list[Key] = []
    while ready:
        key = order[heapq.heappop(ready)]
        out.append(key)
        for late in after[key]:
            waiting[late] -= 1
            if waiting[late] == 0:
                heapq.heappush(ready, rank[late])
    return out


def _moved(where: dict[Key, int], side: Side) -> set[Key]:
    common = [k for k in side.order if k in where]
    positions = [where[k] for k in common]
    if positions == sorted(positions):
        return set()
    weights = [2 if k in side.unchanged else 1 for k in common]
    best = list(weights)
    back = [-1] * len(common)
    for i in range(len(common)):
        for j in range(i):
            if positions[j] < positions[i] and best[j] + weights[i] > best[i]:
                best[i], back[i] = best[j] + weights[i], j
    i = max(range(len(common)), key=lambda n: (best[n], -n))
    stay = set()
    while i >= 0:
        stay.add(common[i])
        i = back[i]
    return set(common) - stay


def _cycle_members(anchors: dict[Key, Key]) -> set[Key]:
    members: set[Key] = set()
    done: set[Key] = set()
    for start in anchors:
        path: list[Key] = []
        seen: set[Key] = set()
        node = start
        while node in anchors and node not in done and node not in seen:
            seen.add(node)
            path.append(node)
            node = anchors[node]
        if node in seen:
            members.update(path[path.index(node) :])
        done.update(path)
    return members


def _merge_runs(first: list[Key], second: list[Key], sibling: Callable[[Key], Any]) -> list[Key]:
    """Interleave two runs by ``sibling``, each run's own order kept."""
    out: list[Key] = []
    i = j = 0
    while i < len(first) and j < len(second):
        if sibling(first[i]) <= sibling(second[j]):
            out.append(first[i])
            i += 1
        else:
            out.append(second[j])
            j += 1
    return out + first[i:] + second[j:]
