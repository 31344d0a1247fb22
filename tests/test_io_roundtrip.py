"""import(export(store)) is the same store: every record's fields equal, type for type.

JSON, JSON Lines and SQLite carry every value a record holds (SQLite through the column kinds the
export records). CSV carries the declared fields (typed back by the schema) and undeclared text;
it cannot tell an empty string from no value, nor an undeclared number from text (see
docs/import-export.md), so its property is stated over those fields.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitstore import Store, exporter, importer, readers
from gitstore.initialize import init_store
from gitstore.record import same

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
WORD = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=12,
)
IDS = st.from_regex(r"T-[0-9a-z]{1,6}", fullmatch=True)
DATES = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1))
INTS = st.integers(min_value=-(2**70), max_value=2**70)
FLOATS = st.floats(allow_nan=False)
SCALARS = st.one_of(TEXT, INTS, FLOATS, st.booleans())
MAPS = st.dictionaries(
    st.from_regex(r"[a-z]{1,4}", fullmatch=True), st.one_of(TEXT, INTS), max_size=3
)  # an empty mapping too: records hold it as `{}`, the one flow mapping they may


def full_records() -> st.SearchStrategy[list[dict[str, Any]]]:
    """Declared fields of the starter tasks collection, and undeclared ones of every kind."""
    fields = st.fixed_dictionaries(
        {"title": WORD},
        optional={
            "status": st.sampled_from(["todo", "doing", "done", "blocked"]),
            "owner": TEXT,
            "priority": INTS,
            "tags": st.lists(TEXT, max_size=3),
            "notes": TEXT,
            "due": DATES,
            "label": TEXT,
            "count": INTS,
            "score": FLOATS,
            "flag": st.booleans(),
            "items": st.lists(SCALARS, max_size=3),
            "meta": MAPS,
            "mixed": SCALARS,
        },
    )
    return _records(fields)


def csv_records() -> st.SearchStrategy[list[dict[str, Any]]]:
    fields = st.fixed_dictionaries(
        {"title": WORD},
        optional={
            "status": st.sampled_from(["todo", "doing", "done", "blocked"]),
            "owner": WORD,
            "priority": INTS,
            "tags": st.lists(TEXT, max_size=3),
            "notes": WORD,
            "due": DATES,
            "label": WORD,
        },
    )
    return _records(fields)


def _records(fields: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[list[dict[str, Any]]]:
    ids = st.lists(IDS, max_size=6, unique_by=str.casefold)
    return ids.flatmap(
        lambda names: st.tuples(*(fields for _ in names)).map(
            lambda values: [{"id": n, **v} for n, v in zip(names, values, strict=True)]
        )
    )


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    pair = (tmp_path / "a", tmp_path / "b")
    for root in pair:
        init_store(root)
    yield pair


def reset(root: Path) -> Store:
    shutil.rmtree(root / "records", ignore_errors=True)
    return Store.open(root)


def user_fields(store: Store) -> dict[str, dict[str, Any]]:
    out = {}
    for rec in store.find("tasks"):
        out[rec["id"]] = {
            k: v
            for k, v in rec.items()
            if k not in ("version", "last_modified", "modified_by", "clocks")
        }
    return out


def load(store: Store, records: list[dict[str, Any]]) -> None:
    with store.transaction() as tx:
        for rec in records:
            tx.put("tasks", rec)


def roundtrip(src: Store, dst: Store, fmt: str, folder: Path) -> None:
    if fmt == "sqlite":
        path = folder / "export.db"
        exporter.to_sqlite(src, path, ["tasks"])
        source = readers.read_sqlite(str(path), "tasks")
    else:
        path = folder / f"export.{fmt}"
        path.write_bytes(exporter.render(src, "tasks", fmt))
        source = readers.read(str(path), fmt)
    rows = importer.to_records(source, dst.collection("tasks"), importer.Mapping())
    importer.apply(dst, [("tasks", source, rows)])


def assert_same(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert same(a[key], b[key]), (a[key], b[key])


@pytest.mark.parametrize("fmt", ["json", "jsonl", "sqlite"])
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=full_records())
def test_export_then_import_is_the_same_store(
    stores: tuple[Path, Path], fmt: str, records: list[dict[str, Any]]
) -> None:
    src, dst = reset(stores[0]), reset(stores[1])
    load(src, records)
    with tempfile.TemporaryDirectory() as folder:
        roundtrip(src, dst, fmt, Path(folder))
        assert_same(user_fields(dst), user_fields(src))
        # And again: a re-import of the same export changes nothing.
        before = {r["id"]: r["version"] for r in dst.find("tasks")}
        roundtrip(src, dst, fmt, Path(folder))
        assert {r["id"]: r["version"] for r in dst.find("tasks")} == before


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=csv_records())
def test_csv_round_trips_declared_fields_and_text(
    stores: tuple[Path, Path], records: list[dict[str, Any]]
) -> None:
    src, dst = reset(stores[0]), reset(stores[1])
    load(src, records)
    with tempfile.TemporaryDirectory() as folder:
        roundtrip(src, dst, "csv", Path(folder))
    assert_same(user_fields(dst), user_fields(src))


@settings(max_examples=200)
@given(value=st.one_of(SCALARS, DATES, st.lists(SCALARS, max_size=3), MAPS))
def test_a_sqlite_cell_reads_back_as_its_value(value: object) -> None:
    from gitstore.tabular import column_kind, convert, to_sql

    kind = column_kind(None, [value])
    cell = to_sql(value, kind)
    assert isinstance(cell, (str, int, float)) and not isinstance(cell, bool)
    back = cell if kind in ("str", "int", "float") else convert(cell, kind)
    assert same(back, value)
