"""Hostile input through the real CLI: one clear line, the documented exit code, no byte changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import gitstore, snapshot

GOOD = (
    "id: T-1\nversion: 1\nlast_modified: 2026-11-22T09:41:07.123456Z\nmodified_by: a\ntitle: ok\n"
)
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


def _file(content: bytes | str):  # type: ignore[no-untyped-def]
    def arrange(root: Path) -> None:
        path = root / "records" / "tasks" / "T-1.yaml"
        path.write_bytes(content.encode() if isinstance(content, str) else content)

    return arrange


def _symlink(root: Path) -> None:
    path = root / "records" / "tasks" / "T-1.yaml"
    (root / "elsewhere.yaml").write_text(GOOD)
    path.unlink()
    path.symlink_to(root / "elsewhere.yaml")


def _read_only(root: Path) -> None:
    (root / "records" / "tasks" / "T-1.yaml").chmod(0o444)


CASES = [
    # (name, arrange, argv, exit code, words the one error line must contain)
    (
        "malformed YAML",
        _file("id: T-1\ntitle: [unclosed\n"),
        ["set", "T-1", "status=done"],
        1,
        ["T-1.yaml", "invalid YAML"],
    ),
    ("billion laughs", _file(BOMB), ["set", "T-1", "status=done"], 1, ["T-1.yaml", "anchors"]),
    (
        "python tag",
        _file("id: T-1\ntitle: !!python/object/apply:os.system [ls]\n"),
        ["set", "T-1", "status=done"],
        1,
        ["T-1.yaml", "tags"],
    ),
    (
        "duplicate keys",
        _file(GOOD + "title: again\n"),
        ["set", "T-1", "status=done"],
        1,
        ["T-1.yaml", "duplicate key 'title'"],
    ),
    (
        "flow mapping",
        _file(GOOD + "extra: {a: 1}\n"),
        ["set", "T-1", "status=done"],
        1,
        ["T-1.yaml", "flow mappings"],
    ),
    (
        "10 MiB file",
        _file(GOOD + "notes: " + "x" * (10 << 20) + "\n"),
        ["set", "T-1", "status=done"],
        1,
        ["T-1.yaml", "limit"],
    ),
    (
        "binary bytes",
        _file(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        ["set", "T-1", "status=done"],
        1,
        ["T-1.yaml", "NUL"],
    ),
    (
        "not UTF-8",
        _file(b"id: T-1\ntitle: caf\xe9\n"),
        ["set", "T-1", "status=done"],
        1,
        ["T-1.yaml", "UTF-8"],
    ),
    ("empty file", _file(""), ["set", "T-1", "status=done"], 1, ["T-1.yaml", "empty"]),
    (
        "a list, not a mapping",
        _file("- id: T-1\n"),
        ["set", "T-1", "status=done"],
        1,
        ["T-1.yaml", "not a mapping"],
    ),
    (
        "two documents",
        _file(GOOD + "---\nid: T-2\n"),
        ["set", "T-1", "status=done"],
        1,
        ["T-1.yaml", "invalid YAML"],
    ),
    (
        "id differs from file name",
        _file(GOOD.replace("T-1", "T-2")),
        ["set", "T-1", "status=done"],
        1,
        ["T-1.yaml", "file name"],
    ),
    (
        "wrong type on disk",
        _file(GOOD + "priority: high\n"),
        ["set", "T-1", "status=done"],
        1,
        ["T-1.yaml", "priority"],
    ),
    ("symlinked record", _symlink, ["set", "T-1", "status=done"], 1, ["T-1.yaml", "symlink"]),
    ("read-only record", _read_only, ["set", "T-1", "status=done"], 1, ["T-1.yaml", "read-only"]),
    ("path escape id", None, ["set", "tasks/../../x", "title=x"], 2, ["bad id"]),
    ("absolute id", None, ["add", "tasks", "/etc/passwd", "title=x"], 2, ["bad id", "/etc/passwd"]),
    ("dot-dot id", None, ["add", "tasks", "..", "title=x"], 2, ["bad id"]),
    ("wrong type from CLI", None, ["set", "T-1", "priority=high"], 1, ["priority", "int"]),
    ("unknown enum value", None, ["set", "T-1", "status=later"], 1, ["status", "todo, doing"]),
    ("reserved key", None, ["set", "T-1", "version=99"], 2, ["version", "managed by gitstore"]),
    ("unknown collection", None, ["add", "bogus", "title=x"], 2, ["unknown collection 'bogus'"]),
    ("no KEY=VALUE", None, ["set", "T-1", "justtext"], 2, ["KEY=VALUE", "justtext"]),
    ("bad JSON value", None, ["set", "T-1", "count:={"], 2, ["not valid JSON"]),
    ("missing required field", None, ["add", "tasks", "status=doing"], 1, ["title: required"]),
    (
        "stale --if-version",
        None,
        ["set", "T-1", "status=done", "--if-version", "7"],
        4,
        ["T-1.yaml", "expected 7"],
    ),
]


@pytest.mark.parametrize(
    ("name", "arrange", "argv", "code", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_hostile_input(
    store_dir: Path, name: str, arrange, argv: list[str], code: int, words: list[str]
) -> None:  # type: ignore[no-untyped-def]
    assert gitstore("add", "tasks", "T-1", "title=ok", cwd=store_dir).returncode == 0
    if arrange:
        arrange(store_dir)
    before = snapshot(store_dir)
    mode = os.lstat(store_dir / "records" / "tasks" / "T-1.yaml").st_mode
    res = gitstore(*argv, cwd=store_dir)
    assert res.returncode == code, res.stderr
    lines = res.stderr.splitlines()
    if words:  # usage errors typer reports itself span a box; ours are one line
        assert len(lines) == 1, res.stderr
        assert lines[0].startswith("gitstore: ")
        for word in words:
            assert word in lines[0], lines[0]
    assert "Traceback" not in res.stderr
    assert snapshot(store_dir) == before
    assert os.lstat(store_dir / "records" / "tasks" / "T-1.yaml").st_mode == mode
    assert not list(store_dir.rglob(".gitstore-tmp-*"))


def test_not_a_store_exit_code(tmp_path: Path) -> None:
    res = gitstore("list", "tasks", cwd=tmp_path)
    assert res.returncode == 5
    assert res.stderr.count("\n") == 1 and "not a gitstore" in res.stderr


def test_json_errors(store_dir: Path) -> None:
    import json

    res = gitstore("get", "T-404", "--json", cwd=store_dir)
    assert res.returncode == 1
    err = json.loads(res.stdout)["error"]
    assert err["code"] == "not_found" and err["path"].endswith("T-404.yaml")
