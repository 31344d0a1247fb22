"""What a ``gitstore sync`` did, for ``sync --json``: records and roadmap sections that came in
and went out, conflicts, duration.

Computed from trees before and after, around :func:`gitstore.workflow.sync` (which it does not
change): pending edits are committed first, so that everything in which the tree after the sync
differs from the tree before came in from the remote; what went out is what the tree after
differs in from the remote's tree before the push (the merged upstream, or the remote-tracking
branch when nothing needed merging).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gitstore import gitio, workflow
from gitstore.errors import GitStoreError

if TYPE_CHECKING:
    from gitstore.store import Store

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def sync(
    store: Store,
    remote: str = "origin",
    branch: str | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> dict[str, Any]:
    """Run a sync; its report, with ``error`` set when a merge stopped with conflicts.
    ``progress(step, attempt, None)`` hears of each step (for a progress display)."""
    start = time.monotonic()
    workflow._check_remote(store, remote, branch)  # before anything is committed, as sync does
    if progress:
        progress("committing", 1, None)
    workflow.commit(store)
    name = branch or gitio.git("rev-parse", "--abbrev-ref", "HEAD", cwd=store.root).stdout.strip()
    before = _rev(store, "HEAD")
    tracked = _rev(store, f"refs/remotes/{remote}/{name}")
    error = None
    try:
        report = workflow.sync(store, remote, branch, report=progress)
    except GitStoreError as err:
        if not workflow.merging(store):
            raise
        report, error = {"incoming": None, "outgoing": None, "attempts": None}, err.message
    after = _rev(store, "HEAD")
    if error is None and after is not None:
        came = _changed(store, before, after)
        went = _changed(store, _pushed_onto(store, before, after, tracked), after)
        if not report.get("outgoing"):
            went = {"records": [], "sections": []}
    else:
        came = went = {"records": [], "sections": []}
    report |= {
        "records_in": came["records"],
        "records_out": went["records"],
        "sections_in": came["sections"],
        "sections_out": went["sections"],
        "conflicts": workflow.conflicts(store),
        "duration_s": round(time.monotonic() - start, 3),
    }
    if error is not None:
        report["error"] = error
    return report


def _rev(store: Store, name: str) -> str | None:
    done = gitio.git(
        "rev-parse", "-q", "--verify", f"{name}^{{commit}}", cwd=store.root, check=False
    )
    return done.stdout.strip() or None if done.returncode == 0 else None


def _pushed_onto(store: Store, before: str | None, after: str, tracked: str | None) -> str | None:
    """The remote's commit before our push: the upstream that the sync merged (the second
    parent of a merge it made), else the remote-tracking branch as it was."""
    parents = gitio.git("rev-list", "--parents", "-n", "1", after, cwd=store.root).stdout.split()
    made_here = (
        before is None
        or gitio.git(
            "merge-base", "--is-ancestor", after, before, cwd=store.root, check=False
        ).returncode
        != 0
    )
    if len(parents) == 3 and made_here:
        return parents[2]
    return tracked


def _changed(store: Store, old: str | None, new: str) -> dict[str, list[str]]:
    """Records (``collection/id``) and roadmap sections that differ between two commits."""
    base = old or EMPTY_TREE
    paths = workflow.store_paths(store)
    prefix = gitio.git("rev-parse", "--show-prefix", cwd=store.root).stdout.strip()
    names = gitio.git(
        "diff",
        "--name-only",
        "-z",
        "--no-renames",
        "--relative",
        base,
        new,
        "--",
        *(f":(literal){p}" for p in paths),
        cwd=store.root,
    ).stdout.split("\0")
    folders = {c.path.rstrip("/"): n for n, c in store.config.collections.items()}
    records = []
    for path in names:
        folder, _, file = path.rpartition("/")
        if folder in folders and file.endswith(".yaml"):
            records.append(f"{folders[folder]}/{file[: -len('.yaml')]}")
    sections: list[str] = []
    if store.config.roadmap_path in names:
        road = prefix + store.config.roadmap_path
        blobs = gitio.cat_files(store.root, [f"{base}:{road}", f"{new}:{road}"])
        texts = [_section_texts(store, blobs[f"{rev}:{road}"]) for rev in (base, new)]
        keys = dict.fromkeys([*texts[1], *texts[0]])
        sections = [k for k in keys if texts[0].get(k) != texts[1].get(k)]
    return {"records": records, "sections": sections}


def _section_texts(store: Store, data: bytes | None) -> dict[str, str]:
    if data is None:
        return {}
    text = data.decode("utf-8", "replace")
    return {s.name: "".join(s.lines) for s in store.roadmap().parser.parse(text).sections}
