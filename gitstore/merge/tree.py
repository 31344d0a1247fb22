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

from gitstore.errors import TYPE_CHECKING
from gitstore.textrules import at_end, key_colon

if TYPE_CHECKING:
    from collections.abc import Iterator


def _key_of(line: str) -> str | None:
    r"""The key of a ``key:`` line (``[ ]*([A-Za-z_][A-Za-z0-9_.-]*):(?:[ \t]|$)`` matched at
    its start), or None."""
    start = len(line) - len(line.lstrip(" "))
    colon = key_colon(line, start)
    if colon < 0 or not (line[colon + 1 : colon + 2] in (" ", "\t") or at_end(line, colon + 1)):
        return None
    return line[start:colon]


def _quoted_end(line: str, at: int) -> int:
    r"""Where the quoted scalar opening at ``at`` ends (past its closing quote), or -1 when none
    closes on the line: ``"(?:[^"\
]|\.)*"|'(?:[^'
]|'')*'`` matched at ``at``."""
    if line[at] == '"':
        i = at + 1
        while i < len(line):
            ch = line[i]
            if ch == '"':
                return i + 1
            if ch == "\n" or (ch == "\\" and line[i + 1 : i + 2] in ("", "\n")):
                return -1
            i += 2 if ch == "\\" else 1
        return -1
    # Single quotes: '' is a quote inside. Where the line breaks off first, the match falls
    # back to the last '' taken, whose first quote then closes it.
    end = line.find("\n", at + 1)
    end = len(line) if end < 0 else end
    i, pair = at + 1, -1
    while True:
        i = line.find("'", i, end)
        if i < 0:
            return pair
        if line[i + 1 : i + 2] != "'":
            return i + 1
        pair = i + 1
        i += 2


def _masked(line: str) -> str:
    """``line`` with every quoted scalar in it replaced by as many NULs (so a ``#`` inside
    quotes is no comment), scanning as ``re.sub`` of the expression in :func:`_quoted_end` does.
    Linear: when a ``"`` opens nothing, no ``"`` before the next line break does (each is
    escaped on the way, so a scan from it retraces the failed one)."""
    out: list[str] = []
    done = i = double_from = 0
    while True:
        found = [p for p in (line.find('"', max(i, double_from)), line.find("'", i)) if p >= 0]
        if not found:
            break
        i = min(found)
        end = _quoted_end(line, i)
        if end < 0:
            if line[i] == '"':
                double_from = line.find("\n", i)
                double_from = len(line) if double_from < 0 else double_from
            i += 1
            continue
        out += (line[done:i], "\0" * (end - i))
        done = i = end
    return "".join(out) + line[done:]


def _comment_at(text: str) -> int:
    r"""Where ``(?:^|[ \t])#`` is first found in ``text``, or -1."""
    i = text.find("#")
    while i > 0 and text[i - 1] not in (" ", "\t"):
        i = text.find("#", i + 1)
    return i if i <= 0 else i - 1


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
    masked = _masked(line) if ("'" in line or '"' in line) else line
    found = _comment_at(masked)
    return line if found < 0 else line[:found].rstrip()


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
        key = _key_of(line)
        if key is None:
            if starts and line[depth : depth + 2] in ("- ", "-\n"):
                continue  # a block list at its key's own indentation (``key:\n- a``)
            return None
        starts.append((key, i))
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
    r"""Lines with their ``\n`` (only ``\n`` ends a line here), CRLF made LF, last line ended."""
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
