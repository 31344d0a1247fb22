"""handoff.py: the parse a writer leaves in the record's lock file is used only for exactly the
bytes it was made for, and then gives exactly what parsing them gives."""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given

from gitstore import Store, handoff
from gitstore import store as store_module
from gitstore.record import dumps, loads, same
from tests.test_record import records

REPO = Path(__file__).resolve().parents[1]


@given(records)
def test_a_note_gives_back_exactly_the_data_and_only_for_its_bytes(rec: dict[str, object]) -> None:
    raw = dumps(rec).encode()
    data = loads(raw.decode())
    note = handoff.pack(raw, data, 32)
    if note is None:  # a date: marshal cannot hold it, so no note is left
        assert any(isinstance(v, dt.date) for v in _leaves(data))
        return
    back = handoff.unpack(note, raw, 32)
    assert back is not None and same(back, data) and list(back) == list(data)
    assert handoff.unpack(note, raw + b"\n", 32) is None  # other bytes
    assert handoff.unpack(note, raw, 31) is None  # another depth limit
    for cut in (len(note) - 1, len(handoff.MAGIC) + 3, 5):
        assert handoff.unpack(note[:cut], raw, 32) is None  # torn
    for at in range(len(handoff.MAGIC), len(note), max(1, len(note) // 40)):
        flipped = note[:at] + bytes([note[at] ^ 0x20]) + note[at + 1 :]
        assert handoff.unpack(flipped, raw, 32) is None, at  # any byte changed


def _leaves(value: object) -> list[object]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [value]


def test_types_that_compare_equal_stay_apart() -> None:
    data = {"id": "T-1", "a": 1, "b": 1.0, "c": True, "d": -0.0, "e": math.nan, "f": 10**30}
    raw = b"id: T-1\n"
    back = handoff.unpack(handoff.pack(raw, data, 32) or b"", raw, 32)
    assert back is not None and same(back, data)
    assert [type(v) for v in back.values()] == [type(v) for v in data.values()]
    assert math.copysign(1, back["d"]) == -1


def test_garbage_after_the_hint_is_no_note() -> None:
    raw = b"id: T-1\n"
    for note in (b"", b"#" * 600, handoff.MAGIC, handoff.MAGIC + b"\xff" * 40):
        assert handoff.unpack(note, raw, 32) is None


def _loads_counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def counted(text: str, *args: object, **kwargs: object) -> dict[str, object]:
        calls.append(text)
        return loads(text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store_module, "loads", counted)
    return calls


def test_a_writer_that_waited_leaves_its_parse_and_the_next_one_takes_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put("tasks", {"id": "T-1", "title": "counter", "count": 0})
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.workers", "hold", str(store.root), "0.3"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and json.loads(holder.stdout.readline()) == "holding"
    with store.update("tasks", "T-1") as rec:  # waits for the holder, then writes
        rec["count"] = 1
    assert holder.wait(timeout=30) == 0
    holder.stdout.close()
    note = (store.state / "locks" / "tasks" / "T-1.lock").read_bytes()[256:]
    assert note.startswith(handoff.MAGIC)

    calls = _loads_counted(monkeypatch)
    store._parsed.clear()  # as another process would find the file: not in its cache
    with store.update("tasks", "T-1") as rec:
        assert rec["owner"] == "holder" and rec["count"] == 1  # and nothing to write
    assert calls == []  # the note was taken, nothing parsed

    path = store.path_of("tasks", "T-1")
    path.write_text(path.read_text().replace("count: 1", "count: 7"))  # a hand edit
    store._parsed.clear()
    with store.update("tasks", "T-1") as rec:
        assert rec["count"] == 7  # the note is for the bytes before the edit: parsed
    assert len(calls) == 1
