"""The record file format: load, check and dump (rewriting an existing file: gitstore.rewrite;
the clock: gitstore.clock).

A record is one YAML mapping per file, one key per line. Reading goes through
:mod:`gitstore.plainyaml` for the plain subset gitstore writes and ruamel.yaml's safe loader for
anything else. A new record is dumped canonically; what is written is parsed back and compared,
type for type, with what was meant, and anything the plain writer cannot do is handed to
ruamel.yaml's round-trip dumper instead.
"""

from __future__ import annotations

from gitstore.errors import TYPE_CHECKING, RecordError
from gitstore.textrules import is_key, is_plain, is_stamp, yaml_printable

if TYPE_CHECKING:  # only for annotations: the merge driver must start fast
    import datetime as dt
    from collections.abc import Mapping
    from typing import Any

# datetime, io, re and gitstore.clock are imported where a value needs them: the merge
# driver, a process per file, reads records that hold no date and writes plain scalars.

RESERVED = ("id", "version", "last_modified", "modified_by", "deleted", "conflicts", "clocks")
META = ("id", "version", "last_modified", "modified_by")

#: How deeply lists and mappings may nest in a record: the YAML parser's C core recurses, and
#: 30,000 levels crash it. ``limits.max_depth`` in gitstore.yaml sets it (at most 256).
MAX_DEPTH = 32

_threads: Any = None  # threading.local(), made on first use (the merge driver never needs it)


def _local() -> Any:
    global _threads
    if _threads is None:
        import threading

        _threads = threading.local()
    return _threads


def _safe() -> Any:
    yaml = getattr(_local(), "safe", None)
    if yaml is None:
        from ruamel.yaml import YAML

        yaml = _local().safe = YAML(typ="safe")
    return yaml


_loader_class: Any = None


def _load_yaml(text: str) -> Any:
    """Safe-load with the C parser and a resolver whose YAML 1.2 rules are built once.

    ruamel.yaml looks the rule table up by document version for every scalar; doing that once per
    load halves the cost of reading a record (0.62 ms -> 0.30 ms for 20 fields).
    """
    global _loader_class
    if _loader_class is None:
        try:
            from ruamel.yaml.cyaml import CSafeLoader
            from ruamel.yaml.resolver import VersionedResolver
        except ImportError:  # no C extension: the pure-Python loader, slower but the same
            return _safe().load(text)

        class _Loader(CSafeLoader):
            processing_version = (1, 2)  # records are YAML 1.2: 'no' is a string, 0o17 octal

            @property
            def versioned_resolver(self) -> Any:
                rules = self.__dict__.get("_rules")
                if rules is None:
                    build = VersionedResolver.versioned_resolver.fget  # type: ignore[attr-defined]
                    rules = self.__dict__["_rules"] = build(self)
                return rules

        _loader_class = _Loader
    loader = _loader_class(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _roundtrip() -> Any:
    yaml = getattr(_local(), "rt", None)
    if yaml is None:
        from ruamel.yaml import YAML

        yaml = _local().rt = YAML()
        yaml.width = 1 << 16  # never fold a long line: a fold is a spurious diff
        yaml.preserve_quotes = True
        yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


# ---------------------------------------------------------------- reading


def decode(raw: bytes, path: object) -> str:
    if b"\0" in raw:
        raise RecordError("contains NUL bytes; a record is UTF-8 text", str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RecordError(f"is not UTF-8 text (byte {err.start})", str(path)) from None
    return text.removeprefix("\ufeff")


def _yaml_error(err: Exception, path: object) -> RecordError:
    # The context mark points where an unclosed construct began (the line to fix); for a
    # duplicate key the problem mark is the second occurrence.
    mark = getattr(err, "context_mark", None)
    if mark is None or "duplicate key" in str(err):
        mark = getattr(err, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    if "duplicate key" in str(err):
        import re

        found = re.search(r'found duplicate key "([^"]*)"', str(err))
        problem = f"duplicate key {found.group(1)!r}" if found else "duplicate key"
    return RecordError(f"invalid YAML: {problem}", str(path), line)


def check_constructs(text: str, path: object, *, flow_mappings: bool = False) -> None:
    """Reject anchors, aliases, tags and (unless allowed) flow mappings: they defeat line merges
    and enable alias bombs."""
    if not any(c in text for c in "&*!{"):
        return  # none of them can occur without one of these characters
    from ruamel.yaml.error import YAMLError

    try:
        flow_start: int | None = None  # a flow mapping just opened: only ``{}`` is allowed
        for event in _safe().parse(text):
            kind = type(event).__name__
            line = event.start_mark.line + 1 if event.start_mark else None
            if flow_start is not None and kind != "MappingEndEvent":
                raise RecordError(
                    "flow mappings ({...}) are not allowed; write one key per line",
                    str(path),
                    flow_start,
                )
            flow_start = None
            if kind == "AliasEvent" or getattr(event, "anchor", None):
                raise RecordError("YAML anchors and aliases are not allowed", str(path), line)
            if getattr(event, "tag", None) and kind != "DocumentStartEvent":
                raise RecordError(
                    f"YAML tags are not allowed ({event.tag}); write a plain value", str(path), line
                )
            if kind == "MappingStartEvent" and event.flow_style and not flow_mappings:
                flow_start = line  # an empty one ({}) is the only way YAML writes an empty map
    except YAMLError as err:
        raise _yaml_error(err, path) from None


def _nesting_prefix(line: str) -> int:
    r"""The length of ``[ \t]*(?:[-?][ \t]+)*`` matched at the start of ``line``: its
    indentation and the ``-``/``?`` indicators that open a level each."""
    at = len(line) - len(line.lstrip(" \t"))
    while line[at : at + 1] in ("-", "?") and line[at + 1 : at + 2] in (" ", "\t"):
        at = len(line) - len(line[at + 1 :].lstrip(" \t"))
    return at


_BREAKS_TO_LF = str.maketrans({"\r": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n"})


def check_nesting(text: str, path: object, max_depth: int = MAX_DEPTH) -> None:
    """Refuse text that nests deeper than ``max_depth``, before the C parser sees it.

    A cheap bound comes first: nesting needs a ``[``/``{`` or more indentation or another
    ``-``/``?`` indicator on the line for every level, so when brackets plus the widest line
    prefix stay under the limit, the text cannot be too deep. Only past that bound are the parse
    events counted (the event parser is iterative, it cannot overflow)."""
    bound = text.count("[") + text.count("{") + 2
    if bound <= max_depth:
        lines = text.translate(_BREAKS_TO_LF)  # every character a YAML parser breaks lines at
        bound += max(map(_nesting_prefix, lines.split("\n")))
        if bound <= max_depth:
            return
    from ruamel.yaml.error import YAMLError

    depth = 0
    try:
        for event in _safe().parse(text):
            kind = type(event).__name__
            if kind in ("SequenceStartEvent", "MappingStartEvent"):
                depth += 1
                if depth > max_depth + 1:  # the record itself is one mapping level
                    line = event.start_mark.line + 1 if event.start_mark else None
                    raise RecordError(
                        f"nested deeper than {max_depth} levels (limits.max_depth)", str(path), line
                    )
            elif kind in ("SequenceEndEvent", "MappingEndEvent"):
                depth -= 1
    except YAMLError as err:
        raise _yaml_error(err, path) from None


def loads(text: str, path: object = "<record>", max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """Parse record text into plain Python values; ``last_modified`` stays a string."""
    from gitstore.plainyaml import parse

    plain = parse(text, max_depth, stamps=True)  # most records: no ruamel.yaml at all
    return plain if plain is not None else yaml_loads(text, path, max_depth)


def yaml_loads(text: str, path: object = "<record>", max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """:func:`loads` through ruamel.yaml, for any text (and for holding the plain reader to)."""
    check_nesting(text, path, max_depth)
    check_constructs(text, path)
    from ruamel.yaml.error import YAMLError

    try:
        data = _load_yaml(text)
    except YAMLError as err:
        raise _yaml_error(err, path) from None
    except RecursionError:
        raise RecordError("invalid YAML: nested too deeply", str(path)) from None
    except ValueError as err:  # e.g. an integer of more than 4,300 digits
        raise RecordError(f"invalid value: {str(err).split(';')[0]}", str(path)) from None
    if data is None:
        raise RecordError("is empty; a record is a YAML mapping with at least an id", str(path))
    if not isinstance(data, dict):
        raise RecordError(f"is a YAML {type(data).__name__}, not a mapping", str(path))
    for key in data:
        if not isinstance(key, str):
            raise RecordError(f"key {key!r} is not a string", str(path))
    import datetime as dt

    stamp = data.get("last_modified")
    if isinstance(stamp, dt.datetime):
        data["last_modified"] = _as_text(stamp)
    clocks = data.get("clocks")
    if isinstance(clocks, dict):
        data["clocks"] = {
            k: _as_text(v) if isinstance(v, dt.datetime) else v for k, v in clocks.items()
        }
    return data


def _as_text(stamp: dt.datetime) -> str:
    import datetime as dt

    from gitstore.clock import format_time

    return format_time(stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC))


# ---------------------------------------------------------------- what a record may hold


def check_data(data: Mapping[str, Any], path: object, max_depth: int = MAX_DEPTH) -> None:
    """Refuse values a record file cannot hold: keys that are not strings, types YAML cannot
    write plainly (sets, bytes, objects), and nesting deeper than ``max_depth``."""
    import datetime as dt

    value_types = (str, bool, int, float, dt.date, type(None))
    stack: list[tuple[object, int, str]] = [(data, 0, "")]
    while stack:
        value, depth, where = stack.pop()
        if depth > max_depth and isinstance(value, (dict, list)):
            raise RecordError(
                f"{_shown(where)}: nested deeper than {max_depth} levels (limits.max_depth)",
                str(path),
            )
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str) or not _encodable(key):
                    raise RecordError(
                        f"{_shown(where) or 'record'}: key {key!r} is not a string", str(path)
                    )
                stack.append((item, depth + 1, f"{where}.{key}"))
        elif isinstance(value, list):
            stack += [(item, depth + 1, f"{where}[{i}]") for i, item in enumerate(value)]
        elif isinstance(value, str) and not _encodable(value):
            raise RecordError(
                f"{_shown(where)}: text that is not valid Unicode (a lone surrogate) cannot be "
                "stored",
                str(path),
            )
        elif isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise RecordError(
                f"{_shown(where)}: an integer this large cannot be stored (at most about "
                "4,000 digits)",
                str(path),
            )
        elif not isinstance(value, value_types):
            raise RecordError(
                f"{_shown(where)}: a value of type {type(value).__name__} cannot be stored; use a "
                "string, number, boolean, date, list or mapping",
                str(path),
            )


#: Python refuses to read integers of more than 4,300 digits back from text.
MAX_INT_BITS = 13_000


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(where: str) -> str:
    where = where.lstrip(".")
    return where if len(where) <= 60 else where[:57] + "..."


# ---------------------------------------------------------------- writing single values

_RESOLVES = {"yes", "no", "y", "n", "on", "off", "true", "false", "null", "~", "nan", "inf"}
_INF = float("inf")


# Characters YAML treats as line breaks or forbids raw: always escaped inside quotes.
_BREAKS = frozenset((0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF))


def _quote(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or 0x7F <= code < 0xA0 or 0xD800 <= code < 0xE000 or code in _BREAKS:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _scalar(value: object) -> str | None:
    """One-line YAML for a scalar, or None when it needs ruamel (or a block)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return ".nan"
        if value in (_INF, -_INF):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        return text if ("." in text or "e" in text) else text + ".0"
    if isinstance(value, str):
        if is_plain(value) and not value.endswith(" ") and value.lower() not in _RESOLVES:
            return value
        return _quote(value)
    if isinstance(value, (list, dict)):
        return None
    import datetime as dt  # a date (or a value no scalar can be): rare, so imported only here

    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    return None


def _block_text(value: str) -> str | None:
    """A literal block (``|``) for multi-line text, so diffs show changed lines only."""
    body = value.rstrip("\n")
    if not body or not yaml_printable(value) or any(c in value for c in "\r\u2028\u2029"):
        return None
    trailing = len(value) - len(body)
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    lines = body.split("\n")
    if any(line[:1] in (" ", "\t") for line in lines if line) or any(
        line.strip() == "" and line for line in lines
    ):
        return None  # leading or whitespace-only lines need indentation care: ruamel does it
    out = [f"|{chomp}\n"]
    out += [f"  {line}\n" if line else "\n" for line in lines]
    out += ["\n"] * (trailing - 1)
    return "".join(out)


def value_lines(key: str, value: object, block: str | None = None) -> str | None:
    """``key: value`` as complete lines, or None when the fast path cannot write it. A list is
    written in block style with its items at indentation ``block`` when that is given (a list
    that was written so stays so), else in flow style when short."""
    if isinstance(value, str) and "\n" in value:
        text = _block_text(value)
        if text is not None:
            return f"{key}: {text}"
    if isinstance(value, list):
        items = [_scalar(v) for v in value]
        if any(i is None or isinstance(v, (list, dict)) for i, v in zip(items, value, strict=True)):
            return None
        flat = [i for i in items if i is not None]
        flow = ", ".join(flat)
        if not flat or (
            block is None and len(flow) <= 72 and not any(c in i for i in flat for c in ",[]{}#")
        ):
            return f"{key}: [{flow}]\n"
        pad = "  " if block is None else block
        return f"{key}:\n" + "".join(f"{pad}- {i}\n" for i in flat)
    if key == "clocks" and isinstance(value, dict):
        return clocks_lines(value)
    if key == "last_modified" and isinstance(value, str) and is_stamp(value):
        return f"{key}: {value}\n"  # plain, as people write it; loads() reads it back as text
    text = _scalar(value)
    return f"{key}: {text}\n" if text is not None else None


def clocks_lines(clocks: Mapping[str, Any]) -> str | None:
    """The ``clocks:`` block: when each field was last changed (per-field last-writer-wins)."""
    if not all(is_key(k) and isinstance(v, str) and is_stamp(v) for k, v in clocks.items()):
        return None
    return "clocks:\n" + "".join(f"  {k}: {v}\n" for k, v in clocks.items())


# ---------------------------------------------------------------- whole documents


def copy_data(value: Any) -> Any:
    """A deep copy of record data: dicts and lists are copied, scalars (all immutable) shared.
    Several times faster than ``copy.deepcopy``, which every update pays; anything else goes
    to ``copy.deepcopy``."""
    kind = type(value)
    scalars = _scalars()
    if kind is dict:  # a scalar is taken as it is without a call: most values are
        return {k: v if type(v) in scalars else copy_data(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in scalars else copy_data(v) for v in value]
    if kind in scalars:
        return value
    import copy

    return copy.deepcopy(value)


_SCALAR_TYPES: frozenset[type] | None = None


def _scalars() -> frozenset[type]:
    global _SCALAR_TYPES
    if _SCALAR_TYPES is None:
        import datetime as dt

        _SCALAR_TYPES = frozenset((str, bool, int, float, dt.date, dt.datetime, type(None)))
    return _SCALAR_TYPES


def same(a: object, b: object) -> bool:
    """Equality that also compares types (1, 1.0 and True differ here); key order is ignored."""
    if a is b:  # one object (a float NaN too: it is the same as itself here)
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)
        if a.keys() != b.keys():
            return False
        for k, x in a.items():
            y = b[k]
            if x is not y and not same(x, y):
                return False
        return True
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(x is y or same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and a != a:  # NaN
        return b != b
    return a == b


def _ordered(data: Mapping[str, Any]) -> dict[str, Any]:
    meta = {k: data[k] for k in META if k in data}
    return meta | {k: v for k, v in data.items() if k not in META}


def dumps(data: Mapping[str, Any]) -> str:
    """Canonical text for a new record: metadata first, then fields in the order given."""
    data = _ordered(data)
    parts = [value_lines(k, v) for k, v in data.items()]
    if all(p is not None for p in parts) and all(is_key(k) for k in data):
        text = "".join(p for p in parts if p is not None)
        if reads_back(text, data):
            return text
    return ruamel_dump(None, data)


def reads_back(text: str, expected: Mapping[str, Any]) -> bool:
    try:
        return same(loads(text), dict(expected))
    except RecordError:
        return False


def ruamel_dump(old_text: str | None, new: Mapping[str, Any]) -> str:
    """Round-trip fallback: keeps comments and order of ``old_text``, writes anything."""
    yaml = _roundtrip()
    if old_text is not None:
        doc = yaml.load(old_text)
        for key in [k for k in doc if k not in new]:
            del doc[key]
        for key, value in new.items():
            if key not in doc or not same(_plain(doc[key]), value):
                doc[key] = value
    else:
        doc = dict(new)
    for escape_unicode in (False, True):
        # ruamel writes some characters raw (NEL) that its reader takes for line breaks;
        # escaping all non-ASCII is the uglier, always-correct second try.
        yaml.allow_unicode = not escape_unicode
        import io

        out = io.StringIO()
        yaml.dump(doc, out)
        text = out.getvalue()
        if reads_back(text, new):
            return text
    raise RecordError("cannot be written as YAML that reads back the same; report this bug")


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value
