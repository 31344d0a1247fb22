"""The only place that runs git: argv lists (never a shell) and a clean environment.

Inside a hook or a merge driver, git exports ``GIT_DIR``, ``GIT_INDEX_FILE`` and friends; a git
command we start must not inherit them, or it would act on the caller's repository and index.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gitstore.errors import GitStoreError

_KEEP = {
    "GIT_EXEC_PATH",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_ASKPASS",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_CONFIG_GLOBAL",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_DATE",
    "GIT_TERMINAL_PROMPT",
}


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEEP}


def git(*args: str, cwd: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, env=clean_env(), capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise GitStoreError("git is not installed or not on PATH") from None
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise GitStoreError(f"git {args[0]} failed: {detail[-1] if detail else done.returncode}")
    return done


def is_repo(path: Path) -> bool:
    return git("rev-parse", "--git-dir", cwd=path, check=False).returncode == 0


def init_repo(path: Path) -> None:
    import git as gitpython

    gitpython.Repo.init(path)
