"""Where a store keeps its per-clone runtime state: locks, the transaction journal, rescue files.

That state must live where no commit can put a file, or a pushed commit could plant a journal that
the next ``Store.open`` replays. So it goes under the working tree's own git dir (git never
checks anything out there): ``<git dir>/gitstore/`` for a store at the top of its working tree,
``<git dir>/gitstore/stores/<path>/`` for a store in a subfolder. Each linked worktree has its
own git dir, so its own locks and journal. A store outside any git repository falls back to
``<root>/.gitstore/``, which gitstore's ignore rules keep out of commits.

The git dir is found without running git, the way git does: walk up to the first ``.git``
(a folder, or a ``gitdir:`` file for linked worktrees and submodules).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

LEGACY = ".gitstore"


def git_dir(root: Path) -> tuple[Path, Path] | None:
    """``(git dir, top of the working tree)`` of the repository holding ``root``, if any."""
    for top in (root, *root.parents):
        dot_git = top / ".git"
        try:
            mode = os.lstat(dot_git).st_mode
        except OSError:
            continue
        if stat.S_ISDIR(mode):
            return dot_git, top
        if stat.S_ISREG(mode):
            try:
                line = dot_git.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                return None
            if not line.startswith("gitdir:"):
                return None
            target = Path(line.removeprefix("gitdir:").strip())
            return (target if target.is_absolute() else top / target).resolve(), top
        return None
    return None


def state_dir(root: Path) -> Path:
    found = git_dir(root)
    if found is None:
        return root / LEGACY
    gdir, top = found
    rel = os.path.relpath(root, top)
    base = gdir / "gitstore"
    if rel == ".":
        return base
    # one folder name per store path, reversibly: a/b and a%b must not share locks
    return base / "stores" / rel.replace(os.sep, "/").replace("%", "%25").replace("/", "%2F")


def legacy_dir(root: Path, state: Path) -> Path | None:
    """The in-tree ``.gitstore/`` of an older gitstore, when the state now lives elsewhere."""
    legacy = root / LEGACY
    if state == legacy:
        return None
    try:
        return legacy if stat.S_ISDIR(os.lstat(legacy).st_mode) else None
    except OSError:
        return None


def adopt_legacy_journal(root: Path, state: Path, journal: str) -> None:
    """An older gitstore kept its journal in the working tree's ``.gitstore/``. Move it to
    ``state`` only when this clone wrote it: a journal that any commit ever held came from
    someone else, and what a commit brings is never replayed."""
    legacy = legacy_dir(root, state)
    if legacy is None:
        return
    from gitstore import fs, gitio
    from gitstore.errors import RecordError

    try:
        raw = fs.read_bytes(legacy / journal, 1 << 20)
    except (FileNotFoundError, RecordError):
        return
    # Any commit that ever held a journal there (in any case: macOS and Windows fold it)
    # brought it: never replayed, even once untracked again. Doctor reports the folder.
    spec = f":(icase){legacy.name}/{journal}"
    listed = gitio.git("ls-files", "--", spec, cwd=root, check=False)
    ever = gitio.git("log", "--all", "-1", "--format=%H", "--", spec, cwd=root, check=False)
    if listed.returncode or listed.stdout.strip() or ever.returncode or ever.stdout.strip():
        return
    fs.ensure_dir(state)
    fs.atomic_write(state / journal, raw)
    fs.remove(legacy / journal)
