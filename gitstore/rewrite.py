"""Rewriting an existing record file: only the lines of the keys whose value changed.

People's comments, key order and formatting stay exactly as written. A rewrite that replaced
whole one-line values (or a canonical ``clocks:`` block) with ones :mod:`gitstore.record` wrote
cannot read back differently and is trusted; any other is parsed back and compared, type for
type, with what was meant, and what the line edit cannot do goes to ruamel.yaml's round-trip
dumper.
"""

from __future__ import annotations

import re

from gitstore.errors import TYPE_CHECKING
from gitstore.record import META, reads_back, ruamel_dump, same, value_lines
from gitstore.textrules import is_key, is_stamp

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any

_KEY_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*):(?:[ \t]|$)")


def key_spans(lines: list[str]) -> Iterator[tuple[str | None, int, int]]:
    """Top-level ``(key, start, end)`` line spans; key None for a line we do not understand."""
    starts = []
    for i, line in enumerate(lines):
        if line[:1] in ("", " ", "\t", "#", "-", "\n", "\r"):
            continue
        match = _KEY_LINE.match(line)
        starts.append((match.group(1) if match else None, i))
    for n, (key, start) in enumerate(starts):
        end = starts[n + 1][1] if n + 1 < len(starts) else len(lines)
        # Comments and blank lines after a value belong to what follows, not to the value.
        while end > start + 1 and (lines[end - 1].strip() == "" or lines[end - 1][:1] == "#"):
            end -= 1
        yield key, start, end


_QUOTED = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^']|'')*'")
_COMMENT = re.compile(r"(?:^|\s)#")


def _has_comment(span: list[str]) -> bool:
    """Whether replacing these lines would drop a comment (``#`` inside quotes is not one)."""
    if "#" not in (span[0] if len(span) == 1 else "".join(span)):
        return False
    head = span[0].split(":", 1)[1]
    if head.strip()[:1] in ("|", ">"):
        return "#" in head
    return any(_COMMENT.search(_QUOTED.sub("", line)) for line in span)


def rewrite(old_text: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """New text for ``new``, changing only the lines of keys whose value changed. A file with
    CRLF line endings keeps them (every line, new ones too)."""
    if "\r\n" in old_text:
        crlf = old_text.count("\r\n") * 2 > old_text.count("\n")
        text = rewrite(old_text.replace("\r\n", "\n"), old, new)
        return text.replace("\n", "\r\n") if crlf else text
    changed = [k for k in new if k not in old or not same(old[k], new[k])]
    removed = [k for k in old if k not in new]
    if not changed and not removed:
        return old_text
    edit = _surgical(old_text, changed, removed, new)
    if edit is not None:
        text, trusted = edit
        if trusted or reads_back(text, new):
            return text
    return ruamel_dump(old_text, new)


def _one_line_value(line: str) -> bool:
    """Whether a one-line span holds its whole value (a quoted or flow value is closed)."""
    value = line.split(":", 1)[1].strip()
    opener = value[:1]
    closer = {'"': '"', "'": "'", "[": "]"}.get(opener)
    if closer is not None:
        return len(value) > 1 and value.endswith(closer)
    return opener not in ("|", ">", "&", "*", "!", "{")


# Characters str.splitlines breaks lines at besides "\n": a text holding none is split at "\n"
# only, so its lines can be found by regular expressions over the whole text.
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Each top-level line: its key, or "" for one that is not a key line.
_TOPS = re.compile(r"^(?=[^ \t#\-\n])(?:([A-Za-z_][A-Za-z0-9_.-]*):(?:[ \t]|$))?", re.MULTILINE)
_NOT_TOP = frozenset(" \t#-\n")
# Texts this module made, with their top-level keys: an edit of a text whose layout it checked
# gives text of that layout again (each value it writes is one key line and lines indented under
# it, new keys are new, and it writes no other line break), so the next update of the file, which
# starts from that text, need not check it. Kept for the last few texts only.
_checked: dict[str, frozenset[str]] = {}
_made: set[str] = set()  # clocks blocks clocks_lines wrote (canonical), for the same updates


def _surgical(
    old_text: str, changed: list[str], removed: list[str], new: Mapping[str, Any]
) -> tuple[str, bool] | None:
    """The spliced text, and whether it is *trusted*: only whole one-line values were replaced by
    one-line values this module wrote, so reading it back cannot differ (no verification needed).

    What :func:`_surgical_by_lines` gives, without a Python loop over every line: one regular
    expression checks the layout, and only the lines of the keys that change are looked at."""
    present = _checked.get(old_text)
    text = old_text if not old_text or old_text.endswith("\n") else old_text + "\n"
    if present is None:
        if _OTHER_BREAKS.search(old_text):
            return _surgical_by_lines(old_text, changed, removed, new)
        keys = _TOPS.findall(text)
        present = frozenset(keys)
        if "" in present or len(present) != len(keys):
            return None  # a top-level line that is not a key, or a key twice
    spans: dict[str, tuple[int, int, list[str]]] = {}  # key -> start, end, its lines

    def span(key: str) -> tuple[int, int, list[str]]:
        found = spans.get(key)
        if found is None:
            head = key + ":"
            start = 0 if text.startswith(head) else text.index("\n" + head) + 1
            while text[start + len(head)] not in " \t\n":  # a longer key: "a:b" is not "a"
                start = text.index("\n" + head, start) + 1
            end = text.index("\n", start) + 1
            lines = [text[start:end]]
            while end < len(text) and text[end] in _NOT_TOP:
                lines.append(text[end : text.index("\n", end) + 1])
                end += len(lines[-1])
            # Comments and blank lines after a value belong to what follows, not to the value.
            while len(lines) > 1 and (lines[-1].strip() == "" or lines[-1][:1] == "#"):
                end -= len(lines.pop())
            found = spans[key] = (start, end, lines)
        return found

    events: list[tuple[int, int, str, int]] = []  # offset, rank, text put there, where to go on
    appended: list[str] = []
    last: list[str] = []
    after_id: list[str] = []
    trusted = True
    for key in removed + changed:
        lines: list[str] | None = None
        if key in present:
            start, end, lines = span(key)
            if _has_comment(lines):
                return None
            trusted = trusted and (
                (len(lines) == 1 and _one_line_value(lines[0]))
                or (key == "clocks" and ("".join(lines) in _made or _canonical_clocks(lines)))
            )
            events.append((start, 2, "", end))
        if key in new:
            value = value_lines(key, new[key], _block_indent(lines or [], (0, len(lines or []))))
            if value is None or not is_key(key):
                return None
            trusted = trusted and (value.count("\n") == 1 or key == "clocks")
            if key == "clocks" and isinstance(new[key], dict):
                _made.add(value)  # clocks_lines wrote it: canonical
            if lines is not None:
                events[-1] = (start, 2, value, end)
            elif key in META and "id" in present:
                after_id.append(value)
            elif key != "clocks":
                appended.append(value)
            else:
                last.append(value)
    if after_id:
        after_id.sort(key=lambda t: META.index(t.split(":", 1)[0]))
        events.append((span("id")[1], 0, "".join(after_id), -1))
    # New fields go after the others but before the clocks block, which stays last.
    if appended and "clocks" in present:
        events.append((span("clocks")[0], 1, "".join(appended), -1))
        appended = []
    out: list[str] = []
    at = 0
    for offset, _, piece, skip in sorted(events):
        out += (text[at:offset], piece)
        at = max(offset, skip)
    out.append(text[at:])
    made = "".join(out + appended + last)
    if len(_checked) >= 64:
        _checked.clear()
        _made.clear()
    _checked[made] = present.difference(removed).union(changed)
    return made, trusted


def _surgical_by_lines(
    old_text: str, changed: list[str], removed: list[str], new: Mapping[str, Any]
) -> tuple[str, bool] | None:
    """:func:`_surgical` line by line, for text with line breaks other than ``\n``."""
    lines = old_text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    spans = {}
    for key, start, end in key_spans(lines):
        if key is None or key in spans:
            return None
        spans[key] = (start, end)
    replacement: dict[int, str] = {}
    dropped: set[int] = set()
    appended: list[str] = []
    last: list[str] = []
    after_id: list[str] = []
    trusted = True
    for key in removed + changed:
        if key in spans:
            start, end = spans[key]
            if _has_comment(lines[start:end]):
                return None
            trusted = trusted and (
                (end == start + 1 and _one_line_value(lines[start]))
                or (key == "clocks" and _canonical_clocks(lines[start:end]))
            )
            dropped.update(range(start, end))
        if key in new:
            text = value_lines(key, new[key], _block_indent(lines, spans.get(key)))
            if text is None or not is_key(key):
                return None
            trusted = trusted and (text.count("\n") == 1 or key == "clocks")
            if key in spans:
                replacement[spans[key][0]] = text
            elif key in META and "id" in spans:
                after_id.append(text)
            elif key != "clocks":
                appended.append(text)
            else:
                last.append(text)
    # New fields go after the others but before the clocks block, which stays last.
    before_clocks = spans["clocks"][0] if "clocks" in spans else None
    out = []
    for i, line in enumerate(lines):
        if i == before_clocks:
            out += appended
            appended = []
        if i in replacement:
            out.append(replacement[i])
        elif i not in dropped:
            out.append(line)
        if "id" in spans and i == spans["id"][1] - 1:
            out += sorted(after_id, key=lambda t: META.index(t.split(":", 1)[0]))
    return "".join(out + appended + last), trusted


def _canonical_clocks(span: list[str]) -> bool:
    """Whether a ``clocks:`` span is exactly what :func:`clocks_lines` writes (so replacing it
    whole with another such block cannot read back differently)."""
    return span[0] == "clocks:\n" and all(
        line.startswith("  ")
        and line.endswith("\n")
        and is_key(line[2:].split(":", 1)[0])
        and is_stamp(line.split(": ", 1)[-1][:-1])
        and line.count(": ") == 1
        for line in span[1:]
    )


def _block_indent(lines: list[str], span: tuple[int, int] | None) -> str | None:
    """The item indentation of a block list (``key:`` then ``- item`` lines), else None."""
    if span is None or span[1] - span[0] < 2 or lines[span[0]].split(":", 1)[1].strip():
        return None
    item = lines[span[0] + 1]
    stripped = item.lstrip(" ")
    return item[: len(item) - len(stripped)] if stripped.startswith("- ") else None
