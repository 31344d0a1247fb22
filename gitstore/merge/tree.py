"""Record text as a tree of entries, cut by lines without a YAML parser (the driver starts fast).

An *entry* is one key of a block mapping: the comment and blank lines right above it (its
*prefix*: a comment belongs to the field below it), the key line, and the lines of its value. A
value that is itself a block mapping has *children*, cut the same way, so a merge can go key by
key at any depth. Comment and blank lines after the last entry are the mapping's *tail*. Each
entry also has a normalised *value*: its lines with comments and line endings removed, so two
sides that differ only in comments or CRLF have the same value. Text that is not a plain
mapping of ``key: value`` lines (a document marker, a quoted key, stray text) is not cut: the
caller parses it in full instead.
"""

from __future__ import annotations

import re

from gitstore.errors import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

_KEY_LINE = re.compile(r"[ ]*([A-Za-z_][A-Za-z0-9_.-]*):(?:[ \t]|$)")
_QUOTED = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\n]|'')*'")
_COMMENT = re.compile(r"(?:^|[ \t])#")


class Entry:
    __slots__ = ("children", "key", "lines", "prefix", "value")

    def __init__(self, key: str, prefix: list[str], lines: list[str], indent: int):
        self.key, self.prefix, self.lines = key, prefix, lines
        self.children: Block | None = None
        head = code(lines[0])[len(key) + 1 + indent :].strip()
        if head[:1] in ("|", ">"):
            # A block scalar: every line is content (a '#' in it is text, not a comment).
            self.value = "\n".join([head, *_dedent([line.rstrip("\n") for line in lines[1:]])])
            return
        if not head and len(lines) > 1:
            self.children = cut_block(lines[1:])
        if self.children is not None:
            self.value = self.children.value()
        else:
            # Relative indentation is structure (what an item holds); how far the value is
            # indented as a whole is not (``key:\n- a`` and ``key:\n  - a`` are one list).
            body = [c for c in (code(line).rstrip() for line in lines[1:]) if c]
            self.value = "\n".join([head, *_dedent(body)])

    def text(self) -> str:
        return "".join(self.lines)


class Block:
    """A block mapping: its entries in order and the comment lines after the last one."""

    __slots__ = ("entries", "indent", "tail")

    def __init__(self, entries: dict[str, Entry], tail: list[str], indent: int):
        self.entries, self.tail, self.indent = entries, tail, indent

    def value(self) -> str:
        return "\n".join(f"{k}\0{e.value}" for k, e in self.entries.items())


def _dedent(lines: list[str]) -> list[str]:
    width = min((indent_of(line) for line in lines if line.strip()), default=0)
    return [line[width:] for line in lines]


def indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def code(line: str) -> str:
    """The line without its comment (a ``#`` inside quotes is not one) and line ending."""
    line = line.rstrip("\r\n")
    if "#" not in line:
        return line
    masked = (
        _QUOTED.sub(lambda m: "\0" * len(m.group()), line) if ("'" in line or '"' in line) else line
    )
    found = _COMMENT.search(masked)
    return line if found is None else line[: found.start()].rstrip()


def is_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def cut_block(lines: list[str], top: bool = False) -> Block | None:
    """Cut ``lines`` (LF line endings) into the entries of one block mapping, or None."""
    first = next((line for line in lines if not is_comment(line)), None)
    if first is None:
        return None if not top else Block({}, list(lines), 0)
    indent = indent_of(first)
    if top and indent:
        return None
    starts: list[tuple[str, int]] = []
    for i, line in enumerate(lines):
        if is_comment(line):
            continue
        depth = indent_of(line)
        if depth > indent:
            continue
        if depth < indent:
            return None
        match = _KEY_LINE.match(line)
        if match is None:
            if starts and line[depth : depth + 2] in ("- ", "-\n"):
                continue  # a block list at its key's own indentation (``key:\n- a``)
            return None
        starts.append((match.group(1), i))
    if not starts and not top:
        return None
    entries: dict[str, Entry] = {}
    pos = 0
    for n, (key, start) in enumerate(starts):
        if key in entries:
            return None  # a duplicate key: the caller parses and reports it
        end = starts[n + 1][1] if n + 1 < len(starts) else len(lines)
        # Comments and blank lines after a value belong to what follows, not to the value;
        # a more deeply indented comment stays inside the value (a nested mapping's last lines).
        while (
            end > start + 1
            and is_comment(lines[end - 1])
            and (not lines[end - 1].strip() or indent_of(lines[end - 1]) <= indent)
        ):
            end -= 1
        entries[key] = Entry(key, lines[pos:start], lines[start:end], indent)
        pos = end
    return Block(entries, lines[pos:], indent)


def split_lines(text: str) -> list[str]:
    """Lines with their ``\\n`` (only ``\\n`` ends a line here), CRLF made LF, last line ended."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1] + "\n")
    return out


def walk(block: Block) -> Iterator[Entry]:
    for entry in block.entries.values():
        yield entry
        if entry.children is not None:
            yield from walk(entry.children)
