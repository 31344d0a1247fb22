"""Notifications through the API and the CLI: notify, inbox, ack, and their bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitstore import ConfigError, NotFound, Store, UsageError
from gitstore.notifications import ack, ack_all, inbox, notify
from tests.conftest import gitstore, snapshot


def test_notify_writes_an_unread_record(store: Store) -> None:
    task = store.add("tasks", {"title": "x"})
    rec = notify(store, "T done; review?", about=task["id"], level="question", source="daemon")
    assert rec["id"].startswith("N-") and rec["version"] == 1
    assert (rec["status"], rec["level"], rec["about"], rec["source"]) == (
        "unread",
        "question",
        task["id"],
        "daemon",
    )
    assert store.get("notifications", rec["id"]) == rec
    assert rec["created"] <= rec["last_modified"]


@pytest.mark.parametrize(("given", "stored"), [("warn", "warning"), ("action", "question")])
def test_level_aliases(store: Store, given: str, stored: str) -> None:
    assert notify(store, "m", level=given)["level"] == stored


def test_about_may_name_a_record_or_a_section(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    assert notify(store, "m", about="tasks/T-1")["about"] == "tasks/T-1"
    assert notify(store, "m", about="1")["about"] == "1"  # the starter roadmap's PRIORITY 1
    assert notify(store, "m", about="PRIORITY 1")["about"] == "PRIORITY 1"
    assert notify(store, "m", about="elsewhere", check_about=False)["about"] == "elsewhere"


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"message": ""}, UsageError, "needs a message"),
        ({"message": " \n\t"}, UsageError, "needs a message"),
        ({"message": "m", "level": "loud"}, UsageError, "must be one of info, question"),
        ({"message": "m", "about": "T-404"}, NotFound, "no record or roadmap section"),
        ({"message": "m", "about": "9.9"}, NotFound, "no record or roadmap section"),
        ({"message": "m", "about": "  "}, UsageError, "give a record"),
    ],
)
def test_bad_input_writes_nothing(
    store: Store, kwargs: dict[str, str], error: type[Exception], words: str
) -> None:
    before = snapshot(store.root)
    with pytest.raises(error, match=words):
        notify(store, **kwargs)
    assert snapshot(store.root) == before


def test_about_a_deleted_record_is_refused(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    store.delete("tasks", "T-1")
    with pytest.raises(NotFound, match="T-1"):
        notify(store, "m", about="T-1")


def test_inbox_unread_first_newest_first(store: Store) -> None:
    first, second, third = (notify(store, f"n{i}") for i in range(3))
    ack(store, [second["id"]])
    assert [r["id"] for r in inbox(store)] == [third["id"], first["id"]]
    assert [r["id"] for r in inbox(store, include_read=True)] == [
        third["id"],
        first["id"],
        second["id"],
    ]
    store.delete("notifications", first["id"])
    assert [r["id"] for r in inbox(store)] == [third["id"]]


def test_ack_twice_is_harmless_and_writes_once(store: Store) -> None:
    rec = notify(store, "m")
    [(done, changed)] = ack(store, [rec["id"]])
    assert changed and done["status"] == "read" and done["version"] == 2
    before = snapshot(store.root)
    [(again, changed)] = ack(store, [rec["id"]])
    assert not changed and again["version"] == 2
    assert snapshot(store.root) == before


def test_ack_with_an_unknown_id_changes_nothing(store: Store) -> None:
    rec = notify(store, "m")
    store.put("tasks", {"id": "T-1", "title": "x"})
    before = snapshot(store.root)
    for bad in ("N-zzzzzz", "nonsense/../x", "T-1", "tasks/T-1", "../../etc/passwd"):
        with pytest.raises((NotFound, UsageError)):
            ack(store, [rec["id"], bad])
    assert snapshot(store.root) == before
    with pytest.raises(UsageError):
        ack(store, [])


def test_ack_all(store: Store) -> None:
    ids = {notify(store, f"n{i}")["id"] for i in range(3)}
    assert {r["id"] for r in ack_all(store)} == ids
    assert ack_all(store) == [] and inbox(store) == []


def test_a_store_without_notifications_says_how_to_add_them(store_dir: Path) -> None:
    config = store_dir / "gitstore.yaml"
    text = config.read_text()
    config.write_text(text[: text.index("  notifications:")])
    store = Store.open(store_dir)
    with pytest.raises(ConfigError, match="no 'notifications' collection"):
        notify(store, "m")
    res = gitstore("inbox", cwd=store_dir)
    assert res.returncode == 1 and "docs/notifications.md" in res.stderr


def test_cli_notify_inbox_ack(store_dir: Path) -> None:
    gitstore("add", "tasks", "T-1", "title=x", cwd=store_dir)
    res = gitstore("notify", "build broke", "--about", "T-1", "--level", "warn", cwd=store_dir)
    assert res.returncode == 0, res.stderr
    nid = res.stdout.split()[0]
    assert res.stdout == f"{nid} (warning): build broke\n"
    piped = gitstore("notify", "-", "--json", "--source", "daemon", cwd=store_dir, input="a\nb\n")
    assert json.loads(piped.stdout)["message"] == "a\nb\n"
    table = gitstore("inbox", cwd=store_dir).stdout
    assert "build broke" in table and "a …" in table
    listed = json.loads(gitstore("inbox", "--json", cwd=store_dir).stdout)
    assert [r["message"] for r in listed] == ["a\nb\n", "build broke"]
    assert gitstore("ack", nid, cwd=store_dir).stdout == f"{nid} read (version 2)\n"
    assert gitstore("ack", nid, cwd=store_dir).stdout == f"{nid} was read already\n"
    everything = gitstore("ack", "--all", "--json", cwd=store_dir)
    assert [r["changed"] for r in json.loads(everything.stdout)] == [True]
    assert gitstore("inbox", cwd=store_dir).stdout == "no unread notifications\n"
    assert len(json.loads(gitstore("inbox", "--all", "--json", cwd=store_dir).stdout)) == 2


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["notify", ""], 2, "needs a message"),
        (["notify", "m", "--level", "loud"], 2, "must be one of"),
        (["notify", "m", "--about", "T-404"], 1, "no record or roadmap section"),
        (["ack", "N-zzzzzz"], 1, "no record N-zzzzzz"),
        (["ack"], 2, "or --all"),
        (["ack", "N-zzzzzz", "--all"], 2, "not both"),
    ],
)
def test_cli_bad_input_is_one_line(store_dir: Path, args: list[str], code: int, words: str) -> None:
    before = snapshot(store_dir)
    res = gitstore(*args, cwd=store_dir)
    assert res.returncode == code and words in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert snapshot(store_dir) == before
    as_json = gitstore(*args, "--json", cwd=store_dir)
    assert as_json.returncode == code and words in json.loads(as_json.stdout)["error"]["message"]


def test_a_strict_collection_gets_no_created_field(store_dir: Path) -> None:
    config = store_dir / "gitstore.yaml"
    text = config.read_text()
    config.write_text(
        text.replace('    id_prefix: "N-"\n', '    id_prefix: "N-"\n    extra: reject\n')
    )
    store = Store.open(store_dir)
    rec = notify(store, "m")
    assert "created" not in rec and store.collection("notifications").problems(rec) == []
    assert [r["id"] for r in inbox(store)] == [rec["id"]]
