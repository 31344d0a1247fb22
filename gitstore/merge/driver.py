"""The git merge driver: ``gitstore merge-driver %O %A %B %P``.

Git calls it for every file with ``merge=gitstore`` that both sides changed. It reads base (%O),
ours (%A) and theirs (%B), writes the result to %A, and exits 0 when clean or 1 when conflicts are
left. It writes nothing else. It starts fast: no typer, rich, gitpython or portalocker, and
ruamel.yaml only when a merge needs to parse a value. ``GITSTORE_MERGE=0`` makes it a plain line
merge (``git merge-file``). A side that is not valid UTF-8 or not a record falls back to that line
merge as well, so no text is ever lost.
"""

from __future__ import annotations

import os
import sys

from gitstore.errors import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    from gitstore.roadmap import Parser

    class MergeDriver(Protocol):
        """The contract git holds a merge driver to: write the result to ``ours``, return 0
        when clean, 1 when conflicts are left (and git keeps all three versions)."""

        def __call__(self, base: str, ours: str, theirs: str, path: str) -> int: ...

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


def merge_files(base: str, ours: str, theirs: str, path: str) -> int:
    if os.environ.get("GITSTORE_MERGE") == "0":
        return line_merge(base, ours, theirs, path)
    try:
        texts = [_read(base), _read(ours), _read(theirs)]
    except UnicodeDecodeError:
        return line_merge(base, ours, theirs, path, "not UTF-8 text")
    base_text, ours_text, theirs_text = texts
    if path.endswith(".md"):
        from gitstore.merge.roadmap import merge_roadmap

        merged = merge_roadmap(base_text, ours_text, theirs_text, _roadmap_parser("."))
        for note in merged.notes:
            print(f"gitstore merge-driver: {path}: {note}", file=sys.stderr)
        _write(ours, merged.text)
        if merged.conflicts:
            print(
                f"gitstore merge-driver: {path}: {merged.conflicts} conflict(s) in "
                f"{', '.join(merged.conflicted)}",
                file=sys.stderr,
            )
        return CONFLICTS if merged.conflicts else CLEAN
    from gitstore.errors import RecordError
    from gitstore.merge.record import merge_record

    try:
        result = merge_record(base_text or None, ours_text, theirs_text, _strategies(path, "."))
    except RecordError as err:
        return line_merge(base, ours, theirs, path, str(err))
    _write(ours, result.text)
    for note in result.notes:
        print(f"gitstore merge-driver: {path}: {note}", file=sys.stderr)
    if result.conflicts:
        print(
            f"gitstore merge-driver: {path}: conflicting edits of {', '.join(result.conflicts)} "
            "(see its conflicts: block; 'gitstore resolve' or edit it)",
            file=sys.stderr,
        )
        return CONFLICTS
    return CLEAN


def merge_texts(base: str, ours: str, theirs: str, path: str, root: str) -> str | None:
    """What the driver writes for these three versions, or None when it would fall back to a
    line merge. ``root`` holds the gitstore.yaml that configures it. (For check-merge.)"""
    if path.endswith(".md"):
        from gitstore.merge.roadmap import merge_roadmap

        return merge_roadmap(base, ours, theirs, _roadmap_parser(root)).text
    from gitstore.errors import RecordError
    from gitstore.merge.record import merge_record

    try:
        return merge_record(base or None, ours, theirs, _strategies(path, root)).text
    except RecordError:
        return None


def _read(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return ""  # add/add: merge against an empty base
    if b"\0" in data:
        raise UnicodeDecodeError("utf-8", data, 0, 1, "binary")
    return data.decode("utf-8")


def _write(path: str, text: str) -> None:
    # %A is git's own temp file: overwrite it in place, as git expects.
    with open(path, "wb") as handle:
        handle.write(text.encode("utf-8"))


def line_merge(base: str, ours: str, theirs: str, path: str, why: str | None = None) -> int:
    """git's own line merge (``git merge-file``), writing into ours like git does."""
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
        check=False,
    )
    return CLEAN if done.returncode == 0 else CONFLICTS if done.returncode > 0 else FAILED


def _config(root: str) -> dict[str, object]:
    """gitstore.yaml of the repository being merged (git runs drivers at its top level)."""
    try:
        with open(os.path.join(root, "gitstore.yaml"), encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return {}
    from ruamel.yaml import YAML

    try:
        raw = YAML(typ="safe").load(text)
    except Exception:  # a broken config must not break a merge: defaults apply
        return {}
    return raw if isinstance(raw, dict) else {}


def _strategies(path: str, root: str) -> Callable[[str], str]:
    """Per-field strategies of the collection holding ``path``; the config is read on first use
    (most merges never need it: only a field both sides changed asks)."""
    loaded: list[dict[str, str]] = []

    def strategy(key: str) -> str:
        if not loaded:
            loaded.append(_field_strategies(path, root))
        return loaded[0].get(key, "auto")  # auto: a field the schema does not declare

    return strategy


def _field_strategies(path: str, root: str) -> dict[str, str]:
    """``field -> strategy``, and ``deleted -> `` the tombstone policy (merge.tombstones)."""
    from pathlib import Path

    from gitstore.errors import GitStoreError
    from gitstore.schema import parse_config

    raw = _config(root)
    try:
        config = parse_config(Path(root), raw, Path(root) / "gitstore.yaml")
    except GitStoreError:
        return {}
    found = {"deleted": config.tombstones}
    folder = os.path.dirname(path)
    for collection in config.collections.values():
        if collection.path.rstrip("/") == folder:
            found |= {name: f.merge for name, f in collection.fields.items()}
    return found


def _roadmap_parser(root: str) -> Parser:
    from gitstore.roadmap import DEFAULT_HEADINGS, STORY_HEADING, Parser

    try:
        with open(os.path.join(root, "gitstore.yaml"), encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        text = ""
    if "headings" not in text and "story_ids" not in text:
        return Parser()  # the common case: no YAML parse at all
    roadmap = _config(root).get("roadmap") or {}
    headings = (
        list(roadmap.get("headings") or DEFAULT_HEADINGS) if isinstance(roadmap, dict) else []
    )
    if isinstance(roadmap, dict) and roadmap.get("story_ids"):
        headings.append(STORY_HEADING)
    return Parser(headings or DEFAULT_HEADINGS)
