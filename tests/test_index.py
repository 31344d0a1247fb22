"""The query index (gitstore.index): the same answers as the files, whatever happens to them.

The differential test drives a store through random changes (records written by gitstore, hand
edits that keep size and mtime, deletes, broken files, links, a ``git checkout`` of another
branch, a corrupt or truncated index file) and after each one compares every query with and
without the index. It runs in three clocks: the real one, one where every file is trusted at once
(only the numbers of a file can reveal a change), and a coarse one (50 ms ticks, as on a file
system with coarse times) where same-size edits within a tick are invisible to stat, so only the
racy-file rule keeps the index right.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import json
import math
import os
import random
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import gitstore.index
import gitstore.index.listing as listing
import gitstore.index.refresh as refresh
from gitstore import Store, folders, fs
from gitstore.clock import format_time, next_clock
from gitstore.errors import GitStoreError
from gitstore.index import codec, session
from gitstore.index.checks import worktree
from gitstore.initialize import init_store
from gitstore.query import parse
from gitstore.record import dumps, loads
from gitstore.workflow import conflicts

# ---------------------------------------------------------------- the codec

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.dates()
    | st.datetimes()
    | st.datetimes(timezones=st.just(dt.UTC))
    | st.datetimes(
        timezones=st.builds(
            dt.timezone,
            st.integers(-1439, 1439).map(lambda m: dt.timedelta(minutes=m)),
            st.sampled_from(["Z", "+01:00", "X"]),
        )
    )
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=8), values, max_size=6))
def test_codec_gives_back_exactly_what_it_took_or_refuses(record: dict[str, Any]) -> None:
    try:
        text = codec.encode(record)
    except codec.Unfaithful:
        return
    assert codec.identical(codec.decode(text), record)
    json.loads(text)  # plain JSON, which SQLite reads too


def test_codec_tags_what_json_or_sqlite_would_change() -> None:
    record = {
        "id": "T-1",
        "nan": math.nan,
        "big": 10**40,
        "nul": "a\x00b",
        "lone": "\ud800",
        "due": dt.date(2026, 12, 1),
        "at": dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1), "+01:00")),
        "keys": {"\x00": 1},
        "zero": -0.0,
    }
    back = codec.decode(codec.encode(record))
    assert codec.identical(back, record)
    assert not codec.identical(0.0, -0.0) and codec.identical(math.nan, math.nan)
    with pytest.raises(codec.Unfaithful):
        codec.encode({"\x00": 1})  # the record itself must stay a plain JSON object
    with pytest.raises(codec.Unfaithful):
        codec.encode({"x": {1, 2}})


# ---------------------------------------------------------------- the differential test

STATUS = ["todo", "doing", "done", "blocked"]
FLIPS = {"todo": "done", "done": "todo", "doing": "DOING", "DOING": "doing", "blocked": "BLOCKED"}
field_values = st.one_of(
    st.sampled_from(STATUS),
    st.sampled_from(["p0", "p1", "daemon"]).map(lambda t: [t]),
    st.lists(st.sampled_from(["p0", "p1", "daemon", 1, None]), max_size=3),
    st.integers(-2, 5),
    st.floats(-2, 5) | st.just(math.nan),
    st.booleans(),
    st.none(),
    st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    st.text(alphabet="abc dIİ\u00e9", max_size=6),
)
record_ids = st.sampled_from([f"T-{i}" for i in range(1, 9)] + ["T-01", "T-a", "T-A", "bad id"])
BROKEN = [
    b"id: {ID}\ntitle: [unclosed\n",
    b"id: someone-else\ntitle: x\n",
    b"id: {ID}\ntitle: a\ntitle: b\n",
    b"\xff\xfe not text",
    b"id: {ID}\ntitle: \x00\n",
    b"",
    b"- a list\n",
    b"id: {ID}\nversion: -3\nstatus: doing\n",
    b"id: {ID}\nlast_modified: 2999-01-01T00:00:00.000000Z\nstatus: doing\n",
    b"id: {ID}\nstatus: doing\nconflicts:\n  status:\n    ours: a\n    theirs: b\n",
    b"id: {ID}\ntitle: x\nnote: AKIAIOSFODNN7EXAMPLE\n",
    b"id: {ID}\ntitle: &a x\nother: *a\n",
]
operations = st.one_of(
    st.tuples(
        st.just("put"),
        record_ids,
        st.dictionaries(
            st.sampled_from(["status", "tags", "priority", "title", "odd"]),
            field_values,
            max_size=4,
        ),
    ),
    st.tuples(st.just("hand"), record_ids, st.none()),
    st.tuples(st.just("hand"), st.sampled_from(["T-1", "T-2", "T-3"]), st.none()),
    st.tuples(st.just("broken"), record_ids, st.sampled_from(BROKEN)),
    st.tuples(st.just("delete"), record_ids, st.none()),
    st.tuples(st.just("unlink"), record_ids, st.none()),
    st.tuples(st.just("odd-file"), record_ids, st.sampled_from(["link", "dir", "fifo", "twin"])),
    st.tuples(st.just("git"), st.sampled_from(["commit", "checkout"]), st.none()),
    st.tuples(
        st.just("corrupt"),
        st.sampled_from(["truncate", "garbage", "drop", "schema", "rows"]),
        st.integers(0, 1 << 16),
    ),
    st.tuples(st.just("tick"), st.none(), st.none()),
    st.tuples(st.just("tick"), st.none(), st.none()),
    st.tuples(st.just("config"), st.sampled_from(["limit", "back"]), st.none()),
)
CONDITIONS = [
    ([], True),
    (["status=doing"], False),
    (["status!=done"], True),
    (["tags~p0"], False),
    (["tags=p0", "status=doing"], False),
    (["priority<3"], False),
    (["odd=1"], True),
    (["title~i", "odd=2026-03-01"], False),
]


def _answers(store: Store) -> dict[str, Any]:
    """Everything a query can say about the store, errors included."""
    out: dict[str, Any] = {}
    coll = store.collection("tasks")
    for conds, deleted in CONDITIONS:
        skipped: list[Any] = []
        try:
            found = store.find(
                "tasks",
                [parse(c, coll) for c in conds],
                sort=["-priority"] if "priority<3" in conds else [],
                include_deleted=deleted,
                on_error=skipped.append,
            )
        except GitStoreError as err:
            found, skipped = [], [f"raised {type(err).__name__}: {err}"]
        out[f"{conds} {deleted}"] = (_plain(found), [f"{type(e).__name__}: {e}" for e in skipped])
    try:
        store.find("tasks")
        out["raises"] = None
    except GitStoreError as err:
        out["raises"] = f"{type(err).__name__}: {err}"
    try:
        out["list"] = _plain(store.list("tasks", where={"status": "doing"}))
    except GitStoreError as err:
        out["list"] = f"{type(err).__name__}: {err}"
    try:
        out["conflicts"] = conflicts(store)
    except GitStoreError as err:
        out["conflicts"] = f"{type(err).__name__}: {err}"
    with session(store):  # as status asks: validation, then conflicts, in one use
        problems, checked = worktree(store, store.roadmap().validator())
        # clock-ahead messages name the current time: compare them without it
        out["problems"] = ([str(p).split(" (")[0] for p in problems], checked)
        try:
            out["session conflicts"] = conflicts(store, "")
        except GitStoreError as err:
            out["session conflicts"] = f"{type(err).__name__}: {err}"
    problems, checked = worktree(store, store.roadmap().validator())
    out["problems alone"] = ([str(p).split(" (")[0] for p in problems], checked)
    return out


def _plain(records: list[dict[str, Any]]) -> list[Any]:
    return [[(k, type(v).__name__, repr(v)) for k, v in r.items()] for r in records]


class Clock:
    """What the index sees of file times: real; trusted at once; or coarse, where time moves
    only at each "tick" operation, so that every change between two ticks has the same mtime
    and ctime, as within one tick of a coarse file system clock."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, mode: str):
        self.mode = mode
        self.bounds = [time.time_ns()]
        if mode == "trusting":
            monkeypatch.setattr(listing, "MARGIN_NS", -(10**12))
            monkeypatch.setattr(listing, "FAR_MARGIN_NS", -(10**12))
        elif mode == "coarse":
            real_scan, real_read = folders.scan, fs.read_stat

            def scan(
                folder: Path, root: Path | None = None, temps: Any = None, known: Any = None
            ) -> Any:
                own, names, numbers = real_scan(folder, root, temps, known)
                for i in range(0, len(numbers), 5):
                    numbers[i + 2] = self.coarse(numbers[i + 2])
                    numbers[i + 3] = self.coarse(numbers[i + 3])
                return own, names, numbers

            def read_stat(path: Any, limit: int = fs.MAX_FILE_BYTES, *, root: Any = None) -> Any:
                raw, s = real_read(path, limit, root=root)
                coarse = SimpleNamespace(
                    st_mode=s.st_mode,
                    st_size=s.st_size,
                    st_mtime_ns=self.coarse(s.st_mtime_ns),
                    st_ctime_ns=self.coarse(s.st_ctime_ns),
                    st_ino=s.st_ino,
                )
                return raw, coarse

            def threshold(state: Path, device: int | None) -> int:
                return self.coarse(time.time_ns()) - listing.MARGIN_NS

            monkeypatch.setattr(folders, "scan", scan)
            monkeypatch.setattr(fs, "read_stat", read_stat)
            monkeypatch.setattr(listing, "racy_threshold", threshold)

    def coarse(self, ns: int) -> int:
        """The tick a real time falls in, as a time (one second a tick)."""
        return bisect.bisect_right(self.bounds, ns) * 10**9

    def tick(self) -> None:
        time.sleep(0.002)
        self.bounds.append(time.time_ns())
        time.sleep(0.002)


def _git(root: Path, *args: str) -> None:
    identity = ["-c", "user.name=T", "-c", "user.email=t@x"]
    subprocess.run(["git", *identity, *args], cwd=root, check=True, capture_output=True)


def _apply(root: Path, op: tuple[Any, ...], clock: Clock) -> None:
    kind, target, arg = op
    writer = Store.open(root, index=False)
    folder = root / "records" / "tasks"
    path = folder / f"{target}.yaml" if isinstance(target, str) else None
    if kind == "put":
        with contextlib.suppress(GitStoreError):  # refused (a broken file, a bad id, a twin)
            writer.put("tasks", {"id": target, "title": "t"} | arg)
    elif kind == "hand" and path is not None and path.is_file() and not path.is_symlink():
        # an edit that keeps the size and the mtime: only ctime (or the racy rule) can tell
        before = path.stat()
        text = path.read_bytes()
        for old, new in FLIPS.items():
            if f"status: {old}\n".encode() in text:
                path.write_bytes(
                    text.replace(f"status: {old}\n".encode(), f"status: {new}\n".encode())
                )
                os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
                break
    elif kind == "broken" and path is not None:
        _remove(path)
        path.write_bytes(arg.replace(b"{ID}", str(target).encode()))
    elif kind == "delete":
        with contextlib.suppress(GitStoreError):
            writer.delete("tasks", str(target))
    elif kind == "unlink" and path is not None:
        _remove(path)
    elif kind == "odd-file" and path is not None:
        _remove(path)
        folder.mkdir(parents=True, exist_ok=True)
        if arg == "link":
            path.symlink_to(root / "gitstore.yaml")
        elif arg == "dir":
            path.mkdir()
        elif arg == "fifo":
            os.mkfifo(path)
        else:
            (folder / f"{str(target).upper()}.yaml").write_bytes(
                f"id: {str(target).upper()}\ntitle: x\n".encode()
            )
    elif kind == "git":
        subprocess.run(["git", "add", "-A"], cwd=root, capture_output=True)  # a FIFO: refused
        _git(root, "commit", "-q", "--no-verify", "--allow-empty", "-m", "x")
        if target == "checkout":
            branch = subprocess.run(
                ["git", "branch", "--show-current"], cwd=root, capture_output=True, text=True
            ).stdout.strip()
            _git(root, "checkout", "-q", "-f", "other" if branch == "main" else "main")
    elif kind == "corrupt":
        _corrupt(writer.state / "index.sqlite", target, arg)
    elif kind == "tick":
        clock.tick()
    elif kind == "config":
        config = root / "gitstore.yaml"
        text = config.read_text()
        if target == "limit" and "limits:" not in text:
            config.write_text(text + "limits:\n  max_record_bytes: 60\n")
        elif target == "back":
            config.write_text(text.split("limits:\n")[0])


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def _corrupt(db: Path, how: str, n: int) -> None:
    if not db.exists():
        return
    if how == "truncate":
        with open(db, "r+b") as f:
            f.truncate(n % (db.stat().st_size + 1))
    elif how == "garbage":
        with open(db, "r+b") as f:
            f.seek(n % (db.stat().st_size + 1))
            f.write(random.Random(n).randbytes(512))
    elif how == "drop":
        db.unlink()
        db.mkdir()  # not a file: the index must remove it, or do without
    elif how == "schema":
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE meta SET value = 'gitstore-index 0'")
        conn.close()
    elif how == "rows":
        with sqlite3.connect(db) as conn:  # a listing row that says more than the rows hold
            conn.execute("DELETE FROM files WHERE rowid % 2 = 0")
        conn.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("template") / "store"
    init_store(root)
    store = Store.open(root, index=False)
    for i in range(1, 4):
        store.put("tasks", {"id": f"T-{i}", "title": f"task {i}", "status": STATUS[i]})
    _git(root, "checkout", "-q", "-B", "main")  # whatever the default branch is called here
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "--no-verify", "-m", "base")
    _git(root, "branch", "other")
    return root


@pytest.mark.parametrize("mode", ["real", "trusting", "coarse"])
@example(
    ops=[("hand", "T-2", None), ("hand", "T-2", None), ("tick", None, None), ("hand", "T-2", None)]
)
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operations, min_size=1, max_size=10))
def test_the_index_answers_as_the_files_do(template: Path, mode: str, ops: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        root = Path(tmp) / "store"
        shutil.copytree(template, root, symlinks=True)
        clock = Clock(patch, mode)
        corrupted = False
        for op in ops:
            _apply(root, op, clock)
            corrupted = corrupted or op[0] == "corrupt"
            before = gitstore.index.fallbacks
            indexed = _answers(Store.open(root))
            if not corrupted:
                assert gitstore.index.fallbacks == before, "the index was not used"
            assert indexed == _answers(Store.open(root, index=False)), op
            corrupted = op[0] == "corrupt"


def test_a_build_on_every_core_answers_as_one_process_does(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "store"
    shutil.copytree(template, root, symlinks=True)
    folder = root / "records" / "tasks"
    for i in range(10, 70):
        (folder / f"T-{i}.yaml").write_bytes(
            BROKEN[i % len(BROKEN)].replace(b"{ID}", f"T-{i}".encode())
        )
    monkeypatch.setattr(refresh, "PARALLEL", 5)
    before = gitstore.index.fallbacks
    indexed = _answers(Store.open(root))
    assert gitstore.index.fallbacks == before
    assert indexed == _answers(Store.open(root, index=False))


def test_a_time_ahead_is_judged_on_the_clock_of_each_use(store_dir: Path) -> None:
    """clock-ahead depends on the clock: a stored outcome must not outlive the moment its
    record's time stops being too far ahead (nor claim a time is fine before that moment)."""
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5, seconds=2)
    folder = store_dir / "records" / "tasks"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = format_time(ahead)
    (folder / "T-1.yaml").write_text(dumps({"id": "T-1", "last_modified": stamp, "title": "x"}))
    (folder / "T-2.yaml").write_text(
        dumps({"id": "T-2", "last_modified": next_clock(), "title": "y"})
    )

    def rules(index: bool) -> list[str]:
        store = Store.open(store_dir, index=index)
        return [p.rule for p in worktree(store, store.roadmap().validator())[0]]

    assert rules(True) == rules(False) == ["clock-ahead"]
    assert rules(True) == ["clock-ahead"]  # from the index this time
    while dt.datetime.now(dt.UTC) < ahead - dt.timedelta(minutes=5):
        time.sleep(0.1)
    time.sleep(0.05)
    assert rules(True) == rules(False) == []
    assert loads((folder / "T-1.yaml").read_text())["last_modified"] == stamp


@pytest.mark.parametrize("inside", ["", "sub/"])
def test_unmerged_paths_are_what_git_diff_lists(tmp_path: Path, inside: str) -> None:
    """status asks git's index for unmerged paths instead of a `git diff` that looks at every
    file: the same lines, for a store at the top and one in a subfolder (paths from the top,
    quoted alike), with unmerged files inside and outside the store."""
    from gitstore.workflow import unmerged_paths

    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    root = repo / inside if inside else repo
    init_store(root)
    names = ["notes.txt", "sp ace é.txt", f"{inside}records/tasks/T-1.yaml"]
    for name in names:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("base\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--no-verify", "-m", "base")
    for branch, text in (("other", "theirs\n"), ("main", "ours\n")):
        _git(repo, "checkout", "-q", *(["-b"] if branch == "other" else []), branch)
        for name in names:
            (repo / name).write_text(text)
        _git(repo, "commit", "-q", "--no-verify", "-am", branch)
    subprocess.run(
        ["git", "-c", "merge.gitstore.driver=false", "merge", "-q", "other"],
        cwd=repo,
        capture_output=True,
    )
    store = Store.open(root)
    listed = subprocess.run(
        ["git", "diff", "--name-only", "--diff-filter=U"], cwd=root, capture_output=True, text=True
    ).stdout
    assert listed.count("\n") == 3
    assert unmerged_paths(store) == listed
