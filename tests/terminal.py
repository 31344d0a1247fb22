"""Running the real CLI on a pseudo-terminal (what a person at a terminal gives it)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path


def run_on_tty(
    *args: str,
    cwd: Path,
    answer: str | None = None,
    stdout_tty: bool = True,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> tuple[int, str, str]:
    """``gitstore ARGS`` with stdin and stderr (and stdout, unless ``stdout_tty`` is false) on a
    pseudo-terminal; ``answer`` is typed into it. Returns (exit code, terminal text, stdout text
    when stdout was a pipe)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitstore", *args],
        cwd=cwd,
        stdin=slave,
        stdout=slave if stdout_tty else subprocess.PIPE,
        stderr=slave,
        env={**os.environ, "COLUMNS": "100", **(env or {})},
        start_new_session=True,
    )
    os.close(slave)
    if answer is not None:
        os.write(master, answer.encode())
    seen = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every process holding the terminal closed it
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    piped = ""
    if proc.stdout:
        with proc.stdout:
            piped = proc.stdout.read().decode()
    code = proc.wait(timeout=timeout)
    return code, seen.decode(errors="replace"), piped
