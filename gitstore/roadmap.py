"""ROADMAP.md as structured data: a lossless parse, a render, and surgical edits. No I/O.

A document is a list of blocks, each a list of lines with their own line endings: text blocks
(the preamble, and text between sections) and sections. A section starts at an ATX heading of
level 2-4 whose text, after an optional emoji and ``**``, matches a configured label pattern
(``PRIORITY 2.5``), and runs to the next heading of the same or a higher level, or to the next
section heading (sections do not nest). Fenced code is opaque, and so is a complete conflict hunk
(``<<<<<<<`` ... ``=======`` ... ``>>>>>>>``): a heading inside one neither starts nor ends a
section, so a merge's markers stay in the section they belong to. ``render(parse(t)) == t`` for
any text, because parsing only partitions lines; every edit replaces, inserts or removes whole
lines of one section.

A section's identity is the ``id=`` in its metadata comment (:attr:`Section.uid`), which survives
renumbering and renaming; sections without one (hand-written) are matched by the merge's
documented fallback rule (:mod:`gitstore.merge.sections`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from gitstore.errors import UsageError

DEFAULT_HEADINGS = (r"PRIORITY[ \t]+(?P<id>\d+(?:\.\d+)*)",)
STORY_HEADING = r"(?P<id>US-\d+)"
DEFAULT_STATUSES: dict[str, tuple[str, ...]] = {
    "complete": ("✅ Complete", "✅", "Complete", "Done"),
    "in_progress": ("🔄 In Progress", "🔄", "In Progress"),
    "blocked": ("⏸️ Blocked", "⏸", "Blocked", "🚧"),
    "planned": ("📝 Planned", "📝", "Planned", "Not Started", "TODO"),
}

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]|$)")
_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*$")
_NOT_PARAGRAPH = re.compile(r"\s*$| {0,3}(?:[-*+][ \t]|\d+[.)][ \t]|>|\||<|#|`{3}|~{3})")
_FIELD = re.compile(r"\*\*(?P<key>[^*\r\n]+?)\*\*:[ \t]*(?P<value>[^\r\n]*)")
_META = re.compile(r"<!-- gitstore:(?P<body>[^\r\n]*?)-->[ \t]*")
_META_PAIR = re.compile(r"(\w+)=(\S+)")
META_ORDER = ("id", "version", "last_modified", "modified_by")


def split_lines(text: str) -> list[str]:
    """Lines with their endings; only ``\\n`` ends a line (so ``\\r\\n`` stays together)."""
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def _closes(fence: str, text: str) -> bool:
    """Whether ``text`` closes a code block opened by ``fence`` (same character, as long)."""
    closing = _FENCE.match(text)
    return (
        closing is not None
        and closing.group(1)[0] == fence[0]
        and len(closing.group(1)) >= len(fence)
        and not text.strip().strip(fence[0])
    )


def content(line: str) -> str:
    return line.rstrip("\r\n").lstrip("\ufeff")


def ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


class Section:
    """One priority. ``lines`` are the section's lines, heading first, endings included.

    (A plain class, not a dataclass: importing dataclasses costs the merge driver ~7 ms, and
    sections compare by identity, so ``blocks.index(section)`` finds this one, not an equal one.)
    """

    __slots__ = (
        "duplicated",
        "header_end",
        "id",
        "label",
        "level",
        "line_no",
        "lines",
        "occurrence",
    )

    def __init__(
        self,
        id: str,
        label: str,
        level: int,
        lines: list[str],
        occurrence: int = 0,
        line_no: int = 0,
        header_end: int = 0,
    ):
        self.id = id
        self.label = label
        self.level = level
        self.lines = lines
        self.occurrence = occurrence
        self.line_no = line_no  # 1-based line of the heading in the document it was parsed from
        self.header_end = header_end  # index of the first sub-heading (fields live above it)
        self.duplicated = False  # another section of the document has this id too

    def __repr__(self) -> str:
        return f"Section({self.name!r}, line {self.line_no}, {len(self.lines)} lines)"

    @property
    def heading(self) -> str:
        return content(self.lines[0])

    def title_and_mark(self, markers: Iterable[str]) -> tuple[str, str]:
        """The heading's title and its trailing status text (``✅ Complete``), if any, without
        emphasis markers (:func:`gitstore.heading.title_and_mark`)."""
        from gitstore.heading import title_and_mark

        return title_and_mark(self.heading, self.label, tuple(markers))

    def fields(self) -> dict[str, tuple[int, str, str]]:
        """``key.lower() -> (line index, key as written, value)``: first occurrence wins."""
        found: dict[str, tuple[int, str, str]] = {}
        in_fence = None
        for i in range(1, self.header_end):
            text = content(self.lines[i])
            if in_fence:
                if _closes(in_fence, text):
                    in_fence = None
                continue
            fence = _FENCE.match(text)
            if fence:
                in_fence = fence.group(1)
                continue
            match = _FIELD.fullmatch(text)
            if match and match.group("key").lower() not in found:
                found[match.group("key").lower()] = (i, match.group("key"), match.group("value"))
        return found

    def field(self, key: str) -> str | None:
        hit = self.fields().get(key.lower())
        return hit[2].strip() if hit else None

    def meta(self) -> dict[str, str]:
        return meta_of(self.lines)

    @property
    def uid(self) -> str | None:
        """The stable id gitstore wrote in the metadata comment, if any."""
        return self.meta().get("id")

    @property
    def name(self) -> str:
        """How to address this section: its id, as ``id#n`` when the id occurs more than once."""
        return f"{self.id}#{self.occurrence + 1}" if self.duplicated else self.id


def meta_of(lines: list[str]) -> dict[str, str]:
    """The key=value pairs of the metadata comment on the line under a heading."""
    if len(lines) > 1 and "<!-- gitstore:" in lines[1]:
        match = _META.fullmatch(content(lines[1]))
        if match:
            return dict(_META_PAIR.findall(match.group("body")))
    return {}


def meta_line(values: dict[str, str]) -> str:
    """``<!-- gitstore: id=... version=... last_modified=... modified_by=... -->`` (no ending);
    known keys first, in that order, then any others as they came."""
    keys = [k for k in META_ORDER if k in values] + [k for k in values if k not in META_ORDER]
    return "<!-- gitstore: " + " ".join(f"{k}={values[k]}" for k in keys) + " -->"


def content_uid(lines: list[str]) -> str:
    """The stable id of a section that has none, derived from its text (its metadata comment
    and line endings left out): what gitstore writes the first time it edits a hand-written
    section, so two clones that both first edit it give it the same id, and the merge knows the
    base's section by it."""
    import base64
    import hashlib

    drop = 1 if meta_of(lines) else -1
    text = "\n".join(content(line) for i, line in enumerate(lines) if i != drop)
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=5).digest()
    return base64.b32encode(digest).decode().lower()


class Document:
    __slots__ = ("blocks",)

    def __init__(self, blocks: list[list[str] | Section] | None = None):
        self.blocks: list[list[str] | Section] = blocks if blocks is not None else []

    def render(self) -> str:
        return "".join("".join(b.lines if isinstance(b, Section) else b) for b in self.blocks)

    @property
    def sections(self) -> list[Section]:
        return [b for b in self.blocks if isinstance(b, Section)]

    @property
    def newline(self) -> str:
        for block in self.blocks:
            for line in block.lines if isinstance(block, Section) else block:
                if line.endswith("\n"):
                    return "\r\n" if line.endswith("\r\n") else "\n"
        return "\n"


class Parser:
    """Parses with a configured set of heading label patterns (each with an ``id`` group)."""

    def __init__(self, headings: Iterable[str] = DEFAULT_HEADINGS):
        self.patterns = tuple(headings)
        # ATX level 2-4, then an optional emoji (a non-word, non-space token) and bold
        self._prefix = re.compile(r"(?P<hashes>#{2,4})[ \t]+(?:[^\w\s*#`]\S*[ \t]+)?(?:\*\*)?")
        self._labels = []
        for pattern in self.patterns:
            try:
                compiled = re.compile(rf"(?P<label>{pattern})(?![\w.])")
            except re.error as err:
                raise UsageError(
                    f"roadmap heading pattern {pattern!r} is not valid: {err}"
                ) from None
            if "id" not in compiled.groupindex:
                raise UsageError(f"roadmap heading pattern {pattern!r} needs a group (?P<id>...)")
            self._labels.append(compiled)

    def _label(self, line: str) -> tuple[int, re.Match[str]] | None:
        text = content(line)
        if not text.startswith("#"):
            return None
        prefix = self._prefix.match(text)
        if prefix is None:
            return None
        for label in self._labels:
            m = label.match(text, prefix.end())
            if m is not None:
                return len(prefix.group("hashes")), m
        return None

    def match(self, line: str) -> tuple[int, str, str] | None:
        """``(level, id, label)`` when ``line`` starts a section."""
        found = self._label(line)
        if found is None:
            return None
        level, m = found
        return level, m.group("id"), m.group("label")

    def id_span(self, line: str) -> tuple[int, int] | None:
        """Where the id is in a heading line (``2.5`` in ``### PRIORITY 2.5: UX``)."""
        found = self._label(line)
        if found is None:
            return None
        bom = len(line) - len(line.lstrip("\ufeff"))
        start, end = found[1].span("id")
        return start + bom, end + bom

    def parse(self, text: str) -> Document:
        lines = split_lines(text)
        doc = Document()
        current: list[str] = []
        section: Section | None = None
        seen: dict[str, int] = {}
        fence: str | None = None
        hunks = conflict_hunks(lines) if "<<<<<<<" in text else {}
        hunk_end = -1

        def close() -> None:
            nonlocal current, section
            if section is not None:
                section.lines = current
                if not section.header_end:
                    section.header_end = len(current)
                doc.blocks.append(section)
            elif current:
                doc.blocks.append(current)
            current, section = [], None

        for number, line in enumerate(lines, 1):
            if number - 1 <= hunk_end:
                # Inside a complete conflict hunk: opaque, like a fence.
                current.append(line)
                continue
            text_ = content(line)
            if fence is not None:
                if _closes(fence, text_):
                    fence = None
                current.append(line)
                continue
            if number - 1 in hunks:
                hunk_end, fence = hunks[number - 1]
                current.append(line)
                continue
            opening = _FENCE.match(text_)
            if opening:
                fence = opening.group(1)
                current.append(line)
                continue
            starts = self.match(line)
            if starts is not None:
                close()
                level, section_id, label = starts
                section = Section(
                    id=section_id,
                    label=label,
                    level=level,
                    lines=[],
                    occurrence=seen.get(section_id, 0),
                    line_no=number,
                )
                seen[section_id] = section.occurrence + 1
                current.append(line)
                continue
            heading = _heading_level(text_, current)
            if heading is not None and section is not None:
                if heading <= section.level:
                    # A setext heading's text lines belong to what it starts, not to us.
                    back = 0 if _ATX.match(text_) else _paragraph_length(current)
                    carried = current[len(current) - back :] if back else []
                    if back:
                        del current[len(current) - back :]
                    close()
                    current = carried
                elif not section.header_end:
                    section.header_end = len(current)
            current.append(line)
        close()
        for block in doc.blocks:
            if isinstance(block, Section) and seen[block.id] > 1:
                block.duplicated = True
        return doc


def _marker(text: str, char: str) -> bool:
    """A conflict-marker line as git writes it: seven ``char`` then nothing or a space."""
    return text.startswith(char * 7) and (len(text) == 7 or text[7] == " ")


def conflict_hunks(lines: list[str]) -> dict[int, tuple[int, str | None]]:
    """Complete conflict hunks outside fences: ``start index -> (end index, fence state after)``.

    The fence state after a hunk is the one its first side leaves, so a hunk that changes only a
    fence's opening line does not turn the rest of the file inside out."""
    found: dict[int, tuple[int, str | None]] = {}
    fence: str | None = None
    i = 0
    while i < len(lines):
        text = content(lines[i])
        if fence is not None:
            if _closes(fence, text):
                fence = None
            i += 1
            continue
        opening = _FENCE.match(text)
        if opening:
            fence = opening.group(1)
            i += 1
            continue
        if _marker(text, "<"):
            middle = end = None
            for j in range(i + 1, len(lines)):
                inner = content(lines[j])
                if _marker(inner, "<"):
                    break
                if middle is None and (inner.rstrip() == "=======" or _marker(inner, "|")):
                    middle = j
                elif middle is not None and _marker(inner, ">"):
                    end = j
                    break
            if middle is not None and end is not None:
                after: str | None = None
                for line in lines[i + 1 : middle]:
                    part = content(line)
                    if after is not None:
                        after = None if _closes(after, part) else after
                    elif (start := _FENCE.match(part)) is not None:
                        after = start.group(1)
                found[i] = (end, after)
                fence = after
                i = end + 1
                continue
        i += 1
    return found


def heading_starts(lines: list[str], max_level: int = 2) -> list[int]:
    """Where ATX headings of level ``max_level`` or higher start, after the first line and
    outside fences and conflict hunks: how the merge cuts text between sections into units."""
    hunks = conflict_hunks(lines) if any(line.startswith("<<<<<<<") for line in lines) else {}
    found: list[int] = []
    fence: str | None = None
    i = 0
    while i < len(lines):
        text = content(lines[i])
        if fence is not None:
            fence = None if _closes(fence, text) else fence
        elif i in hunks:
            i, fence = hunks[i]
        elif (opening := _FENCE.match(text)) is not None:
            fence = opening.group(1)
        elif i and (atx := _ATX.match(text)) is not None and len(atx.group(1)) <= max_level:
            found.append(i)
        i += 1
    return found


def _heading_level(text: str, before: list[str]) -> int | None:
    atx = _ATX.match(text)
    if atx:
        return len(atx.group(1))
    setext = _SETEXT.match(text)
    if setext and before and not _NOT_PARAGRAPH.match(content(before[-1])):
        return 1 if setext.group(1)[0] == "=" else 2
    return None


def _paragraph_length(lines: list[str]) -> int:
    n = 0
    while n < len(lines) - 1 and not _NOT_PARAGRAPH.match(content(lines[len(lines) - 1 - n])):
        n += 1
    return n


def unfenced(text: str) -> Iterator[str]:
    """The lines of a markdown text, with fenced code blocks blanked (line numbers kept)."""
    fence: str | None = None
    for line in text.splitlines():
        text = content(line)
        if fence is not None:
            if _closes(fence, text):
                fence = None
            yield ""
            continue
        opening = _FENCE.match(text)
        if opening:
            fence = opening.group(1)
            yield ""
            continue
        yield line


def status_meaning(status: str | None, statuses: dict[str, tuple[str, ...]]) -> str | None:
    if not status:
        return None
    lowered = status.lower()
    for meaning, markers in statuses.items():
        if any(marker.lower() in lowered for marker in markers):
            return meaning
    return None
