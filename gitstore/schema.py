"""``gitstore.yaml``: collections, their fields and merge strategies; validating a record.

The configuration is read once per :class:`~gitstore.store.Store`. Field types are ``str``,
``text`` (multi-line str), ``int``, ``float``, ``bool``, ``date``, ``enum`` and ``list``; each field
may be ``required``, have a ``default`` and a ``merge`` strategy (``lww``, ``flag``, ``union``,
``text``). Fields not declared are kept unless the collection says ``extra: reject``.
"""

from __future__ import annotations

import posixpath

from gitstore.errors import TYPE_CHECKING, ConfigError, RecordError, UsageError
from gitstore.flatpattern import matches
from gitstore.ids import mode_of
from gitstore.patterns import pattern_problem
from gitstore.textrules import KEY_CHARS, is_key, usable_stamp

if TYPE_CHECKING:  # the merge driver reads the config too: pathlib costs it 3 ms, typing 2 ms
    from collections.abc import Iterable
    from pathlib import Path
    from typing import Any

# Neither re nor datetime is imported here for the merge driver's sake (a process per file):
# the rules below are str functions, id patterns go through gitstore.flatpattern, and datetime
# is imported where a date or an unusual time needs it.

CONFIG_NAME = "gitstore.yaml"
TYPES = ("str", "text", "int", "float", "bool", "date", "enum", "list")
STRATEGIES = ("lww", "flag", "union", "text")
DEFAULT_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]*"


def _unsafe_id(record_id: str) -> bool:
    r"""``[/\\\0\r\n]|^\.|^$`` found in ``record_id``: empty, hidden, or holding a path
    separator, NUL or a line break."""
    return not record_id or record_id[0] == "." or not _UNSAFE_CHARS.isdisjoint(record_id)


_UNSAFE_CHARS = frozenset("/\\\0\r\n")
# Names Windows cannot create (a clone there would fail to check the file out): characters it
# forbids, control characters, a trailing dot or space, and the reserved device names, which stay
# reserved with any extension (CON.yaml, con.txt.yaml).
_WINDOWS_CHARS = frozenset('<>:"|?*\x7f').union(map(chr, range(0x20)))
_DEVICES = frozenset(("CON", "PRN", "AUX", "NUL"))
_DEVICE_NUMBERS = frozenset("123456789\u00b9\u00b2\u00b3")


def _windows_bad(name: str) -> bool:
    r"""``[<>:"|?*\x00-\x1f\x7f]|[. ]$`` found in ``name``. (Before a final line break, which
    ``$`` also matches at, is a control character already.)"""
    return not _WINDOWS_CHARS.isdisjoint(name) or name[-1:] in (".", " ")


def _windows_device(stem: str) -> bool:
    r"""``CON|PRN|AUX|NUL|(?:COM|LPT)[1-9\u00b9\u00b2\u00b3]`` in full, ignoring case (no
    character outside ASCII matches these letters so in ``re``)."""
    word = stem[:3]
    if not word.isascii():
        return False
    word = word.upper()
    if len(stem) == 3:
        return word in _DEVICES
    return len(stem) == 4 and word in ("COM", "LPT") and stem[3] in _DEVICE_NUMBERS


class Field:
    """A declared field. (Plain classes here, not dataclasses: the merge driver imports this
    module for every file it merges, and dataclasses costs it 8 ms.)"""

    __slots__ = ("default", "merge", "name", "required", "type", "values")

    def __init__(
        self,
        name: str,
        type: str = "str",
        required: bool = False,
        default: Any = None,
        values: tuple[str, ...] = (),
        merge: str = "lww",
    ):
        self.name, self.type, self.required = name, type, required
        self.default, self.values, self.merge = default, values, merge

    def check(self, value: object) -> str | None:
        """A problem with ``value`` for this field, or None."""
        kind = self.type
        if kind in ("str", "text"):
            ok = isinstance(value, str)
        elif kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif kind == "bool":
            ok = isinstance(value, bool)
        elif kind == "date":
            import datetime as dt

            ok = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
        elif kind == "enum":
            ok = isinstance(value, str) and value in self.values
        elif kind == "list":
            ok = isinstance(value, list)
        else:
            raise KeyError(kind)  # as the table this replaced did: TYPES are all of them
        if ok or (value is None and not self.required):
            return None
        if self.type == "enum":
            return f"{self.name}: {value!r} is not one of {', '.join(self.values)}"
        if self.type == "date":
            return f"{self.name}: {value!r} is not a date (YYYY-MM-DD)"
        return f"{self.name}: {value!r} is not of type {self.type}"

    def coerce(self, raw: str) -> Any:
        """Turn a command-line string into this field's type, or raise RecordError: a value
        the schema refuses is refused the same way (exit 1, ``invalid``) whether it came as
        ``KEY=text`` or ``KEY:=json``."""
        try:
            if self.type == "int":
                return int(raw)
            if self.type == "float":
                return float(raw)
            if self.type == "bool":
                lowered = raw.lower()
                if lowered in ("true", "yes", "1", "on"):
                    return True
                if lowered in ("false", "no", "0", "off"):
                    return False
                raise ValueError(raw)
            if self.type == "date":
                import datetime as dt

                return dt.date.fromisoformat(raw)
            if self.type == "list":
                inner = raw.strip().removeprefix("[").removesuffix("]")
                return [item.strip() for item in inner.split(",") if item.strip()]
        except ValueError:
            raise RecordError(f"{self.name}={raw!r}: not a valid {self.type}") from None
        if self.type == "enum" and raw not in self.values:
            raise RecordError(f"{self.name}={raw!r}: must be one of {', '.join(self.values)}")
        return raw


def _windows_problem(name: str) -> str | None:
    """Why Windows could not hold a file named ``name`` (plus an extension), or None."""
    if _windows_bad(name):
        return 'Windows cannot name a file so (no <>:"|?*, control characters, final dot or space)'
    if _windows_device(name.split(".", 1)[0].rstrip(" ")):
        return "a reserved device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9)"
    return None


class Collection:
    """A collection: its folder, its ids and its fields."""

    __slots__ = ("_good_ids", "extra", "fields", "id_pattern", "id_prefix", "ids", "name", "path")

    def __init__(
        self,
        name: str,
        path: str,
        id_pattern: str = DEFAULT_ID_PATTERN,
        id_prefix: str = "",
        extra: str = "allow",
        fields: dict[str, Field] | None = None,
        ids: str = "auto",  # random | sequential | auto: gitstore.ids picks for ``add``
    ):
        self.name, self.path, self.id_pattern = name, path, id_pattern
        self.id_prefix, self.extra, self.fields = id_prefix, extra, fields or {}
        self.ids = ids
        self._good_ids: set[str] = set()  # ids check_id accepted (every write checks one twice)

    def check_id(self, record_id: object) -> str:
        """Return ``record_id`` if it is a safe id for this collection, else raise UsageError."""
        if record_id.__class__ is str and record_id in self._good_ids:
            return record_id
        if not isinstance(record_id, str) or _unsafe_id(record_id) or record_id == "..":
            raise UsageError(
                f"bad id {record_id!r}: ids may not be empty, start with '.', "
                "or contain '/', '\\', NUL or newlines"
            )
        try:
            size = len(record_id.encode("utf-8"))
        except UnicodeEncodeError:
            raise UsageError(f"bad id {record_id!r}: not valid Unicode text") from None
        if size > 200:
            raise UsageError(f"bad id {record_id[:20]!r}...: longer than 200 bytes")
        windows = _windows_problem(record_id)
        if windows:
            raise UsageError(f"bad id {record_id!r}: {windows}")
        if not matches(self.id_pattern, record_id):
            raise UsageError(
                f"bad id {record_id!r}: collection {self.name} ids match {self.id_pattern}"
            )
        if len(self._good_ids) >= 65536:
            self._good_ids.clear()
        self._good_ids.add(record_id)
        return record_id

    def problems(self, data: dict[str, Any]) -> list[str]:
        """Everything wrong with a record's content for this collection (empty when valid)."""
        found = []
        record_id = data.get("id")
        if not isinstance(record_id, str):
            found.append("id: missing or not a string")
        else:
            try:
                self.check_id(record_id)
            except UsageError as err:
                found.append(f"id: {err.message}")
        version = data.get("version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            found.append(f"version: {version!r} is not an integer")
        elif isinstance(version, int) and version < 0:
            found.append(f"version: {version} is negative")
        stamp = data.get("last_modified")
        if stamp is not None and (why := _time_problem(stamp)):
            found.append(f"last_modified: {why}")
        clocks = data.get("clocks")
        if clocks is not None and (
            not isinstance(clocks, dict) or any(_time_problem(v) for v in clocks.values())
        ):
            found.append("clocks: must map field names to RFC 3339 times")
        if data.get("deleted") not in (None, True, False):
            found.append("deleted: must be true or false")
        tombstone = data.get("deleted") is True
        for spec in self.fields.values():
            if spec.name not in data:
                if spec.required and not tombstone:
                    found.append(f"{spec.name}: required field is missing")
                continue
            problem = spec.check(data[spec.name])
            if problem:
                found.append(problem)
        if self.extra == "reject":
            found += [f"{k}: unknown field (extra: reject)" for k in self.unknown(data)]
        return found

    def unknown(self, data: dict[str, Any]) -> list[str]:
        """Fields the schema does not declare (kept, warned of, or rejected per ``extra``)."""
        from gitstore.record import RESERVED

        return [k for k in data if k not in self.fields and k not in RESERVED]

    def coerce(self, raw: dict[str, str], typed: dict[str, Any] | None = None) -> dict[str, Any]:
        """Typed values from ``KEY=VALUE`` strings (undeclared fields stay strings), plus values
        that are typed already (``KEY:=json`` on the command line)."""
        from gitstore.record import RESERVED

        for key in [*raw, *(typed or {})]:
            if key in RESERVED:
                raise UsageError(f"{key} is managed by gitstore and cannot be set")
            if not is_key(key):
                raise UsageError(f"bad field name {key!r}")
        return {k: self.field(k).coerce(v) for k, v in raw.items()} | dict(typed or {})

    def field(self, name: str) -> Field:
        return self.fields.get(name) or Field(name)

    def next_id(self, names: Iterable[str]) -> str:
        """The next free ``<prefix><n>`` id, given the file names in the folder: one more than
        the highest ``n`` of a ``<prefix><n>.yaml`` (``n`` in ASCII digits). One pass, nothing
        built: 100,000 names take ~35 ms."""
        prefix = self.id_prefix
        if not prefix:
            raise UsageError(f"collection {self.name} has no id_prefix: give an id")
        cut = len(prefix)
        highest = max(
            (
                int(digits)
                for name in names
                if name.startswith(prefix)
                and name.endswith(".yaml")
                and (digits := name[cut:-5]).isdigit()
                and digits.isascii()
            ),
            default=0,
        )
        return f"{prefix}{highest + 1}"


class Config:
    """A parsed gitstore.yaml (``raw`` keeps the whole mapping, for the roadmap's settings)."""

    __slots__ = (
        "auto_commit",
        "collections",
        "max_depth",
        "max_record_bytes",
        "raw",
        "roadmap_path",
        "root",
        "tombstones",
    )

    def __init__(
        self,
        root: Path,
        collections: dict[str, Collection],
        roadmap_path: str = "ROADMAP.md",
        tombstones: str = "lww",
        auto_commit: bool = False,
        raw: dict[str, Any] | None = None,
        max_record_bytes: int = 1 << 20,
        max_depth: int = 32,
    ):
        self.root, self.collections, self.roadmap_path = root, collections, roadmap_path
        self.tombstones, self.auto_commit, self.raw = tombstones, auto_commit, raw or {}
        self.max_record_bytes, self.max_depth = max_record_bytes, max_depth

    def collection(self, name: str) -> Collection:
        try:
            return self.collections[name]
        except KeyError:
            known = ", ".join(sorted(self.collections)) or "none"
            raise UsageError(f"unknown collection {name!r} (known: {known})") from None


def load_config(root: Path) -> Config:
    from gitstore import fs

    path = root / CONFIG_NAME
    return loads_config(root, fs.read_bytes(path), path)


def loads_config(root: Path, data: bytes, path: Path) -> Config:
    """The configuration in ``data`` (the bytes of ``path``: the file, or its staged blob)."""
    from gitstore.record import decode

    return parse_config(root, load_raw(decode(data, path), path), path)


def load_raw(text: str, path: str | Path) -> dict[str, Any]:
    """The mapping in a gitstore.yaml's text. It arrives by git like any file, so it may not
    nest deeply enough to crash the C parser, nor grow without end through aliases."""
    from gitstore.plainyaml import parse
    from gitstore.record import MAX_DEPTH

    plain = parse(text, MAX_DEPTH)  # the usual gitstore.yaml: no ruamel.yaml (merge driver)
    if plain is not None:
        return plain
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from gitstore.record import check_constructs, check_nesting

    check_nesting(text, path)
    check_constructs(text, path, flow_mappings=True)
    try:
        raw = YAML(typ="safe").load(text) or {}
    except YAMLError as err:
        raise ConfigError(f"invalid YAML: {str(err).splitlines()[0]}", path) from None
    except ValueError as err:  # e.g. an impossible date
        raise ConfigError(f"invalid value: {str(err).split(';')[0]}", path) from None
    if not isinstance(raw, dict):
        raise ConfigError("must be a YAML mapping", path)
    return raw


def parse_config(root: Path, raw: dict[str, Any], path: Path) -> Config:
    for key in ("roadmap", "collections", "merge", "limits"):
        _mapping(raw.get(key), key, path)
    roadmap = raw.get("roadmap") or {}
    headings = roadmap.get("headings") or []
    if not isinstance(headings, list) or not all(isinstance(h, str) for h in headings):
        raise ConfigError("roadmap.headings: must be a list of patterns", path)
    for heading in headings:
        if problem := pattern_problem(heading):
            raise ConfigError(f"roadmap.headings: {heading!r}: {problem}", path)
    statuses = _mapping(roadmap.get("statuses"), "roadmap.statuses", path)
    for state, texts in statuses.items():
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise ConfigError(f"roadmap.statuses.{state}: must be a list of texts", path)
    if roadmap.get("duplicate_ids", "warn") not in ("error", "warn", "allow"):
        raise ConfigError("roadmap.duplicate_ids: error, warn or allow", path)
    label = roadmap.get("new_label", "PRIORITY {id}")
    import re

    if not isinstance(label, str) or not re.fullmatch(
        r"[^{}\r\n\x00-\x1f]*\{id\}[^{}\r\n\x00-\x1f]*", label
    ):
        raise ConfigError(
            "roadmap.new_label: one line holding {id} once and no other braces, "
            "e.g. 'PRIORITY {id}'",
            path,
        )
    roadmap_path = _folder(roadmap.get("path", "ROADMAP.md"), "roadmap.path", path)
    if not roadmap_path.endswith(".md"):
        raise ConfigError(f"roadmap.path: {roadmap_path!r} must be a markdown file (.md)", path)
    limits = raw.get("limits") or {}
    return Config(
        root=root,
        collections=parse_collections(raw, path),
        roadmap_path=roadmap_path,
        tombstones=tombstone_policy(raw),
        auto_commit=bool(raw.get("auto_commit", False)),
        raw=raw,
        max_record_bytes=_limit(limits, "max_record_bytes", 1 << 20, 16 << 20, path),
        max_depth=_limit(limits, "max_depth", 32, 256, path),
    )


def _mapping(value: object, key: str, path: str | Path) -> dict[str, Any]:
    """``value`` when it is a mapping (or absent: an empty one), else a ConfigError."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: must be a mapping", path)
    return value


def tombstone_policy(raw: dict[str, Any]) -> str:
    """``merge.tombstones``: how a delete merges with an edit (lww, delete or edit)."""
    return str((raw.get("merge") or {}).get("tombstones") or "lww")


def parse_collections(raw: dict[str, Any], path: str | Path) -> dict[str, Collection]:
    """The ``collections`` of a parsed gitstore.yaml (``path`` names it in errors)."""
    collections = {}
    for name, spec in _mapping(raw.get("collections"), "collections", path).items():
        if not isinstance(name, str) or not _is_name(name):
            raise ConfigError(
                f"collections: {name!r} is not a collection name (letters, digits, _ and -)", path
            )
        _mapping(spec, f"collections.{name}", path)
        fields = {}
        declared = _mapping(spec.get("fields"), f"collections.{name}.fields", path)
        for fname, fspec in declared.items():
            if not isinstance(fname, str) or not is_key(fname):
                raise ConfigError(f"collections.{name}.fields: {fname!r} is not a field name", path)
            fspec = fspec if isinstance(fspec, dict) else {"type": fspec}
            if not isinstance(fspec.get("values") or [], list):
                raise ConfigError(f"collections.{name}.fields.{fname}.values: must be a list", path)
            ftype = fspec.get("type", "str")
            if ftype not in TYPES:
                raise ConfigError(
                    f"collections.{name}.fields.{fname}: unknown type {ftype!r}", path
                )
            merge = fspec.get("merge") or {"list": "union", "text": "text"}.get(ftype, "lww")
            if merge not in STRATEGIES:
                raise ConfigError(
                    f"collections.{name}.fields.{fname}: unknown merge {merge!r}", path
                )
            fields[fname] = Field(
                name=fname,
                type=ftype,
                required=bool(fspec.get("required", False)),
                default=fspec.get("default"),
                values=tuple(str(v) for v in fspec.get("values") or ()),
                merge=merge,
            )
        folder = _folder(spec.get("path", f"records/{name}"), f"collections.{name}.path", path)
        pattern = str(spec.get("id_pattern") or DEFAULT_ID_PATTERN)
        problem = pattern_problem(pattern)
        if problem:
            raise ConfigError(f"collections.{name}.id_pattern: {problem}", path)
        collections[name] = Collection(
            name=name,
            path=folder,
            id_pattern=pattern,
            id_prefix=str(spec.get("id_prefix") or ""),
            extra=str(spec.get("extra") or "allow"),
            fields=fields,
            ids=mode_of(name, spec, pattern, str(spec.get("id_prefix") or ""), path),
        )
    folders = [c.path for c in collections.values()]
    for coll in collections.values():
        inside = [f for f in folders if f.startswith(coll.path + "/") or f == coll.path]
        if len(inside) > 1:
            raise ConfigError(
                f"collections.{coll.name}.path: {coll.path} is, or holds, another collection's "
                "folder; give each collection a folder of its own",
                path,
            )
    return collections


def _folder(value: object, key: str, config_path: str | Path) -> str:
    """A path in the store, normalised (``./records//tasks/`` is ``records/tasks``), so that it
    compares equal to the paths git and the file system report; anything that could name a place
    outside the store, or inside ``.git``, is a ConfigError naming ``key``."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: must be a relative path such as records/tasks", config_path)
    if "\\" in value:
        raise ConfigError(f"{key}: {value!r}: write '/' between folders, not '\\'", config_path)
    normal = posixpath.normpath(value)
    parts = normal.split("/")
    if value.startswith("/") or normal == "." or ".." in value.split("/"):
        raise ConfigError(f"{key}: {value!r} must be a path inside the store", config_path)
    if any(part.lower() == ".git" for part in parts):
        raise ConfigError(f"{key}: {value!r} is inside .git; git owns that folder", config_path)
    if any(part.startswith(".") for part in parts) or not all(map(_is_part, parts)):
        # hidden folders hold tools and state (.venv, .github, .gitstore), never store data;
        # and a path that is also a pathspec must stay a plain one (no ':' magic, no globs)
        raise ConfigError(
            f"{key}: {value!r}: folders and files are named with letters, digits, '_', '-' "
            "and '.', and not hidden (no leading '.')",
            config_path,
        )
    return normal


def _is_name(text: str) -> bool:
    """``[A-Za-z_][A-Za-z0-9_-]*`` in full: a collection's name."""
    return is_key(text) and "." not in text


def _is_part(text: str) -> bool:
    """``[A-Za-z0-9_][A-Za-z0-9_.-]*`` in full: one folder or file name of a path."""
    return bool(text) and text[0] not in ".-" and not text.lstrip(KEY_CHARS)


def _limit(limits: dict[str, Any], key: str, default: int, hard: int, path: Path) -> int:
    """A configured limit. gitstore.yaml arrives by git like any file, so a limit can be lowered
    but never raised past ``hard`` (past it a hostile record could exhaust memory or the stack)."""
    value = limits.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= hard:
        raise ConfigError(f"limits.{key}: must be a whole number from 1 to {hard}", path)
    return value


def _time_problem(value: object) -> str | None:
    """:func:`gitstore.clock.time_problem`, without datetime for a time as gitstore writes it."""
    if isinstance(value, str) and usable_stamp(value):
        return None
    from gitstore.clock import time_problem

    return time_problem(value)


def check_record(collection: Collection, data: dict[str, Any], path: object) -> None:
    problems = collection.problems(data)
    if problems:
        raise RecordError("; ".join(problems), str(path))
