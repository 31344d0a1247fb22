"""What a hostile case must not change: fingerprints of the victim's clone (its ``.git/config``,
hooks, info and work tree, but for what a case allows) and of everything outside it."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.hostile.harness import World


def fingerprint(path: Path) -> str:
    st = os.lstat(path)
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        return f"link -> {os.readlink(path)}"
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    if not stat.S_ISREG(st.st_mode):
        return f"special {stat.S_IFMT(st.st_mode):o}"
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    digest = hashlib.sha256()
    try:
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
    finally:
        os.close(fd)
    return f"file {mode:o} {digest.hexdigest()[:16]}"


def walk(root: Path, skip: Callable[[str], bool] = lambda rel: False) -> dict[str, str]:
    """``relative path -> fingerprint`` of everything under root, never following a link."""
    out: dict[str, str] = {}
    if not os.path.lexists(root):
        return out
    pending = [root]
    while pending:
        folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                path = Path(entry.path)
                rel = path.relative_to(root).as_posix()
                if skip(rel):
                    continue
                out[rel] = fingerprint(path)
                if entry.is_dir(follow_symlinks=False):
                    pending.append(path)
    return out


def _own_state(rel: str) -> bool:
    """The victim's own per-clone state, wherever this version of gitstore keeps it."""
    parts = rel.split("/")
    return parts[0] == ".git" or (
        parts[0] == ".gitstore" and len(parts) > 1 and parts[1] in ("locks", "rescue")
    )


@dataclass
class Guard:
    """Fingerprints of everything a hostile case must leave alone."""

    world: World
    allow: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()

    def snap(self) -> dict[str, str]:
        victim, git = self.world.victim, self.world.victim / ".git"
        out = {
            f"victim/{k}": v
            for k, v in walk(victim, _own_state).items()
            if not any(k == a or k.startswith(a.rstrip("/") + "/") for a in self.allow)
        }
        if out.get("victim/.gitstore") == "dir":
            del out["victim/.gitstore"]  # the folder itself may be this clone's own state
        out["victim/.git/config"] = fingerprint(git / "config")
        for sub in ("hooks", "info"):
            out |= {f"victim/.git/{sub}/{k}": v for k, v in walk(git / sub).items()}
        out |= {f"outside/{k}": v for k, v in walk(self.world.outside).items()}
        for extra in self.watch:
            out[extra] = fingerprint(Path(extra))
        return out


def diff(before: dict[str, str], after: dict[str, str]) -> list[str]:
    changes = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old != new:
            changes.append(f"{key}: {old or 'absent'} -> {new or 'absent'}")
    return changes
