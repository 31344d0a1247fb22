"""The roadmap on disk: read, and edit one section at a time under the roadmap's lock.

Each edit is a locked read-modify-write of ROADMAP.md through :mod:`gitstore.fs`, changes only the
lines of the section it means to change, and stamps that section's metadata comment
(``<!-- gitstore: version=N last_modified=... modified_by=... -->``), adding it when absent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gitstore import fs, roadmap
from gitstore.errors import GitStoreError, NotFound, RecordError, UsageError
from gitstore.record import next_clock

if TYPE_CHECKING:
    from gitstore.store import Store

MAX_ROADMAP_BYTES = 16 << 20
T = TypeVar("T")


class Roadmap:
    """``store.roadmap()``: sections of ROADMAP.md by id, and edits that touch only them."""

    def __init__(self, store: Store):
        self.store = store
        config: dict[str, Any] = store.config.raw.get("roadmap") or {}
        headings = list(config.get("headings") or roadmap.DEFAULT_HEADINGS)
        if config.get("story_ids"):
            headings.append(roadmap.STORY_HEADING)
        self.parser = roadmap.Parser(headings)
        statuses = config.get("statuses") or roadmap.DEFAULT_STATUSES
        self.statuses = {k: tuple(v) for k, v in statuses.items()}
        self.new_label = str(config.get("new_label") or "PRIORITY {id}")
        self.path: Path = store.root / store.config.roadmap_path

    def validator(self) -> Any:
        from gitstore.validate import Validator

        config: dict[str, Any] = self.store.config.raw.get("roadmap") or {}
        duplicates = str(config.get("duplicate_ids") or "error")
        return Validator(self.store.config, self.parser, self.statuses, duplicates)

    # ------------------------------------------------------------ reading

    def text(self) -> str:
        try:
            raw = fs.read_bytes(self.path, MAX_ROADMAP_BYTES, root=self.store.root)
        except FileNotFoundError:
            raise NotFound("no roadmap file; create it or run 'gitstore init'", self.path) from None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise RecordError(f"is not UTF-8 text (byte {err.start})", self.path) from None

    def document(self) -> roadmap.Document:
        return self.parser.parse(self.text())

    def describe(self, section: roadmap.Section) -> dict[str, Any]:
        title, mark = section.title_and_mark(m for ms in self.statuses.values() for m in ms)
        status = section.field("Status") or mark or None
        return {
            "id": section.id,
            "name": section.name,
            "label": section.label,
            "title": title,
            "status": status,
            "state": roadmap.status_meaning(status, self.statuses),
            "owner": section.field("Owner"),
            "fields": {key: value.strip() for _, key, value in section.fields().values()},
            "level": section.level,
            "line": section.line_no,
            **_metadata(section.meta()),
        }

    def sections(self) -> list[dict[str, Any]]:
        return [self.describe(s) for s in self.document().sections]

    def get(self, name: str) -> dict[str, Any]:
        return self.describe(self.find(self.document(), name))

    def section_text(self, name: str) -> str:
        return "".join(self.find(self.document(), name).lines)

    def next(self) -> dict[str, Any] | None:
        """The first section whose status means planned (not started)."""
        for section in self.sections():
            if section["state"] == "planned":
                return section
        return None

    # ------------------------------------------------------------ editing

    def find(self, doc: roadmap.Document, name: str) -> roadmap.Section:
        try:
            return roadmap.find(doc, name)
        except GitStoreError as err:
            err.path = err.path or str(self.path)
            raise

    def _edit(self, change: Callable[[roadmap.Document], T]) -> T:
        with self.store.writing("roadmap.lock"):
            before = self.text()
            doc = self.parser.parse(before)
            result = change(doc)
            after = doc.render()
            if after != before:
                data = after.encode("utf-8")
                if len(data) > MAX_ROADMAP_BYTES:
                    raise RecordError(
                        f"would be {len(data)} bytes, over the {MAX_ROADMAP_BYTES}-byte limit; "
                        "nothing was written",
                        self.path,
                    )
                fs.atomic_write(self.path, data, root=self.store.root)
            return result

    def _stamp(
        self, doc: roadmap.Document, section: roadmap.Section, meta: dict[str, str] | None = None
    ) -> None:
        """Bump the section's metadata comment (from ``meta``, the section's before an edit)."""
        meta = section.meta() if meta is None else meta
        version = int(meta["version"]) + 1 if meta.get("version", "").isdigit() else 1
        clock = next_clock(meta.get("last_modified"))
        roadmap.stamp(section, version, clock, self.store.actor, doc.newline)

    def status_text(self, value: str) -> str:
        """A state keyword (planned, in_progress, complete, blocked) or free text."""
        markers = self.statuses.get(value.strip().lower().replace("-", "_").replace(" ", "_"))
        return markers[0] if markers else roadmap.check_value(value.strip())

    def set_fields(self, name: str, values: dict[str, str]) -> dict[str, Any]:
        if not values:
            raise UsageError("nothing to set: give KEY=VALUE")

        def change(doc: roadmap.Document) -> dict[str, Any]:
            section = self.find(doc, name)
            for key, value in values.items():
                value = self.status_text(value) if key.lower() == "status" else value
                roadmap.set_field(section, key, value, doc.newline)
            self._stamp(doc, section)
            return self.describe(section)

        return self._edit(change)

    def set_status(self, name: str, value: str) -> dict[str, Any]:
        return self.set_fields(name, {"Status": value})

    def add(
        self,
        title: str,
        *,
        after: str | None = None,
        status: str = "planned",
        fields: dict[str, str] | None = None,
        section_id: str | None = None,
    ) -> dict[str, Any]:
        def change(doc: roadmap.Document) -> dict[str, Any]:
            sections = doc.sections
            anchor = self.find(doc, after) if after else None
            new_id = section_id or _next_id(s.id for s in sections)
            if any(s.id == new_id for s in sections):
                raise UsageError(f"section {new_id} exists already")
            level = anchor.level if anchor else _usual_level(sections)
            label = self.new_label.format(id=new_id)
            values = {"Status": self.status_text(status)} | dict(fields or {})
            lines = roadmap.new_section(level, label, title, values, doc.newline)
            roadmap.insert(doc, lines, self.parser, anchor)
            section = next(s for s in doc.sections if s.id == new_id)
            if self.parser.match(section.lines[0]) is None:
                raise UsageError(
                    f"new heading {section.heading!r} would not match the heading pattern"
                )
            self._stamp(doc, section)
            return self.describe(section)

        return self._edit(change)

    def move(
        self, name: str, *, after: str | None = None, before: str | None = None
    ) -> dict[str, Any]:
        if (after is None) == (before is None):
            raise UsageError("say where: --after ID or --before ID")

        def change(doc: roadmap.Document) -> dict[str, Any]:
            section = self.find(doc, name)
            target = self.find(doc, after or before or "")
            if target is section:
                raise UsageError("cannot move a section relative to itself")
            doc.blocks.remove(section)
            if not section.lines[-1].endswith("\n"):
                section.lines[-1] += doc.newline
            at = doc.blocks.index(target) + (1 if after else 0)
            if after:
                tail = target.lines
                if not tail[-1].endswith("\n"):
                    tail[-1] += doc.newline
            doc.blocks.insert(at, section)
            self._stamp(doc, section)
            roadmap.reindex(doc, self.parser)
            return self.describe(self.find(doc, section.name))

        return self._edit(change)

    def remove(self, name: str) -> dict[str, Any]:
        def change(doc: roadmap.Document) -> dict[str, Any]:
            section = self.find(doc, name)
            described = self.describe(section)
            doc.blocks.remove(section)
            return described

        return self._edit(change)

    def replace_body(self, name: str, body: str) -> dict[str, Any]:
        """Replace what follows a section's heading, metadata and field lines with ``body``."""

        def change(doc: roadmap.Document) -> dict[str, Any]:
            section = self.find(doc, name)
            head = max(
                (i for i, _, _ in section.fields().values()), default=1 if section.meta() else 0
            )
            lines = roadmap.split_lines(body)
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += doc.newline
            section.lines = section.lines[: head + 1] + lines
            section.header_end = len(section.lines)
            roadmap.reindex(doc, self.parser)  # a body may hold headings that end the section
            section = self.find(doc, section.name)
            self._stamp(doc, section)
            return self.describe(section)

        return self._edit(change)

    def resolve_markers(self, name: str, side: str) -> dict[str, Any]:
        """Keep ``side``'s lines ("ours" or "theirs") in each conflict hunk of one section."""

        def change(doc: roadmap.Document) -> dict[str, Any]:
            section = self.find(doc, name)
            kept, part = [], None
            for line in section.lines:
                if line.startswith("<<<<<<<"):
                    part = "ours"
                elif part is not None and line.startswith("|||||||"):
                    part = "base"
                elif part is not None and line.rstrip("\r\n") == "=======":
                    part = "theirs"
                elif part is not None and line.startswith(">>>>>>>"):
                    part = None
                elif part in (None, side):
                    kept.append(line)
            if kept == section.lines:
                raise NotFound(f"section {name} has no conflict markers", self.path)
            previous = section.meta()
            section.lines = kept
            roadmap.reindex(doc, self.parser)  # the removed hunks may have held headings
            section = self.find(doc, name)
            self._stamp(doc, section, previous)
            return self.describe(section)

        return self._edit(change)

    def replace(self, name: str, text: str) -> dict[str, Any]:
        """Replace a whole section with ``text`` (heading included), e.g. after ``edit``."""

        def change(doc: roadmap.Document) -> dict[str, Any]:
            section = self.find(doc, name)
            parsed = self.parser.parse(text if text.endswith("\n") else text + doc.newline)
            found = parsed.sections
            if len(found) != 1 or parsed.blocks[0] is not found[0] or found[0].id != section.id:
                raise RecordError(
                    f"the edited text must be exactly one section, starting with its heading "
                    f"for {section.label}"
                )
            previous = section.meta()
            section.lines = found[0].lines
            section.header_end = found[0].header_end
            self._stamp(doc, section, previous)
            return self.describe(section)

        return self._edit(change)


def _metadata(meta: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {k: meta[k] for k in ("last_modified", "modified_by") if k in meta}
    if meta.get("version", "").isdigit():
        out["version"] = int(meta["version"])
    return out


def _next_id(ids: Any) -> str:
    numbers = [int(i.split(".")[0]) for i in ids if i.split(".")[0].isdigit()]
    return str(max(numbers, default=0) + 1)


def _usual_level(sections: list[roadmap.Section]) -> int:
    levels = [s.level for s in sections]
    return max(set(levels), key=levels.count) if levels else 3
