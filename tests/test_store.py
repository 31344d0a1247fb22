"""store.py and transaction.py: the API a daemon calls."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gitstore import (
    ConfigError,
    NotAStore,
    NotFound,
    RecordError,
    Store,
    UsageError,
    VersionConflict,
    fs,
)
from gitstore.ids import ALPHABET, effective_mode
from gitstore.record import loads


def test_put_get_update_delete_list(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "one", "status": "todo"}, expected_version=0)
    with store.update("tasks", "T-1") as rec:
        rec["status"] = "doing"
    got = store.get("tasks", "T-1")
    assert got["status"] == "doing" and got["version"] == 2 and got["modified_by"] == "tester"
    two = store.add("tasks", {"title": "two", "tags": ["p0"]})["id"]
    from gitstore.query import natural_key

    assert [r["id"] for r in store.list("tasks")] == sorted(["T-1", two], key=natural_key)
    assert [r["id"] for r in store.list("tasks", where={"status": "doing"})] == ["T-1"]
    assert [r["id"] for r in store.list("tasks", where={"tags": "p0"})] == [two]
    store.delete("tasks", "T-1")
    with pytest.raises(NotFound):
        store.get("tasks", "T-1")
    tomb = store.get("tasks", "T-1", include_deleted=True)
    assert tomb["deleted"] is True and tomb["version"] == 3
    assert [r["id"] for r in store.list("tasks")] == [two]


def test_add_uses_defaults_and_a_random_id(store: Store) -> None:
    store.put("tasks", {"id": "T-7", "title": "x"})
    rec = store.add("tasks", {"title": "y"})
    assert rec["status"] == "todo"
    assert rec["id"].startswith("T-") and len(rec["id"]) == 8 and rec["id"] != "T-7"
    suffix = rec["id"][2:]
    assert set(suffix) <= set(ALPHABET) and not suffix.isdigit() and not set(suffix) & set("ilou")


def _config_with(store_dir: Path, *edits: tuple[str, str]) -> Store:
    config = store_dir / "gitstore.yaml"
    for old, new in edits:
        assert old in config.read_text()
        config.write_text(config.read_text().replace(old, new))
    return Store.open(store_dir)


DIGITS_ONLY = ('    id_pattern: "T-[0-9a-z]+" # a', '    id_pattern: "T-[0-9]+" # a')


def test_sequential_ids_when_asked(store_dir: Path) -> None:
    store = _config_with(store_dir, ("    ids: random ", "    ids: sequential "))
    store.put("tasks", {"id": "T-7", "title": "x"})
    store.put("tasks", {"id": "T-k3x9q2", "title": "a random one is skipped"})
    assert store.add("tasks", {"title": "y"})["id"] == "T-8"
    folder = store_dir / "records/tasks"
    for name in (
        "T-\u00b2\u00b3.yaml",
        "T-\u0663\u0663.yaml",
        "T-0042.yaml",
        "T-99.txt",
        ".T-98.yaml",
    ):
        (folder / name).write_text("not a record\n")  # superscript and Arabic-Indic digits too
    assert store.add("tasks", {"title": "z"})["id"] == "T-43"  # 0042 is 42; the others no ids


def test_an_older_digits_only_pattern_keeps_sequential_ids(store_dir: Path) -> None:
    # The starter config of earlier versions: no ids: key, a pattern that admits only digits.
    store = _config_with(store_dir, DIGITS_ONLY, ("    ids: random ", "    "))
    assert store.collection("tasks").ids == "auto"
    assert effective_mode(store.collection("tasks")) == "sequential"
    store.put("tasks", {"id": "T-3", "title": "x"})
    assert store.add("tasks", {"title": "y"})["id"] == "T-4"
    from gitstore.doctor import doctor

    ids = next(c for c in doctor(store) if c["check"] == "ids")["detail"]
    assert "tasks: sequential, as id_pattern T-[0-9]+ admits no random id" in ids
    assert "T-[0-9a-z]+" in ids and "notifications: random" in ids


def test_random_ids_with_a_pattern_that_refuses_them_is_a_config_error(store_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"random ids \(like T-k3x9q2\) do not match id_pattern"):
        _config_with(store_dir, DIGITS_ONLY)
    with pytest.raises(ConfigError, match="must be random or sequential"):
        _config_with(store_dir, ("    ids: random ", "    ids: uuid "))


def test_random_ids_need_no_prefix(store_dir: Path) -> None:
    store = _config_with(store_dir, ('    id_prefix: "T-"\n', ""), ('"T-[0-9a-z]+"', '"[0-9a-z]+"'))
    assert len(store.add("tasks", {"title": "y"})["id"]) == 6


def test_update_without_change_does_not_write(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    with store.update("tasks", "T-1") as rec:
        rec["title"] = "x"
    assert store.get("tasks", "T-1")["version"] == 1


def test_update_that_raises_writes_nothing(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    before = store.path_of("tasks", "T-1").read_bytes()
    with pytest.raises(KeyError), store.update("tasks", "T-1") as rec:
        rec["title"] = "changed"
        raise KeyError("boom")
    assert store.path_of("tasks", "T-1").read_bytes() == before


def test_compare_and_swap(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"}, expected_version=0)
    with pytest.raises(VersionConflict) as err:
        store.put("tasks", {"id": "T-1", "title": "y"}, expected_version=0)
    assert err.value.actual == 1 and err.value.exit_code == 4
    store.put("tasks", {"id": "T-1", "title": "y"}, expected_version=1)
    with pytest.raises(VersionConflict), store.update("tasks", "T-1", expected_version=1):
        pass


def test_schema_violations_are_refused(store: Store) -> None:
    with pytest.raises(RecordError, match="title: required"):
        store.put("tasks", {"id": "T-1"})
    with pytest.raises(RecordError, match="not one of"):
        store.put("tasks", {"id": "T-1", "title": "x", "status": "later"})
    with pytest.raises(RecordError, match="priority"):
        store.put("tasks", {"id": "T-1", "title": "x", "priority": "high"})
    assert not store.path_of("tasks", "T-1").exists()


@pytest.mark.parametrize(
    "bad", ["../x", "/etc/passwd", "T-1/../../x", ".hidden", "", "T-\x00", "X-1"]
)
def test_bad_ids_never_touch_disk(store: Store, bad: str) -> None:
    with pytest.raises(UsageError):
        store.put("tasks", {"id": bad, "title": "x"})


def test_resolve(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    assert store.resolve("T-1") == ("tasks", "T-1")
    assert store.resolve("tasks/T-1") == ("tasks", "T-1")
    assert store.resolve("N-3") == ("notifications", "N-3")
    with pytest.raises(NotFound):
        store.resolve("Q-1")


def test_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(NotAStore) as err:
        Store.open(tmp_path)
    assert err.value.exit_code == 5


def test_mode_kept_on_update(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    path = store.path_of("tasks", "T-1")
    path.chmod(0o644)
    with store.update("tasks", "T-1") as rec:
        rec["title"] = "y"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_comments_survive_updates(store: Store) -> None:
    path = store.path_of("tasks", "T-1")
    path.parent.mkdir(parents=True)
    path.write_text("# keep me\nid: T-1\ntitle: x  # and me\nstatus: todo\n")
    with store.update("tasks", "T-1") as rec:
        rec["status"] = "done"
    text = path.read_text()
    assert "# keep me\n" in text and "title: x  # and me\n" in text and "status: done\n" in text
    assert "version: 1\n" in text


def test_transaction_all_or_nothing(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    with store.transaction() as tx:
        with tx.update("tasks", "T-1") as rec:
            rec["status"] = "done"
        tx.put("tasks", {"id": "T-2", "title": "y"})
        tx.put("notifications", {"id": "N-1", "message": "T-1 done", "about": "T-1"})
        assert tx.get("tasks", "T-2")["title"] == "y"  # reads see the transaction's writes
    assert store.get("tasks", "T-1")["status"] == "done"
    assert store.get("notifications", "N-1")["about"] == "T-1"

    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.put("tasks", {"id": "T-3", "title": "z"})
        raise RuntimeError("abandon")
    assert not store.path_of("tasks", "T-3").exists()

    with pytest.raises(RecordError), store.transaction() as tx:
        tx.put("tasks", {"id": "T-4", "title": "ok"})
        tx.put("tasks", {"id": "T-5"})  # invalid: nothing of this transaction is written
    assert not store.path_of("tasks", "T-4").exists()


def test_open_replays_a_committed_journal_and_sweeps_temps(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "old"})
    target = store.path_of("tasks", "T-1")
    new = target.read_text().replace("title: old", "title: new")
    tmp = fs.write_temp(target, new.encode())
    journal = store.state / "journal.json"
    journal.write_text(
        f'[{{"temp": "{tmp.relative_to(store.root)}", "target": "{target.relative_to(store.root)}"}}]'
    )
    stray = fs.write_temp(target, b"garbage")
    Store.open(store.root)
    assert loads(target.read_text())["title"] == "new"
    assert not journal.exists() and not stray.exists() and not tmp.exists()
    assert sorted(os.listdir(target.parent)) == ["T-1.yaml"]


def test_many_distinct_records_in_one_process(store: Store) -> None:
    # More lock files than the per-thread descriptor cache holds: a held lock is never evicted.
    for i in range(1, 301):
        store.put("tasks", {"id": f"T-{i}", "title": "x"})
    with store.transaction() as tx:
        for i in range(1, 301, 50):
            with tx.update("tasks", f"T-{i}") as rec:
                rec["status"] = "done"
    for i in range(1, 301):
        with store.update("tasks", f"T-{i}") as rec:
            rec["owner"] = "o"
    assert len(store.list("tasks", where={"owner": "o"})) == 300


def test_a_write_inside_a_transaction_must_go_through_it(store: Store) -> None:
    with pytest.raises(UsageError, match="through the transaction"), store.transaction():
        store.put("tasks", {"id": "T-1", "title": "x"})


def test_open_lists_no_folder_and_a_sweep_clears_what_a_crash_left(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    temp = fs.write_temp(store.path_of("tasks", "T-1"), b"a write that was killed")
    Store.open(store.root)
    assert temp.exists()  # harmless where it is: ignored by git and by every reader
    assert Store.open(store.root).get("tasks", "T-1")["title"] == "x"
    Store.open(store.root).sweep()
    assert not temp.exists()


def test_what_a_caller_changes_after_a_write_never_reaches_the_file_or_the_cache(
    store: Store,
) -> None:
    """A write checks the record, then the caller keeps its dicts and lists (its input, the
    record returned, an update block's dict): changing them later changes nothing stored, in a
    transaction's commit or in the cache that the next read returns."""
    data = {"id": "T-5", "title": "x", "tags": ["a"]}
    with store.transaction() as tx:
        returned = tx.put("tasks", data)
        returned["status"] = "bogus"  # an enum violation, after the check
        returned["tags"].append({"deep": {1, 2}})
        data["tags"].append("from the input")
        with tx.update("tasks", "T-6", create=True) as rec:
            rec["title"] = "y"
            rec["tags"] = ["b"]
        rec["tags"].append(b"bytes")
        assert tx.get("tasks", "T-5")["tags"] == ["a"]
    assert store.get("tasks", "T-5")["tags"] == ["a"]
    assert "status" not in store.get("tasks", "T-5")
    assert store.get("tasks", "T-6")["tags"] == ["b"]

    written = store.put("tasks", {"id": "T-7", "title": "z", "tags": ["c"]})
    written["tags"].append("w")
    with store.update("tasks", "T-7") as rec:
        rec["owner"] = "o"
    rec["tags"].append("u")
    got = store.get("tasks", "T-7")
    got["tags"].append("g")
    assert store.get("tasks", "T-7")["tags"] == ["c"]
    assert loads((store_path := store.path_of("tasks", "T-7")).read_text(), store_path)["tags"] == [
        "c"
    ]
