"""Real processes racing for real locks: no lost update, no torn read, compare-and-swap, timeouts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitstore import Store
from tests.conftest import gitstore

REPO = Path(__file__).resolve().parents[2]


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.workers", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def results(procs: list[subprocess.Popen[str]]) -> list[object]:
    done = [proc.communicate(timeout=600) for proc in procs]  # every one, before any assert
    for proc, (_, stderr) in zip(procs, done, strict=True):
        assert proc.returncode == 0, stderr
    return [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in done]


def test_no_lost_updates_16_processes(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "counter", "count": 0})
    base = store.get("tasks", "T-1")["version"]
    chains = results([spawn("increments", str(store.root), "250") for _ in range(16)])
    rec = store.get("tasks", "T-1")
    assert rec["count"] == 4000
    assert rec["version"] == base + 4000
    versions = sorted(v for chain in chains for v in chain)  # type: ignore[union-attr]
    assert versions == list(range(base + 1, base + 4001))  # one unbroken chain, no duplicates
    for chain in chains:
        assert chain == sorted(chain)  # type: ignore[type-var]


def test_no_lost_updates_through_the_cli(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "counter", "count": 0})
    # 4 processes x 12 increments: each a `get` and a `set --if-version` process, retried on a
    # version conflict (~4 tries each with 4 racing: ~400 CLI processes, the bulk of this test)
    stats = results([spawn("cli_increments", str(store.root), "12") for _ in range(4)])
    assert store.get("tasks", "T-1")["count"] == 48
    assert store.get("tasks", "T-1")["version"] == 49
    assert sum(s["done"] for s in stats) == 48  # type: ignore[index]


def test_compare_and_swap_race_has_exactly_one_winner(store: Store, tmp_path: Path) -> None:
    store.put("tasks", {"id": "T-1", "title": "start"})
    for round_ in range(10):
        version = store.get("tasks", "T-1")["version"]
        flag = tmp_path / f"go-{round_}"
        procs = [
            spawn("race_put", str(store.root), str(flag), str(version), f"p{i}") for i in range(2)
        ]
        flag.touch()
        outcome = sorted(results(procs))  # type: ignore[type-var]
        assert outcome == ["lost", "won"]
        assert store.get("tasks", "T-1")["version"] == version + 1


@pytest.mark.parametrize("first", ["add", "put_text"])
def test_two_adds_of_ids_one_file_on_macos_never_both_win(
    store: Store, tmp_path: Path, first: str
) -> None:
    """`abc` and `ABC` (or `straße` and `STRASSE`) have two record locks but one file on macOS
    and Windows: added at once by two processes, exactly one wins, every round (also when one
    of them writes a new record as text)."""
    config = store.root / "gitstore.yaml"
    config.write_text(
        config.read_text().replace(
            "collections:\n",
            "collections:\n  notes:\n    path: records/notes\n"
            '    id_pattern: "\\\\w[\\\\w.-]*"\n    fields:\n      title:\n        type: str\n',
            1,
        )
    )
    pairs = [(f"case{i}", f"CASE{i}") for i in range(6)] + [("stra\u00dfe", "STRASSE")]
    for round_, ids in enumerate(pairs):
        flag = tmp_path / f"go-{round_}"
        ids = (("text:" if first == "put_text" else "") + ids[0], ids[1])
        procs = [spawn("race_add", str(store.root), str(flag), i) for i in ids]
        flag.touch()
        assert sorted(results(procs)) == ["twin", "won"], ids  # type: ignore[type-var]


def test_readers_never_see_a_torn_record(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "big", "notes": "x\n"})
    # counts, not seconds: the readers read until both writers are done (and 100 times at least)
    procs = [spawn("reader", str(store.root), "100", "w0,w1") for _ in range(2)]
    procs += [spawn("writer", str(store.root), "60", f"w{i}") for i in range(2)]
    out = results(procs)
    assert sum(o for o in out[2:]) == 120  # type: ignore[misc]
    assert all(o["reads"] >= 100 for o in out[:2])  # type: ignore[index]
    assert sum(o["failures"] for o in out[:2]) == 0  # type: ignore[index]
    assert store.get("tasks", "T-1")["version"] == 121


def test_lock_timeout_names_the_holder(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    holder = spawn("hold", str(store.root), "5")
    assert holder.stdout is not None
    assert json.loads(holder.stdout.readline()) == "holding"
    res = gitstore(
        "set", "T-1", "status=done", cwd=store.root, env={"GITSTORE_LOCK_TIMEOUT": "0.5"}
    )
    assert res.returncode == 3, res.stderr
    assert f"pid={holder.pid}" in res.stderr and "workers" in res.stderr
    assert res.stderr.count("\n") == 1
    holder.kill()
    holder.communicate()
    # The OS dropped the dead holder's lock: no stale lock.
    assert gitstore("set", "T-1", "status=done", cwd=store.root).returncode == 0
    assert os.path.exists(store.state / "locks" / "tasks" / "T-1.lock")


def test_concurrent_roadmap_edits_lose_nothing(store: Store) -> None:
    lines = ["# Roadmap\n\n"]
    lines += [
        f"### PRIORITY {i}: Section {i}\n**Status**: 📝 Planned\n\nBody {i}.\n\n"
        for i in range(1, 9)
    ]
    lines += [
        "### PRIORITY 100: Shared\n**Status**: 📝 Planned\n\n",
        "### PRIORITY 101: Contended\n\n",
    ]
    (store.root / "ROADMAP.md").write_text("".join(lines))
    results([spawn("roadmap_edits", str(store.root), str(me), "25") for me in range(8)])
    road = store.roadmap()
    for i in range(1, 9):
        section = road.get(str(i))
        assert section["fields"]["Counter"] == "25" and section["status"] == "step 25"
        assert section["version"] == 25
        assert f"Body {i}." in road.section_text(str(i))
    shared = road.get("100")
    assert all(shared["fields"][f"W{me}"] == "25" for me in range(8))
    assert shared["version"] == 200  # 8 x 25 edits, none lost
    contended = road.get("101")
    assert contended["version"] == 200 and contended["status"].endswith(" at 25")


def test_a_sweep_never_waits_behind_active_writers(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    holder = spawn("hold", str(store.root), "5")  # a writer in the middle of its write
    assert holder.stdout is not None
    assert json.loads(holder.stdout.readline()) == "holding"
    temp = store.root / "records" / "tasks" / ".gitstore-tmp-T-1.yaml.1.abc"
    temp.write_text("maybe another writer's in-flight file")
    Store.open(store.root, lock_timeout=0.2).sweep()  # no LockTimeout: skipped, not awaited
    assert temp.exists()
    holder.kill()
    holder.communicate()
    Store.open(store.root).sweep()  # nobody writes now: swept
    assert not temp.exists()
