"""ROADMAP.md as structured data: a lossless parse, a render, and surgical edits. No I/O.

A document is a list of blocks, each a list of lines with their own line endings: text blocks
(the preamble, and text between sections) and sections. A section starts at an ATX heading of
level 2-4 whose text, after an optional emoji and ``**``, matches a configured label pattern
(``PRIORITY 2.5``), and runs to the next heading of the same or a higher level, or to the next
section heading (sections do not nest). Fenced code is opaque. ``render(parse(t)) == t`` for any
text, because parsing only partitions lines; every edit replaces, inserts or removes whole lines
of one section.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from gitstore.errors import NotFound, UsageError

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


def _content(line: str) -> str:
    return line.rstrip("\r\n").lstrip("\ufeff")


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


@dataclass
class Section:
    """One priority. ``lines`` are the section's lines, heading first, endings included."""

    id: str
    label: str
    level: int
    lines: list[str]
    occurrence: int = 0
    line_no: int = 0  # 1-based line of the heading in the document it was parsed from
    header_end: int = 0  # index of the first sub-heading (fields live above it)

    @property
    def heading(self) -> str:
        return _content(self.lines[0])

    def title_and_mark(self, markers: Iterable[str]) -> tuple[str, str]:
        """The heading's title and its trailing status text (``✅ Complete``), if any."""
        rest = self.heading.split(self.label, 1)[1] if self.label in self.heading else ""
        rest = rest.strip().removeprefix("**").strip().lstrip(":-–—").strip()
        rest = rest.removesuffix("**").strip()
        cut = len(rest)
        for marker in markers:
            at = rest.find(marker)
            if 0 < at < cut and not marker.isalpha():
                cut = at
        return rest[:cut].strip().rstrip("-–—:").strip().removesuffix("**").strip(), rest[
            cut:
        ].strip()

    def fields(self) -> dict[str, tuple[int, str, str]]:
        """``key.lower() -> (line index, key as written, value)``: first occurrence wins."""
        found: dict[str, tuple[int, str, str]] = {}
        in_fence = None
        for i in range(1, self.header_end):
            text = _content(self.lines[i])
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
        if len(self.lines) > 1:
            match = _META.fullmatch(_content(self.lines[1]))
            if match:
                return dict(_META_PAIR.findall(match.group("body")))
        return {}

    @property
    def name(self) -> str:
        """How to address this section: its id, with ``#n`` when the id occurs more than once."""
        return self.id if self.occurrence == 0 else f"{self.id}#{self.occurrence + 1}"


@dataclass
class Document:
    blocks: list[list[str] | Section] = field(default_factory=list)

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

    def match(self, line: str) -> tuple[int, str, str] | None:
        """``(level, id, label)`` when ``line`` starts a section."""
        text = _content(line)
        if not text.startswith("#"):
            return None
        prefix = self._prefix.match(text)
        if prefix is None:
            return None
        for label in self._labels:
            m = label.match(text, prefix.end())
            if m is not None:
                return len(prefix.group("hashes")), m.group("id"), m.group("label")
        return None

    def parse(self, text: str) -> Document:
        lines = split_lines(text)
        doc = Document()
        current: list[str] = []
        section: Section | None = None
        seen: dict[str, int] = {}
        fence: str | None = None
        conflict = False

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
            text_ = _content(line)
            if fence is not None:
                if _closes(fence, text_):
                    fence = None
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
            if text_.startswith(("<<<<<<< ", ">>>>>>> ")) or text_ in ("<<<<<<<", ">>>>>>>"):
                conflict = text_.startswith("<")
            # Inside a conflict hunk a "=======" line is the separator, not a setext underline.
            heading = (
                None if conflict and text_.rstrip() == "=======" else _heading_level(text_, current)
            )
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
        return doc


def _heading_level(text: str, before: list[str]) -> int | None:
    atx = _ATX.match(text)
    if atx:
        return len(atx.group(1))
    setext = _SETEXT.match(text)
    if setext and before and not _NOT_PARAGRAPH.match(_content(before[-1])):
        return 1 if setext.group(1)[0] == "=" else 2
    return None


def _paragraph_length(lines: list[str]) -> int:
    n = 0
    while n < len(lines) - 1 and not _NOT_PARAGRAPH.match(_content(lines[len(lines) - 1 - n])):
        n += 1
    return n


def unfenced(text: str) -> Iterator[str]:
    """The lines of a markdown text, with fenced code blocks blanked (line numbers kept)."""
    fence: str | None = None
    for line in text.splitlines():
        content = _content(line)
        if fence is not None:
            if _closes(fence, content):
                fence = None
            yield ""
            continue
        opening = _FENCE.match(content)
        if opening:
            fence = opening.group(1)
            yield ""
            continue
        yield line


# ---------------------------------------------------------------- finding and editing


def find(doc: Document, name: str) -> Section:
    """A section by id (``1.5``), label (``PRIORITY 1.5``) or ``id#n`` for the n-th duplicate."""
    wanted = name.strip()
    occurrence: int | None = None
    if "#" in wanted:
        wanted, _, nth = wanted.rpartition("#")
        if not nth.isdigit() or int(nth) < 1:
            raise UsageError(f"bad section name {name!r}: use ID or ID#N (N from 1)")
        occurrence = int(nth) - 1
    sections = doc.sections
    if not sections:
        raise NotFound("no section heading matches the configured pattern in the roadmap")
    label = " ".join(wanted.split()).upper()
    hits = [s for s in sections if wanted == s.id or label == " ".join(s.label.split()).upper()]
    if occurrence is not None:
        hits = [s for s in hits if s.occurrence == occurrence]
    if not hits:
        raise NotFound(f"no section {name!r} in the roadmap")
    if len(hits) > 1:
        choices = ", ".join(f"{s.name} (line {s.line_no})" for s in hits)
        raise UsageError(f"section {name!r} is ambiguous: {choices}")
    return hits[0]


def check_value(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise UsageError("a roadmap field value must be one line (it contains a newline)")
    return value


def set_field(section: Section, key: str, value: str, newline: str) -> None:
    check_value(value)
    if not re.fullmatch(r"[^*\r\n:]+", key):
        raise UsageError(f"bad field name {key!r}")
    hit = section.fields().get(key.lower())
    if hit is not None:
        index, _, old = hit
        line = section.lines[index]
        prefix = line[: line.index("**:") + 3]
        spacing = " " if old or value else ""
        section.lines[index] = f"{prefix}{spacing}{value}{_ending(line)}"
        return
    fields = section.fields()
    after = max((i for i, _, _ in fields.values()), default=1 if section.meta() else 0)
    if not section.lines[after].endswith("\n"):
        section.lines[after] += newline
    section.lines.insert(after + 1, f"**{key}**: {value}{newline}")
    section.header_end += 1


def stamp(
    section: Section, version: int, last_modified: str, modified_by: str, newline: str
) -> None:
    line = (
        f"<!-- gitstore: version={version} last_modified={last_modified} "
        f"modified_by={modified_by} -->"
    )
    if section.meta():
        section.lines[1] = line + (_ending(section.lines[1]) or newline)
    else:
        if not section.lines[0].endswith("\n"):
            section.lines[0] += newline
        section.lines.insert(1, line + newline)
        section.header_end += 1


def status_meaning(status: str | None, statuses: dict[str, tuple[str, ...]]) -> str | None:
    if not status:
        return None
    lowered = status.lower()
    for meaning, markers in statuses.items():
        if any(marker.lower() in lowered for marker in markers):
            return meaning
    return None


def new_section(
    level: int, label: str, title: str, fields: dict[str, str], newline: str
) -> list[str]:
    lines = [f"{'#' * level} {label}: {check_value(title)}{newline}"]
    lines += [f"**{k}**: {check_value(v)}{newline}" for k, v in fields.items()]
    return [*lines, newline]


def insert(doc: Document, lines: list[str], parser: Parser, after: Section | None) -> None:
    """Insert a parsed section's lines after ``after`` (or at the end) and re-index."""
    blocks = doc.blocks
    at = blocks.index(after) + 1 if after is not None else len(blocks)
    previous = blocks[at - 1] if at else None
    if previous is not None:
        tail = previous.lines if isinstance(previous, Section) else previous
        if tail and not tail[-1].endswith("\n"):
            tail[-1] += doc.newline
    blocks.insert(at, lines)
    reindex(doc, parser)


def reindex(doc: Document, parser: Parser) -> None:
    """Re-parse after a structural edit (cheap, and the single source of section boundaries)."""
    doc.blocks = parser.parse(doc.render()).blocks
