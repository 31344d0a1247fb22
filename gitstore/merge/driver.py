"""The git merge driver: ``gitstore merge-driver %O %A %B %P``.

Git calls it for every file with ``merge=gitstore`` that both sides changed. It reads base (%O),
ours (%A) and theirs (%B), writes the result to %A, and exits 0 when clean or 1 when conflicts are
left. It writes nothing else. ``GITSTORE_MERGE=0`` makes it a plain line merge
(``git merge-file``). A side that is not valid UTF-8 or not a record falls back to that line merge
as well, so no text is ever lost.

Exit 0 is a promise that the file is valid: a record's result must parse as a record and pass its
collection's schema (a side can look like ``key: value`` lines and still not parse), else it is
git's line merge, left as a conflict; a roadmap's result must hold no conflict-marker triple. It
starts fast: no typer, rich, gitpython or portalocker; ruamel.yaml (to check a result) and the
schema are imported only when a record is merged.
"""

from __future__ import annotations

import os
import stat
import sys

from gitstore.errors import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    from gitstore.errors import RecordError
    from gitstore.merge.record import Result
    from gitstore.roadmap import Parser
    from gitstore.schema import Collection

    class MergeDriver(Protocol):
        """The contract git holds a merge driver to: write the result to ``ours``, return 0
        when clean, 1 when conflicts are left (and git keeps all three versions)."""

        def __call__(self, base: str, ours: str, theirs: str, path: str) -> int: ...

    LineMerge = Callable[[], tuple[int, bytes | None]]

# Paths are plain strings here: pathlib costs 8 ms to import, paid once per merged file.

CLEAN, CONFLICTS, FAILED = 0, 1, 2


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: gitstore merge-driver BASE OURS THEIRS PATH   (%O %A %B %P)", file=sys.stderr)
        return FAILED
    base, ours, theirs, path = argv
    try:
        return merge_files(base, ours, theirs, path)
    except OSError as err:
        print(f"gitstore merge-driver: {path}: {err}", file=sys.stderr)
        return FAILED


class Merged:
    """What the driver decides for one file: its exit code, the bytes it leaves in %A (None when
    git's line merge already wrote them there) and what it says about the file."""

    __slots__ = ("code", "data", "notes")

    def __init__(self, code: int, data: bytes | None, notes: list[str]):
        self.code, self.data, self.notes = code, data, notes


def merge_files(base: str, ours: str, theirs: str, path: str) -> int:
    if os.environ.get("GITSTORE_MERGE") == "0":
        return line_merge(base, ours, theirs, path)

    def line() -> tuple[int, bytes | None]:
        code = line_merge(base, ours, theirs, path)
        return code, (_read_bytes(ours) if code == CLEAN else None)

    merged = merge_data(_read_bytes(base), _read_bytes(ours), _read_bytes(theirs), path, ".", line)
    if merged.data is not None:
        _write(ours, merged.data)
    for note in merged.notes:
        _say(path, note)
    return merged.code


def merge_data(
    base: bytes,
    ours: bytes,
    theirs: bytes,
    path: str,
    root: str,
    line: LineMerge,
    parser: Parser | None = None,
) -> Merged:
    """The driver's whole decision for one file, from the three versions' bytes (an empty base:
    add/add). ``line()`` runs git's line merge of them, returning its exit code and, when clean,
    its result; ``root`` holds the gitstore.yaml that configures the merge (``parser``, when
    given, is the roadmap parser read from it beforehand). Shared by the per-file driver and
    the bulk merge (:mod:`gitstore.merge.bulk`), so both give the same bytes."""
    is_roadmap = path.endswith(".md")
    notes: list[str] = []
    try:
        base_text, ours_text, theirs_text = (_decode(data) for data in (base, ours, theirs))
    except UnicodeDecodeError:
        if is_roadmap:
            notes.append("not UTF-8 text; using a line merge")
            code, _ = line()
            return Merged(code, None, notes)
        return _record_line_merge(line, path, root, "not UTF-8 text", notes)
    if is_roadmap:
        return _merge_roadmap(base_text, ours_text, theirs_text, path, root, parser, notes)
    result, why = _merged_record(base_text, ours_text, theirs_text, path, root)
    if result is None:
        return _record_line_merge(line, path, root, why, notes)
    notes += result.notes
    data = result.text.encode("utf-8")
    if result.conflicts:
        notes.append(
            f"conflicting edits of {', '.join(result.conflicts)} "
            "(see its conflicts: block; 'gitstore resolve' or edit it)"
        )
        return Merged(CONFLICTS, data, notes)
    if any(line.startswith("conflicts:") for line in result.text.splitlines()):
        notes.append("a side still holds an unresolved conflicts: block; 'gitstore resolve' it")
        return Merged(CONFLICTS, data, notes)
    return Merged(CLEAN, data, notes)


def _merge_roadmap(
    base_text: str,
    ours_text: str,
    theirs_text: str,
    path: str,
    root: str,
    parser: Parser | None,
    notes: list[str],
) -> Merged:
    from gitstore.merge.roadmap import merge_roadmap

    merged = merge_roadmap(base_text, ours_text, theirs_text, parser or _roadmap_parser(root))
    notes += merged.notes
    data = merged.text.encode("utf-8")
    if merged.conflicts:
        notes.append(f"{merged.conflicts} conflict(s) in {', '.join(merged.conflicted)}")
        return Merged(CONFLICTS, data, notes)
    from gitstore.markers import marker_blocks
    from gitstore.roadmap import unfenced

    left = marker_blocks(unfenced(merged.text))
    if left:
        notes.append(
            f"the merged text holds {len(left)} block(s) of conflict markers a side already had "
            f"(the first at line {left[0][0]}); resolve them, then commit"
        )
        return Merged(CONFLICTS, data, notes)
    return Merged(CLEAN, data, notes)


def _record_line_merge(line: LineMerge, path: str, root: str, why: str, notes: list[str]) -> Merged:
    """A record the field merge could not produce validly: git's line merge, and exit 0 only
    when that is clean and a valid record. Otherwise it stays, markers and all (no text lost),
    as a conflict for a person."""
    code, data = line()
    if code == CLEAN:
        invalid = _invalid_data(path, data or b"", root)
        if invalid is None:
            notes.append(f"{why}; merged line by line")
            return Merged(CLEAN, None, notes)
        notes.append(f"{why}; git's line merge is clean, but {invalid}: left as a conflict")
        return Merged(CONFLICTS, None, notes)
    if code == CONFLICTS:
        notes.append(f"{why}; left git's line merge, conflict markers and all, to resolve by hand")
    return Merged(code, None, notes)


def _merged_record(
    base: str, ours: str, theirs: str, path: str, root: str
) -> tuple[Result | None, str]:
    """The field merge's result when it is a valid record, else None and why not."""
    from gitstore.errors import RecordError
    from gitstore.merge.record import merge_record

    try:
        result = merge_record(base or None, ours, theirs, _strategies(path, root))
    except RecordError as err:
        return None, f"a side is not a record ({_where(err)})"
    invalid = _invalid_text(path, result.text, root)
    return (None, invalid) if invalid else (result, "")


def _invalid_data(path: str, data: bytes, root: str) -> str | None:
    """Why the record file bytes ``data`` (for ``path``) are not a valid record, or None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "the result is not UTF-8 text"
    return _invalid_text(path, text, root)


def _invalid_text(path: str, text: str, root: str) -> str | None:
    """Why ``text`` is not a record that parses and passes its collection's schema (as far as the
    configuration in ``root`` can be read), or None."""
    from gitstore.errors import RecordError
    from gitstore.record import loads

    settings = _settings(root)
    size = len(text.encode("utf-8"))
    if size > settings.max_bytes:
        return f"the merged record is {size} bytes, over the {settings.max_bytes}-byte limit"
    try:
        data = loads(text, path)
    except RecordError as err:
        return f"the merged record does not parse ({_where(err)})"
    collection = settings.collection_of(path)
    problems = collection.problems(data) if collection is not None else []
    if problems:
        return f"the merged record fails its schema ({'; '.join(problems)})"
    return None


def _where(err: RecordError) -> str:
    return f"line {err.line}: {err.message}" if err.line else err.message


def merge_texts(base: str, ours: str, theirs: str, path: str, root: str) -> str | None:
    """What the driver writes for these three versions, or None when it would fall back to a
    line merge. ``root`` holds the gitstore.yaml that configures it. (For check-merge.)"""
    if path.endswith(".md"):
        from gitstore.merge.roadmap import merge_roadmap

        return merge_roadmap(base, ours, theirs, _roadmap_parser(root)).text
    result, _ = _merged_record(base, ours, theirs, path, root)
    return result.text if result is not None else None


def _say(path: str, message: str) -> None:
    print(f"gitstore merge-driver: {path}: {message}", file=sys.stderr)


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return b""  # add/add: merge against an empty base


def _decode(data: bytes) -> str:
    if b"\0" in data:
        raise UnicodeDecodeError("utf-8", data, 0, 1, "binary")
    return data.decode("utf-8")


def _write(path: str, data: bytes) -> None:
    # %A is git's own temp file: overwrite it in place, as git expects.
    with open(path, "wb") as handle:
        handle.write(data)


def line_merge(
    base: str,
    ours: str,
    theirs: str,
    path: str,
    why: str | None = None,
    cwd: str | None = None,
    said: list[str] | None = None,
) -> int:
    """git's own line merge (``git merge-file``), writing into ours like git does. It runs in
    ``cwd`` (git runs a driver at the top of the work tree, whose config, such as
    ``merge.conflictStyle``, applies); what it prints goes to stderr, or into ``said``."""
    import subprocess

    if why:
        print(f"gitstore merge-driver: {path}: {why}; using a line merge", file=sys.stderr)
    if not os.path.exists(base):
        base = os.devnull
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    done = subprocess.run(
        [
            "git",
            "merge-file",
            "-L",
            "ours",
            "-L",
            "base",
            "-L",
            "theirs",
            str(ours),
            str(base),
            str(theirs),
        ],
        env=env,
        cwd=cwd,
        stderr=None if said is None else subprocess.PIPE,
        text=True,
        check=False,
    )
    if said is not None:
        said += [line for line in done.stderr.splitlines() if line.strip()]
    return CLEAN if done.returncode == 0 else CONFLICTS if done.returncode > 0 else FAILED


MAX_CONFIG_BYTES = 1 << 20


def _config_text(root: str) -> str:
    """gitstore.yaml of the repository being merged (git runs drivers at its top level), or ""
    when it is missing, unreadable, not a regular file (never followed: a merge reads what the
    store would) or too big."""
    try:
        fd = os.open(
            os.path.join(root, "gitstore.yaml"), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
        )
    except OSError:
        return ""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return ""
        data = os.read(fd, MAX_CONFIG_BYTES + 1)
        return data.decode("utf-8") if len(data) <= MAX_CONFIG_BYTES else ""
    except (OSError, UnicodeDecodeError):
        return ""
    finally:
        os.close(fd)


def _config(root: str) -> dict[str, object]:
    text = _config_text(root)
    if not text:
        return {}
    from gitstore.errors import GitStoreError
    from gitstore.schema import load_raw

    try:
        return load_raw(text, "gitstore.yaml")
    except GitStoreError:  # a broken config must not break a merge: defaults apply
        return {}


class _Settings:
    """What the driver takes from gitstore.yaml: the collections and the tombstone policy."""

    def __init__(self, collections: list[Collection], tombstones: str, max_bytes: int = 1 << 20):
        self.collections = collections
        self.tombstones = tombstones
        self.max_bytes = max_bytes

    def collection_of(self, path: str) -> Collection | None:
        folder = os.path.dirname(path)
        return next((c for c in self.collections if c.path == folder), None)


_loaded: dict[str, _Settings] = {}


def prepare(root: str) -> Parser:
    """Read ``root``'s gitstore.yaml now, as the driver would at this moment (a bulk merge reads
    it before git changes the work tree: git calls the driver before it writes any file), and
    return the roadmap parser it configures."""
    _loaded.pop(os.path.abspath(root), None)
    _settings(root)
    return _roadmap_parser(root)


def _settings(root: str) -> _Settings:
    """The settings in ``root``'s gitstore.yaml, read on first use; with none (no config, or
    a broken one) every field merges lww and only the parse of a result is checked."""
    root = os.path.abspath(root)  # one process merges one file; tests merge many in one
    if root not in _loaded:
        _loaded[root] = _Settings([], "lww")
        raw = _config(root)
        if raw:
            from gitstore.errors import GitStoreError
            from gitstore.schema import parse_collections, tombstone_policy

            where = os.path.join(root, "gitstore.yaml")
            try:
                collections = list(parse_collections(raw, where).values())
                limits = raw.get("limits")
                limit = limits.get("max_record_bytes") if isinstance(limits, dict) else None
                max_bytes = limit if isinstance(limit, int) and 0 < limit <= 16 << 20 else 1 << 20
                _loaded[root] = _Settings(collections, tombstone_policy(raw), max_bytes)
            except (GitStoreError, AttributeError, TypeError, ValueError):
                pass  # a config with the wrong shape: defaults, as with none
    return _loaded[root]


def _strategies(path: str, root: str) -> Callable[[str], str]:
    """Per-field strategies of the collection holding ``path`` (the config is read on first
    use)."""

    def strategy(key: str) -> str:
        settings = _settings(root)
        if key == "deleted":
            return settings.tombstones
        collection = settings.collection_of(path)
        spec = collection.fields.get(key) if collection is not None else None
        return spec.merge if spec is not None else "auto"  # a field the schema does not declare

    return strategy


def _roadmap_parser(root: str) -> Parser:
    from gitstore.roadmap import DEFAULT_HEADINGS, STORY_HEADING, Parser

    text = _config_text(root)
    if "headings" not in text and "story_ids" not in text:
        return Parser()  # the common case: no YAML parse at all
    roadmap = _config(root).get("roadmap") or {}
    headings = (
        list(roadmap.get("headings") or DEFAULT_HEADINGS) if isinstance(roadmap, dict) else []
    )
    if isinstance(roadmap, dict) and roadmap.get("story_ids"):
        headings.append(STORY_HEADING)
    return Parser(headings or DEFAULT_HEADINGS)
