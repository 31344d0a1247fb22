"""Running a child of a hostile case: in its own session, under memory and file-size limits, with a
timeout after which its whole process group is killed (a hang is a failure, never a stuck run)."""

from __future__ import annotations

import contextlib
import os
import resource
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIMEOUT = 20.0
# Children may not eat the machine: a runaway read of /dev/zero or a write loop hits these
# limits (MemoryError, SIGXFSZ) long before the OOM killer or a full disk.
MEMORY_LIMIT = 2 << 30
FILE_LIMIT = 64 << 20


class Hung(Exception):
    pass


@dataclass
class Result:
    """What one command did. ``one_line``: its errors are one ``gitstore:`` line on stderr."""

    label: str
    code: int
    out: str
    err: str
    one_line: bool = True

    def show(self) -> str:
        return f"$ {self.label}\n[exit {self.code}]\n--- stdout\n{self.out[-3000:]}\n--- stderr\n{self.err[-3000:]}"


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Ctrl-C as a person's terminal sends it: a test run started in the background (by a
    # non-interactive shell's `&`) inherits SIGINT ignored, and so would every child, which
    # then rightly keeps ignoring it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(argv: list[str], cwd: Path, env: dict[str, str], **kw: Any) -> subprocess.Popen[str]:
    """Start a child in its own session (so a timeout kills its whole tree) under the limits."""
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        text=True,
        errors="replace",
        start_new_session=True,
        preexec_fn=_limits,
        **kw,
    )


def finish(proc: subprocess.Popen[str], label: str, input: str | None = None) -> tuple[str, str]:
    """Wait (bounded) for a child; on timeout kill its process group and raise Hung."""
    try:
        return proc.communicate(input, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        proc.communicate()
        raise Hung(f"{label}: no result within {TIMEOUT:g} s (hung)") from None


def kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def run(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    *,
    label: str | None = None,
    input: str | None = None,
    one_line: bool = True,
) -> Result:
    label = label or short(argv)
    proc = spawn(
        argv,
        cwd,
        env,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = finish(proc, label, input)
    return Result(label, proc.returncode, out, err, one_line)


def short(argv: Iterable[str]) -> str:
    """A command line for a message: long arguments shown by their size."""
    return " ".join(
        shlex.quote(a) if len(a) <= 100 else f"<{a[:12]}... {len(a)} chars>" for a in argv
    )


def make_env(home: Path, user: str = "victim") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITSTORE_"))}
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_TERMINAL_PROMPT="0",
        LC_ALL="C",
        GITSTORE_USER=user,
        PYTHONDONTWRITEBYTECODE="1",
    )
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env
