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
    return base if rel == "." else base / "stores" / rel.replace(os.sep, "%")


def legacy_dir(root: Path, state: Path) -> Path | None:
    """The in-tree ``.gitstore/`` of an older gitstore, when the state now lives elsewhere."""
    legacy = root / LEGACY
    if state == legacy:
        return None
    try:
        return legacy if stat.S_ISDIR(os.lstat(legacy).st_mode) else None
    except OSError:
        return None
