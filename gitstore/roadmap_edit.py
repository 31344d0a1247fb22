"""Edits of a parsed ROADMAP.md, one section at a time: what ``gitstore roadmap ...`` does to the
text. Pure: a :class:`~gitstore.roadmap.Document` in, the same document changed; no I/O, no lock.

:class:`gitstore.roadmap_store.Roadmap` runs each of these under the roadmap's lock on the file;
the property tests run them on text directly. Every edit changes only the lines it means to change
and stamps the section's metadata comment (``<!-- gitstore: id=... version=N ... -->``), giving a
section its stable id the first time gitstore touches it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from gitstore.errors import NotFound, RecordError, UsageError
from gitstore.roadmap import (
    Document,
    Parser,
    Section,
    content_uid,
    ending,
    meta_line,
    split_lines,
)

_FIELD_KEY = re.compile(r"[^*\r\n:]+")


def new_uid() -> str:
    """A stable section id: 8 base-32 characters (40 random bits), short enough to type."""
    import base64
    import os

    return base64.b32encode(os.urandom(5)).decode().lower()


def find(doc: Document, name: str) -> Section:
    """A section by id (``1.5``), label (``PRIORITY 1.5``), ``id#n`` for the n-th duplicate, or
    the stable id of its metadata comment."""
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
    elif not hits:
        hits = [s for s in sections if s.uid == wanted]
    if not hits:
        raise NotFound(f"no section {name!r} in the roadmap")
    if len(hits) > 1:
        choices = ", ".join(
            f"{s.name} (line {s.line_no}{f', id {s.uid}' if s.uid else ''})" for s in hits
        )
        raise UsageError(f"section {name!r} is ambiguous: {choices}")
    return hits[0]


def check_value(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise UsageError("a roadmap field value must be one line (it contains a newline)")
    return value


def set_field(section: Section, key: str, value: str, newline: str) -> None:
    check_value(value)
    if not _FIELD_KEY.fullmatch(key):
        raise UsageError(f"bad field name {key!r}")
    hit = section.fields().get(key.lower())
    if hit is not None:
        index, _, old = hit
        line = section.lines[index]
        prefix = line[: line.index("**:") + 3]
        spacing = " " if old or value else ""
        section.lines[index] = f"{prefix}{spacing}{value}{ending(line)}"
        return
    fields = section.fields()
    after = max((i for i, _, _ in fields.values()), default=1 if section.meta() else 0)
    if not section.lines[after].endswith("\n"):
        section.lines[after] += newline
    section.lines.insert(after + 1, f"**{key}**: {value}{newline}")
    section.header_end += 1


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


def find_block(doc: Document, name: str) -> int:
    """The index of a block: a section (any name :func:`find` takes), ``(preamble)``, or the text
    between sections, ``(text after ID)`` (as ``gitstore conflicts`` names them)."""
    wanted = name.strip()
    if wanted == "(preamble)":
        if doc.blocks and not isinstance(doc.blocks[0], Section):
            return 0
        raise NotFound("the roadmap has no preamble")
    if wanted.startswith("(text after ") and wanted.endswith(")"):
        at = doc.blocks.index(find(doc, wanted[len("(text after ") : -1])) + 1
        if at < len(doc.blocks) and not isinstance(doc.blocks[at], Section):
            return at
        raise NotFound(f"no text follows section {wanted[12:-1]}")
    return doc.blocks.index(find(doc, wanted))


def block_name(doc: Document, index: int) -> str:
    block = doc.blocks[index]
    if isinstance(block, Section):
        return block.name
    before = [b for b in doc.blocks[:index] if isinstance(b, Section)]
    return f"(text after {before[-1].name})" if before else "(preamble)"


class Editor:
    """The roadmap edits, configured once: heading patterns, statuses, the label ``add`` writes,
    who edits, and the clock (injectable, so tests are deterministic)."""

    def __init__(
        self,
        parser: Parser,
        statuses: dict[str, tuple[str, ...]],
        new_label: str = "PRIORITY {id}",
        actor: str = "",
        clock: Callable[[str | None], str] | None = None,
        uid: Callable[[], str] = new_uid,
    ):
        self.parser = parser
        self.statuses = statuses
        self.new_label = new_label
        self.actor = actor
        self.clock = clock
        self.uid = uid

    def stamp(
        self,
        doc: Document,
        section: Section,
        meta: dict[str, str] | None = None,
        uid: str | None = None,
    ) -> None:
        """Bump the section's metadata comment (from ``meta``, the section's before an edit);
        a section without a stable id gets ``uid`` (see :meth:`identity`)."""
        meta = section.meta() if meta is None else meta
        version = int(meta["version"]) + 1 if meta.get("version", "").isdigit() else 1
        if self.clock is None:
            from gitstore.clock import next_clock

            clock = next_clock(meta.get("last_modified"))
        else:
            clock = self.clock(meta.get("last_modified"))
        uid = meta.get("id") or section.uid or uid or self.uid()
        stamp(section, version, clock, self.actor, doc.newline, uid)

    @staticmethod
    def identity(section: Section) -> str:
        """A section's stable id, or for one that has none the id its text gives it now
        (:func:`gitstore.roadmap.content_uid`): take it *before* changing the section."""
        return section.uid or content_uid(section.lines)

    def status_text(self, value: str) -> str:
        """A state keyword (planned, in_progress, complete, blocked) or free text."""
        markers = self.statuses.get(value.strip().lower().replace("-", "_").replace(" ", "_"))
        return markers[0] if markers else check_value(value.strip())

    def set_fields(self, doc: Document, name: str, values: dict[str, str]) -> Section:
        if not values:
            raise UsageError("nothing to set: give KEY=VALUE")
        section = find(doc, name)
        uid = self.identity(section)
        for key, value in values.items():
            value = self.status_text(value) if key.lower() == "status" else value
            set_field(section, key, value, doc.newline)
        self.stamp(doc, section, uid=uid)
        return section

    def add(
        self,
        doc: Document,
        title: str,
        *,
        after: str | None = None,
        status: str = "planned",
        fields: dict[str, str] | None = None,
        section_id: str | None = None,
    ) -> Section:
        sections = doc.sections
        anchor = find(doc, after) if after else None
        new_id = section_id or _next_id(s.id for s in sections)
        if any(s.id == new_id for s in sections):
            raise UsageError(f"section {new_id} exists already")
        level = anchor.level if anchor else _usual_level(sections)
        label = self.new_label.replace("{id}", new_id)
        values = {"Status": self.status_text(status)} | dict(fields or {})
        lines = new_section(level, label, title, values, doc.newline)
        insert(doc, lines, self.parser, anchor)
        section = next(s for s in doc.sections if s.id == new_id)
        if self.parser.match(section.lines[0]) is None:
            raise UsageError(f"new heading {section.heading!r} would not match the heading pattern")
        self.stamp(doc, section)
        return section

    def move(
        self, doc: Document, name: str, *, after: str | None = None, before: str | None = None
    ) -> Section:
        if (after is None) == (before is None):
            raise UsageError("say where: --after ID or --before ID")
        section = find(doc, name)
        target = find(doc, after or before or "")
        if target is section:
            raise UsageError("cannot move a section relative to itself")
        uid = self.identity(section)
        doc.blocks.remove(section)
        if not section.lines[-1].endswith("\n"):
            section.lines[-1] += doc.newline
        at = doc.blocks.index(target) + (1 if after else 0)
        if after:
            tail = target.lines
            if not tail[-1].endswith("\n"):
                tail[-1] += doc.newline
        doc.blocks.insert(at, section)
        self.stamp(doc, section, uid=uid)
        return self._reindexed(doc, section)

    def remove(self, doc: Document, name: str) -> Section:
        section = find(doc, name)
        doc.blocks.remove(section)
        return section

    def renumber(self, doc: Document, name: str, new_id: str) -> Section:
        """Change the id in a section's heading (``2`` to ``2.5``); the rest of the heading, the
        section's stable id and its body stay."""
        section = find(doc, name)
        new_id = new_id.strip()
        if new_id == section.id:
            raise UsageError(f"section {section.name} is numbered {new_id} already")
        if any(s.id == new_id for s in doc.sections):
            raise UsageError(f"section {new_id} exists already")
        span = self.parser.id_span(section.lines[0])
        assert span is not None  # a section's first line is its heading
        heading = section.lines[0][: span[0]] + new_id + section.lines[0][span[1] :]
        found = self.parser.match(heading)
        if found is None or found[1] != new_id or "\n" in new_id or "\r" in new_id:
            raise UsageError(f"{new_id!r} is not an id the heading pattern accepts")
        uid = self.identity(section)
        section.lines[0] = heading
        self.stamp(doc, section, uid=uid)
        return self._reindexed(doc, section)

    def replace_body(self, doc: Document, name: str, body: str) -> Section:
        """Replace what follows a section's heading, metadata and field lines with ``body``."""
        section = find(doc, name)
        uid = self.identity(section)
        head = max((i for i, _, _ in section.fields().values()), default=1 if section.meta() else 0)
        lines = split_lines(body)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += doc.newline
        section.lines = section.lines[: head + 1] + lines
        section.header_end = len(section.lines)
        section = self._reindexed(doc, section)  # a body may hold headings that end the section
        self.stamp(doc, section, uid=uid)
        return section

    def resolve_markers(self, doc: Document, name: str, side: str) -> Section | None:
        """Keep ``side``'s lines ("ours" or "theirs") in each conflict hunk of one block (a
        section, or the text named ``(preamble)`` / ``(text after ID)``). A hunk right under the
        first line whose sides start with a heading settles that heading: the chosen side's
        heading replaces the first line. The section (stamped), or None for a text block."""
        index = find_block(doc, name)
        block = doc.blocks[index]
        lines = block.lines if isinstance(block, Section) else block
        kept, replaces_first = _keep_side(lines, side, self.parser)
        if kept == lines:
            raise NotFound(f"{name} has no conflict markers")
        if replaces_first:
            kept = kept[1:]
        start = _line_of(doc, index)
        if isinstance(block, Section):
            previous = block.meta()
            uid = self.identity(block)
            block.lines = kept
        else:
            doc.blocks[index] = kept
        reindex(doc, self.parser)  # the removed hunks may have held headings
        resolved = _block_at(doc, start)
        if isinstance(block, Section) and isinstance(resolved, Section):
            self.stamp(doc, resolved, previous, uid)
            return resolved
        return None

    def replace(self, doc: Document, name: str, text: str) -> Section:
        """Replace a whole section with ``text`` (heading included), e.g. after ``edit``."""
        section = find(doc, name)
        parsed = self.parser.parse(text if text.endswith("\n") else text + doc.newline)
        found = parsed.sections
        if len(found) != 1 or parsed.blocks[0] is not found[0] or found[0].id != section.id:
            raise RecordError(
                f"the edited text must be exactly one section, starting with its heading "
                f"for {section.label}"
            )
        previous = section.meta()
        uid = self.identity(section)
        section.lines = found[0].lines
        section.header_end = found[0].header_end
        self.stamp(doc, section, previous, uid)
        return section

    def _reindexed(self, doc: Document, section: Section) -> Section:
        """The same section after re-parsing the document (found by the line it starts on:
        text blocks on either side of a moved section may merge, so indexes shift)."""
        start = _line_of(doc, doc.blocks.index(section))
        reindex(doc, self.parser)
        found = _block_at(doc, start)
        assert isinstance(found, Section)  # its heading still starts a section
        return found


def _line_of(doc: Document, index: int) -> int:
    return sum(len(b.lines if isinstance(b, Section) else b) for b in doc.blocks[:index])


def _block_at(doc: Document, line: int) -> list[str] | Section | None:
    at = 0
    for block in doc.blocks:
        if at == line:
            return block
        at += len(block.lines if isinstance(block, Section) else block)
    return None


def _keep_side(lines: list[str], side: str, parser: Parser) -> tuple[list[str], bool]:
    kept: list[str] = []
    part: str | None = None
    replaces_first = False
    start = -1
    for i, line in enumerate(lines):
        if line.startswith("<<<<<<<"):
            part, start = "ours", i
        elif part is not None and line.startswith("|||||||"):
            part = "base"
        elif part is not None and line.rstrip("\r\n") == "=======":
            part = "theirs"
        elif part is not None and line.startswith(">>>>>>>"):
            part = None
        elif part in (None, side):
            if part is not None and start == 1 and len(kept) == 1 and _is_heading(line, parser):
                replaces_first = True
            kept.append(line)
    return kept, replaces_first


def _is_heading(line: str, parser: Parser) -> bool:
    return parser.match(line) is not None or line.lstrip(" ").startswith("#")


def stamp(
    section: Section,
    version: int,
    last_modified: str,
    modified_by: str,
    newline: str,
    uid: str | None = None,
) -> None:
    """Write the metadata comment under the heading (adding it when absent); the stable id is
    ``uid``, else the one the section has, else none."""
    values = {"id": uid or section.uid or ""}
    values |= {"version": str(version), "last_modified": last_modified, "modified_by": modified_by}
    if not values["id"]:
        del values["id"]
    line = meta_line(values)
    if section.meta():
        section.lines[1] = line + (ending(section.lines[1]) or newline)
    else:
        if not section.lines[0].endswith("\n"):
            section.lines[0] += newline
        section.lines.insert(1, line + newline)
        section.header_end += 1


def _next_id(ids: Iterable[str]) -> str:
    numbers = [int(i.split(".")[0]) for i in ids if i.split(".")[0].isdigit()]
    return str(max(numbers, default=0) + 1)


def _usual_level(sections: list[Section]) -> int:
    levels = [s.level for s in sections]
    return max(set(levels), key=levels.count) if levels else 3
