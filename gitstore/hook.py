"""The git hooks: their script, and installing them without clobbering a hook already there.

One script, installed as ``pre-commit`` and as ``pre-merge-commit`` (git runs the second before the
commit of a merge that needed no hand resolution, which ``pre-commit`` never sees); both run
``gitstore validate --staged``. An existing foreign hook is kept as ``<hook>.legacy`` and run after
ours; ``core.hooksPath`` is respected. Beside the pre-commit framework's hook, ours is the
``.legacy`` hook the framework runs, in either install order (:mod:`gitstore.precommit`). When
gitstore cannot be found or fails to start, the hook refuses the commit and says how to fix it:
it never exits 0 without having validated.
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
# Only an absolute path is run as it is: a bare name is looked up in PATH (never tested against
# a file of that name in the work tree, which a commit could have put there).
if [ "${{GITSTORE#/}}" = "$GITSTORE" ] || [ ! -x "$GITSTORE" ]; then
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
        done += install_hook(hooks / name, script(gitstore_command(), store, name), top)
    return done


def install_hook(hook: Path, wanted: str, top: Path | None = None) -> list[str]:
    """Write ``wanted`` as ``hook``, keeping a foreign hook there as ``<hook>.legacy``; beside
    the pre-commit framework's hook, as the ``.legacy`` the framework runs, unless the
    framework's configuration runs gitstore already (:mod:`gitstore.precommit`)."""
    from gitstore import precommit

    current = _read(hook)
    legacy = hook.with_name(f"{hook.name}.legacy")
    if current is not None and MARKER in current and precommit.is_framework_script(_read(legacy)):
        # An older gitstore moved the framework's script to .legacy, where it cannot run:
        # give the framework its place back, and take the .legacy place it keeps for us.
        os.replace(legacy, hook)
        _write(legacy, wanted)
        return [
            f"gave {hook.name} back to the pre-commit framework; gitstore's hook is now "
            f"{legacy.name}, which the framework runs first"
        ]
    if precommit.is_framework_script(current):
        assert current is not None
        config = precommit.config_path(current, top or hook.parent)
        runs = precommit.gitstore_hook(config, top or hook.parent, hook.name)
        if runs:
            return [
                f"the pre-commit framework runs gitstore at {hook.name} "
                f"({config.name}: {runs}); left as it is"
            ]
        old = _read(legacy)
        if old is not None and MARKER not in old:
            raise GitStoreError(
                f"{hook.name} is the pre-commit framework's and {legacy.name} is another "
                f"hook: add the {precommit.HOOK_ID} hook to {config.name} (docs/validation.md), "
                "then run 'gitstore install' again",
                hook,
            )
        if old == wanted:
            return []
        _write(legacy, wanted)
        return [
            f"the pre-commit framework owns {hook.name}: installed gitstore's as "
            f"{legacy.name}, which the framework runs first"
        ]
    if current == wanted:
        return []
    done = []
    if current is not None and MARKER not in current:
        if legacy.exists():
            raise GitStoreError(
                f"{hook} is not gitstore's and {legacy.name} exists too; merge them by hand", hook
            )
        os.replace(hook, legacy)
        done.append(
            f"kept the existing {hook.name} hook as {legacy.name}; it runs after gitstore's"
        )
    _write(hook, wanted)
    done.append(f"installed the {hook.name} hook in {hook.parent}")
    return done


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except (FileNotFoundError, IsADirectoryError):
        return None


def _write(hook: Path, text: str) -> None:
    fs.atomic_write(hook, text.encode())
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
