"""The roadmap on disk: read, and edit one section at a time under the roadmap's lock.

Each edit is a locked read-modify-write of ROADMAP.md through :mod:`gitstore.fs`, changes only the
lines of the section it means to change, and stamps that section's metadata comment
(``<!-- gitstore: id=... version=N last_modified=... modified_by=... -->``), adding it when
absent. The edits themselves are :class:`gitstore.roadmap_edit.Editor`'s (pure, on text); this
module is their file, lock and error paths.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gitstore import fs, roadmap, roadmap_edit
from gitstore.clock import next_clock
from gitstore.errors import GitStoreError, NotFound, RecordError

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
        duplicates = str(config.get("duplicate_ids") or "warn")
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
            # unique in the document: the number, or NUMBER#N when the number occurs N times
            # (what every command takes back); "number" is the heading's own number
            "id": section.name,
            "number": section.id,
            "name": section.name,
            "label": section.label,
            "title": title,
            "heading": section.heading,
            "status": status,
            "state": roadmap.status_meaning(status, self.statuses),
            "owner": section.field("Owner"),
            "fields": {key: value.strip() for _, key, value in section.fields().values()},
            "level": section.level,
            "line": section.line_no,
            "uid": section.uid,
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
            return roadmap_edit.find(doc, name)
        except GitStoreError as err:
            err.path = err.path or str(self.path)
            raise

    def editor(self) -> roadmap_edit.Editor:
        return roadmap_edit.Editor(
            self.parser, self.statuses, self.new_label, self.store.actor, next_clock
        )

    def _edit(self, change: Callable[[roadmap.Document], T]) -> T:
        with self.store.writing("roadmap.lock"):
            before = self.text()
            doc = self.parser.parse(before)
            try:
                result = change(doc)
            except GitStoreError as err:
                err.path = err.path or str(self.path)
                raise
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

    def status_text(self, value: str) -> str:
        """A state keyword (planned, in_progress, complete, blocked) or free text."""
        return self.editor().status_text(value)

    def set_fields(self, name: str, values: dict[str, str]) -> dict[str, Any]:
        return self._edit(lambda doc: self.describe(self.editor().set_fields(doc, name, values)))

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
            added = self.editor().add(
                doc, title, after=after, status=status, fields=fields, section_id=section_id
            )
            return self.describe(added)

        return self._edit(change)

    def move(
        self, name: str, *, after: str | None = None, before: str | None = None
    ) -> dict[str, Any]:
        return self._edit(
            lambda doc: self.describe(self.editor().move(doc, name, after=after, before=before))
        )

    def remove(self, name: str) -> dict[str, Any]:
        return self._edit(lambda doc: self.describe(self.editor().remove(doc, name)))

    def renumber(self, name: str, new_id: str) -> dict[str, Any]:
        """Give a section another number (``2`` to ``2.5``); its stable id and text stay."""
        return self._edit(lambda doc: self.describe(self.editor().renumber(doc, name, new_id)))

    def replace_body(self, name: str, body: str) -> dict[str, Any]:
        """Replace what follows a section's heading, metadata and field lines with ``body``."""
        return self._edit(lambda doc: self.describe(self.editor().replace_body(doc, name, body)))

    def resolve_markers(self, name: str, side: str) -> dict[str, Any]:
        """Keep ``side``'s lines ("ours" or "theirs") in each conflict hunk of one section (or of
        the text named ``(preamble)`` / ``(text after ID)``)."""

        def change(doc: roadmap.Document) -> dict[str, Any]:
            section = self.editor().resolve_markers(doc, name, side)
            if section is None:  # text between sections: no metadata to stamp
                return {"name": name, "label": name}
            return self.describe(section)

        return self._edit(change)

    def replace(self, name: str, text: str) -> dict[str, Any]:
        """Replace a whole section with ``text`` (heading included), e.g. after ``edit``."""
        return self._edit(lambda doc: self.describe(self.editor().replace(doc, name, text)))


def _metadata(meta: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {k: meta[k] for k in ("last_modified", "modified_by") if k in meta}
    if meta.get("version", "").isdigit():
        out["version"] = int(meta["version"])
    return out
