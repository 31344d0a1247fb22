"""Real SIGKILL at random moments: the record on disk is always intact and never behind an ack."""

from __future__ import annotations

import os
import random
import select
import signal
import time
from pathlib import Path

import pytest

from gitstore import Store
from gitstore.record import loads

KILLS = 200


def _child(root: Path, ack_fd: int) -> None:
    """Write in a loop; after each acknowledged write, report its version on the pipe."""
    try:
        store = Store.open(root)
        n = 0
        while True:
            n += 1
            if n % 4 == 0:
                with store.transaction() as tx:
                    for rid in ("T-2", "T-3", "T-4"):
                        with tx.update("tasks", rid) as rec:
                            rec["count"] = rec.get("count", 0) + 1
                os.write(ack_fd, b"tx\n")
            else:
                with store.update("tasks", "T-1") as rec:
                    rec["count"] = rec.get("count", 0) + 1
                os.write(ack_fd, f"{rec['version']}\n".encode())
    finally:
        os._exit(1)


def _await_acks(fd: int, wanted: int) -> bytes:
    """Read from the child's pipe until ``wanted`` acknowledgements arrived (what was read)."""
    data = b""
    while data.count(b"\n") < wanted:
        ready, _, _ = select.select([fd], [], [], 120)
        assert ready, "the writer made no progress in 120 s"
        chunk = os.read(fd, 4096)
        assert chunk, "the writer died"
        data += chunk
    return data


def test_sigkill_at_random_moments(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    for rid in ("T-1", "T-2", "T-3", "T-4"):
        store.put("tasks", {"id": rid, "title": "counter", "count": 0})
    rng = random.Random(1234)
    acked = 0
    mid_write_kills = 0
    for _ in range(KILLS):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child(store.root, write_fd)
        os.close(write_fd)
        # Kill at a random moment *after* a random number of acknowledged writes, so every
        # round tests progress however busy the machine is (no sleep decides what is tested).
        early = _await_acks(read_fd, rng.randint(1, 6))
        time.sleep(rng.uniform(0, 0.005))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with os.fdopen(read_fd, "rb") as pipe:
            lines = (early + pipe.read()).split(b"\n")
            acks = [line for line in lines if line and line != b"tx"]
        if acks:
            acked = int(acks[-1])
        temps_or_journal = any(p.name.startswith(".gitstore-tmp-") for p in store.root.rglob("*"))
        mid_write_kills += temps_or_journal or (store.state / "journal.json").exists()
        reopened = Store.open(store.root)  # recovery
        rec = loads(reopened.path_of("tasks", "T-1").read_text())
        assert rec["version"] >= acked, (rec["version"], acked)
        counts = {reopened.get("tasks", r)["count"] for r in ("T-2", "T-3", "T-4")}
        assert len(counts) == 1, f"transaction half applied: {counts}"
    with capsys.disabled():
        print(
            f"\n[kill -9] {KILLS} kills, {mid_write_kills} left a temp file or journal to recover"
        )
