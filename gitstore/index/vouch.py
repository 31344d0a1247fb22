"""Freshness from git's own index: ``gitstore status`` without an ``lstat`` of every record file.

``status`` runs ``git status``, which compares every tracked file with git's index, in C, on the
other core. Where git finds a tracked file clean, its bytes are the blob git's index holds for
it; a row keeps the git blob id of the bytes it was read from (:func:`blob_id`), so a row whose id
is that blob's is the file as it is now, and the folder's listing need not ``lstat`` it. For a
folder of 100,000 records that is most of the command (0.3 s of Python ``lstat`` calls).

git's word is taken for an entry only when all of these hold (else it is ``lstat``-ed as always,
and the refresh goes on from its numbers: :mod:`.refresh`):

* Nothing converts the bytes between the file and the blob: no line of any attributes file git
  reads (the work tree's from the top down to the folder, ``info/attributes``, the global and the
  system file) sets ``text``, ``eol``, ``crlf``, ``filter``, ``ident`` or
  ``working-tree-encoding`` or defines a macro, and ``core.autocrlf`` is off. Patterns are not
  matched: one such line anywhere turns the shortcut off.
* git's index file is the same file after ``git status`` as before it, and was written before the
  folder's stored listing began (both on the state folder's file system clock). Every stat git
  compares a file with was then taken before the rows were last confirmed, so a file git finds
  unchanged by stat has not changed since they were; one whose stat changed git compares by
  content, with no conversion.
* The entry is tracked at stage 0 as a plain file (mode 100644), with no assume-unchanged or
  skip-worktree bit (``ls-files -v`` tag ``H``); ``git status`` names no path of it; its row is
  trusted (not racy) and holds that blob id.

The shortcut changes no stored number: entries git vouches for keep the numbers of the stored
listing (their rows' own), so a later listing by ``lstat`` finds any difference and reads again.
"""

from __future__ import annotations

import array
import hashlib
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from gitstore import folders, fs, gitio, statedir
from gitstore.errors import ReadError, RecordError
from gitstore.index.keys import parse_key
from gitstore.index.listing import (
    Listing,
    cached,
    dirstat_of,
    fs_clock,
    keep,
    list_folder,
    stored_listing,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from gitstore.index import Index
    from gitstore.schema import Collection
    from gitstore.store import Store

CONVERTING = frozenset({"text", "eol", "crlf", "filter", "ident", "working-tree-encoding"})
_OFF, _ON = ("false", "no", "off", "0"), ("true", "yes", "on", "1", "")
#: Settings under which git's "clean" would not mean "these bytes": the values that are fine.
SETTINGS = {
    "core.autocrlf": _OFF,  # converts line ends
    "core.trustctime": _ON,  # else an edit that keeps size and mtime is not seen
    "core.checkstat": ("default",),  # "minimal" does not compare inodes
    "core.fsmonitor": _OFF,  # a daemon's word instead of a look at each file
    "core.ignorestat": _OFF,  # files marked unchanged as they are added
}
MAX_ATTRIBUTES_BYTES = 1 << 20
CLEAN_HEAD = "H 100644 "  # ls-files -s -v: tag, mode, then the blob id, the stage and the path
#: git compares a file's times to the whole second (unless built with USE_NSEC), and looks at
#: content only for files changed as late as its index file was written: an edit that keeps
#: size and mtime, made within a second of the look git recorded, goes unseen by git. So a
#: listing is vouched for only when it was seen whole more than this after git's index file
#: was written: an edit git cannot see was then made before the listing, which saw it.
BLIND_NS = 1_000_000_000


def blob_id(raw: bytes) -> str:
    """The id git gives these bytes as a blob (SHA-1, hex)."""
    digest = hashlib.sha1(b"blob %d\0" % len(raw), usedforsecurity=False)
    digest.update(raw)
    return digest.hexdigest()


def _index_stat(path: Path) -> tuple[int, int, int, int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class GitView:
    """One ``status`` call's look at git's index. Made before ``git status`` starts (git's index
    file's stat, the state folder's clock), then :meth:`start` (``ls-files`` of each folder and
    the config), :meth:`prepare` (everything that does not need ``git status``'s answer, while
    it runs) and :meth:`listings` once it has finished."""

    def __init__(self, store: Store, folders: list[str]):
        self.store = store
        self.usable = True
        self._procs: dict[str, tuple[subprocess.Popen[bytes], BinaryIO]] = {}
        self._ready: dict[str, Prepared] = {}
        found = statedir.git_dir(store.root)
        clock = fs_clock(store.state)
        self.prefixes: dict[str, str] = {}
        if found is None or clock is None:
            self.usable = False
            return
        self.gitdir, self.top = found
        self.index_file = self.gitdir / "index"
        self.before = _index_stat(self.index_file)
        self.clock, self.started = clock, clock.st_mtime_ns
        base = os.path.relpath(store.root, self.top).replace(os.sep, "/")
        # each folder as a path from the top of the work tree, and every attributes file on
        # the way down to it
        for f in folders:
            self.prefixes[f] = f"{f.strip('/')}/" if base == "." else f"{base}/{f.strip('/')}/"
        attributes = [".gitattributes"]
        for prefix in self.prefixes.values():
            parts = prefix.strip("/").split("/")
            attributes += ["/".join([*parts[:i], ".gitattributes"]) for i in range(1, len(parts))]
            attributes.append(f"{prefix}.gitattributes")
        self.attributes = list(dict.fromkeys(attributes))

    def start(self) -> None:
        """Start git on what it is asked beside ``git status``."""
        if not self.usable:
            return
        # whether a missing attributes file is in git's index rides on the first folder's call
        extra = [f":(top,literal){a}" for a in self.attributes]
        for folder, prefix in self.prefixes.items():
            spec = f":(top,glob){prefix}*"
            self._start(folder, "ls-files", "-s", "-v", "-z", "--full-name", "--", spec, *extra)
            extra = []
        names = "|".join(n.removeprefix("core.") for n in [*SETTINGS, "core.attributesfile"])
        self._start("config", "config", "-z", "--get-regexp", f"^core\\.({names})$")

    def _start(self, name: str, *args: str) -> None:
        """Run git with its output to a file: a pipe would stop it until this process reads."""
        out = tempfile.TemporaryFile()  # noqa: SIM115 (closed by _output or close)
        try:
            self._procs[name] = (
                subprocess.Popen(
                    ["git", *args],
                    cwd=self.store.root,
                    env=gitio.clean_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.DEVNULL,
                ),
                out,
            )
        except OSError:
            out.close()
            self.usable = False

    def _output(self, name: str, ok: tuple[int, ...] = (0,)) -> bytes | None:
        proc, out = self._procs.pop(name, (None, None))
        if proc is None or out is None:
            return None
        with out:
            proc.wait()
            out.seek(0)
            text = out.read()
        return text if proc.returncode in ok else None

    def close(self) -> None:
        """End what is still running (an error left this call early)."""
        for proc, out in self._procs.values():
            proc.kill()
            proc.wait()
            out.close()
        self._procs.clear()

    def prepare(self, conn: sqlite3.Connection) -> None:
        """While ``git status`` runs: each folder's stored listing, this call's names in it
        (the stored ones while the folder keeps the stat it had then), and which of its entries
        git's index holds as their rows were read."""
        self.conn = conn
        outputs = {folder: self._output(folder) for folder in self.prefixes}
        settings = self._output("config", (0, 1))
        if not self.usable or settings is None or None in outputs.values():
            self.usable = False
            return
        if _converting(self, next(iter(outputs.values()), None) or b"", settings):
            self.usable = False
            return
        try:
            for coll in self.store.config.collections.values():
                listed = outputs.get(coll.path)
                ready = self._prepared(coll, listed) if listed is not None else None
                if ready is not None:
                    self._ready[coll.path] = ready
        except sqlite3.Error:  # the index itself: its ordinary use meets it and says so
            self.usable = False
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def _prepared(self, coll: Collection, listed: bytes) -> Prepared | None:
        conn = self.conn
        conn.execute("BEGIN")
        try:
            stored = stored_listing(conn, coll.path, parse_key(self.store, coll))
            mark = cached(conn, coll.path)
        finally:
            conn.execute("COMMIT")
        if stored is None or stored.scanned is None or mark is None:
            return None
        if self.before is None or stored.scanned <= self.before[3] + BLIND_NS:
            return None  # the rows were last confirmed too soon after git's index was written
        folder, temps = self.store.root / coll.path, list[str]()
        try:
            own = folders.folder_stat(folder, self.store.root)
            dirstat = dirstat_of(own, self.clock, [])
            if dirstat is not None and dirstat == stored.dirstat:
                names = stored.names
            else:
                _, names = folders.listed(folder, self.store.root, temps)
                dirstat = dirstat_of(own, self.clock, temps)
        except (OSError, ReadError, RecordError):
            return None  # the folder itself: the usual listing meets it and says so
        if own.st_dev != self.clock.st_dev:
            return None  # its files' times come from another clock than the index file's
        good = self._vouched(coll.path, stored, mark[0].get("gitlist"), listed)
        return Prepared(coll, stored, good, names, temps, own.st_dev, dirstat)

    def _vouched(
        self, folder: str, stored: Listing, gitlist: object, listed: bytes
    ) -> set[str] | None:
        """The names whose trusted row holds the blob id git's index has for them, tracked as
        a plain file at stage 0; None when that is every record file of the stored listing.
        When git's listing is the one every row matched last time (``gitlist``: its digest and
        the rows' count, forgotten at any change of a row), there is nothing to compare."""
        digest = hashlib.blake2b(listed).hexdigest()
        if gitlist == [digest, stored.records()]:
            return None
        conn = self.conn
        conn.execute("BEGIN")
        try:
            rows = conn.execute(
                "SELECT hash, name FROM files INDEXED BY files_blob "
                "WHERE folder = ? AND trusted = 1 ORDER BY name",
                (folder,),
            ).fetchall()
            mark = cached(conn, folder)
        finally:
            conn.execute("COMMIT")
        clean = _clean(listed.decode("utf-8", "surrogateescape"), self.prefixes[folder])
        if clean != rows:
            return {name for _, name in set(rows).intersection(clean)}
        # the rows are the stored listing's record files only when their names are (a refresh
        # killed between its rows and its listing row can leave as many rows for other names)
        names = set(stored.names)
        if len(rows) != stored.records() or not all(name in names for _, name in rows):
            return {name for _, name in rows}
        if mark is not None:  # unless a row changed since they were read
            keep(conn, folder, mark[1], "gitlist", [digest, len(rows)])
        return None

    def listings(
        self, status: subprocess.CompletedProcess[str]
    ) -> dict[str, tuple[Listing, int | None]]:
        """Each prepared folder's listing for this call, with the numbers of the entries git
        vouches for taken from the stored listing, given the finished ``git status
        --porcelain`` of the store's paths (none when git's word cannot be taken)."""
        if not self.usable or status.returncode != 0 or self.before is None:
            return {}
        if _index_stat(self.index_file) != self.before or self.before[0] != self.clock.st_dev:
            return {}  # another git wrote its index meanwhile, or it keeps another clock
        dirty = _named(status.stdout)
        if dirty is None:
            return {}
        found = {}
        for folder, ready in self._ready.items():
            prefix = self.prefixes[folder]
            doubt = {p[len(prefix) :] for p in dirty if p.startswith(prefix)}
            found[folder] = self._listing(ready, doubt)
        return found

    def _listing(self, ready: Prepared, doubt: set[str]) -> tuple[Listing, int | None]:
        """The folder's listing: an entry git vouches for keeps its stored numbers, any other
        is ``lstat``-ed."""
        stored, names, good, folder = ready.stored, ready.names, ready.good, ready.coll.path
        if names != stored.names:  # entries came or went: each name looked up
            vouched = {n for n in stored.names if n[-5:] == ".yaml"} if good is None else good
            vouched -= doubt
            place = {n: i for i, n in enumerate(stored.names) if n in vouched}
            old = stored.stats

            def known(name: str) -> Sequence[int] | None:
                i = place.get(name)
                return None if i is None else old[5 * i : 5 * i + 5]

            return list_folder(self.store, ready.coll, known, self.started)
        # no entry came or went: look at the few in doubt
        if good is None and stored.records() == len(names):
            places = [names.index(n) for n in doubt if n in names] if len(doubt) < 64 else []
            if len(doubt) >= 64:
                places = [i for i, n in enumerate(names) if n in doubt]
        elif good is None:
            places = [i for i, n in enumerate(names) if n in doubt or n[-5:] != ".yaml"]
        else:
            places = [i for i, n in enumerate(names) if n not in good or n in doubt]
        stats = array.array("q", stored.stats)
        seen = folders.numbers(
            self.store.root / folder, self.store.root, [names[i] for i in places]
        )
        for i in places:
            if names[i] in seen:
                stats[5 * i : 5 * i + 5] = array.array("q", seen[names[i]])
        dirstat = ready.dirstat
        if len(seen) < len(places):  # gone since it was listed
            gone = {i for i in places if names[i] not in seen}
            keep = [i for i in range(len(names)) if i not in gone]
            names = [names[i] for i in keep]
            stats = array.array("q", (x for i in keep for x in stats[5 * i : 5 * i + 5]))
            dirstat = None
        listing = Listing(folder, names, stats, ready.temps, self.started, dirstat)
        return listing, ready.device


class Prepared(NamedTuple):
    """What :meth:`GitView.prepare` found for one folder."""

    coll: Collection
    stored: Listing
    good: set[str] | None  # None: every record file of the stored listing
    names: list[str]
    temps: list[str]
    device: int
    dirstat: str | None


def _clean(listed: str, prefix: str) -> list[tuple[str, str]]:
    """``(blob id, name)`` of each entry ``ls-files -s -v`` shows tracked at stage 0 as a plain
    file with neither assume-unchanged nor skip-worktree, in git's order."""
    pattern = r"(?<![^\0])H 100644 ([0-9a-f]{40}) 0\t" + re.escape(prefix) + r"([^\0/]*)\0"
    return re.findall(pattern, listed)


def _named(porcelain: str) -> set[str] | None:
    """Every path ``git status --porcelain`` names (both sides of a rename); None when one is
    quoted (a name git had to escape: not worth decoding for a shortcut)."""
    paths: set[str] = set()
    for line in porcelain.split("\n"):  # git quotes a name with a newline; U+2028 it need not
        if not line:
            continue
        path = line[3:]
        if path.startswith('"'):
            return None
        paths.add(path)
        if " -> " in path:
            paths.update(path.split(" -> "))
    return paths


def _converting(view: GitView, tracked: bytes, config: bytes) -> bool:
    """Whether anything git reads could convert a store file's bytes (see the module's text).
    ``tracked``: an ``ls-files -z`` output that names the attributes files git's index holds."""
    items = config.decode("utf-8", "surrogateescape").split("\0")
    settings = {k.lower(): v.lower() for k, _, v in (i.partition("\n") for i in items if i)}
    for name, fine in SETTINGS.items():
        if name in settings and settings[name] not in fine:
            return True
    for rel in view.attributes:
        try:
            found = fs.read_bytes(view.top / rel, MAX_ATTRIBUTES_BYTES, root=view.top)
        except FileNotFoundError:
            if f"\t{rel}\0".encode("utf-8", "surrogateescape") in tracked:
                return True  # git falls back to the index's copy: not read here
            continue
        except (ReadError, RecordError):
            return True
        if _converts(found):
            return True
    common = view.gitdir
    try:
        pointer = fs.read_bytes(view.gitdir / "commondir", 4096).decode().strip()
        common = (view.gitdir / pointer).resolve()
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError, ReadError, RecordError):
        return True
    if settings.get("core.attributesfile", "").startswith("%("):
        return True  # relative to git's own install: not looked for here
    others = [common / "info" / "attributes", _global_file(settings, view.top), *_system_files()]
    return any(_file_converts(path) for path in others if path is not None)


def _system_files() -> list[Path]:
    """Where git's system attributes file may be: ``$(sysconfdir)/gitattributes``, which is
    /etc for a git in /usr and ``<prefix>/etc`` for one elsewhere (by its path on PATH, with
    and without links resolved). A git built with another sysconfdir is not followed."""
    found = [Path("/etc/gitattributes")]
    program = shutil.which("git")
    if program:
        for path in (Path(program), Path(program).resolve()):
            found.append(path.parent.parent / "etc" / "gitattributes")
    return list(dict.fromkeys(found))


def _global_file(settings: dict[str, str], top: Path) -> Path | None:
    """The global attributes file, as git finds it (a relative path from the work tree's top,
    where git runs)."""
    configured = settings.get("core.attributesfile")
    if configured:
        return top / os.path.expanduser(configured)  # an absolute path stays itself
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg) / "git" / "attributes"
    home = os.environ.get("HOME")
    return Path(home) / ".config" / "git" / "attributes" if home else None


def _file_converts(path: Path) -> bool:
    """The user's own attributes files (not from a commit: a link is followed, a FIFO is not
    waited for)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return True
        return _converts(os.read(fd, MAX_ATTRIBUTES_BYTES))
    finally:
        os.close(fd)


def _converts(text: bytes) -> bool:
    """Whether an attributes file has a line that sets a converting attribute or defines a
    macro (a quoted pattern counts as one: it is not parsed)."""
    for raw in text.decode("utf-8", "replace").split("\n"):  # git's lines, git's blanks
        line = raw.strip(" \t\r")
        if not line or line.startswith("#"):
            continue
        if line.startswith(("[attr]", '"')):
            return True
        for token in line.split()[1:]:
            if token[0] not in "-!" and token.partition("=")[0] in CONVERTING:
                return True
    return False


def adopt_vouched(index: Index, view: GitView, status: subprocess.CompletedProcess[str]) -> None:
    """Give ``index`` the listing of each folder git vouches for, after ``git status``; the
    others are listed as always, and marked as seen after git's index was written."""
    global vouched
    if view.usable and view.before is not None:
        index.confirm_after = view.before[3] + BLIND_NS
    for folder, listed in view.listings(status).items():
        index.adopt(folder, listed)
        vouched += 1


#: How many folder listings git vouched for in this process (tests use it to see it happen).
vouched = 0
