"""Where validation's files come from, and the problems of their shape.

The working tree is listed and read without ever following a link, opening anything but a regular
file (a FIFO cannot hang it) or reading past a size limit. Git's index (``--staged``) is read the
way the commit will hold it: each entry's mode (a symlink or submodule where a record must be),
its place (a subfolder of a collection, runtime state), the commit's own gitstore.yaml, and the
blobs in one ``git cat-file --batch``. Either way, ids that collide on a case-insensitive file
system are found here, since that takes every name of a folder at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitstore import folders, fs, gitio
from gitstore.errors import GitStoreError, ReadError, RecordError
from gitstore.schema import CONFIG_NAME, Collection, Config, loads_config
from gitstore.validate import MAX_ROADMAP_BYTES, Problem, Validator

if TYPE_CHECKING:
    from gitstore.store import Store


@dataclass
class Files:
    """What a validation checks: file contents by path, the HEAD versions of the staged ones, and
    the problems found before reading any (links, folders, runtime state, id collisions)."""

    files: dict[str, bytes] = field(default_factory=dict)
    heads: dict[str, bytes] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def worktree_files(root: Path, validator: Validator, paths: list[str] | None) -> Files:
    """Store files in the working tree: the given paths, or all of them. Never follows a link,
    never opens anything but a regular file (a FIFO cannot hang it), never reads past a limit."""
    found = Files()
    if paths is None:
        names = [validator.config.roadmap_path]
        records = []
        for coll in validator.config.collections.values():
            records += _listing(root, coll.path, found.problems)
        found.problems += collisions(records)
        names += records
    else:
        names = []
        for name in paths:
            misplaced = validator.layout(name)
            if misplaced is not None:
                found.problems.append(misplaced)
            elif validator.kind(name) is not None:
                names.append(name)
    for name in names:
        limit = MAX_ROADMAP_BYTES if name == validator.config.roadmap_path else fs.MAX_FILE_BYTES
        try:
            found.files[name] = fs.read_bytes(root / name, limit, root=root)
        except FileNotFoundError:
            if paths is not None:
                found.files[name] = b""  # asked for by name: reported as empty
        except (RecordError, ReadError) as err:
            found.problems.append(read_problem(root, err, name))
    return found


def read_problem(root: Path, err: RecordError | ReadError, name: str) -> Problem:
    """The problem of a store file that could not be read."""
    where = _relative(root, err.path, name)
    message = err.message if where == name else f"is in {where}, which {err.message}"
    return Problem(name, 1, _rule(err), message)


def _rule(err: RecordError | ReadError) -> str:
    if isinstance(err, ReadError):
        return "read"
    return "size" if "limit" in err.message else "file-type"


def _listing(
    root: Path, folder: str, problems: list[Problem], listed: list[tuple[str, str]] | None = None
) -> list[str]:
    """The record files in a collection's folder; anything else there that is not a plain file
    (a link, a subfolder, a FIFO) is a problem. ``listed``: its entries, when known already."""
    try:
        listed = sorted(folders.entries(root / folder, root) if listed is None else listed)
    except (RecordError, ReadError) as err:
        problem = Problem(_relative(root, err.path, folder), 1, "file-type", err.message)
        if problem not in problems:  # records/ as a link: said once, not once per collection
            problems.append(problem)
        return []
    names = []
    for name, kind in listed:
        path = f"{folder}/{name}"
        if name.startswith(fs.TMP_PREFIX):
            continue  # a write in flight, or a stray one the next open sweeps
        if kind == "link":
            problems.append(Problem(path, 1, "file-type", _LINK))
        elif kind == "dir":
            problems.append(
                Problem(
                    path,
                    1,
                    "layout",
                    f"is a folder; records are {folder}/<id>.yaml files, directly in {folder}",
                )
            )
        elif kind != "file":
            problems.append(Problem(path, 1, "file-type", _NOT_A_FILE))
        elif name.endswith(".yaml"):
            names.append(path)
    return names


def _relative(root: Path, path: str | None, default: str) -> str:
    if not path:
        return default
    return os.path.relpath(path, root).replace(os.sep, "/")


_LINK = "is a symlink; gitstore never follows links"
_NOT_A_FILE = "is not a regular file"


def collisions(records: list[str], fresh: set[str] | None = None) -> list[Problem]:
    """Record files of one folder whose names differ only in case (or Unicode normalisation):
    one file on macOS and Windows, so one record would silently replace the other. With
    ``fresh`` (the files a commit adds or changes), only collisions involving one of those."""
    wanted = None if fresh is None else {_folded(p) for p in fresh}
    groups: dict[tuple[str, str], list[str]] = {}
    for path in records:
        key = _folded(path)
        if wanted is None or key in wanted:
            groups.setdefault(key, []).append(path)
    found = []
    for group in (sorted(g) for g in groups.values()):
        if len(group) < 2:
            continue
        old = [p for p in group if fresh is not None and p not in fresh]
        first = (old or group)[0]
        for path in group:
            if path != first and (fresh is None or path in fresh):
                found.append(
                    Problem(
                        path,
                        1,
                        "id-collision",
                        f"collides with {first.rpartition('/')[2]} on case-insensitive file "
                        "systems (macOS, Windows); rename one",
                    )
                )
    return found


def _folded(path: str) -> tuple[str, str]:
    """(folder, name as case-insensitive file systems see it)."""
    from gitstore.spellings import fold

    folder, _, name = path.rpartition("/")
    return folder, fold(name)


_REGULAR = ("100644", "100755")


def staged_files(store: Store) -> tuple[Validator, Files]:
    """The validator of the configuration being committed, and the store files of the commit
    (git's index, read in one ``git cat-file --batch``) with their HEAD versions.

    The commit's own gitstore.yaml applies (the working tree's only when the index has none);
    when the commit changes it, every record in the index is checked again, not just the changed
    ones. Every path the commit adds or changes is checked for its shape: a symlink or submodule
    at or under a store folder, a file in a subfolder of a collection, runtime state."""
    root = store.root
    changed = _changed_entries(root)
    if CONFIG_NAME in changed:
        index = _index_entries(root)  # every record is checked again under the new config
    else:
        # Only what the commit changes, and the config: O(changes), not O(records).
        index = {p: (new[2], new[3]) for p, new in changed.items() if new[2] != "000000"}
        index |= _index_entries(root, [CONFIG_NAME])
    found = Files()
    config = store.config
    entry = index.get(CONFIG_NAME)
    if entry is not None and entry[0] in _REGULAR:
        blob = gitio.cat_files(root, [entry[1]])[entry[1]] or b""
        try:
            config = loads_config(root, blob, root / CONFIG_NAME)
        except GitStoreError as err:
            found.problems.append(Problem(CONFIG_NAME, err.line or 1, "config", err.message))
    validator = validator_for(store, config)
    names = sorted(index) if CONFIG_NAME in changed else [n for n in sorted(changed) if n in index]
    wanted = []
    for name in names:
        problem = _entry_problem(validator, name, index[name][0])
        if problem is not None:
            found.problems.append(problem)
        elif validator.kind(name) is not None:
            wanted.append(name)
    found.problems += collisions(_neighbours(root, validator, index, changed), set(names))
    olds = {n: changed[n][1] for n in wanted if n in changed and changed[n][0] in _REGULAR}
    blobs = gitio.cat_files(root, [index[n][1] for n in wanted] + list(olds.values()))
    found.files = {n: b for n in wanted if (b := blobs[index[n][1]]) is not None}
    found.heads = {n: b for n, sha in olds.items() if (b := blobs[sha]) is not None}
    return validator, found


def _entry_problem(validator: Validator, path: str, mode: str) -> Problem | None:
    """What is wrong with an index entry's path and mode, before its content is read."""
    from gitstore.statedir import LEGACY as STATE_DIR

    name = path.rpartition("/")[2]
    if path.split("/", 1)[0] == STATE_DIR or name.startswith(fs.TMP_PREFIX):
        return Problem(
            path, 1, "runtime-state", "runtime state must not be committed; git rm --cached it"
        )
    what = (
        _LINK
        if mode == "120000"
        else "is a submodule, not a regular file"
        if mode == "160000"
        else _NOT_A_FILE
    )
    for folder in validator.folders():
        if path == folder or folder.startswith(path + "/"):
            if mode not in _REGULAR:
                return Problem(
                    path, 1, "file-type", f"{what} (it stands where the folder {folder} must be)"
                )
            return Problem(path, 1, "layout", f"is a file where the folder {folder} must be")
    guarded = path in (CONFIG_NAME, validator.config.roadmap_path) or validator.owner(path)
    if guarded and mode not in _REGULAR:
        return Problem(path, 1, "file-type", what)
    return validator.layout(path)


def _neighbours(
    root: Path,
    validator: Validator,
    index: dict[str, tuple[str, str]],
    changed: dict[str, tuple[str, str, str, str]],
) -> list[str]:
    """The record files a name collision could involve: every record in the index when the
    config changed, else the records of the folders the commit adds a record to (changing a
    file that is already there cannot make a new collision)."""
    if CONFIG_NAME in changed:
        return [n for n in index if isinstance(validator.kind(n), Collection)]
    folders = sorted(
        {
            path.rpartition("/")[0]
            for path, entry in changed.items()
            if entry[0] == "000000" and isinstance(validator.kind(path), Collection)
        }
    )
    if not folders:
        return []
    listed = gitio.git(
        "--literal-pathspecs",
        "ls-files",
        "-z",
        "--",
        *[f"{folder}/" for folder in folders],
        cwd=root,
        keep_index=True,
    ).stdout.split("\0")
    inside = set(folders)
    return [n for n in listed if n.endswith(".yaml") and n.rpartition("/")[0] in inside]


def _index_entries(root: Path, paths: list[str] | None = None) -> dict[str, tuple[str, str]]:
    """``path -> (mode, object id)`` of every entry in the index under ``root`` (under
    ``paths`` only, when given; they are pathspecs, passed literally)."""
    where = ["--", *paths] if paths is not None else []
    listed = gitio.git(
        "--literal-pathspecs", "ls-files", "-s", "-z", *where, cwd=root, keep_index=True
    ).stdout
    entries = {}
    for item in listed.split("\0"):
        if item:
            meta, _, path = item.partition("\t")
            mode, sha, stage = meta.split(" ")
            if stage == "0":
                entries[path] = (mode, sha)
    return entries


def _changed_entries(root: Path) -> dict[str, tuple[str, str, str, str]]:
    """``path -> (HEAD mode, HEAD object id, index mode, index object id)`` of the paths the
    next commit adds, changes or turns into another type of file (``000000`` and a null id in
    HEAD for an added path). Deletions are left out: nothing is left to check."""
    listed = gitio.git(
        "diff",
        "--cached",
        "--raw",
        "-z",
        "--no-renames",
        "--no-abbrev",
        "--ignore-submodules=none",
        "--relative",
        cwd=root,
        keep_index=True,
    ).stdout.split("\0")
    entries = {}
    i = 0
    while i + 1 < len(listed):
        old_mode, new_mode, old_sha, new_sha, status = listed[i].lstrip(":").split(" ")
        paths = listed[i + 1 : i + (3 if status[0] in ("R", "C") else 2)]
        i += 1 + len(paths)
        if status[0] != "D":
            entries[paths[-1]] = (old_mode, old_sha, new_mode, new_sha)
    return entries


def validator_for(store: Store, config: Config) -> Validator:
    """The validator ``store`` would have if its configuration were ``config``."""
    from gitstore.store import Store

    validator: Validator = Store(store.root, config, actor=store.actor).roadmap().validator()
    return validator
