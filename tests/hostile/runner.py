"""Run one gitstore CLI call or one Python API snippet in a fresh process, optionally with faults.

    python runner.py [--fault STEP:ERRNO:MATCH]... [--os-fault CALL:ERRNO:MATCH]... cli ARG...
    python runner.py [...] api 'store.list("tasks")'

A fresh process per call, so a crash (SIGSEGV in a C extension, a runaway recursion) is the
case's failure and never the test runner's. ``--fault`` makes ``gitstore.fs.fault_hook`` raise
``OSError(ERRNO)`` at I/O step STEP (``*`` for any) of any path containing MATCH: the store's own
fault hook, "mock only what cannot be real" (EROFS, ENOSPC; EACCES, which root ignores).
``--os-fault`` does the same for one ``os`` call (``open``, ``mkdir``, ``pwrite``, ``ftruncate``,
``write``, ``fsync``) on paths containing MATCH — for files such as lock files that may not go
through ``gitstore.fs``. In ``api`` mode the snippet runs with ``store = Store.open(".")``; a
``GitStoreError`` is printed as one ``gitstore: Class: message`` line and its ``exit_code`` is
the exit status; any other exception escapes with its traceback, which the harness reports.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from typing import Any

_PATH_CALLS = ("open", "mkdir")
_FD_CALLS = ("pwrite", "ftruncate", "write", "fsync")


def _errno(name: str) -> int:
    code = getattr(errno, name, None)
    if not isinstance(code, int):
        raise SystemExit(f"runner: unknown errno {name}")
    return code


def _fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def install_faults(fs_faults: list[str], os_faults: list[str]) -> Callable[[], None]:
    """Install the faults (``STEP:ERRNO:MATCH`` / ``CALL:ERRNO:MATCH``); returns an undo."""
    from gitstore import fs

    parsed = [(s, _errno(e), m) for s, e, m in (f.split(":", 2) for f in fs_faults)]
    previous_hook = fs.fault_hook

    def hook(step: str, path: str) -> None:
        for want, code, match in parsed:
            if want in ("*", step) and match in path:
                raise OSError(code, os.strerror(code), path)

    if parsed:
        fs.fault_hook = hook
    originals: dict[str, Any] = {}
    for spec in os_faults:
        call, name, match = spec.split(":", 2)
        code = _errno(name)
        real = originals.setdefault(call, getattr(os, call))
        if call in _PATH_CALLS:

            def by_path(
                path: Any, *a: Any, _r: Any = real, _m: str = match, _c: int = code, **k: Any
            ) -> Any:
                where = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else ""
                if _m in where:
                    raise OSError(_c, os.strerror(_c), where)
                return _r(path, *a, **k)

            setattr(os, call, by_path)
        elif call in _FD_CALLS:

            def by_fd(
                fd: int, *a: Any, _r: Any = real, _m: str = match, _c: int = code, **k: Any
            ) -> Any:
                where = _fd_path(fd)
                if _m in where:
                    raise OSError(_c, os.strerror(_c), where)
                return _r(fd, *a, **k)

            setattr(os, call, by_fd)
        else:
            raise SystemExit(f"runner: cannot inject into os.{call}")

    def undo() -> None:
        fs.fault_hook = previous_hook
        for call, real in originals.items():
            setattr(os, call, real)

    return undo


def main(argv: list[str]) -> int:
    fs_faults: list[str] = []
    os_faults: list[str] = []
    while argv and argv[0] in ("--fault", "--os-fault"):
        (fs_faults if argv[0] == "--fault" else os_faults).append(argv[1])
        argv = argv[2:]
    mode, rest = argv[0], argv[1:]
    install_faults(fs_faults, os_faults)
    if mode == "cli":
        from gitstore.cli import main as cli_main

        sys.argv = ["gitstore", *rest]
        return cli_main(rest)
    if mode != "api" or len(rest) != 1:
        raise SystemExit("usage: runner.py [--fault ...] cli ARG... | api SNIPPET")
    from gitstore import GitStoreError, Store

    namespace: dict[str, Any] = {"Store": Store, "GitStoreError": GitStoreError}
    try:
        namespace["store"] = Store.open(".")
        exec(rest[0], namespace)
    except GitStoreError as err:
        print(f"gitstore: {type(err).__name__}: {err}", file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
