"""Crash safety at every I/O step: a crash or an I/O error injected at each step of each write path.

After each case the store is reopened (which replays or rolls back), and then: every record parses
and equals its old or its new bytes exactly (a transaction: all old or all new), versions never go
down, no temp file is left, ``git status`` shows only intended changes, and the store still works.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from gitstore import GitStoreError, Store, folders, fs, versions
from gitstore.initialize import init_store
from gitstore.record import loads
from gitstore.statedir import state_dir
from tests.conftest import git, snapshot


class Crash(BaseException):
    """A simulated process death: no ``except Exception`` clean-up runs."""


Op = Callable[[Store], object]


def _update(coll: str, rid: str, **changes: object) -> Op:
    def run(s: Store) -> None:
        with s.update(coll, rid) as rec:
            rec.update(changes)

    return run


def _tx(n: int) -> Op:
    def run(s: Store) -> None:
        with s.transaction() as tx:
            for i in range(1, n + 1):
                if i % 3 == 0:
                    tx.delete("tasks", f"T-{i}")
                elif i % 3 == 1:
                    with tx.update("tasks", f"T-{i}") as rec:
                        rec["status"] = "done"
                else:
                    tx.put("notifications", {"id": f"N-{i}", "message": f"new {i}"})

    return run


SCENARIOS: dict[str, Op] = {
    "put-new": lambda s: s.put("tasks", {"id": "T-99", "title": "new"}),
    "put-existing": lambda s: s.put("tasks", {"id": "T-1", "title": "replaced", "status": "done"}),
    "update": _update("tasks", "T-2", status="doing", owner="alice"),
    "delete": lambda s: s.delete("tasks", "T-3"),
    "tx-2": _tx(2),
    "tx-5": _tx(5),
    "tx-12": _tx(12),
}

FAULTS = {
    "crash": lambda: Crash(),
    "EIO": lambda: OSError(errno.EIO, "Input/output error"),
    "ENOSPC": lambda: OSError(errno.ENOSPC, "No space left on device"),
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tpl") / "store"
    init_store(root)
    s = Store.open(root)
    for i in range(1, 13):
        s.put("tasks", {"id": f"T-{i}", "title": f"task {i}", "notes": "line one\nline two\n"})
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    git(root, "gc", "-q")  # few object files: each case copies the repository
    for sample in (root / ".git" / "hooks").glob("*.sample"):
        sample.unlink()
    return root


class Injector:
    def __init__(self, at: int | None = None, fault: Callable[[], BaseException] | None = None):
        self.at, self.fault, self.count = at, fault, 0

    def __call__(self, step: str, path: str) -> None:
        self.count += 1
        if self.count == self.at and self.fault is not None:
            raise self.fault()


def _run(root: Path, op: Op, hook: Injector, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fs, "fault_hook", hook)
    try:
        op(Store.open(root))
    except (Crash, GitStoreError, OSError):
        pass
    finally:
        monkeypatch.setattr(fs, "fault_hook", None)


def _check(root: Path, old: dict[str, bytes], new: dict[str, bytes], atomic: bool) -> str:
    Store.open(root).sweep()  # reopening replays a committed journal; the sweep clears temps
    now = snapshot(root)
    changed = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
    for name, data in now.items():
        if name.endswith(".yaml") and name.startswith("records/"):
            rec = loads(data.decode())
            assert rec["version"] >= loads(old[name].decode())["version"] if name in old else True
    for name in changed:
        assert now.get(name) in (old.get(name), new.get(name)), name
    states = {"old" if now.get(n) == old.get(n) else "new" for n in changed}
    if atomic:
        assert len(states) <= 1, f"transaction half applied: {states}"
    assert set(now) - set(old) - set(new) == set()
    assert not folders.stray_temps(Store.open(root).data_dirs())
    status = git(root, "status", "--porcelain").split("\n")
    paths = {line[3:] for line in status if line}
    assert all(any(c.startswith(p.rstrip("/")) for c in changed) for p in paths), paths
    return states.pop() if states else "old"


def test_crash_and_io_error_at_every_step(
    template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(versions, "next_clock", lambda previous=None: "2026-11-23T00:00:00.000000Z")
    cases = 0
    outcomes: dict[str, int] = {"old": 0, "new": 0}
    old = snapshot(template)
    for name, op in SCENARIOS.items():
        clean = tmp_path / f"{name}-clean"
        shutil.copytree(template, clean)
        counter = Injector()
        _run(clean, op, counter, monkeypatch)
        new = snapshot(clean)
        assert new != old, name
        for at in range(1, counter.count + 1):
            # a crash at every step, and an I/O error: EIO and ENOSPC at every other step each
            # (no code tells them apart; tests/test_fs.py and tests/hostile have both at each)
            for fault_name in ("crash", "EIO" if at % 2 else "ENOSPC"):
                fault = FAULTS[fault_name]
                case = tmp_path / f"{name}-{at}-{fault_name}"
                shutil.copytree(template, case)
                _run(case, op, Injector(at, fault), monkeypatch)
                journal_left = (state_dir(case) / "journal.json").exists()
                if journal_left:
                    # Crash the recovery too, at each of its steps, then recover for real.
                    steps = Injector()
                    monkeypatch.setattr(fs, "fault_hook", steps)
                    shutil.copytree(case, tmp_path / "count")
                    Store.open(tmp_path / "count")
                    shutil.rmtree(tmp_path / "count")
                    monkeypatch.setattr(fs, "fault_hook", None)
                    for rat in range(1, steps.count + 1):
                        again = tmp_path / f"{name}-{at}-{fault_name}-r{rat}"
                        shutil.copytree(case, again)
                        monkeypatch.setattr(fs, "fault_hook", Injector(rat, FAULTS["crash"]))
                        with contextlib.suppress(Crash):
                            Store.open(again)
                        monkeypatch.setattr(fs, "fault_hook", None)
                        outcomes[_check(again, old, new, name.startswith("tx"))] += 1
                        cases += 1
                        shutil.rmtree(again)
                outcomes[_check(case, old, new, name.startswith("tx"))] += 1
                cases += 1
                # The store still works: no stale lock, journal or temp in the way.
                s = Store.open(case)
                with s.update("tasks", "T-1") as rec:
                    rec["owner"] = "after-crash"
                shutil.rmtree(case)
    with capsys.disabled():
        print(
            f"\n[crash-safety] {cases} injected cases: {outcomes['old']} old, {outcomes['new']} new"
        )
    assert cases >= 1000
    assert outcomes["old"] > 0 and outcomes["new"] > 0
