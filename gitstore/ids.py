"""Ids for new records: random by default, so two clones adding at once never pick the same one.

A random id is the collection's ``id_prefix`` plus 6 characters of lowercase base 32 without the
letters people misread (no i, l, o, u: Crockford's alphabet), about a billion choices, and always
at least one letter, so it never reads as a sequential number (``T-k3x9q2``). ``ids: sequential``
in a collection keeps the old ``<prefix><n>`` (the next number above the highest one taken), which
is simple but lets two clones pick the same id: their merge is then an add/add conflict, never a
fused record (see docs/merging.md).

``ids:`` left out means random when the collection's ``id_pattern`` admits random ids, and
sequential otherwise, so an older configuration such as ``id_pattern: "T-[0-9]+"`` keeps working
exactly as before (``gitstore doctor`` says how to switch). ``ids: random`` with a pattern that
refuses random ids is a configuration error.
"""

from __future__ import annotations

import os

from gitstore.errors import TYPE_CHECKING, ConfigError, UsageError
from gitstore.flatpattern import matches

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

    from gitstore.schema import Collection

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base 32, lowercase
LENGTH = 6
MODES = ("random", "sequential")


def random_suffix() -> str:
    """``LENGTH`` random characters from ``ALPHABET``, at least one of them a letter."""
    while True:
        number = int.from_bytes(os.urandom(4), "big")
        chars = [ALPHABET[(number >> (5 * i)) & 31] for i in range(LENGTH)]
        if not all(c.isdigit() for c in chars):
            return "".join(chars)


def admits_random(pattern: str, prefix: str) -> bool:
    """Whether ``pattern`` accepts every id this module may make with ``prefix``: each character of
    the alphabet in every position (a cheap, sufficient check for the patterns people write)."""
    probes = [prefix + c * LENGTH for c in ALPHABET] + [prefix + "0a" * (LENGTH // 2)]
    return all(matches(pattern, p) for p in probes if not p[len(prefix) :].isdigit())


def mode_of(name: str, spec: dict[str, object], pattern: str, prefix: str, path: str | Path) -> str:
    """The ``ids:`` mode of a collection, from its configuration (``auto`` when left out)."""
    mode = spec.get("ids")
    if mode is None:
        return "auto"
    if mode not in MODES:
        raise ConfigError(f"collections.{name}.ids: must be random or sequential", path)
    if mode == "random" and not admits_random(pattern, prefix):
        raise ConfigError(
            f"collections.{name}.ids: random ids (like {prefix}k3x9q2) do not match id_pattern "
            f"{pattern}; widen it (e.g. {prefix}[0-9a-z]+) or set ids: sequential",
            path,
        )
    return str(mode)


def effective_mode(coll: Collection) -> str:
    """``random`` or ``sequential``: what ``gitstore add`` without an id does in ``coll``."""
    if coll.ids != "auto":
        return coll.ids
    return "random" if admits_random(coll.id_pattern, coll.id_prefix) else "sequential"


def new_id(coll: Collection, names: Iterable[str]) -> str:
    """An id for a new record in ``coll``, given the names in its folder: none of them is
    ``<id>.yaml``. Nothing is read or sorted: at 100,000 records this is one pass over the
    names for a sequential id, and a set of them for a random one."""
    if effective_mode(coll) == "sequential":
        return coll.next_id(names)  # a temp name starts with '.', never with an id prefix
    listed = names if isinstance(names, (set, frozenset)) else set(names)
    return random_id(coll, listed.__contains__)


def random_id(coll: Collection, taken: Callable[[str], object]) -> str:
    """A random id for ``coll`` whose file name ``taken`` does not know (it is handed
    ``<id>.yaml``: a set's membership, or a look-up in the folder)."""
    for _ in range(100):
        candidate = coll.check_id(coll.id_prefix + random_suffix())  # checked before any look
        if not taken(candidate + ".yaml"):
            return candidate
    raise UsageError(f"collection {coll.name}: no free random id found; give an id")
