"""The checks behind ``gitstore validate`` and the hooks: one Problem per finding.

This module checks files' contents; :mod:`gitstore.sources` finds the files, in the working tree or
in git's index (``--staged``: exactly what will be committed), and the problems of their shape.
Every problem carries a path, a line and a rule name, for ``path:line: rule: message``.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gitstore import fs
from gitstore.clock import clock_problems
from gitstore.errors import RecordError
from gitstore.record import loads
from gitstore.roadmap import Parser, Section, status_meaning, unfenced
from gitstore.schema import Collection, Config

if TYPE_CHECKING:
    from gitstore.sources import Files

MAX_ROADMAP_BYTES = 16 << 20

SECRETS = (
    (re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY(?: BLOCK)?-----"), "a private key block"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "a GitHub token"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}\b"), "a GitHub fine-grained token"),
    # real Slack tokens carry numeric ids (xoxb-123...-456...-abc...); docs say "xoxb-your-token"
    (re.compile(r"\bxox[abprs]-\d{8,}-[A-Za-z0-9-]{8,}"), "a Slack token"),
)
_RECORD_RULES = (
    ("anchors and aliases", "anchor"),
    ("tags are not allowed", "tag"),
    ("flow mappings", "flow-mapping"),
    ("duplicate key", "duplicate-key"),
    ("limit", "size"),
    ("UTF-8", "encoding"),
    ("NUL", "encoding"),
    ("empty", "empty"),
)


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    rule: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}: {prefix}{self.rule}: {self.message}"


class Validator:
    def __init__(
        self,
        config: Config,
        parser: Parser,
        statuses: dict[str, tuple[str, ...]],
        duplicate_ids: str = "warn",
    ):
        self.config = config
        self.parser = parser
        self.statuses = statuses
        self.duplicate_ids = duplicate_ids

    def kind(self, path: str) -> Collection | str | None:
        """The collection a path belongs to, "roadmap", or None (not a store file)."""
        if path == self.config.roadmap_path:
            return "roadmap"
        folder, _, name = path.rpartition("/")
        if not name.endswith(".yaml") or name.startswith(fs.TMP_PREFIX):
            return None
        for collection in self.config.collections.values():
            if collection.path == folder:
                return collection
        return None

    def owner(self, path: str) -> Collection | None:
        """The collection whose folder holds ``path`` at any depth."""
        for collection in self.config.collections.values():
            if path.startswith(collection.path + "/"):
                return collection
        return None

    def layout(self, path: str) -> Problem | None:
        """A path below a subfolder of a collection's folder (gitstore would never read it)."""
        coll = self.owner(path)
        if coll is not None and "/" in path[len(coll.path) + 1 :]:
            return Problem(
                path,
                1,
                "layout",
                f"is in a subfolder of {coll.path}; records are {coll.path}/<id>.yaml, "
                "directly in it",
            )
        return None

    def folders(self) -> list[str]:
        """The folders the store's files must be in: the collections' and the roadmap's."""
        found = [c.path for c in self.config.collections.values()]
        found.append(posixpath.dirname(self.config.roadmap_path))
        return [f for f in found if f]

    def check(self, path: str, data: bytes, head: bytes | None = None) -> list[Problem]:
        kind = self.kind(path)
        if kind == "roadmap":
            return self.check_roadmap(path, data)
        if isinstance(kind, Collection):
            return self.check_record(path, data, kind, head)
        return []

    # ------------------------------------------------------------ records

    def check_record(
        self, path: str, data: bytes, coll: Collection, head: bytes | None
    ) -> list[Problem]:
        return self.record_outcome(path, data, coll, head)[0]

    def record_outcome(
        self, path: str, data: bytes, coll: Collection, head: bytes | None = None
    ) -> tuple[list[Problem], dict[str, Any] | None]:
        """:meth:`check_record`'s problems, and the record as the checks parsed it (None when
        it did not parse): the query index keeps the outcome, and needs the record's times to
        know when a ``clock-ahead`` finding may change."""
        text = _text(path, data, fs.MAX_FILE_BYTES)
        if isinstance(text, Problem):
            return [text], None
        found = markers(path, text.splitlines())
        found += secrets(path, text)
        if found and any(p.rule == "conflict-markers" for p in found):
            return found, None
        try:
            rec = loads(text, path)
        except RecordError as err:
            rule = next((r for key, r in _RECORD_RULES if key in err.message), "yaml")
            return [*found, Problem(path, err.line or 1, rule, err.message)], None
        found += decoded_secrets(path, text, rec)
        stem = path.rpartition("/")[2][: -len(".yaml")]
        misnamed = rec.get("id") != stem
        if misnamed:
            found.append(
                Problem(
                    path,
                    _line_of(text, "id"),
                    "id",
                    f"id is {rec.get('id')!r}; the file name says {stem!r}",
                )
            )
        for problem in coll.problems(rec):
            key = problem.split(":", 1)[0]
            rule = "reserved" if key in ("version", "last_modified", "deleted") else "schema"
            if key == "id":
                if misnamed:
                    continue  # reported above, with the file name
                rule, problem = "id", problem.removeprefix("id: ")
            found.append(Problem(path, _line_of(text, key), rule, problem))
        for key, message in clock_problems(rec):
            found.append(Problem(path, _line_of(text, key), "clock-ahead", message))
        if coll.extra == "warn":
            for key in coll.unknown(rec):
                found.append(
                    Problem(
                        path,
                        _line_of(text, key),
                        "schema",
                        f"{key}: not declared in gitstore.yaml (extra: warn)",
                        "warning",
                    )
                )
        if "conflicts" in rec:
            fields = ", ".join(rec["conflicts"]) if isinstance(rec["conflicts"], dict) else "?"
            found.append(
                Problem(
                    path,
                    _line_of(text, "conflicts"),
                    "unresolved-conflict",
                    f"a merge left conflicting values of {fields}: pick one, then "
                    "remove the conflicts: block (gitstore resolve)",
                )
            )
        if head is not None:
            found += _version_check(path, text, rec, head)
        return found, rec

    # ------------------------------------------------------------ roadmap

    def check_roadmap(self, path: str, data: bytes) -> list[Problem]:
        text = _text(path, data, MAX_ROADMAP_BYTES)
        if isinstance(text, Problem):
            return [text]
        found = markers(path, list(unfenced(text)))
        found += secrets(path, text)
        doc = self.parser.parse(text)
        seen: dict[str, list[Section]] = {}
        for section in doc.sections:
            earlier = seen.setdefault(section.id, [])
            if earlier and self.duplicate_ids != "allow":
                # Sections with distinct stable ids stay addressable (ID#N, or the id): a merge
                # that kept two sections added with one number leaves that, and it must not
                # block every later commit of the roadmap.
                distinct = section.uid is not None and all(
                    s.uid not in (None, section.uid) for s in earlier
                )
                found.append(
                    Problem(
                        path,
                        section.line_no,
                        "duplicate-id",
                        f"{section.label} also at line {earlier[0].line_no}; renumber one "
                        f"(gitstore roadmap renumber {section.name} NEW)",
                        "warning" if self.duplicate_ids == "warn" or distinct else "error",
                    )
                )
            earlier.append(section)
            status = section.field("Status")
            if status and status_meaning(status, self.statuses) is None:
                index = section.fields()["status"][0]
                found.append(
                    Problem(
                        path,
                        section.line_no + index,
                        "status",
                        f"{section.label}: status {status!r} means none of "
                        f"{', '.join(self.statuses)}",
                        "warning",
                    )
                )
        return found


def _text(path: str, data: bytes, limit: int) -> str | Problem:
    """The file's text, or the one problem that stops every other check."""
    if len(data) > limit:
        return Problem(path, 1, "size", f"{len(data)} bytes, over the {limit}-byte limit")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        return Problem(path, data[: err.start].count(b"\n") + 1, "encoding", "not UTF-8 text")


def markers(path: str, lines: list[str]) -> list[Problem]:
    """Leftover conflict markers, one problem per block."""
    from gitstore.markers import marker_blocks

    return [
        Problem(
            path,
            start,
            "conflict-markers",
            f"unresolved merge conflict (lines {start}-{end}); keep one side and delete the "
            "markers",
        )
        for start, end in marker_blocks(lines)
    ]


def secrets(path: str, text: str) -> list[Problem]:
    found = []
    for pattern, what in SECRETS:
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(
                Problem(path, line, "secret", f"looks like {what}; remove it and rotate it")
            )
    return found


def decoded_secrets(path: str, text: str, data: dict[str, Any]) -> list[Problem]:
    """Secrets that only show once YAML's escapes are decoded (``"AKIA\\x49OSF..."``): every string
    key and value, at any depth, reported at the line of its top-level key. A secret also present
    verbatim in the text was reported by :func:`secrets` already."""
    found, seen = [], set()
    for key, value in data.items():
        for string in _strings(key, value):
            for pattern, what in SECRETS:
                for match in pattern.finditer(string):
                    secret = match.group()
                    if secret in text or secret in seen:
                        continue
                    seen.add(secret)
                    found.append(
                        Problem(
                            path,
                            _line_of(text, key),
                            "secret",
                            f"looks like {what} (written with YAML escapes); remove it and "
                            "rotate it",
                        )
                    )
    return found


def _strings(*values: object) -> Iterator[str]:
    """Every string in ``values``, keys included, at any depth (no recursion: YAML nests deep)."""
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            stack += [*value.keys(), *value.values()]
        elif isinstance(value, list):
            stack += value


def _line_of(text: str, key: str) -> int:
    match = re.search(rf"^{re.escape(key)}:", text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def _version_check(path: str, text: str, rec: dict[str, object], head: bytes) -> list[Problem]:
    try:
        old = loads(head.decode("utf-8"), path)
    except (RecordError, UnicodeDecodeError):
        return []
    new_version, old_version = rec.get("version"), old.get("version")
    if isinstance(new_version, int) and isinstance(old_version, int) and new_version < old_version:
        return [
            Problem(
                path,
                _line_of(text, "version"),
                "version",
                f"version {new_version} is lower than {old_version} in HEAD: an older copy "
                "would overwrite a newer one",
            )
        ]
    return []


PROGRESS_MIN = 200  # fewer files take well under a second: no progress bar for them


def check_many(
    validator: Validator, found: Files, report: Callable[[str, int, int | None], None] | None = None
) -> list[Problem]:
    """The problems found gathering the files, then each file's, on every core when there are
    enough files to be worth a fork. ``report(what, done, total)`` hears of the progress when
    there are many files."""
    items = [(name, data, found.heads.get(name)) for name, data in found.files.items()]
    report = report if len(items) >= PROGRESS_MIN else None
    cores = os.cpu_count() or 1
    if len(items) < 2000 or cores < 2 or not hasattr(os, "fork"):
        problems = list(found.problems)
        for done, (name, data, head) in enumerate(items):
            if report and done % 50 == 0:
                report("validating", done, len(items))
            problems += validator.check(name, data, head)
        if report:
            report("validating", len(items), len(items))
        return problems
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _worker_validator
    _worker_validator = validator  # inherited by the forked workers, never pickled
    size = max(100, len(items) // (cores * 8))  # small chunks: even load, and progress to show
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    problems, done = [], 0
    with ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("fork")) as pool:
        for chunk, part in zip(chunks, pool.map(_check_chunk, chunks), strict=True):
            problems += part
            done += len(chunk)
            if report:
                report("validating", done, len(items))
    order = {name: i for i, (name, _, _) in enumerate(items)}
    # by file only: the sort is stable, so each file's problems keep the order one process
    # gives them (by line would differ from it)
    return found.problems + sorted(problems, key=lambda p: order[p.path])


_worker_validator: Validator | None = None


def _check_chunk(items: list[tuple[str, bytes, bytes | None]]) -> list[Problem]:
    assert _worker_validator is not None
    return [p for name, data, head in items for p in _worker_validator.check(name, data, head)]
