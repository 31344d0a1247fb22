"""The only place that runs git: argv lists (never a shell) and a clean environment.

Inside a hook or a merge driver, git exports ``GIT_DIR``, ``GIT_INDEX_FILE`` and friends; a git
command we start must not inherit them, or it would act on the caller's repository and index.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gitstore.errors import TYPE_CHECKING, GitStoreError

if TYPE_CHECKING:
    from collections.abc import Generator

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


def clean_env(keep_index: bool = False) -> dict[str, str]:
    """The environment without the calling git's GIT_* variables. ``keep_index`` keeps
    GIT_INDEX_FILE (made absolute): inside a pre-commit hook it names the index being committed
    (``git commit -a`` and ``git commit PATH`` use a temporary one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEEP}
    index = os.environ.get("GIT_INDEX_FILE")
    if keep_index and index:
        env["GIT_INDEX_FILE"] = os.path.abspath(index)
    return env


def git(
    *args: str, cwd: str | Path, check: bool = True, keep_index: bool = False
) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=clean_env(keep_index),
            capture_output=True,
            text=True,
            check=False,
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
    git("init", "-q", cwd=path)


def cat_files(root: Path, objects: list[str]) -> dict[str, bytes | None]:
    """Contents of git objects (``:path`` for the index, ``HEAD:path``), one git process."""
    request = "".join(f"{name}\n" for name in objects).encode()
    done = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=root,
        env=clean_env(keep_index=True),
        input=request,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise GitStoreError(f"git cat-file failed: {done.stderr.decode(errors='replace').strip()}")
    out: dict[str, bytes | None] = {}
    data, pos = done.stdout, 0
    for name in objects:
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        pos = end + 1
        if len(header) != 3 or header[1] != b"blob":
            out[name] = None  # missing (a new file has no HEAD version), or not a file
            if len(header) == 3:
                pos += int(header[2]) + 1
            continue
        size = int(header[2])
        out[name] = data[pos : pos + size]
        pos += size + 1
    return out


def stream_blobs(
    root: Path, shas: list[str], limit: int
) -> Generator[tuple[str, bytes | None, int], None, None]:
    """``(sha, content, size)`` for each object, in order, from one ``git cat-file --batch``
    process, read as it comes (a whole history's blobs never sit in memory at once). Content is
    None for a missing object (size -1), a non-blob, or a blob over ``limit`` bytes (skipped
    unread)."""
    import contextlib
    import threading

    proc = subprocess.Popen(
        ["git", "cat-file", "--batch"],
        cwd=root,
        env=clean_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin, out = proc.stdin, proc.stdout

    def feed() -> None:
        try:
            for sha in shas:
                stdin.write(f"{sha}\n".encode())
        except (BrokenPipeError, ValueError):
            pass  # the reader stopped early
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        for sha in shas:
            header = out.readline().split()
            if len(header) == 2 and header[1] == b"missing":
                yield sha, None, -1
                continue
            if len(header) != 3:
                raise GitStoreError(f"git cat-file: unexpected answer for {sha}")
            size = int(header[2])
            if header[1] != b"blob" or size > limit:
                left = size + 1
                while left:
                    left -= len(out.read(min(left, 1 << 16)) or b"\0" * left)
                yield sha, None, size
                continue
            data = out.read(size)
            out.read(1)
            yield sha, data, size
    finally:
        out.close()
        proc.kill()
        proc.wait()
        writer.join()
