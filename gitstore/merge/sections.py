"""Which section of one ROADMAP.md version is which section of another: the identity rule.

A version is cut into *units*: the preamble, each section, and each run of text between sections
(``## Appendix``, a ``## Phase 2`` heading with its notes). A side's units are matched to the
base's units, in passes, each pass only among units still unmatched:

1. **stable id**: the ``id=`` (or an ``aka=``) of the metadata comment gitstore writes; a base
   section without one is known by the id gitstore gives a section from its text the first time
   it edits it (:func:`gitstore.roadmap.content_uid`). A base section that has a stable id is
   matched by it only: a side section with another stable id is another section (``rm 3`` then
   ``add`` on one side is a delete and an add, never an edit);
2. **identical text**, pairing equal copies in document order;
3. **the same heading line**, where it is unique among the unmatched on both sides;
4. for sections left (hand-written ones, renumbered or renamed): the best-scoring pair first, where
   a pair qualifies by the same number *and* title (the heading without its status marks), with
   a body sharing a line unless that number and title are unique among the sections left; or
   by the same title (renumbered: ``2`` to ``2.5``) or the same number (renamed), with a body
   sharing a line; or by a body at least 60% alike (renumbered and renamed). The body is the
   text lines after the heading: no blank lines, field lines, rules or metadata comment; an
   empty body (a fresh ``roadmap add``) never matches on likeness. Pairs score by that class,
   then by how alike the bodies are (``difflib`` ratio of the lines);
5. for text left: the same first line where unique, then the text after the same section, then a
   body at least 50% alike.

Two units added on both sides are one when they share a stable id or are identical. Everything
here is a function of the three texts: which side is "ours" never matters.
"""

from __future__ import annotations

import itertools

from gitstore.errors import TYPE_CHECKING
from gitstore.roadmap import (
    DEFAULT_STATUSES,
    Parser,
    Section,
    content,
    content_uid,
    heading_starts,
    meta_of,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

PREAMBLE, SECTION, TEXT = 0, 1, 2
_MARKERS = tuple(m for ms in DEFAULT_STATUSES.values() for m in ms)


class Unit:
    """A preamble, a section, or the text between two sections: its lines and what identifies it."""

    __slots__ = ("_body", "_title", "kind", "lines", "section")

    def __init__(self, kind: int, lines: list[str], section: Section | None = None):
        self.kind = kind
        self.lines = lines
        self.section = section
        self._title: str | None = None
        self._body: list[str] | None = None

    @property
    def ids(self) -> frozenset[str]:
        """The stable id and any ids it was also known by (after two were merged)."""
        if self.section is None:
            return frozenset()
        meta = meta_of(self.lines)
        found = {meta["id"]} if meta.get("id") else set()
        found.update(a for a in meta.get("aka", "").split(",") if a)
        return frozenset(found)

    @property
    def number(self) -> str:
        return self.section.id if self.section is not None else ""

    @property
    def heading(self) -> str:
        return content(self.lines[0]) if self.lines else ""

    @property
    def title(self) -> str:
        if self._title is None:
            self._title = self.section.title_and_mark(_MARKERS)[0] if self.section else ""
        return self._title

    @property
    def body(self) -> list[str]:
        """The lines that say what the unit is about: after the heading and the metadata
        comment, without blank lines, ``**Key**: value`` lines or rules (``---``)."""
        if self._body is None:
            start = 0 if self.kind == PREAMBLE else 1
            self._body = [
                text
                for line in self.lines[start:]
                if (text := content(line).strip())
                and not text.startswith(("**", "<!-- gitstore:"))
                and text.strip("-*_ ")
            ]
        return self._body

    @property
    def substantive(self) -> bool:
        return bool(self.body)


def cut(text: str, parser: Parser) -> list[Unit]:
    """A version's units: the preamble first (maybe empty), then sections and text in order.

    Text is cut at its ``#``/``##`` headings too, so a unit does not depend on its neighbours:
    when a side deletes the sections between, ``## Appendix`` stays a unit of its own rather
    than becoming part of the preamble."""
    blocks = parser.parse(text).blocks
    units = [Unit(PREAMBLE, [])]
    for index, block in enumerate(blocks):
        if isinstance(block, Section):
            units.append(Unit(SECTION, list(block.lines), block))
            continue
        cuts = [0, *heading_starts(block), len(block)]
        for start, end in itertools.pairwise(cuts):
            if index == 0 and start == 0:
                units[0].lines = block[start:end]
            else:
                units.append(Unit(TEXT, block[start:end]))
    return units


def similarity(a: list[str], b: list[str], floor: float = 0.0) -> float:
    """difflib's ratio of two bodies' lines; 0 as soon as it is known to be below ``floor``."""
    if not a and not b:
        return 1.0
    from difflib import SequenceMatcher  # only when a fallback pass needs it

    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if floor and (matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor):
        return 0.0
    return matcher.ratio()


def match(base: list[Unit], side: list[Unit]) -> dict[int, int]:
    """``side index -> base index`` for the side's units that are base units (see the module)."""
    pairs = {0: 0}  # the preamble is the preamble
    free_b = set(range(1, len(base)))
    free_s = set(range(1, len(side)))

    def pair(s: int, b: int) -> None:
        pairs[s] = b
        free_s.discard(s)
        free_b.discard(b)

    # 1. stable ids, where unique on both sides; a base section without one is known by the id
    #    gitstore derives from its text when it first edits it
    by_id_b = _unique_ids(base, free_b, derive=any(side[i].ids for i in free_s))
    for s, ids in sorted(_unique_ids_by_unit(side, free_s).items()):
        hits = {by_id_b[i] for i in ids if i in by_id_b}
        if len(hits) == 1:
            b = hits.pop()
            if b in free_b:
                pair(s, b)
    # a base section with a stable id is only ever matched by it
    free_b -= {b for b in free_b if base[b].ids}
    # 2. identical text, equal copies paired in order
    by_text: dict[tuple[int, str], list[int]] = {}
    for b in sorted(free_b):
        by_text.setdefault((base[b].kind, "".join(base[b].lines)), []).append(b)
    for s in sorted(free_s):
        same = by_text.get((side[s].kind, "".join(side[s].lines)))
        if same:
            pair(s, same.pop(0))
    # 3. the same heading line, unique among the unmatched on both sides
    _pair_unique(base, side, free_b, free_s, pair, lambda u: (u.kind, u.heading), SECTION)
    # 4. sections: scored
    heads: dict[tuple[str, str], int] = {}
    for units, free in ((base, free_b), (side, free_s)):
        for i in free:
            if units[i].kind == SECTION:
                key = (units[i].number, units[i].title)
                heads[key] = heads.get(key, 0) + 1
    candidates = []
    for s in sorted(i for i in free_s if side[i].kind == SECTION):
        for b in sorted(i for i in free_b if base[i].kind == SECTION):
            score = _score(base[b], side[s], heads[(side[s].number, side[s].title)] == 2)
            if score is not None:
                candidates.append((score, b, s))
    candidates.sort(key=lambda c: (-c[0][0], -c[0][1], c[1], c[2]))
    for _, b, s in candidates:
        if b in free_b and s in free_s:
            pair(s, b)
    # 5. text between sections
    _pair_unique(base, side, free_b, free_s, pair, lambda u: (u.kind, u.heading), TEXT)
    after_b = {_previous_section(base, b): b for b in free_b if base[b].kind == TEXT}
    for s in sorted(i for i in free_s if side[i].kind == TEXT):
        previous = _previous_section(side, s)
        follows = after_b.get(pairs.get(previous, -1)) if previous >= 0 else None
        if follows is not None and follows in free_b:
            pair(s, follows)
    texts = [
        (similarity(base[b].body, side[s].body, 0.5), b, s)
        for s in sorted(i for i in free_s if side[i].kind == TEXT and side[i].body)
        for b in sorted(i for i in free_b if base[i].kind == TEXT and base[i].body)
    ]
    for ratio, b, s in sorted(texts, key=lambda t: (-t[0], t[1], t[2])):
        if ratio >= 0.5 and b in free_b and s in free_s:
            pair(s, b)
    return pairs


def match_added(ours: list[Unit], theirs: list[Unit]) -> dict[int, int]:
    """Units added on both sides that are one unit: ``ours index -> theirs index`` (the lists
    hold only added units). A shared stable id, else identical text, paired in order."""
    pairs: dict[int, int] = {}
    free_t = set(range(len(theirs)))
    by_id_t = _unique_ids(theirs, free_t)
    for o, ids in sorted(_unique_ids_by_unit(ours, set(range(len(ours)))).items()):
        hits = {by_id_t[i] for i in ids if i in by_id_t}
        if len(hits) == 1 and (t := hits.pop()) in free_t:
            pairs[o] = t
            free_t.discard(t)
    by_text: dict[str, list[int]] = {}
    for t in sorted(free_t):
        by_text.setdefault("".join(theirs[t].lines), []).append(t)
    for o in range(len(ours)):
        if o not in pairs and (same := by_text.get("".join(ours[o].lines))):
            pairs[o] = same.pop(0)
    return pairs


def _unique_ids(units: list[Unit], free: set[int], derive: bool = False) -> dict[str, int]:
    """``stable id -> unit index`` for ids that only one unit of ``free`` carries (``derive``:
    a section without one counts with the id its text gives it)."""
    seen: dict[str, int] = {}
    twice: set[str] = set()
    for i in sorted(free):
        ids = units[i].ids
        if derive and not ids and units[i].kind == SECTION:
            ids = frozenset([content_uid(units[i].lines)])
        for uid in ids:
            if uid in seen:
                twice.add(uid)
            seen[uid] = i
    return {k: v for k, v in seen.items() if k not in twice}


def _unique_ids_by_unit(units: list[Unit], free: set[int]) -> dict[int, frozenset[str]]:
    unique = _unique_ids(units, free)
    out: dict[int, set[str]] = {}
    for uid, i in unique.items():
        out.setdefault(i, set()).add(uid)
    return {i: frozenset(ids) for i, ids in out.items()}


def _pair_unique(
    base: list[Unit],
    side: list[Unit],
    free_b: set[int],
    free_s: set[int],
    pair: Callable[[int, int], None],
    key: Callable[[Unit], Hashable],
    kind: int,
) -> None:
    counts_b: dict[Hashable, list[int]] = {}
    counts_s: dict[Hashable, list[int]] = {}
    for b in sorted(free_b):
        if base[b].kind == kind:
            counts_b.setdefault(key(base[b]), []).append(b)
    for s in sorted(free_s):
        if side[s].kind == kind:
            counts_s.setdefault(key(side[s]), []).append(s)
    for k, ss in counts_s.items():
        bs = counts_b.get(k, [])
        if len(ss) == 1 and len(bs) == 1:
            pair(ss[0], bs[0])


def _score(b: Unit, s: Unit, unique: bool) -> tuple[int, float] | None:
    """How alike two sections are (higher first), or None when they are not one section.
    ``unique``: no other unmatched section on either side has the same number and title."""
    same_number, same_title = b.number == s.number, b.title == s.title and bool(b.title)
    both = b.substantive and s.substantive
    if not (same_number or same_title):
        ratio = similarity(b.body, s.body, 0.6) if both else 0.0
        return (0, ratio) if ratio >= 0.6 else None
    ratio = similarity(b.body, s.body) if both else 0.0
    if same_number and same_title:
        return (3, ratio) if unique or ratio > 0 or not both else None
    if same_title:
        return (2, ratio) if ratio > 0 or not both else None
    return (1, ratio) if ratio > 0 else None


def stamp_key(meta: dict[str, str]) -> tuple[str, int, str]:
    """How late a metadata stamp is: ``(last_modified, version, modified_by)``."""
    version = meta.get("version", "")
    return (
        meta.get("last_modified", ""),
        int(version) if version.isdigit() else -1,
        meta.get("modified_by", ""),
    )


def _previous_section(units: list[Unit], index: int) -> int:
    for i in range(index - 1, 0, -1):
        if units[i].kind == SECTION:
            return i
    return -1
