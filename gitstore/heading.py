"""What a roadmap heading says besides its label: the title, and the status text at its end.

``### 🔴 **PRIORITY 1: Analytics & Observability** ⚡ FOUNDATION`` has the title ``Analytics &
Observability``: when the label opens a bold run, the title is the rest of that run, and the text
after it is decoration in which a status marker is still looked for (``✅ **COMPLETE**``). Without
bold, the title runs to the first status marker that is not a word (``✅``, ``🔄``). Emphasis
markers never reach a title or a status.
"""

from __future__ import annotations

import re


def title_and_mark(heading: str, label: str, markers: tuple[str, ...]) -> tuple[str, str]:
    at = heading.find(label)
    if at < 0:
        return "", ""
    rest = heading[at + len(label) :]
    if heading[:at].endswith("**") and "**" in rest:
        inside, _, tail = rest.partition("**")
        title = _plain(inside)
        if title:
            return title, _mark_in(tail, markers, any_case=True)
        rest = tail  # only the label was bold: **PRIORITY 2**: Title
    rest = _plain(rest)
    cut = len(rest)
    for marker in markers:
        found = rest.find(marker)
        if 0 < found < cut and not marker.isalpha():
            cut = found
    return _plain(rest[:cut]), rest[cut:].strip()


_EMPHASIS = re.compile(r"\*\*")


def _plain(text: str) -> str:
    """Heading text without emphasis markers, outer separators and runs of spaces."""
    text = " ".join(_EMPHASIS.sub("", text).split())
    return text.strip(":-–— \t")


def _mark_in(tail: str, markers: tuple[str, ...], *, any_case: bool = False) -> str:
    """The status text in a heading's tail: from the first marker on, emphasis removed."""
    text = " ".join(_EMPHASIS.sub("", tail).split())
    found = [at for m in markers if (at := _find_marker(text, m, any_case)) >= 0]
    return text[min(found) :].strip() if found else ""


def _find_marker(text: str, marker: str, any_case: bool) -> int:
    """Where ``marker`` is in ``text`` (-1 if not): a word marker only as a whole word."""
    if not any_case:
        return text.find(marker)
    flags = re.IGNORECASE
    pattern = re.escape(marker)
    if marker[:1].isalnum():
        pattern = r"(?<!\w)" + pattern
    if marker[-1:].isalnum():
        pattern += r"(?!\w)"
    hit = re.search(pattern, text, flags)
    return hit.start() if hit else -1
