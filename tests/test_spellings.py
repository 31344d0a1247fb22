"""The spellings of a name that fold alike: complete (every Unicode character checked), exact, and
the look-up of them in the folder refuses exactly what a listing of the folder refuses."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitstore import Store
from gitstore.errors import UsageError
from gitstore.spellings import EXTRA, spellings


def canon(name: str) -> str:
    """Unicode's canonical caseless match, written out here (not gitstore's): the oracle."""
    import unicodedata

    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", name).casefold())


def test_the_extra_table_is_every_character_that_folds_into_ascii() -> None:
    """Besides an ASCII letter's capital, exactly these characters fold to ASCII (this Python's
    Unicode version: a newer one that adds any fails here)."""
    found: dict[str, set[str]] = {}
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        folded = canon(char)
        if folded.isascii() and char != folded and char != folded.upper():
            found.setdefault(folded, set()).add(char)
    assert found == {key: set(chars) for key, chars in EXTRA.items()}


PIECES = st.sampled_from([*"abkstfiyl-.0;`", "ss", "st", "ff", "fi", "fl", "ffi", "ffl"])
NAMES = st.lists(PIECES, min_size=1, max_size=4).map("".join)
# what a name might be spelled with: ASCII both cases and every extra character
SPELLED = st.lists(
    st.sampled_from(
        [*"abkstfiylABKSTFIYL-.0;`", "\u00e9", "e\u0301", "E\u0301", "\u00c9"]
        + [c for cs in EXTRA.values() for c in cs]
    ),
    min_size=1,
    max_size=8,
).map("".join)


@given(NAMES)
def test_every_spelling_folds_to_the_name_once(name: str) -> None:
    found = spellings(name, limit=10**6)
    assert found is not None and name in found
    assert len(set(found)) == len(found)
    assert {canon(s) for s in found} == {canon(name)}


@given(SPELLED, NAMES)
def test_no_spelling_is_missed(other: str, name: str) -> None:
    found = spellings(name, limit=10**6)
    assert found is not None
    assert (other in found) == (canon(other) == canon(name))


def test_too_many_or_not_ascii_is_none() -> None:
    assert spellings("a" * 13) is None  # 8192 > 4096
    assert len(spellings("a" * 12) or []) == 4096
    assert spellings("é") is None


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_the_look_up_refuses_what_the_listing_refuses(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """A new record's case check by looking up each spelling answers as comparing the
    folder's every name does, on real files (and folders, links and FIFOs among them), for
    names short and long, the others' suffixes in any case."""
    from gitstore.initialize import init_store

    # long names too: past the limit of spellings, the folder is listed
    base = data.draw(st.one_of(NAMES, st.lists(PIECES, min_size=10, max_size=16).map("".join)))
    alike = st.sampled_from(spellings(base, limit=10**6) or ["x"])
    suffix = st.sampled_from([".yaml", ".YAML", ".Yaml", ".yamL"])  # another's suffix in any case
    present = data.draw(
        st.lists(st.tuples(st.one_of(alike, SPELLED), suffix).map("".join), max_size=6, unique=True)
    )
    wanted = data.draw(st.one_of(alike, SPELLED))

    root = tmp_path_factory.mktemp("s") / "store"
    init_store(root)
    store = Store.open(root)
    folder = root / "records" / "tasks"
    folder.mkdir(parents=True)
    for i, name in enumerate(present):
        entry = folder / name
        if i % 4 == 1:
            entry.mkdir(exist_ok=True)
        elif i % 4 == 2:
            entry.symlink_to("/nonexistent")
        elif i % 4 == 3:
            os.mkfifo(entry)  # looked up, never opened: no block
        else:
            entry.touch()
    path = folder / f"{wanted}.yaml"

    def refused(listed: list[str] | None) -> bool:
        try:
            store._check_case_twin(path, listed)
        except UsageError as err:
            assert "collides with" in str(err)
            return True
        return False

    names = sorted(p.name for p in folder.iterdir())
    twin = any(n != path.name and canon(n) == canon(path.name) for n in names)
    assert refused(None) == refused(names) == twin


def test_a_name_spelled_in_another_normal_form_is_a_twin(tmp_path: Path) -> None:
    """T-é written precomposed and decomposed are one file on macOS: refused, as validate
    refuses them (one fold everywhere)."""
    from gitstore.initialize import init_store

    root = tmp_path / "store"
    init_store(root)
    store = Store.open(root)
    folder = root / "records" / "tasks"
    folder.mkdir(parents=True)
    (folder / "T-caf\u00e9.yaml").touch()
    for listed in (None, sorted(p.name for p in folder.iterdir())):
        with pytest.raises(UsageError, match="collides with"):
            store._check_case_twin(folder / "T-cafe\u0301.yaml", listed)
