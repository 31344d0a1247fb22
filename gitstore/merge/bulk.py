"""The bulk merge (``gitstore merge``, and ``gitstore sync``'s merge): every store file that both
sides changed, merged in this one process, giving the bytes the per-file driver gives.

Git merges the trees itself (renames, other files, their own attributes and drivers), with the
store's files declared ``-merge`` for that one command (:mod:`.plumbing`): git starts no process
for them and leaves each two-sided one in the index with its stages. Their blobs come from one
``cat-file --batch`` by id; each file is decided by :func:`gitstore.merge.driver.merge_data`,
the driver's own code, with the configuration the driver would have read (before git touched the
work tree); the result is written through :mod:`gitstore.fs`; clean ones are stored by one
``fast-import`` and staged by one ``update-index``, the file mode merged as git merges it.
Conflicts stay as the driver leaves them: the three stages in the index, the driver's text in the
file, and listed in MERGE_MSG. With nothing left unmerged the merge is committed by
``git commit`` (its hooks run). The files themselves are merged by :mod:`.many`.

Git is left to do it all, with the per-file driver, where the bulk path could not give the same
result: a criss-cross history (git merges the merge bases into a virtual base with the driver,
conflicts and all, and the outer merge depends on it), a side that deletes files and adds store
files (git may take that for a rename and merge across it), attributes that convert store files
(``filter``, ``ident``, ``working-tree-encoding``, CRLF conversion) or do not name the driver,
``GITSTORE_MERGE=0``, local changes to a two-sided store file (git must refuse the merge), fewer
than ``BULK_FROM`` two-sided store files (a driver process each is as quick), and a fast-forward.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitstore import gitio
from gitstore.errors import GitStoreError, UsageError
from gitstore.merge import driver, many, plumbing

if TYPE_CHECKING:
    from gitstore.store import Store

BULK_FROM = 5  # fewer two-sided store files: the per-file driver is as quick (and the same)


def _bulk_from() -> int:
    """``GITSTORE_BULK_FROM``, else :data:`BULK_FROM`: the fewest two-sided store files merged
    here rather than by a driver process each (1: always here, as long as there is one)."""
    value = os.environ.get("GITSTORE_BULK_FROM", "")
    return max(int(value), 1) if value.isdigit() else BULK_FROM


_C = {"LC_ALL": "C"}  # git's messages in English: the lines about store files are filtered


@dataclass
class Report:
    revision: str
    how: str  # "bulk", "per-file", "fast-forward" or "up to date"
    reason: str = ""  # why git merged with the per-file driver
    merged: int = 0  # store files merged in this process
    conflicts: list[str] = field(default_factory=list)  # unmerged paths, from the top
    commit: str | None = None
    notes: list[tuple[str, str]] = field(default_factory=list)  # (path, what the driver says)
    output: str = ""  # what git said that is worth showing


class _Layout:
    """The store's paths relative to the top of the work tree, and the attribute patterns
    (those ``gitstore install`` writes) that name them."""

    def __init__(self, store: Store, top: Path):
        rel = os.path.relpath(store.root.resolve(), top.resolve())
        self.prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        self.root = store.root
        self.roadmap = self.prefix + store.config.roadmap_path
        self.folders = {self.prefix + c.path.strip("/") for c in store.config.collections.values()}
        self.patterns = [self.roadmap] + [f"{folder}/*.yaml" for folder in sorted(self.folders)]

    def owns(self, path: str) -> bool:
        return path == self.roadmap or (
            path.endswith(".yaml") and path.rpartition("/")[0] in self.folders
        )

    def plain(self) -> bool:
        """Whether every pattern means just what :meth:`owns` says (no quoting, no globs)."""
        return all(re.fullmatch(r"[A-Za-z0-9_./@+-]+(/\*\.yaml)?", p) for p in self.patterns)


def merge(store: Store, revision: str, *, commit: bool = True) -> Report:
    """Merge ``revision`` into HEAD (the caller holds the store lock)."""
    places = plumbing.Places(store.root)
    top = places.top
    found = gitio.git("rev-parse", "-q", "--verify", f"{revision}^{{commit}}", cwd=top, check=False)
    if found.returncode != 0:
        raise UsageError(f"not a branch or commit: {revision}")
    plumbing.remove_leftover(places.attributes)
    if places.merging():
        raise GitStoreError(
            "a merge is in progress: settle it (gitstore conflicts, resolve, commit) or "
            "'git merge --abort' it first",
            top,
        )
    layout = _Layout(store, top)
    how, reason = _plan(top, layout, found.stdout.strip())
    if how != "bulk":
        return _git_merge(places, revision, how, reason, commit)
    return _bulk(places, layout, revision, commit)


def _plan(top: Path, layout: _Layout, theirs: str) -> tuple[str, str]:
    """("bulk", "") or how git merges instead and why."""
    if os.environ.get("GITSTORE_MERGE") == "0":
        return "per-file", "GITSTORE_MERGE=0: the driver makes plain line merges"
    head = gitio.git("rev-parse", "-q", "--verify", "HEAD", cwd=top, check=False).stdout.strip()
    if not head:
        return "per-file", "no commit yet"
    bases = gitio.git("merge-base", "--all", head, theirs, cwd=top, check=False).stdout.split()
    if not bases:
        return "per-file", "no common history"
    if theirs in bases:
        return "up to date", ""
    if head in bases:
        return "fast-forward", ""
    if len(bases) > 1:
        return "per-file", (
            f"criss-cross history ({len(bases)} merge bases): git builds the virtual base with "
            "the driver"
        )
    ours, theirs_side = (plumbing.changes(top, bases[0], tip) for tip in (head, theirs))
    for side in (ours, theirs_side):
        deletes = any(change[0] == "D" for change in side.values())
        if deletes and any(c[0] == "A" and layout.owns(p) for p, c in side.items()):
            return "per-file", "a side deletes files and adds store files: git may see a rename"
    both = sorted(
        p
        for p in ours
        if p in theirs_side and layout.owns(p) and "D" not in (ours[p][0], theirs_side[p][0])
    )
    if len(both) < _bulk_from():
        return "per-file", f"{len(both)} store file(s) changed on both sides"
    # git refuses to overwrite a local change of a file the merge changes; with the store's
    # files -merge it would not see the change coming (its result is HEAD's): so git decides.
    gitio.git("update-index", "-q", "--refresh", cwd=top, check=False)
    dirty = plumbing.run(top, "diff-index", "--name-only", "-z", "HEAD", "--").stdout
    if {os.fsdecode(name) for name in dirty.split(b"\0")} & set(both):
        return "per-file", "local changes to store files both sides changed"
    if not layout.plain():
        return "per-file", "a store path needs quoting in .gitattributes"
    return _conversions(top, both)


def _conversions(top: Path, paths: list[str]) -> tuple[str, str]:
    """("bulk", "") unless git would convert or route these files differently than the bulk
    path writes them."""
    config = gitio.git(
        "config", "--get-regexp", r"^core\.(autocrlf|eol)$", cwd=top, check=False
    ).stdout.lower()
    for key, bad in (("core.autocrlf", "true"), ("core.eol", "crlf")):
        if f"{key} {bad}" in config.splitlines():
            return "per-file", f"{key} is {bad}: git converts line endings"
    wanted = ("merge", "filter", "ident", "working-tree-encoding", "eol")
    request = b"".join(os.fsencode(p) + b"\0" for p in paths)
    out = plumbing.run(top, "check-attr", "-z", "--stdin", *wanted, input=request).stdout
    fields = out.split(b"\0")
    for i in range(0, len(fields) - 2, 3):
        path, attr, value = (os.fsdecode(f) for f in fields[i : i + 3])
        if attr == "merge" and value != "gitstore":
            return "per-file", f"{path} is merge={value}, not merge=gitstore"
        if attr == "eol" and value == "crlf":
            return "per-file", f"{path} has eol=crlf"
        if attr not in ("merge", "eol") and value != "unspecified":
            return "per-file", f"{path} has the {attr} attribute"
    return "bulk", ""


def _driver_config() -> list[str]:
    """This installation's driver for ``merge=gitstore``, whatever the clone registered."""
    from gitstore.initialize import driver_command

    return [
        "-c",
        "merge.gitstore.name=gitstore field-level merge",
        "-c",
        f"merge.gitstore.driver={driver_command()}",
    ]


def _git_merge(
    places: plumbing.Places, revision: str, how: str, reason: str, commit: bool
) -> Report:
    """git's own merge, the driver called per file."""
    top = places.top
    args = ["merge", "--no-edit", *([] if commit else ["--no-commit"]), revision]
    done = gitio.git(*_driver_config(), *args, cwd=top, check=False)
    output = (done.stdout + done.stderr).strip()
    merging = places.merging()
    if done.returncode != 0 and not merging:
        detail = output.splitlines()
        raise GitStoreError(f"git merge failed: {detail[-1] if detail else done.returncode}", top)
    report = Report(revision, how, reason, output=output)
    report.conflicts = sorted(plumbing.unmerged(top))
    if done.returncode != 0 and not report.conflicts:
        raise _refused(top, output)  # the pre-merge-commit hook said no
    if not merging and how != "up to date":
        report.commit = gitio.git("rev-parse", "HEAD", cwd=top).stdout.strip()
    return report


def _bulk(places: plumbing.Places, layout: _Layout, revision: str, commit: bool) -> Report:
    top = places.top
    parser = driver.prepare(str(top))  # what the driver reads: the config before the merge
    with plumbing.unmerged_by_git(places.attributes, layout.patterns):
        done = subprocess.run(
            ["git", *_driver_config(), "merge", "--no-commit", revision],
            cwd=top,
            env={**gitio.clean_env(), **_C},
            capture_output=True,
            text=True,
            check=False,
        )
    output = (done.stdout + done.stderr).strip()
    if not places.merging():
        detail = output.splitlines()
        raise GitStoreError(f"git merge failed: {detail[-1] if detail else done.returncode}", top)
    stages = plumbing.unmerged(top)
    todo = [p for p in sorted(stages) if layout.owns(p) and _content_conflict(stages[p])]
    report = Report(revision, "bulk", output=_filtered(output, set(todo)))
    with plumbing.scratch_dir() as scratch:
        context = many.Context(top, parser, Path(scratch))
        try:
            merged = many.merge_all(context, layout.root, layout.prefix, todo, stages)
        except KeyboardInterrupt as err:  # Ctrl-C: say what it left
            raise KeyboardInterrupt(
                f"the merge of {revision} is left in progress, its store files unmerged: "
                "'git merge --abort' undoes it"
            ) from err
    resolved = merged.resolved
    report.merged, report.notes = merged.count, merged.notes
    report.conflicts = sorted(set(stages) - resolved)
    plumbing.drop_conflicts(places.merge_msg, resolved, bool(report.conflicts))
    gitio.git("update-index", "-q", "--refresh", cwd=top, check=False)  # stat info, like git's
    if not report.conflicts and commit:
        done = subprocess.run(
            ["git", "commit", "-q", "--no-edit"],
            cwd=top,
            env=gitio.clean_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise _refused(top, done.stdout + done.stderr)
        report.commit = gitio.git("rev-parse", "HEAD", cwd=top).stdout.strip()
    return report


def _refused(top: Path, said: str) -> GitStoreError:
    """The commit of a merge was refused (by a hook): the merge stays staged."""
    lines = [line.strip() for line in said.splitlines() if line.strip()]
    first = next((line for line in lines if not line.startswith("Not committing")), "refused")
    return GitStoreError(
        f"the merge is staged but its commit was refused: {first}; fix it, then 'gitstore commit'",
        top,
    )


def _content_conflict(stages: plumbing.Stages) -> bool:
    """Whether git's merge, with the driver, would have called it for this path: regular files
    on both sides (and in the base, if any), three different versions."""
    if 2 not in stages or 3 not in stages:
        return False  # deleted on one side: git never calls a driver for that
    if any(mode not in plumbing.REGULAR for mode, _ in stages.values()):
        return False  # a symlink or a submodule: git never calls a driver for those either
    ids = [oid for _, oid in stages.values()]
    return len(set(ids)) == len(ids)


_ABOUT = re.compile(
    r"(?:Auto-merging |CONFLICT \((?:content|add/add)\): Merge conflict in "
    r"|warning: Cannot merge binary files: )(.+?)(?: \(.* vs\. .*\))?"
)


def _filtered(output: str, handled: set[str]) -> str:
    """git's output without its lines about the files merged here."""
    kept = []
    for line in output.splitlines():
        about = _ABOUT.fullmatch(line)
        if about and about.group(1) in handled:
            continue
        if line.startswith("Automatic merge failed;"):
            continue
        kept.append(line)
    return "\n".join(kept)
