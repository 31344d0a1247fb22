"""The pre-commit hook: its script, and installing it without clobbering a hook already there.

The hook runs ``gitstore validate --staged``. An existing foreign hook is kept as
``pre-commit.legacy`` and run after ours; ``core.hooksPath`` is respected. When gitstore cannot be
found or fails to start, the hook refuses the commit and says how to fix it: it never exits 0
without having validated.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

from gitstore import fs, gitio
from gitstore.errors import GitStoreError

MARKER = "gitstore-pre-commit-hook"

SCRIPT = """\
#!/bin/sh
# gitstore pre-commit hook ({marker}): refuses a commit whose store files do not validate.
# Installed by 'gitstore init' / 'gitstore install'. Skip it once: git commit --no-verify
GITSTORE={gitstore}
if [ ! -x "$GITSTORE" ]; then
    GITSTORE=$(command -v gitstore)
fi
if [ -z "$GITSTORE" ]; then
    echo "gitstore pre-commit: the 'gitstore' command was not found, so nothing was validated" >&2
    echo "  and the commit is refused. Fix: install gitstore and run 'gitstore install' here," >&2
    echo "  or skip this check once with 'git commit --no-verify'." >&2
    exit 1
fi
if ! "$GITSTORE" -C {store} validate --staged; then
    echo "gitstore pre-commit: commit refused. Fix the lines above, 'git add' them," \\
         "commit again." >&2
    exit 1
fi
legacy="$(dirname "$0")/pre-commit.legacy"
if [ -x "$legacy" ]; then
    exec "$legacy" "$@"
fi
exit 0
"""


def script(gitstore: str, store: str) -> str:
    return SCRIPT.format(marker=MARKER, gitstore=shlex.quote(gitstore), store=shlex.quote(store))


def gitstore_command() -> str:
    """This installation's ``gitstore`` script (absolute), or the bare name as a last resort."""
    beside = Path(sys.executable).with_name("gitstore")
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else "gitstore"


def install_hook(root: Path) -> list[str]:
    """Install (or refresh) the hook for the repository holding the store at ``root``."""
    hooks = Path(gitio.git("rev-parse", "--git-path", "hooks", cwd=root).stdout.strip())
    hooks = hooks if hooks.is_absolute() else root / hooks
    top = Path(gitio.git("rev-parse", "--show-toplevel", cwd=root).stdout.strip())
    store = os.path.relpath(root.resolve(), top.resolve())
    wanted = script(gitstore_command(), store)
    hook = hooks / "pre-commit"
    done = []
    fs.ensure_dir(hooks)
    try:
        current = hook.read_text(errors="replace")
    except FileNotFoundError:
        current = None
    if current == wanted:
        return []
    if current is not None and MARKER not in current:
        legacy = hooks / "pre-commit.legacy"
        if legacy.exists():
            raise GitStoreError(
                f"{hook} is not gitstore's and {legacy.name} exists too; merge them by hand", hook
            )
        os.replace(hook, legacy)
        done.append(f"kept the existing pre-commit hook as {legacy.name}; it runs after gitstore's")
    fs.atomic_write(hook, wanted.encode())
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    done.append(f"installed the pre-commit hook in {hooks}")
    return done
