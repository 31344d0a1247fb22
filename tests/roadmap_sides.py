"""What the roadmap merge tests share: a deterministic editor per side, sections that carry a
token line no edit touches, and ways to read a merged text back by token."""

from __future__ import annotations

import datetime as dt
import itertools
import re

from gitstore.clock import format_time
from gitstore.roadmap import (
    DEFAULT_STATUSES,
    Parser,
    Section,
    conflict_hunks,
)
from gitstore.roadmap_edit import Editor, block_name

PARSER = Parser()
BASE_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TOKEN = re.compile(r"(?:Token |\*\*Token\*\*: )(?P<t>[A-Za-z0-9]+)\.?\r?$")
APPENDIX = "---\n\n## Appendix\n\nNotes.\n"
PHASE = "## Phase 2\n\nPhase notes.\n\n"
HEADING_EDITS = {"renumber", "hand renumber", "hand duplicate", "hand rename"}


def editor(who: str, offset: int = 0) -> Editor:
    ticks = itertools.count(1)
    uids = itertools.count(1)

    def clock(previous: str | None) -> str:
        return format_time(BASE_TIME + dt.timedelta(seconds=offset + 2 * next(ticks)))

    return Editor(
        PARSER, DEFAULT_STATUSES, actor=who, clock=clock, uid=lambda: f"{who}{next(uids):07d}"
    )


def section_text(number: str, title: str, token: str, meta: str = "", body: str = "") -> str:
    body = body or f"Body of {token}, line 1.\nBody of {token}, line 2.\n"
    return (
        f"### PRIORITY {number}: {title}\n{meta}**Status**: 📝 Planned\n\nToken {token}.\n{body}\n"
    )


def lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def by_token(text: str) -> dict[str, str]:
    """token -> the text of the section (or block) holding it, line endings normalised."""
    out: dict[str, str] = {}
    for block in PARSER.parse(lf(text)).blocks:
        lines = block.lines if isinstance(block, Section) else block
        for line in lines:
            if (m := TOKEN.match(line)) and not line.startswith(("<<<<<<<", "=======", ">>>>>>>")):
                out.setdefault(m.group("t"), "".join(lines).rstrip("\n"))
    return out


def substance(section: str) -> str:
    return "\n".join(line for line in section.split("\n") if not line.startswith("<!-- gitstore:"))


def token_lines(text: str) -> list[str]:
    return [line for line in lf(text).split("\n") if TOKEN.match(line)]


def resolve_all(text: str, side: str) -> str:
    """What `gitstore resolve NAME --side` for every name `gitstore conflicts` lists leaves."""
    ed = editor("r")
    doc = PARSER.parse(text)
    for _ in range(50):
        names = [
            block_name(doc, i)
            for i, b in enumerate(doc.blocks)
            if conflict_hunks(b.lines if isinstance(b, Section) else b)
        ]
        if not names:
            break
        ed.resolve_markers(doc, names[0], side)
    return doc.render()
