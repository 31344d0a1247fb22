"""``gitstore.yaml``: collections, their fields and merge strategies; validating a record.

The configuration is read once per :class:`~gitstore.store.Store`. Field types are ``str``,
``text`` (multi-line str), ``int``, ``float``, ``bool``, ``date``, ``enum`` and ``list``; each field
may be ``required``, have a ``default`` and a ``merge`` strategy (``lww``, ``flag``, ``union``,
``text``). Fields not declared are kept unless the collection says ``extra: reject``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitstore.errors import ConfigError, RecordError, UsageError
from gitstore.ids import mode_of

CONFIG_NAME = "gitstore.yaml"
TYPES = ("str", "text", "int", "float", "bool", "date", "enum", "list")
STRATEGIES = ("lww", "flag", "union", "text")
_UNSAFE_ID = re.compile(r"[/\\\0\r\n]|^\.|^$")


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "str"
    required: bool = False
    default: Any = None
    values: tuple[str, ...] = ()
    merge: str = "lww"

    def check(self, value: object) -> str | None:
        """A problem with ``value`` for this field, or None."""
        ok = {
            "str": isinstance(value, str),
            "text": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "date": isinstance(value, dt.date) and not isinstance(value, dt.datetime),
            "enum": isinstance(value, str) and value in self.values,
            "list": isinstance(value, list),
        }[self.type]
        if ok or (value is None and not self.required):
            return None
        if self.type == "enum":
            return f"{self.name}: {value!r} is not one of {', '.join(self.values)}"
        if self.type == "date":
            return f"{self.name}: {value!r} is not a date (YYYY-MM-DD)"
        return f"{self.name}: {value!r} is not of type {self.type}"

    def coerce(self, raw: str) -> Any:
        """Turn a command-line string into this field's type, or raise UsageError."""
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
                return dt.date.fromisoformat(raw)
            if self.type == "list":
                inner = raw.strip().removeprefix("[").removesuffix("]")
                return [item.strip() for item in inner.split(",") if item.strip()]
        except ValueError:
            raise UsageError(f"{self.name}={raw!r}: not a valid {self.type}") from None
        if self.type == "enum" and raw not in self.values:
            raise UsageError(f"{self.name}={raw!r}: must be one of {', '.join(self.values)}")
        return raw


@dataclass(frozen=True)
class Collection:
    name: str
    path: str
    id_pattern: str = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
    id_prefix: str = ""
    extra: str = "allow"
    fields: dict[str, Field] = field(default_factory=dict)
    ids: str = "auto"  # random | sequential | auto: gitstore.ids picks for ``add`` without an id

    def check_id(self, record_id: object) -> str:
        """Return ``record_id`` if it is a safe id for this collection, else raise UsageError."""
        if not isinstance(record_id, str) or _UNSAFE_ID.search(record_id) or record_id == "..":
            raise UsageError(
                f"bad id {record_id!r}: ids may not be empty, start with '.', "
                "or contain '/', '\\', NUL or newlines"
            )
        if len(record_id) > 200:
            raise UsageError(f"bad id {record_id[:20]!r}...: longer than 200 characters")
        if not re.fullmatch(self.id_pattern, record_id):
            raise UsageError(
                f"bad id {record_id!r}: collection {self.name} ids match {self.id_pattern}"
            )
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
        if stamp is not None:
            try:
                from gitstore.record import parse_time

                parse_time(str(stamp))
            except ValueError:
                found.append(f"last_modified: {stamp!r} is not an RFC 3339 time")
        clocks = data.get("clocks")
        if clocks is not None and (
            not isinstance(clocks, dict) or not all(isinstance(v, str) for v in clocks.values())
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
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", key):
                raise UsageError(f"bad field name {key!r}")
        return {k: self.field(k).coerce(v) for k, v in raw.items()} | dict(typed or {})

    def field(self, name: str) -> Field:
        return self.fields.get(name) or Field(name)

    def next_id(self, taken: set[str]) -> str:
        """The next free ``<prefix><n>`` id."""
        if not self.id_prefix:
            raise UsageError(f"collection {self.name} has no id_prefix: give an id")
        numbers = [
            int(i[len(self.id_prefix) :])
            for i in taken
            if i.startswith(self.id_prefix) and i[len(self.id_prefix) :].isdigit()
        ]
        return f"{self.id_prefix}{max(numbers, default=0) + 1}"


@dataclass(frozen=True)
class Config:
    root: Path
    collections: dict[str, Collection]
    roadmap_path: str = "ROADMAP.md"
    tombstones: str = "lww"
    auto_commit: bool = False
    max_record_bytes: int = 1 << 20
    max_depth: int = 32
    raw: dict[str, Any] = field(default_factory=dict)

    def collection(self, name: str) -> Collection:
        try:
            return self.collections[name]
        except KeyError:
            known = ", ".join(sorted(self.collections)) or "none"
            raise UsageError(f"unknown collection {name!r} (known: {known})") from None


def load_config(root: Path) -> Config:
    from gitstore import fs
    from gitstore.record import decode

    path = root / CONFIG_NAME
    text = decode(fs.read_bytes(path), path)
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        raw = YAML(typ="safe").load(text) or {}
    except YAMLError as err:
        raise ConfigError(f"invalid YAML: {str(err).splitlines()[0]}", path) from None
    if not isinstance(raw, dict):
        raise ConfigError("must be a YAML mapping", path)
    return parse_config(root, raw, path)


def parse_config(root: Path, raw: dict[str, Any], path: Path) -> Config:
    collections = {}
    for name, spec in (raw.get("collections") or {}).items():
        if not isinstance(spec, dict):
            raise ConfigError(f"collections.{name}: must be a mapping", path)
        fields = {}
        for fname, fspec in (spec.get("fields") or {}).items():
            fspec = fspec if isinstance(fspec, dict) else {"type": fspec}
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
        folder = str(spec.get("path") or f"records/{name}")
        if folder.startswith("/") or ".." in Path(folder).parts:
            raise ConfigError(f"collections.{name}.path: must stay inside the store", path)
        pattern = str(spec.get("id_pattern") or Collection.id_pattern)
        try:
            re.compile(pattern)
        except re.error as err:
            raise ConfigError(f"collections.{name}.id_pattern: {err}", path) from None
        collections[name] = Collection(
            name=name,
            path=folder,
            id_pattern=pattern,
            id_prefix=str(spec.get("id_prefix") or ""),
            extra=str(spec.get("extra") or "allow"),
            fields=fields,
            ids=mode_of(name, spec, pattern, str(spec.get("id_prefix") or ""), path),
        )
    roadmap = raw.get("roadmap") or {}
    limits = raw.get("limits") or {}
    if not isinstance(limits, dict):
        raise ConfigError("limits: must be a mapping", path)
    return Config(
        root=root,
        collections=collections,
        roadmap_path=str(roadmap.get("path") or "ROADMAP.md"),
        tombstones=str((raw.get("merge") or {}).get("tombstones") or "lww"),
        auto_commit=bool(raw.get("auto_commit", False)),
        max_record_bytes=_limit(limits, "max_record_bytes", 1 << 20, 16 << 20, path),
        max_depth=_limit(limits, "max_depth", 32, 256, path),
        raw=raw,
    )


def _limit(limits: dict[str, Any], key: str, default: int, hard: int, path: Path) -> int:
    """A configured limit. gitstore.yaml arrives by git like any file, so a limit can be lowered
    but never raised past ``hard`` (past it a hostile record could exhaust memory or the stack)."""
    value = limits.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= hard:
        raise ConfigError(f"limits.{key}: must be a whole number from 1 to {hard}", path)
    return value


def check_record(collection: Collection, data: dict[str, Any], path: object) -> None:
    problems = collection.problems(data)
    if problems:
        raise RecordError("; ".join(problems), str(path))
