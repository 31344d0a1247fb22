"""The checks behind ``gitstore validate`` and the pre-commit hook: one Problem per finding.

Files come from the working tree or from git's index (``--staged``: exactly what will be
committed, read in one ``git cat-file --batch``), so a hook validates the commit, not the disk.
Every problem carries a path, a line and a rule name, for ``path:line: rule: message``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from gitstore import fs, gitio
from gitstore.errors import RecordError
from gitstore.record import clock_problems, loads
from gitstore.roadmap import Parser, status_meaning, unfenced
from gitstore.schema import Collection, Config

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
        duplicate_ids: str = "error",
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
            if collection.path.rstrip("/") == folder:
                return collection
        return None

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
        text = _text(path, data, fs.MAX_FILE_BYTES)
        if isinstance(text, Problem):
            return [text]
        found = markers(path, text.splitlines())
        found += secrets(path, text)
        if found and any(p.rule == "conflict-markers" for p in found):
            return found
        try:
            rec = loads(text, path)
        except RecordError as err:
            rule = next((r for key, r in _RECORD_RULES if key in err.message), "yaml")
            return [*found, Problem(path, err.line or 1, rule, err.message)]
        stem = Path(path).name[: -len(".yaml")]
        if rec.get("id") != stem:
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
                continue  # reported above, with the file name
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
        return found

    # ------------------------------------------------------------ roadmap

    def check_roadmap(self, path: str, data: bytes) -> list[Problem]:
        text = _text(path, data, MAX_ROADMAP_BYTES)
        if isinstance(text, Problem):
            return [text]
        found = markers(path, list(unfenced(text)))
        found += secrets(path, text)
        doc = self.parser.parse(text)
        seen: dict[str, int] = {}
        for section in doc.sections:
            if section.id in seen and self.duplicate_ids != "allow":
                found.append(
                    Problem(
                        path,
                        section.line_no,
                        "duplicate-id",
                        f"{section.label} also at line {seen[section.id]}; renumber one",
                        "warning" if self.duplicate_ids == "warn" else "error",
                    )
                )
            seen.setdefault(section.id, section.line_no)
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
    """Leftover conflict markers: a real <<<<<<< / ======= / >>>>>>> triple, in that order."""
    found = []
    start = middle = None
    for number, line in enumerate(lines, 1):
        if line.startswith("<<<<<<<") and (len(line) == 7 or line[7] == " "):
            start, middle = number, None
        elif line.rstrip() == "=======" and start is not None:
            middle = number
        elif (
            line.startswith(">>>>>>>") and (len(line) == 7 or line[7] == " ") and middle is not None
        ):
            found.append(
                Problem(
                    path,
                    start or number,
                    "conflict-markers",
                    f"unresolved merge conflict (lines {start}-{number}); keep one side "
                    "and delete the markers",
                )
            )
            start = middle = None
    return found


def secrets(path: str, text: str) -> list[Problem]:
    found = []
    for pattern, what in SECRETS:
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(
                Problem(path, line, "secret", f"looks like {what}; remove it and rotate it")
            )
    return found


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


def check_many(
    validator: Validator, files: dict[str, bytes], heads: dict[str, bytes]
) -> list[Problem]:
    """Check many files, on every core when there are enough of them to be worth a fork."""
    items = [(name, data, heads.get(name)) for name, data in files.items()]
    cores = os.cpu_count() or 1
    if len(items) < 2000 or cores < 2 or not hasattr(os, "fork"):
        return [p for name, data, head in items for p in validator.check(name, data, head)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _worker_validator
    _worker_validator = validator  # inherited by the forked workers, never pickled
    chunks = [items[i::cores] for i in range(cores)]
    with ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("fork")) as pool:
        found = [p for part in pool.map(_check_chunk, chunks) for p in part]
    order = {name: i for i, (name, _, _) in enumerate(items)}
    return sorted(found, key=lambda p: (order[p.path], p.line))


_worker_validator: Validator | None = None


def _check_chunk(items: list[tuple[str, bytes, bytes | None]]) -> list[Problem]:
    assert _worker_validator is not None
    return [p for name, data, head in items for p in _worker_validator.check(name, data, head)]


# ---------------------------------------------------------------- sources of files


def worktree_files(root: Path, validator: Validator, paths: list[str] | None) -> dict[str, bytes]:
    """Store files in the working tree: the given paths, or all of them."""
    if paths is None:
        names = [validator.config.roadmap_path]
        for coll in validator.config.collections.values():
            folder = root / coll.path
            if folder.is_dir():
                names += [
                    f"{coll.path.rstrip('/')}/{p.name}" for p in sorted(folder.glob("*.yaml"))
                ]
    else:
        names = paths
    out = {}
    for name in names:
        try:
            out[name] = (root / name).read_bytes()
        except FileNotFoundError:
            if paths is not None:
                out[name] = b""  # reported as missing below
        except IsADirectoryError:
            continue
    return out


def staged_files(root: Path, validator: Validator) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(index content, HEAD content) of the store files the next commit adds or changes."""
    prefix = gitio.git("rev-parse", "--show-prefix", cwd=root, keep_index=True).stdout.strip()
    listed = gitio.git(
        "diff",
        "--cached",
        "--name-only",
        "-z",
        "--diff-filter=ACMR",
        "--relative",
        cwd=root,
        keep_index=True,
    ).stdout
    names = [n for n in listed.split("\0") if n and validator.kind(n) is not None]
    if not names:
        return {}, {}
    blobs = gitio.cat_files(root, [f"{at}:{prefix}{n}" for at in ("", "HEAD") for n in names])
    staged = {n: b for n in names if (b := blobs[f":{prefix}{n}"]) is not None}
    heads = {n: b for n in names if (b := blobs[f"HEAD:{prefix}{n}"]) is not None}
    return staged, heads
