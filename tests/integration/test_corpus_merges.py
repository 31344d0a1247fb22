"""The corpus's 14 real ROADMAP.md merges replayed through the driver, next to git merge-file."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from gitstore.roadmap import Parser
from tests.conftest import SHARED

MERGES = SHARED / "corpus" / "roadmap" / "merges"
BENCH = Path(__file__).resolve().parents[2] / "bench" / "replay_merges.py"


@pytest.mark.skipif(
    not MERGES.is_dir(), reason=f"corpus not found at {MERGES} (../shared is absent)"
)
def test_real_merges(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("replay_merges", BENCH)
    assert spec and spec.loader
    replay = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = replay  # dataclasses look their module up there
    spec.loader.exec_module(replay)
    parser = Parser()
    rows = []
    folders = sorted(MERGES.iterdir())
    assert len(folders) == 14
    for folder in folders:
        r = replay.replay(folder, parser)
        if r.git_hunks == 0:
            assert r.hunks == 0, f"{r.name}: git merge-file merges it cleanly, the driver did not"
        assert r.lost == [], f"{r.name}: sections changed on one side only were lost: {r.lost}"
        assert r.lines <= r.git_lines, f"{r.name}: wider conflicts than git's"
        rows.append(f"{r.name}: git {r.git_hunks}/{r.git_lines}, gitstore {r.hunks}/{r.lines}")
    with capsys.disabled():
        print("\n[corpus merges] hunks/lines " + "; ".join(rows))
