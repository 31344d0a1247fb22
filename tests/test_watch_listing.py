"""The watcher looks only at files where a folder's listing differs from the last one (and at those
in doubt): a differential test against a watcher that looks at every file of every listing, over
random writes, in-place rewrites with the old mtime put back, bad files, deletes and renames, two
files swapped, files replaced by links, FIFOs and folders, and the folder itself by a link."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitstore import GitStoreError, Store
from gitstore.initialize import init_store
from gitstore.watch import Watcher

IDS = st.integers(1, 6)
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), IDS, st.text("abc", max_size=3)),
        st.tuples(st.just("inplace"), IDS, st.text("abc", max_size=3)),
        st.tuples(st.just("bad"), IDS, st.just("")),
        st.tuples(st.just("rm"), IDS, st.just("")),
        st.tuples(st.just("mv"), IDS, st.sampled_from(["T-9", "T-1", "notes.txt"])),
        st.tuples(st.just("swap"), IDS, st.sampled_from(["1", "2", "3"])),
        st.tuples(st.sampled_from(["link", "fifo", "dir"]), IDS, st.just("")),
        st.tuples(st.just("folder"), st.just(0), st.just("")),
        st.tuples(st.just("poll"), st.just(0), st.just("")),
        st.tuples(st.just("full"), st.just(0), st.just("")),
    ),
    max_size=30,
)


@pytest.fixture(scope="module")
def template() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        init_store(root)
        yield root


def aged(path: Path) -> None:
    """The file's mtime a minute back: old enough to trust (not racy), so only a change of its
    listing's numbers (its ctime, at least) can get it looked at again."""
    if path.exists():
        old = time.time_ns() - 60 * 10**9
        os.utime(path, ns=(old, old))


def apply(store: Store, op: str, i: int, arg: str) -> None:
    with contextlib.suppress(OSError):  # a rename over a folder, say: the state is what it is
        change(store, op, i, arg)


def change(store: Store, op: str, i: int, arg: str) -> None:
    folder = store.root / "records/tasks"
    path = folder / f"T-{i}.yaml"
    if op == "put":
        with contextlib.suppress(GitStoreError):  # over a bad file: refused, nothing written
            store.put("tasks", {"id": f"T-{i}", "title": f"t{arg}"})
        aged(path)
    elif op == "inplace" and path.is_file() and not path.is_symlink():
        st = path.stat()
        text = path.read_text().replace("title: ", f"title: {arg}", 1)
        with open(path, "r+") as handle:  # the same inode, rewritten in place
            handle.write(text)
            handle.truncate()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # the old mtime back
    elif op == "bad" and not path.is_symlink() and (path.is_file() or not path.exists()):
        path.write_bytes(b"id: [\n")
        aged(path)
    elif op == "rm" and path.is_dir() and not path.is_symlink():
        path.rmdir()
    elif op == "rm" and (path.exists() or path.is_symlink()):
        path.unlink()
    elif op == "mv" and path.exists():
        path.rename(folder / (arg if "." in arg else f"{arg}.yaml"))
    elif op == "swap" and path.exists() and (other := folder / f"T-{arg}.yaml").exists():
        path.rename(folder / "swapping")
        other.rename(path)
        (folder / "swapping").rename(other)
    elif op in ("link", "fifo", "dir") and not path.exists() and not path.is_symlink():
        if op == "link":
            path.symlink_to("T-1.yaml")  # reported, never followed
        elif op == "fifo":
            os.mkfifo(path)  # reported, never opened
        else:
            path.mkdir()
    elif op == "folder":  # the folder swapped for a link to it, or back
        real = folder.with_name("tasks-real")
        if folder.is_symlink():
            folder.unlink()
            real.rename(folder)
        else:
            folder.rename(real)
            folder.symlink_to("tasks-real")


def full(watcher: Watcher) -> None:
    for listing in watcher.listings:
        listing.checked = -1e9


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS)
def test_looking_at_what_changed_gives_what_looking_at_everything_gives(
    template: Path, ops: list[tuple[str, int, str]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        shutil.copytree(template, root, symlinks=True)
        store = Store.open(root)
        for i in (1, 2, 3):
            store.put("tasks", {"id": f"T-{i}", "title": "start"})
            aged(root / f"records/tasks/T-{i}.yaml")
        diffing, everything = Watcher(store), Watcher(store)

        def both() -> None:
            for listing in everything.listings:
                listing.listed = None  # no listing before: every file is looked at
            assert diffing.poll() == everything.poll()

        for op, i, arg in ops:
            if op == "poll":
                both()
            elif op == "full":
                full(diffing)
                full(everything)
            else:
                apply(store, op, i, arg)
        if (root / "records/tasks").is_symlink():
            apply(store, "folder", 0, "")  # the folder back: its files are known again
        full(diffing)
        full(everything)
        both()
        both()
        fresh = Watcher(store)  # what the files hold now: what the watcher must know of them
        for known, now in zip(diffing.listings, fresh.listings, strict=True):
            assert {n: f.seen for n, f in known.files.items()} == {
                n: f.seen for n, f in now.files.items()
            }
