"""The git hooks: their script, and installing them without clobbering a hook already there.

One script, installed as ``pre-commit`` and as ``pre-merge-commit`` (git runs the second before the
commit of a merge that needed no hand resolution, which ``pre-commit`` never sees); both run
``gitstore validate --staged``. An existing foreign hook is kept as ``<hook>.legacy`` and run after
ours; ``core.hooksPath`` is respected. When gitstore cannot be found or fails to start, the hook
refuses the commit and says how to fix it: it never exits 0 without having validated.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

from gitstore import fs, gitio
from gitstore.errors import GitStoreError

MARKER = "gitstore-pre-commit-hook"  # in every hook we install: how we recognise our own
HOOKS = {"pre-commit": "git commit --no-verify", "pre-merge-commit": "git merge --no-verify"}

SCRIPT = """\
#!/bin/sh
# gitstore {hook} hook ({marker}): refuses a commit whose store files do not validate.
# Installed by 'gitstore init' / 'gitstore install'. Skip it once: {skip}
GITSTORE={gitstore}
if [ ! -x "$GITSTORE" ]; then
    GITSTORE=$(command -v gitstore)
fi
if [ -z "$GITSTORE" ]; then
    echo "gitstore {hook}: the 'gitstore' command was not found, so nothing was validated" >&2
    echo "  and the commit is refused. Fix: install gitstore and run 'gitstore install' here," >&2
    echo "  or skip this check once with '{skip}'." >&2
    exit 1
fi
if ! "$GITSTORE" -C {store} validate --staged; then
    echo "gitstore {hook}: commit refused. Fix the lines above, 'git add' them," \\
         "commit again." >&2
    exit 1
fi
legacy="$(dirname "$0")/{hook}.legacy"
# Run as {hook}.legacy itself (another hook manager moved it there and calls it), it must
# not call itself: that loops forever.
if [ -x "$legacy" ] && [ "$(basename "$0")" != "{hook}.legacy" ]; then
    exec "$legacy" "$@"
fi
exit 0
"""


def script(gitstore: str, store: str, hook: str = "pre-commit") -> str:
    return SCRIPT.format(
        hook=hook,
        marker=MARKER,
        skip=HOOKS[hook],
        gitstore=shlex.quote(gitstore),
        store=shlex.quote(store),
    )


def gitstore_command() -> str:
    """This installation's ``gitstore`` script (absolute), or the bare name as a last resort."""
    beside = Path(sys.executable).with_name("gitstore")
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else "gitstore"


def hooks_dir(root: Path) -> Path:
    """The folder git runs hooks from for the repository holding ``root`` (core.hooksPath)."""
    hooks = Path(gitio.git("rev-parse", "--git-path", "hooks", cwd=root).stdout.strip())
    return hooks if hooks.is_absolute() else root / hooks


def install_hooks(root: Path) -> list[str]:
    """Install (or refresh) every hook for the repository holding the store at ``root``."""
    hooks = hooks_dir(root)
    top = Path(gitio.git("rev-parse", "--show-toplevel", cwd=root).stdout.strip())
    store = os.path.relpath(root.resolve(), top.resolve())
    fs.ensure_dir(hooks)
    done = []
    for name in HOOKS:
        done += install_hook(hooks / name, script(gitstore_command(), store, name))
    return done


def install_hook(hook: Path, wanted: str) -> list[str]:
    """Write ``wanted`` as ``hook``, keeping a foreign hook there as ``<hook>.legacy``."""
    try:
        current = hook.read_text(errors="replace")
    except FileNotFoundError:
        current = None
    if current == wanted:
        return []
    done = []
    if current is not None and MARKER not in current:
        legacy = hook.with_name(f"{hook.name}.legacy")
        if legacy.exists():
            raise GitStoreError(
                f"{hook} is not gitstore's and {legacy.name} exists too; merge them by hand", hook
            )
        os.replace(hook, legacy)
        done.append(
            f"kept the existing {hook.name} hook as {legacy.name}; it runs after gitstore's"
        )
    fs.atomic_write(hook, wanted.encode())
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    done.append(f"installed the {hook.name} hook in {hook.parent}")
    return done
