"""Queries: --where with operators and list members, --sort, --limit, natural ids, output formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from gitstore import Store, query
from tests.conftest import gitstore


@pytest.fixture
def seeded(store: Store) -> Store:
    for n, (status, tags, priority) in enumerate(
        [("doing", ["daemon", "p0"], 1), ("todo", ["p1"], 3), ("done", [], 2), ("doing", [], None)],
        start=1,
    ):
        fields = {"title": f"task {n}", "status": status, "tags": tags}
        if priority is not None:
            fields["priority"] = priority
        store.add("tasks", fields, f"T-{n * 5}")  # T-5, T-10, T-15, T-20
    return store


def ids(
    store: Store, *conditions: str, sort: tuple[str, ...] = (), limit: int | None = None
) -> list[str]:
    coll = store.collection("tasks")
    found = store.find("tasks", [query.parse(c, coll) for c in conditions], sort=sort, limit=limit)
    return [r["id"] for r in found]


def test_ids_are_in_natural_order(seeded: Store) -> None:
    assert ids(seeded) == ["T-5", "T-10", "T-15", "T-20"]
    assert seeded.ids("tasks") == ["T-5", "T-10", "T-15", "T-20"]


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (("tags=daemon",), ["T-5"]),  # a list field matches by membership
        (("tags~p1",), ["T-10"]),
        (("status!=doing",), ["T-10", "T-15"]),
        (("priority<3",), ["T-5", "T-15"]),  # compared as numbers; T-20 has no priority
        (("priority>=2",), ["T-10", "T-15"]),
        (("priority!=1",), ["T-10", "T-15", "T-20"]),  # a missing field is "not equal"
        (("title~TASK 2",), ["T-10"]),  # contains, case-insensitive
        (("status=doing", "priority>0"), ["T-5"]),  # all must hold
    ],
)
def test_conditions(seeded: Store, conditions: tuple[str, ...], expected: list[str]) -> None:
    assert ids(seeded, *conditions) == expected


def test_sort_and_limit(seeded: Store) -> None:
    assert ids(seeded, sort=("-priority",)) == ["T-10", "T-15", "T-5", "T-20"]  # missing last
    assert ids(seeded, sort=("status", "-priority")) == ["T-5", "T-20", "T-15", "T-10"]
    assert ids(seeded, sort=("priority",), limit=2) == ["T-5", "T-15"]


def test_bad_conditions_are_usage_errors(seeded: Store) -> None:
    for bad in ("no operator", "priority<abc", "status=bogus"):
        res = gitstore("list", "tasks", "--where", bad, cwd=seeded.root)
        assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr


def test_output_formats_carry_the_chosen_fields(seeded: Store) -> None:
    root = seeded.root
    args = ("list", "tasks", "--where", "status=doing", "--fields", "id,status,tags")
    table = gitstore(*args, cwd=root).stdout.splitlines()
    assert table[0].split() == ["id", "status", "tags"]  # piped: plain columns, no box drawing
    assert table[1].split() == ["T-5", "doing", "daemon,", "p0"]
    assert not any(ch in "".join(table) for ch in "┃━│─")
    as_csv = list(csv.reader(io.StringIO(gitstore(*args, "--format", "csv", cwd=root).stdout)))
    assert as_csv == [
        ["id", "status", "tags"],
        ["T-5", "doing", "daemon, p0"],
        ["T-20", "doing", ""],
    ]
    lines = gitstore(*args, "--format", "jsonl", cwd=root).stdout.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": "T-5", "status": "doing", "tags": ["daemon", "p0"]},
        {"id": "T-20", "status": "doing", "tags": []},
    ]
    whole = json.loads(gitstore("list", "tasks", "--json", "--limit", "1", cwd=root).stdout)
    assert whole[0]["id"] == "T-5" and whole[0]["version"] == 1  # without --fields: whole records


def test_adding_an_existing_id_says_so(seeded: Store, tmp_path: Path) -> None:
    res = gitstore("add", "tasks", "T-5", "title=again", cwd=seeded.root)
    assert res.returncode == 1 and "already exists" in res.stderr
