"""Merging many store files at once, for the bulk merge: each one decided by the driver's own
code (:func:`gitstore.merge.driver.merge_data`), written through :mod:`gitstore.fs`, and the clean
ones stored and staged in one go.

The blobs arrive from one ``cat-file --batch``, a window at a time (at most :data:`WINDOW` files
or :data:`WINDOW_BYTES` bytes held), so memory stays bounded whatever the merge's size. The
decisions are pure CPU work: with two cores or more and enough files, a pool of forked workers
makes them (a fork copies the configuration the parent read before git touched the work tree);
the writes, which mostly wait for ``fsync``, run in a few threads meanwhile. Every worker is
forked up front, before any thread starts, and none is ever forked again: a worker that dies
fails the merge with an error instead of being replaced by a fork that inherits a lock some
thread held (``multiprocessing.Pool`` does that, and its lost task then hangs the merge).

A side bigger than :data:`MAX_BLOB` is never read here: the driver's own process merges it, from
files streamed out of git, exactly as git would call it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING

from gitstore import fs, gitio
from gitstore.errors import GitStoreError
from gitstore.merge import driver, plumbing

if TYPE_CHECKING:
    from gitstore.roadmap import Parser

MAX_BLOB = 16 << 20
WINDOW, WINDOW_BYTES = 256, 64 << 20
POOL_FROM = 64  # fewer files: forking workers costs more than it saves
_WRITERS, _IN_FLIGHT = 8, 256  # threads writing (each mostly waits in fsync), writes queued

Task = tuple[str, plumbing.Stages, "tuple[bytes, bytes, bytes] | None"]  # sides None: too big
Decision = tuple[int, bytes, list[str]]  # the driver's exit code, the file's bytes, its notes


class Context:
    """What deciding a file needs: the top of the work tree (git runs drivers there), the
    roadmap parser read from the configuration beforehand, and a private scratch folder."""

    def __init__(self, top: Path, parser: Parser, scratch: Path):
        self.top, self.parser, self.scratch = top, parser, scratch
        self._made: dict[int, Path] = {}

    def own_scratch(self) -> Path:
        """A scratch folder of this process's own (workers must not share files)."""
        pid = os.getpid()
        if pid not in self._made:
            folder = self.scratch / f"p{pid}"
            folder.mkdir(exist_ok=True)
            self._made[pid] = folder
        return self._made[pid]


class Merged:
    """What :func:`merge_all` did: the paths it resolved, how many it merged, the notes."""

    def __init__(self) -> None:
        self.resolved: set[str] = set()
        self.count = 0
        self.notes: list[tuple[str, str]] = []


def merge_all(
    context: Context, root: Path, prefix: str, todo: list[str], stages: dict[str, plumbing.Stages]
) -> Merged:
    """Merge each path of ``todo`` (relative to the top; ``prefix`` is the store ``root``'s
    place there), write it, and stage the clean ones."""
    pool = _pool(context, len(todo))
    done = Merged()
    wanted = [stages[p][s][1] for p in todo for s in (1, 2, 3) if s in stages[p]]
    reader = plumbing.BlobReader(context.top, wanted, MAX_BLOB)
    writer = plumbing.BlobWriter(context.top, context.scratch)
    writes = ThreadPoolExecutor(max_workers=_WRITERS)
    pending: deque[tuple[Future[None], int]] = deque()
    held = [0]  # bytes waiting to be written
    clean: list[tuple[str, int, str]] = []

    def wait_one() -> None:
        future, size = pending.popleft()
        future.result()
        held[0] -= size

    def settle(window: list[Task], decisions: list[Decision]) -> None:
        for (path, entry, _), (code, data, notes) in zip(window, decisions, strict=True):
            rel = root / path[len(prefix) :]
            pending.append((writes.submit(fs.atomic_write, rel, data, root=root), len(data)))
            held[0] += len(data)
            while len(pending) > _IN_FLIGHT or held[0] > WINDOW_BYTES:
                wait_one()
            mode, modes_merged = merged_mode(entry)
            if code == driver.CLEAN and modes_merged:
                clean.append((mode, writer.add(data), path))
            done.notes += [(path, note) for note in notes]
            done.count += 1

    try:
        previous: tuple[list[Task], Iterator[Decision]] | None = None
        for window in _windows(reader, todo, stages):
            if pool is None:
                settle(window, [decide(context, task) for task in window])
                continue
            job = pool.map(_work, window, chunksize=max(1, len(window) // 8))
            if previous is not None:
                settle(previous[0], list(previous[1]))
            previous = (window, job)
        if previous is not None:
            settle(previous[0], list(previous[1]))
        while pending:
            wait_one()
        marks = writer.finish()
    except BrokenProcessPool as err:
        writer.abort()
        raise GitStoreError(
            "a merge worker process died before it gave its decisions; the merge is left in "
            "progress, its store files unmerged: run 'git merge --abort' and merge again",
            context.top,
        ) from err
    except BaseException:
        writer.abort()
        raise
    finally:
        writes.shutdown(wait=True, cancel_futures=True)
        reader.close()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    plumbing.stage(context.top, [(mode, marks[mark], path) for mode, mark, path in clean])
    done.resolved = {path for _, _, path in clean}
    return done


def _windows(
    reader: plumbing.BlobReader, todo: list[str], stages: dict[str, plumbing.Stages]
) -> Iterator[list[Task]]:
    window: list[Task] = []
    held = 0
    for path in todo:
        blobs = {s: reader.next()[0] for s in (1, 2, 3) if s in stages[path]}
        sides = None
        if all(data is not None for data in blobs.values()):
            sides = (blobs.get(1) or b"", blobs[2] or b"", blobs[3] or b"")
            held += sum(map(len, sides))
        window.append((path, stages[path], sides))
        if len(window) >= WINDOW or held >= WINDOW_BYTES:
            yield window
            window, held = [], 0
    if window:
        yield window


# ---------------------------------------------------------------- the workers


_context: Context | None = None
#: The signals held off while the workers are forked (see :func:`_pool`).
_DEFERRED = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})


def _pool(context: Context, count: int) -> ProcessPoolExecutor | None:
    """Forked workers, when there are cores and files enough and forking is safe (no other
    thread runs in this process: a fork copies locks held by threads it does not copy).

    The executor forks all its workers at the first task, before it starts its own thread, and
    never forks again (CPython issue 90622); that first task runs here, so the workers exist
    before the merge opens any pipe or thread they could inherit."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (cores or 1) < 2 or count < POOL_FROM or threading.active_count() > 1:
        return None
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    pool = ProcessPoolExecutor(
        min(cores or 1, 4),
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start,
        initargs=(context,),
    )
    held = _DEFERRED - signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        try:  # held off while it forks: one landing in a fork hook here would be lost
            first = pool.submit(os.getpid)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
        first.result()
    except BrokenProcessPool:
        pool.shutdown(wait=True)
        return None  # workers that cannot start: decide here instead
    except BaseException:  # Ctrl-C meanwhile: no worker outlives the merge
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    return pool


def _start(context: Context) -> None:
    """A worker's start: Ctrl-C or SIGTERM (to the whole process group) ends it quietly, and
    this process says what happened (not a traceback, or "gitstore: terminated", from each)."""
    global _context
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored by the caller: still so
            signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _DEFERRED)  # held off while it was forked
    _context = context


def _work(task: Task) -> Decision:
    assert _context is not None
    return decide(_context, task)


# ---------------------------------------------------------------- one file


def decide(context: Context, task: Task) -> Decision:
    path, stages, sides = task
    if sides is None:
        return _own_process(context, path, stages)
    return _in_process(context, path, sides)


def merged_mode(stages: plumbing.Stages) -> tuple[str, bool]:
    """The mode git gives a merged file, and whether the modes merged (merge-ort's rule)."""
    base = stages[1][0] if 1 in stages else "0"
    ours, theirs = stages[2][0], stages[3][0]
    if ours in (theirs, base):
        return theirs, True
    return ours, theirs == base


def _in_process(context: Context, path: str, sides: tuple[bytes, bytes, bytes]) -> Decision:
    """The driver's decision, made here; git's line merge (when the driver falls back to one)
    runs on copies in the scratch folder, in the work tree's top as git runs the driver."""
    scratch = context.own_scratch()
    base, ours, theirs = files = [str(scratch / name) for name in ("base", "ours", "theirs")]
    written: list[bytes] = []
    said: list[str] = []

    def line() -> tuple[int, bytes | None]:
        for name, data in zip(files, sides, strict=True):
            with open(name, "wb") as handle:
                handle.write(data)
        code = driver.line_merge(base, ours, theirs, path, cwd=str(context.top), said=said)
        with open(ours, "rb") as handle:
            written.append(handle.read())
        return code, written[-1]

    merged = driver.merge_data(*sides, path, str(context.top), line, context.parser)
    data = merged.data if merged.data is not None else (written[-1] if written else sides[1])
    for name, label in zip(files, ("(base)", "(ours)", "(theirs)"), strict=True):
        said = [text.replace(name, label) for text in said]
    return merged.code, data, [f"git merge-file: {text}" for text in said] + merged.notes


def _own_process(context: Context, path: str, stages: plumbing.Stages) -> Decision:
    """A side too big to read here: the driver's own process merges it, on files streamed from
    git, exactly as git would call it."""
    from gitstore.initialize import driver_argv

    folder = context.own_scratch()
    names = [folder / name for name in ("O", "A", "B")]
    for stage, name in zip((1, 2, 3), names, strict=True):
        name.unlink(missing_ok=True)
        if stage in stages:
            plumbing.blob_to_file(context.top, stages[stage][1], name)
        else:
            name.touch()  # add/add: git gives the driver an empty base
    done = subprocess.run(
        [*driver_argv(), *map(str, names), path],
        cwd=context.top,
        env=gitio.clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    prefix = f"gitstore merge-driver: {path}: "
    notes = [line.removeprefix(prefix) for line in done.stderr.splitlines() if line]
    code = driver.CLEAN if done.returncode == 0 else driver.CONFLICTS
    return code, names[1].read_bytes(), notes
