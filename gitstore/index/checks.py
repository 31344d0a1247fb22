"""Validation of the working tree with the index: unchanged files keep their stored outcome.

``gitstore status`` and ``gitstore validate`` check every store file. A record file's outcome is a
function of its bytes, the configuration and this code, and of the clock only through
``clock-ahead`` (a time more than five minutes ahead of now). So the index stores each file's
problems with the key they were computed under (:func:`key`: the configuration's content and the
code) and the moment from which they stay right (``pdue``: the latest time in the record less
five minutes; an outcome that found a time ahead is computed again at every use). The result is
assembled in exactly the order of ``check_many(worktree_files(...))``: listing problems, id
collisions, files that could not be read, then each file's problems in path order.
"""

from __future__ import annotations

import hashlib
import json
import stat
from typing import TYPE_CHECKING, Any

from gitstore import fs
from gitstore.errors import ReadError, RecordError
from gitstore.index.keys import code_key
from gitstore.index.listing import REG, derived

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from gitstore.index import Index
    from gitstore.index.listing import Listing
    from gitstore.store import Store
    from gitstore.validate import Problem, Validator

    Report = Callable[[str, int, "int | None"], None]

ALWAYS = 1 << 62  # a pdue no clock reaches: compute again at every use
READ, FILE = 0, 1  # where a stored problem goes: with the unreadable files, or the file's own


def key(store: Store) -> str:
    """What a stored outcome depends on besides the file."""
    text = repr((code_key(), store.config.raw, fs.MAX_FILE_BYTES))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def outcome(
    validator: Validator, pkey: str, name: str, path: Path, raw: bytes | None, store: Store
) -> tuple[str | None, str | None, int | None]:
    """(problems as stored, the key, pdue) for one record file; the key is None when the outcome
    must not be kept (the file could not be read for a passing reason)."""
    from gitstore.sources import read_problem

    if raw is None or len(raw) > fs.MAX_FILE_BYTES:
        try:
            raw = fs.read_bytes(path, fs.MAX_FILE_BYTES, root=store.root)
        except FileNotFoundError:
            return None, None, None
        except ReadError as err:
            return _dump(READ, [read_problem(store.root, err, name)]), None, None
        except RecordError as err:
            return _dump(READ, [read_problem(store.root, err, name)]), pkey, None
    coll = validator.kind(name)
    assert coll is not None and not isinstance(coll, str)
    problems, rec = validator.record_outcome(name, raw, coll)
    return _dump(FILE, problems), pkey, _due(rec, problems)


def _dump(section: int, problems: list[Problem]) -> str | None:
    if not problems:
        return None
    return json.dumps([section, [[p.line, p.rule, p.message, p.severity] for p in problems]])


def _due(rec: dict[str, Any] | None, problems: list[Problem]) -> int | None:
    """From when on (µs since the epoch) no time in ``rec`` is too far ahead of the clock."""
    if any(p.rule == "clock-ahead" for p in problems):
        return ALWAYS
    if rec is None:
        return None
    import datetime as dt

    from gitstore.clock import MAX_AHEAD, parse_time

    stamps = [rec.get("last_modified")]
    if isinstance(rec.get("clocks"), dict):
        stamps += list(rec["clocks"].values())
    latest = None
    for stamp in stamps:
        if not isinstance(stamp, str):
            continue
        try:
            moment = parse_time(stamp)
            micros = (moment - MAX_AHEAD - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // (
                dt.timedelta(microseconds=1)
            )
        except (ValueError, OverflowError):
            continue  # not a time: too_far_ahead ignores it too
        latest = micros if latest is None else max(latest, micros)
    return latest


def worktree_problems(
    index: Index, store: Store, validator: Validator, report: Report | None = None
) -> tuple[list[Problem], int]:
    """``check_many(validator, worktree_files(store.root, validator, None))`` and how many files
    it read, from stored outcomes where the files did not change. ``report(what, done, total)``
    hears of each collection checked, when there are many files."""
    from gitstore.sources import _listing, collisions, read_problem
    from gitstore.validate import MAX_ROADMAP_BYTES, PROGRESS_MIN

    pkey = key(store)
    listing: list[Problem] = []
    colliding: list[str] = []
    unread: list[Problem] = []
    own: list[Problem] = []
    checked = 0
    for coll in validator.config.collections.values():
        try:
            with index.fresh(coll, validator, pkey) as now:
                odd, regular, groups, stored = _folder(index, coll.path, now)
        except (RecordError, ReadError):
            _listing(store.root, coll.path, listing)  # the folder itself: reported as before
            continue
        _listing(store.root, coll.path, listing, odd)
        colliding += [f"{coll.path}/{n}" for n in groups]
        checked += regular
        if report is not None and checked >= PROGRESS_MIN:
            report("validating", checked - regular, checked)  # this folder's outcomes, then
            report("validating", checked, checked)  # gathered
        for name, text in sorted(stored):
            section, found = json.loads(text)
            problems = [_problem(f"{coll.path}/{name}", *item) for item in found]
            if section == READ:
                unread += problems
                checked -= 1
            else:
                own += problems
    roadmap = validator.config.roadmap_path
    roadmap_problems: list[Problem] = []
    try:
        data = fs.read_bytes(store.root / roadmap, MAX_ROADMAP_BYTES, root=store.root)
    except FileNotFoundError:
        pass
    except (RecordError, ReadError) as err:
        unread.insert(0, read_problem(store.root, err, roadmap))
    else:
        checked += 1
        roadmap_problems = validator.check(roadmap, data)
    return listing + collisions(colliding) + unread + roadmap_problems + own, checked


def _folder(
    index: Index, folder: str, now: Listing
) -> tuple[list[tuple[str, str]], int, list[str], list[tuple[str, str]]]:
    """For one fresh folder: its entries that are not plain files, how many record files it
    holds, the names in groups that differ only by case, and the stored problems."""
    fmts = now.stats[0::5]
    odd: list[tuple[str, str]] = []
    regular = now.records()
    if fmts.count(REG) != len(fmts):
        odd = [(n, _kind(f)) for n, f in zip(now.names, fmts, strict=True) if f != REG]
        regular -= sum(1 for n, _ in odd if n.endswith(".yaml"))
    conn = index.conn

    def colliding() -> list[str]:
        found = conn.execute(
            "SELECT name FROM files WHERE folder = ? AND fmt = ? AND folded IN "
            "(SELECT folded FROM files WHERE folder = ? AND fmt = ? GROUP BY folded "
            "HAVING count(*) > 1)",
            (folder, REG, folder, REG),
        ).fetchall()
        return [n for (n,) in found]

    groups = derived(conn, folder, "groups", colliding)
    stored = conn.execute(
        "SELECT name, problems FROM files INDEXED BY files_problems "
        "WHERE folder = ? AND problems IS NOT NULL",
        (folder,),
    ).fetchall()
    return odd, regular, groups, stored


def _problem(path: str, line: int, rule: str, message: str, severity: str) -> Problem:
    from gitstore.validate import Problem

    return Problem(path, line, rule, message, severity)


def _kind(fmt: int) -> str:
    if fmt == stat.S_IFLNK:
        return "link"
    if fmt == stat.S_IFDIR:
        return "dir"
    return "file" if fmt == REG else "other"


def worktree(
    store: Store, validator: Validator, report: Report | None = None
) -> tuple[list[Problem], int]:
    """Every problem of the working tree's store files and how many files were checked: from
    the index where it can, else by reading every file (the same result either way)."""
    if store.use_index:
        from gitstore.index import Unusable, fell_back, using

        try:
            with using(store) as index:
                return worktree_problems(index, store, validator, report)
        except Unusable:
            fell_back()
    from gitstore.sources import worktree_files
    from gitstore.validate import check_many

    found = worktree_files(store.root, validator, None)
    return check_many(validator, found, report), len(found.files)
