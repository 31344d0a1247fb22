"""Git plumbing for the bulk merge: many files through a handful of git processes.

Every path and object id goes to git through stdin or a file, never one argv (5,000 paths do not
fit in one). Blobs are read by object id from one ``git cat-file --batch`` (a ``rev:path`` look-up
scans the tree each time), each size checked before its bytes are read; new blobs are written by
one ``git fast-import`` exactly as given (no clean filter or line-ending conversion, as git stores
a merge driver's output); the index is updated by one ``git update-index --index-info``.

The merge itself runs with the store's files declared ``-merge`` (git's binary driver: no process
per file, each two-sided file left with its three stages in the index) by a block added to
``$GIT_DIR/info/attributes`` for the length of one ``git merge --no-commit``, then removed. A block
left by a killed process names its pid; it is removed by the next bulk merge and by
``gitstore doctor --fix``.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from gitstore import fs, gitio
from gitstore.errors import GitStoreError

REGULAR = ("100644", "100755")
_BEGIN = b"# gitstore bulk merge: begin"
_END = b"# gitstore bulk merge: end\n"


def run(
    top: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """git in ``top`` with bytes in and out; a failure is a GitStoreError naming git's words."""
    done = subprocess.run(
        ["git", *args],
        cwd=top,
        env={**gitio.clean_env(), **(env or {})},
        input=input,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise GitStoreError(f"git {args[0]} failed: {detail[-1] if detail else done.returncode}")
    return done


class Places:
    """Where things are for the repository holding ``cwd``, from one ``git rev-parse``."""

    def __init__(self, cwd: Path):
        names = ("info/attributes", "MERGE_HEAD", "MERGE_MSG")
        asked = [arg for name in names for arg in ("--git-path", name)]
        out = run(cwd, "rev-parse", "--show-toplevel", *asked).stdout.decode().splitlines()
        self.top = Path(out[0])
        self.attributes, self.merge_head, self.merge_msg = (
            Path(found) if os.path.isabs(found) else cwd / found for found in out[1:4]
        )

    def merging(self) -> bool:
        return os.path.lexists(self.merge_head)


# ---------------------------------------------------------------- the attribute override


def _split(data: bytes) -> tuple[bytes, int | None]:
    """``data`` without gitstore's block, and the pid the block names (None: no block)."""
    start = data.find(_BEGIN)
    if start < 0:
        return data, None
    end = data.find(_END, start)
    end = len(data) if end < 0 else end + len(_END)
    header = data[start : data.find(b"\n", start)].decode(errors="replace")
    digits = "".join(c for c in header.partition("pid ")[2] if c.isdigit())
    return data[:start] + data[end:], int(digits) if digits else 0


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def leftover(path: Path) -> int | None:
    """The pid named by a block in the attribute file ``path`` (info/attributes) that no
    running process holds, or None."""
    try:
        data = fs.read_bytes(path)
    except (FileNotFoundError, GitStoreError):
        return None
    _, pid = _split(data)
    return pid if pid is not None and not _alive(pid) else None


def remove_leftover(path: Path) -> bool:
    """Remove a block left in info/attributes by a killed bulk merge; True when there was one."""
    if leftover(path) is None:
        return False
    fs.atomic_write(path, _split(fs.read_bytes(path))[0])
    return True


@contextlib.contextmanager
def unmerged_by_git(path: Path, patterns: list[str]) -> Iterator[None]:
    """While inside: ``patterns`` are ``-merge`` (git's binary merge) by a block in the
    attribute file ``path`` (info/attributes: the highest precedence)."""
    try:
        current = fs.read_bytes(path)
    except FileNotFoundError:
        current = None
    kept, pid = _split(current or b"")
    if pid is not None and _alive(pid) and pid != os.getpid():
        raise GitStoreError(f"a gitstore merge (pid {pid}) is running in this repository", path)
    if kept and not kept.endswith(b"\n"):
        kept += b"\n"
    block = (
        _BEGIN
        + f" (temporary, pid {os.getpid()}; remove it if no gitstore merge runs)\n".encode()
        + b"".join(f"{pattern} -merge\n".encode() for pattern in patterns)
        + _END
    )
    fs.ensure_dir(path.parent)
    fs.atomic_write(path, kept + block)
    try:
        yield
    finally:
        now = fs.read_bytes(path)  # someone may have edited it meanwhile: remove only our block
        rest = _split(now)[0]
        if current is None and not rest:
            fs.remove(path)
        else:
            fs.atomic_write(path, rest)


# ---------------------------------------------------------------- the index


Stages = dict[int, tuple[str, str]]  # stage -> (mode, object id)


def unmerged(top: Path) -> dict[str, Stages]:
    """Every unmerged path (relative to the top of the work tree) with its stages."""
    found: dict[str, Stages] = {}
    for item in run(top, "ls-files", "-u", "-z").stdout.split(b"\0"):
        if item:
            meta, _, name = item.partition(b"\t")
            mode, oid, stage = meta.decode().split(" ")
            found.setdefault(os.fsdecode(name), {})[int(stage)] = (mode, oid)
    return found


def stage(top: Path, entries: Iterable[tuple[str, str, str]]) -> None:
    """Put ``(mode, object id, path)`` entries at stage 0, resolving those paths."""
    data = b"".join(f"{mode} {oid}\t".encode() + os.fsencode(p) + b"\0" for mode, oid, p in entries)
    if data:
        run(top, "update-index", "-z", "--index-info", input=data)


def changes(top: Path, old: str, new: str) -> dict[str, tuple[str, str, str, str, str]]:
    """``path -> (status, old mode, old id, new mode, new id)`` between two commits, renames
    not followed."""
    out = run(top, "diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", old, new).stdout
    fields = out.split(b"\0")
    found = {}
    for i in range(0, len(fields) - 1, 2):
        meta = fields[i].decode().lstrip(":").split(" ")
        if len(meta) == 5:
            found[os.fsdecode(fields[i + 1])] = (meta[4], meta[0], meta[2], meta[1], meta[3])
    return found


# ---------------------------------------------------------------- blobs


class BlobReader:
    """One ``git cat-file --batch``: blobs asked for by id, read back in order. A blob over
    ``limit`` bytes is skipped unread (its size is in the header that comes first)."""

    def __init__(self, top: Path, oids: list[str], limit: int):
        self.limit = limit
        self.proc = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=top,
            env=gitio.clean_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        request = "".join(f"{oid}\n" for oid in oids).encode()
        self.feeder = threading.Thread(target=self._feed, args=(request,), daemon=True)
        self.feeder.start()

    def _feed(self, request: bytes) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):  # the reader stopped early: nothing more is wanted
            self.proc.stdin.write(request)
            self.proc.stdin.close()

    def next(self) -> tuple[bytes | None, int]:
        """(the next blob, or None when it is over the limit or not a blob; its size)."""
        out = self.proc.stdout
        assert out is not None
        header = out.readline().split()
        if len(header) != 3:
            if not header:
                raise GitStoreError("git cat-file stopped early")
            return None, 0  # "<id> missing"
        size = int(header[2])
        if header[1] != b"blob" or size > self.limit:
            left = size + 1
            while left:
                chunk = out.read(min(left, 1 << 20))
                if not chunk:
                    raise GitStoreError("git cat-file stopped early")
                left -= len(chunk)
            return None, size
        data = out.read(size)
        out.read(1)
        if len(data) != size:
            raise GitStoreError("git cat-file stopped early")
        return data, size

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.proc.wait()
        self.feeder.join()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def blob_to_file(top: Path, oid: str, path: Path) -> None:
    """Stream one blob into a new file (never read whole)."""
    with open(path, "xb") as handle:
        done = subprocess.run(
            ["git", "cat-file", "blob", oid], cwd=top, env=gitio.clean_env(), stdout=handle
        )
    if done.returncode != 0:
        raise GitStoreError(f"git cat-file could not read {oid}")


class BlobWriter:
    """One ``git fast-import`` that stores blobs exactly as given; their ids at the end."""

    def __init__(self, top: Path, scratch: Path):
        self.marks = scratch / "marks"
        self.errors = open(scratch / "fast-import.err", "w+b")  # noqa: SIM115
        self.proc = subprocess.Popen(
            ["git", "fast-import", "--quiet", "--done", f"--export-marks={self.marks}"],
            cwd=top,
            env=gitio.clean_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self.errors,
        )
        self.count = 0

    def add(self, data: bytes) -> int:
        assert self.proc.stdin is not None
        self.count += 1
        self.proc.stdin.write(b"blob\nmark :%d\ndata %d\n" % (self.count, len(data)))
        self.proc.stdin.write(data)
        self.proc.stdin.write(b"\n")
        return self.count

    def finish(self) -> dict[int, str]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"done\n")
        self.proc.stdin.close()
        code = self.proc.wait()
        self.errors.seek(0)
        detail = self.errors.read().decode(errors="replace").strip()
        self.errors.close()
        if code != 0:
            raise GitStoreError(f"git fast-import failed: {detail or code}")
        if not self.count:
            return {}
        marks = {}
        for line in self.marks.read_text().splitlines():
            mark, _, oid = line.partition(" ")
            marks[int(mark.lstrip(":"))] = oid
        return marks

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.proc.wait()
        self.errors.close()


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    """A private folder for git's marks and the line merge's three files."""
    return tempfile.TemporaryDirectory(prefix="gitstore-merge-")


# ---------------------------------------------------------------- the merge message


def drop_conflicts(path: Path, resolved: set[str], any_left: bool) -> None:
    """Take ``resolved`` paths out of the ``Conflicts:`` list git wrote into MERGE_MSG (``path``),
    and the list itself when no path is ``any_left`` unmerged: the message git writes for what
    is left."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    found = list(re.finditer(rb"\n([^\n]) Conflicts:\n", data))
    if not found:
        return
    head, mark = found[-1].start(), found[-1].group(1)
    block = data[head:]
    listed = {mark + b"\t" + os.fsencode(n) + b"\n" for n in resolved if "\n" not in n}
    block = b"".join(line for line in re.split(rb"(?<=\n)", block) if line not in listed)
    for name in (n for n in resolved if "\n" in n):  # listed over several comment lines
        block = block.replace(_commented(mark, b"\t" + os.fsencode(name) + b"\n"), b"", 1)
    if not any_left:
        block = block.replace(found[-1].group(0), b"", 1)
    fs.atomic_write(path, data[:head] + block)


def _commented(mark: bytes, text: bytes) -> bytes:
    """``text`` as git comments it in a message (strbuf_add_commented_lines): each line after
    the comment character, and a space unless the line is empty or starts with a tab."""
    out = []
    for line in (part for part in re.split(rb"(?<=\n)", text) if part):
        out.append(mark + (b"" if line[:1] in (b"\n", b"\t") else b" ") + line)
    return b"".join(out)
