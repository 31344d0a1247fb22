"""``gitstore status`` with git's own index vouching for clean files (gitstore.index.vouch).

The differential test drives a real repository through changes git sees and changes it must not
be trusted about (edits that keep size and mtime, assume-unchanged and skip-worktree files, a
converting attribute, ``core.trustctime=false``, staged and committed edits, a checkout of another
branch, new and removed files, a FIFO) and after each compares ``status`` with the index (twice:
the second call is the one git's index can vouch for) with ``status`` from the files alone. The
other tests show that the shortcut is taken when it may be, and refused when it may not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import gitstore.index.vouch as vouch
from gitstore import Store, folders
from gitstore.index.vouch import GitView, blob_id
from gitstore.initialize import init_store
from gitstore.workflow import status

# the fs clock must move past git's index file write (a tick is at most 10 ms on Linux), and
# folders must age past the racy margin (20 ms), for the shortcut to be taken at all
SETTLE = 0.03
STATUSES = ["todo", "doing", "done"]
# same size: an edit only ctime (or git's racy rule, or a content check) can reveal
SPOIL = {b"status: todo\n": b"status: T0D0\n", b"status: done\n": b"status: D0NE\n"}


def _git(root: Path, *args: str, check: bool = True) -> str:
    identity = ["-c", "user.name=T", "-c", "user.email=t@x"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=root, check=check, capture_output=True, text=True
    )
    return done.stdout


def _spoil(path: Path, crlf: bool = False) -> None:
    """Make a record invalid in place, keeping its size and mtime (or, with ``crlf``, give it
    CRLF line ends: bytes a converting attribute would call clean)."""
    if not path.is_file() or path.is_symlink():
        return
    before = path.stat()
    text = path.read_bytes()
    if crlf:
        path.write_bytes(text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        return
    for old, new in SPOIL.items():
        if old in text:
            with open(path, "r+b") as f:  # in place: the same inode
                f.write(text.replace(old, new))
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
            return


def _apply(root: Path, op: tuple[str, str]) -> None:
    kind, target = op
    folder = root / "records" / "tasks"
    path = folder / f"{target}.yaml"
    rel = f"records/tasks/{target}.yaml"
    if kind == "put":
        store = Store.open(root, index=False)
        store.put("tasks", {"id": target, "title": "t", "status": "todo"})
    elif kind == "spoil":
        _spoil(path)
    elif kind == "crlf":
        _spoil(path, crlf=True)
    elif kind == "touch" and path.exists():
        os.utime(path)
    elif kind == "remove" and path.exists():
        path.unlink()
    elif kind == "fifo" and not os.path.lexists(path):
        os.mkfifo(path)
    elif kind == "commit":
        _git(root, "add", "-A", check=False)  # a FIFO: refused, the rest is added
        _git(root, "commit", "-q", "--no-verify", "--allow-empty", "-m", "x")
    elif kind == "stage" and path.exists():
        _git(root, "add", "--", rel, check=False)
    elif kind in ("assume", "skip") and path.exists():
        flag = "--assume-unchanged" if kind == "assume" else "--skip-worktree"
        _git(root, "update-index", flag, "--", rel, check=False)
        _spoil(path)
    elif kind == "checkout":
        branch = _git(root, "branch", "--show-current").strip()
        _git(root, "checkout", "-q", "-f", "other" if branch == "main" else "main", check=False)
    elif kind == "attributes":
        line = {"text": "*.yaml text\n", "ident": "records/** ident\n", "crlf": "* eol=crlf\n"}
        with open(root / ".gitattributes", "a") as f:
            f.write(line[target])
    elif kind == "config":
        setting = {
            "trustctime": ("core.trustctime", "false"),
            "autocrlf": ("core.autocrlf", "true"),
        }
        _git(root, "config", *setting[target])


operations = st.one_of(
    st.tuples(
        st.sampled_from(["put", "spoil", "crlf", "touch", "remove", "fifo"]),
        st.sampled_from(["T-1", "T-2", "T-3", "T-7"]),
    ),
    st.tuples(st.sampled_from(["stage", "assume", "skip"]), st.sampled_from(["T-2", "T-3"])),
    st.tuples(st.sampled_from(["commit", "commit", "checkout"]), st.just("")),
    st.tuples(st.just("attributes"), st.sampled_from(["text", "ident", "crlf"])),
    st.tuples(st.just("config"), st.sampled_from(["trustctime", "autocrlf"])),
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vouch") / "store"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    init_store(root)
    store = Store.open(root, index=False)
    for i in range(1, 6):
        store.put("tasks", {"id": f"T-{i}", "title": f"task {i}", "status": STATUSES[i % 3]})
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "--no-verify", "-m", "base")
    _git(root, "branch", "other")
    # git rewrites its index at every status while files are as new as it (its racy rule,
    # to the second): that never lets the shortcut be taken, so the files are let age
    time.sleep(1.1)
    return root


def _status(root: Path, index: bool) -> dict[str, Any]:
    found = status(Store.open(root, index=index))
    found["problems"] = [p.split(" (")[0] for p in found["problems"]]  # (clock-ahead: now)
    return found


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(ops=[("commit", ""), ("spoil", "T-3")])
@example(ops=[("assume", "T-3")])
@example(ops=[("skip", "T-2")])
@example(ops=[("config", "trustctime"), ("spoil", "T-2")])
@example(ops=[("spoil", "T-2")])
@example(ops=[("attributes", "text"), ("commit", ""), ("crlf", "T-1")])
@example(ops=[("stage", "T-3"), ("spoil", "T-3")])
@example(ops=[("put", "T-7"), ("commit", ""), ("fifo", "T-3"), ("checkout", "")])
@given(ops=st.lists(operations, min_size=1, max_size=7))
def test_status_answers_as_the_files_do(template: Path, ops: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        shutil.copytree(template, root, symlinks=True)
        status(Store.open(root))  # the index is built, as it would be by any earlier use
        for op in ops:
            _apply(root, op)
            files = _status(root, False)
            for _ in range(3):  # the first may list every file; a later one may be vouched for
                _settle(root)
                assert _status(root, True) == files, op


def _settle(root: Path) -> None:
    """Wait until git's index file is older than the second git's stat check cannot see into
    (vouch.BLIND_NS), and folders are past the racy margin: real time, as a user's would."""
    time.sleep(SETTLE)
    index = root / ".git" / "index"
    while time.time_ns() < index.stat().st_mtime_ns + vouch.BLIND_NS + SETTLE * 1e9:
        time.sleep(0.05)


def _committed(tmp_path: Path, template: Path) -> Path:
    root = tmp_path / "store"
    shutil.copytree(template, root, symlinks=True)
    status(Store.open(root))  # git refreshes its index for the copy
    _settle(root)
    status(Store.open(root))  # seen whole, long enough after git's index was written
    _settle(root)
    return root


def test_a_clean_store_is_vouched_for_without_looking_at_its_files(
    tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _committed(tmp_path, template)
    looked: list[str] = []
    real_scan = folders.scan

    def scan(folder: Path, *args: Any, **kwargs: Any) -> Any:
        looked.append(folder.name)
        return real_scan(folder, *args, **kwargs)

    monkeypatch.setattr(folders, "scan", scan)
    before = vouch.vouched
    assert status(Store.open(root))["problems"] == []
    assert vouch.vouched == before + 1  # the tasks (there is no notifications folder yet)
    assert "tasks" not in looked  # not one lstat of a record file
    # and a spoiled file git sees is read again, by itself
    _spoil(root / "records" / "tasks" / "T-3.yaml")
    _settle(root)
    problems = status(Store.open(root))["problems"]
    assert any("T-3" in p for p in problems), problems
    assert "tasks" not in looked


@pytest.mark.parametrize(
    "setup",
    [
        ["attributes:*.yaml text"],
        ["attributes:records/** ident"],
        ["attributes:[attr]mine text"],
        ['attributes:"records/tasks/T-1.yaml" merge=union'],
        ["config:core.autocrlf=input"],
        ["config:core.trustctime=false"],
        ["config:core.checkStat=minimal"],
        ["config:core.fsmonitor=true"],
        ["info:records/tasks/T-1.yaml filter=x"],
    ],
)
def test_the_shortcut_is_refused_where_git_may_call_changed_bytes_clean(
    tmp_path: Path, template: Path, setup: list[str]
) -> None:
    root = _committed(tmp_path, template)
    for item in setup:
        kind, _, value = item.partition(":")
        if kind == "attributes":
            with open(root / ".gitattributes", "a") as f:
                f.write(value + "\n")
        elif kind == "info":
            (root / ".git" / "info").mkdir(exist_ok=True)
            (root / ".git" / "info" / "attributes").write_text(value + "\n")
        else:
            key, _, setting = value.partition("=")
            _git(root, "config", key, setting)
    _settle(root)
    status(Store.open(root))
    _settle(root)
    before = vouch.vouched
    assert _status(root, True) == _status(root, False)
    assert vouch.vouched == before


def test_an_index_file_written_during_the_call_is_not_taken(tmp_path: Path, template: Path) -> None:
    root = _committed(tmp_path, template)
    store = Store.open(root)
    view = GitView(store, [c.path for c in store.config.collections.values()])
    view.start()
    from gitstore.index import session

    with session(store) as index:
        assert index is not None
        view.prepare(index.conn)
        done = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True
        )
        assert view.listings(done)  # as it was: vouched
    view = GitView(store, [c.path for c in store.config.collections.values()])
    view.start()
    with session(store) as index:
        assert index is not None
        view.prepare(index.conn)
        os.utime(root / ".git" / "index")  # another git wrote it meanwhile
        done = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True
        )
        assert view.listings(done) == {}


def test_blob_ids_are_gits_own(tmp_path: Path) -> None:
    for data in (b"", b"id: T-1\n", bytes(range(256)) * 9):
        (tmp_path / "f").write_bytes(data)
        expected = subprocess.run(
            ["git", "hash-object", str(tmp_path / "f")], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert blob_id(data) == expected
