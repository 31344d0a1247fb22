"""Every name that folds to the same as a given one: what a case-insensitive file system (macOS,
Windows) would take for the same file.

A new record must not differ from another only by case. Listing the folder to compare every
name costs ~40 ms at 100,000 records; looking up each spelling of the new name costs ~1 µs a
spelling and stays the same at any size. :func:`spellings` gives those spellings for a name whose
folded form is ASCII (any name gitstore picks, and most people write), so a caller can look each
one up instead, and None when there are more than ``limit`` of them or the name is not ASCII
(then the caller lists the folder). Folding is :func:`fold`, Unicode's canonical caseless match
(case and NFC/NFD spelling both ignored, as macOS does), the one rule every case check uses;
besides each letter's capital, a few other characters fold into ASCII (:data:`EXTRA`), and
``tests/test_spellings.py`` checks that table against every Unicode character.
"""

from __future__ import annotations

from gitstore.errors import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def fold(name: str) -> str:
    """The key two names share when macOS or Windows would take them for one file: NFC of the
    casefold of NFD (for ASCII, just ``lower``)."""
    if name.isascii():
        return name.lower()
    import unicodedata

    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", name).casefold())


# Characters other than an ASCII letter's capital whose fold is ASCII, by what they fold to.
EXTRA = {
    ";": ("\u037e",),  # GREEK QUESTION MARK (canonically ';')
    "`": ("\u1fef",),  # GREEK VARIA (canonically '`')
    "k": ("\u212a",),  # KELVIN SIGN
    "s": ("\u017f",),  # LATIN SMALL LETTER LONG S
    "ff": ("\ufb00",),
    "fi": ("\ufb01",),
    "fl": ("\ufb02",),
    "ffi": ("\ufb03",),
    "ffl": ("\ufb04",),
    "ss": ("\u00df", "\u1e9e"),  # SHARP S, small and capital
    "st": ("\ufb05", "\ufb06"),
}
_LONGEST = max(map(len, EXTRA))


def spellings(name: str, limit: int = 4096) -> list[str] | None:
    """Every string whose :func:`fold` equals ``name``'s (``name`` among them), or None when
    that fold is not ASCII or there would be more than ``limit``."""
    folded = fold(name)
    if not folded.isascii():
        return None
    # ways[i]: the spellings of folded[i:], built from the end
    ways: list[list[str]] = [[] for _ in folded] + [[""]]
    for i in range(len(folded) - 1, -1, -1):
        char = folded[i]
        heads = [(char, 1)] + ([(char.upper(), 1)] if char.upper() != char else [])
        for size in range(1, min(_LONGEST, len(folded) - i) + 1):
            heads += [(extra, size) for extra in EXTRA.get(folded[i : i + size], ())]
        ways[i] = [head + tail for head, size in heads for tail in ways[i + size]]
        if len(ways[i]) > limit:
            return None
    return ways[0]


def no_twin(path: Path, root: Path, listed: list[str] | None = None) -> None:
    """Refuse a new record ``path`` whose name another in its folder folds to: on macOS and
    Windows the two would be one file, and a teammate there could not check them out.
    ``listed``: the folder's names, when the caller listed it already; else each other spelling
    of the name is looked up (the same cost at any folder size), or, for a name with too many
    spellings, the folder is listed."""
    from gitstore import folders

    wanted = fold(path.name)
    if listed is None:
        others = spellings(path.name)
        if others is not None:
            others.remove(path.name)
            _refuse(path, folders.first_present(path.parent, others, root))
            return
        listed = folders.names(path.parent, root)
    joined = "/".join(listed)  # '/' is in no name
    if joined.isascii() and f"/{wanted}/" not in f"/{joined.lower()}/":
        return  # for ASCII, the fold is lower: no name folds to this one (a quick look)
    for name in listed:
        if name != path.name and fold(name) == wanted:
            _refuse(path, name)


def _refuse(path: Path, twin: str | None) -> None:
    if twin is not None:
        from gitstore.errors import UsageError

        raise UsageError(
            f"bad id: collides with {twin} on case-insensitive file systems "
            "(macOS, Windows); pick another id",
            path,
        )
