"""A writer's parse of the record it wrote, left for the next writer in the record's lock file.

When writers take turns on one record, each finds the file as another process wrote it and must
parse it again, under the lock, before it can change it: with eight writers on two cores, most of
the time the lock is held. So a writer that had to wait for the lock (others are writing this
record too) leaves what it wrote parsed — exactly the data its own cache keeps for the same bytes
— after the holder hint in the lock file, and the next holder takes it instead of parsing.

What is left is trusted only for the bytes it was made for: a digest binds it to the file's exact
bytes, the depth limit, and this code (the gitstore version and the files of the modules that
decide a parse), and covers the data itself, so a torn, stale or foreign note is never used
(equal bytes always parse the same). It is read and written only by a holder of the record's
lock; readers without the lock never look at it. The lock files live in the per-clone state,
which no commit can reach. Data ``marshal`` cannot hold (dates) is not left.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from typing import Any

MAGIC = b"gitstore-parse-1\n"
MAX_NOTE = 1 << 16  # larger records are parsed: a note is one read of the lock file
_HEAD = len(MAGIC) + 4 + 16  # magic, body length, digest

_code: bytes | None = None


def _code_key() -> bytes:
    """What decides a parse besides the bytes: an upgrade or an edit changes these files."""
    global _code
    if _code is None:
        import gitstore
        from gitstore import clock, plainyaml, record

        parts = [getattr(gitstore, "__version__", ""), str(marshal.version), sys.version]
        for module in (record, plainyaml, clock, sys.modules[__name__]):
            st = os.stat(str(module.__file__))
            parts.append(f"{st.st_size}.{st.st_mtime_ns}")
        _code = "\0".join(parts).encode()
    return _code


def _digest(raw: bytes, max_depth: int, body: bytes) -> bytes:
    key = _code_key() + b"\0%d\0%d\0" % (max_depth, len(raw))
    return hashlib.blake2b(key + raw + body, digest_size=16).digest()


def pack(raw: bytes, data: dict[str, Any], max_depth: int) -> bytes | None:
    """The note for ``data``, the parse of the file bytes ``raw``; None when it cannot be one."""
    try:
        body = marshal.dumps(data)
    except ValueError:  # a date or another value marshal cannot write
        return None
    if _HEAD + len(body) > MAX_NOTE:
        return None
    return MAGIC + len(body).to_bytes(4, "little") + _digest(raw, max_depth, body) + body


def unpack(note: bytes, raw: bytes, max_depth: int) -> dict[str, Any] | None:
    """The data a note holds when it was made for exactly ``raw`` (and this code and limit)."""
    if not note.startswith(MAGIC) or len(note) < _HEAD:
        return None
    size = int.from_bytes(note[len(MAGIC) : len(MAGIC) + 4], "little")
    body = note[_HEAD : _HEAD + size]
    if len(body) != size or note[len(MAGIC) + 4 : _HEAD] != _digest(raw, max_depth, body):
        return None
    data = marshal.loads(body)
    return data if type(data) is dict else None
