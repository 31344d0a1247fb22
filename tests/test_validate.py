"""validate.py: every rule on hostile files (with the right line), and no false positives."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from gitstore import Store
from gitstore.errors import RecordError
from gitstore.hook import script
from tests.conftest import SHARED, gitstore

GOOD = "id: T-1\nversion: 2\nlast_modified: 2026-11-22T09:41:07.123456Z\nmodified_by: a\ntitle: ok\nstatus: todo\n"
RULER_ROADMAP = (
    "# Roadmap\n\nSetext title\n=======\n\n### PRIORITY 1: A\n**Status**: 📝 Planned\n\n"
    "```\n<<<<<<< not a conflict\n=======\n>>>>>>> inside a fence\n# not a heading\n```\n"
)

CASES = [
    # (name, file, content, rule, line)
    ("malformed YAML", "records/tasks/T-1.yaml", "id: T-1\ntitle: [x\n", "yaml", 2),
    ("anchor", "records/tasks/T-1.yaml", GOOD + "a: &x 1\nb: *x\n", "anchor", 7),
    ("alias bomb", "records/tasks/T-1.yaml", GOOD + "a: &a [x, x]\nb: &b [*a, *a]\n", "anchor", 7),
    ("tag", "records/tasks/T-1.yaml", GOOD + "x: !!python/object:os.system ls\n", "tag", 7),
    ("flow mapping", "records/tasks/T-1.yaml", GOOD + "x: {a: 1}\n", "flow-mapping", 7),
    ("duplicate key", "records/tasks/T-1.yaml", GOOD + "title: again\n", "duplicate-key", 7),
    ("not UTF-8", "records/tasks/T-1.yaml", b"id: T-1\ntitle: caf\xe9\n", "encoding", 2),
    ("empty", "records/tasks/T-1.yaml", "", "empty", 1),
    ("too big", "records/tasks/T-1.yaml", GOOD + "notes: " + "x" * (1 << 20) + "\n", "size", 1),
    ("id differs", "records/tasks/T-1.yaml", GOOD.replace("id: T-1", "id: T-2"), "id", 1),
    ("missing required", "records/tasks/T-1.yaml", GOOD.replace("title: ok\n", ""), "schema", 1),
    ("wrong type", "records/tasks/T-1.yaml", GOOD + "priority: high\n", "schema", 7),
    (
        "bad enum",
        "records/tasks/T-1.yaml",
        GOOD.replace("status: todo", "status: later"),
        "schema",
        6,
    ),
    ("bad date", "records/tasks/T-1.yaml", GOOD + "due: tomorrow\n", "schema", 7),
    (
        "bad version",
        "records/tasks/T-1.yaml",
        GOOD.replace("version: 2", "version: two"),
        "reserved",
        2,
    ),
    (
        "bad timestamp",
        "records/tasks/T-1.yaml",
        GOOD.replace("2026-11-22T09:41:07.123456Z", "yesterday"),
        "reserved",
        3,
    ),
    ("bad tombstone", "records/tasks/T-1.yaml", GOOD + "deleted: maybe\n", "reserved", 7),
    (
        "conflicts block",
        "records/tasks/T-1.yaml",
        GOOD + "conflicts:\n  status:\n    ours: a\n    theirs: b\n",
        "unresolved-conflict",
        7,
    ),
    (
        "conflict markers",
        "records/tasks/T-1.yaml",
        GOOD + "<<<<<<< ours\nowner: a\n=======\nowner: b\n>>>>>>> theirs\n",
        "conflict-markers",
        7,
    ),
    (
        "private key",
        "records/tasks/T-1.yaml",
        GOOD + "notes: |\n  -----BEGIN RSA PRIVATE KEY-----\n  abc\n",
        "secret",
        8,
    ),
    ("AWS key", "records/tasks/T-1.yaml", GOOD + "owner: AKIAABCDEFGHIJKLMNOP\n", "secret", 7),
    (
        "AWS key, hex escape",
        "records/tasks/T-1.yaml",
        GOOD + 'owner: "AKIA\\x49OSFODNN7EXAMPLE"\n',
        "secret",
        7,
    ),
    (
        "AWS key, unicode escape in a list",
        "records/tasks/T-1.yaml",
        GOOD + 'tags:\n  - ok\n  - "\\u0041KIAIOSFODNN7EXAMPLE"\n',
        "secret",
        7,
    ),
    (
        "GitHub token, escaped in a key",
        "records/tasks/T-1.yaml",
        GOOD + 'extra:\n  "gh\\x70_' + "a" * 36 + '": 1\n',
        "secret",
        7,
    ),
    (
        "id the pattern refuses",
        "records/tasks/X-1.yaml",
        GOOD.replace("T-1", "X-1"),
        "id",
        1,
    ),
    ("GitHub token", "records/tasks/T-1.yaml", GOOD + "owner: ghp_" + "a" * 36 + "\n", "secret", 7),
    (
        "Slack token",
        "records/tasks/T-1.yaml",
        GOOD + "owner: xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx\n",
        "secret",
        7,
    ),
    (
        "unknown field rejected",
        "records/notifications/N-1.yaml",
        "id: N-1\nmessage: hi\nsurprise: 1\n",
        "schema",
        3,
    ),
    (
        "roadmap markers",
        "ROADMAP.md",
        "# R\n\n### PRIORITY 1: A\n<<<<<<< ours\nx\n=======\ny\n>>>>>>> theirs\n",
        "conflict-markers",
        4,
    ),
    ("roadmap secret", "ROADMAP.md", "### PRIORITY 1: A\nkey AKIAABCDEFGHIJKLMNOP\n", "secret", 2),
]


@pytest.mark.parametrize(
    ("name", "file", "content", "rule", "line"), CASES, ids=[c[0] for c in CASES]
)
def test_each_rule_with_its_line(
    store_dir: Path, name: str, file: str, content: str | bytes, rule: str, line: int
) -> None:
    config = store_dir / "gitstore.yaml"
    config.write_text(
        config.read_text().replace(
            '    id_prefix: "N-"\n', '    id_prefix: "N-"\n    extra: reject\n'
        )
    )
    path = store_dir / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    res = gitstore("validate", cwd=store_dir)
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"{file}:{line}: {rule}: " in res.stdout, res.stdout


def test_a_ruler_a_setext_heading_and_markers_in_a_fence_are_fine(store_dir: Path) -> None:
    (store_dir / "ROADMAP.md").write_text(RULER_ROADMAP)
    res = gitstore("validate", cwd=store_dir)
    assert res.returncode == 0, res.stdout


def test_unknown_status_is_a_warning(store_dir: Path) -> None:
    (store_dir / "ROADMAP.md").write_text("### PRIORITY 1: A\n**Status**: someday maybe\n")
    res = gitstore("validate", cwd=store_dir)
    assert res.returncode == 0 and "ROADMAP.md:2: warning: status:" in res.stdout


def test_json_output(store_dir: Path) -> None:
    import json

    (store_dir / "records/tasks").mkdir(parents=True)
    (store_dir / "records/tasks/T-1.yaml").write_text("id: T-1\n")
    res = gitstore("validate", "--json", cwd=store_dir)
    out = json.loads(res.stdout)
    assert res.returncode == 1 and out["problems"][0]["rule"] == "schema"


@pytest.mark.skipif(
    not (SHARED / "corpus").is_dir(), reason="corpus not found (../shared is absent)"
)
def test_no_false_positives_on_the_corpus(store: Store) -> None:
    validator = store.roadmap().validator()  # duplicate headings: warnings by default
    files = sorted((SHARED / "corpus" / "roadmap").rglob("*.md.gz"))
    errors = []
    for path in files:
        errors += [
            p
            for p in validator.check("ROADMAP.md", gzip.decompress(path.read_bytes()))
            if p.severity == "error"
        ]
    assert len(files) == 80 and errors == []


@pytest.mark.parametrize("hook", ["pre-commit", "pre-merge-commit"])
def test_the_shipped_hooks_are_the_installed_ones(hook: str) -> None:
    shipped = (Path(__file__).resolve().parents[1] / "hooks" / hook).read_text()
    assert shipped == script("gitstore", ".", hook)


def test_extra_warn_reports_undeclared_fields_without_failing(store_dir: Path) -> None:
    config = store_dir / "gitstore.yaml"
    config.write_text(config.read_text().replace("    extra: allow ", "    extra: warn  "))
    (store_dir / "records/tasks").mkdir(parents=True)
    (store_dir / "records/tasks/T-1.yaml").write_text("id: T-1\ntitle: x\nsurprise: 1\n")
    res = gitstore("validate", cwd=store_dir)
    assert (
        res.returncode == 0 and "records/tasks/T-1.yaml:3: warning: schema: surprise" in res.stdout
    )


def test_a_secret_is_reported_once(store_dir: Path) -> None:
    (store_dir / "records/tasks").mkdir(parents=True)
    key = "AKIAIOSFODNN7EXAMPLE"
    (store_dir / "records/tasks/T-1.yaml").write_text(
        GOOD + f'owner: {key}\nnotes: "\\x41{key[1:]}"\n'  # verbatim, then escaped
    )
    res = gitstore("validate", cwd=store_dir)
    assert res.stdout.count(": secret: ") == 1 and "T-1.yaml:7: secret:" in res.stdout, res.stdout


# ---------------------------------------------------------------- what the working tree holds


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _folder(path: Path) -> None:
    path.mkdir()
    (path / "x").write_text(GOOD)


def _link(path: Path) -> None:
    (path.parents[2] / "outside.yaml").write_text(GOOD)
    path.symlink_to("../../outside.yaml")


@pytest.mark.parametrize(
    ("make", "rule", "message"),
    [
        (_link, "file-type", "is a symlink; gitstore never follows links"),
        (_fifo, "file-type", "is not a regular file"),
        (_folder, "layout", "is a folder; records are records/tasks/<id>.yaml files"),
    ],
    ids=["symlink", "fifo", "folder"],
)
def test_what_is_not_a_record_file_is_reported_never_followed(
    store_dir: Path, make: Callable[[Path], None], rule: str, message: str
) -> None:
    (store_dir / "records/tasks").mkdir(parents=True)
    (store_dir / "records/tasks/T-1.yaml").write_text(GOOD)
    make(store_dir / "records/tasks/T-9.yaml")
    res = gitstore("validate", cwd=store_dir)  # a FIFO opened blocking would hang: timeout 120 s
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"records/tasks/T-9.yaml:1: {rule}: {message}" in res.stdout, res.stdout
    res = gitstore("validate", "records/tasks/T-9.yaml", cwd=store_dir)  # by name, as pre-commit
    assert res.returncode == 1, res.stdout + res.stderr
    assert "records/tasks/T-9.yaml:1: file-type: " in res.stdout, res.stdout


def test_a_symlinked_collection_folder_is_reported_not_listed(store_dir: Path) -> None:
    elsewhere = store_dir / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "T-1.yaml").write_text("id: T-1\ntitle: [broken\n")
    (store_dir / "records").mkdir()
    (store_dir / "records/tasks").symlink_to("../elsewhere")
    res = gitstore("validate", cwd=store_dir)
    assert res.returncode == 1
    assert res.stdout.splitlines()[0] == (
        "records/tasks:1: file-type: is a symlink; gitstore never follows links"
    )
    assert "yaml" not in res.stdout  # never read through the link
    res = gitstore("validate", "records/tasks/T-1.yaml", cwd=store_dir)
    assert "records/tasks/T-1.yaml:1: file-type: is in records/tasks, which is a symlink" in (
        res.stdout
    )


def test_a_symlinked_records_folder_is_reported_once(store_dir: Path) -> None:
    (store_dir / "elsewhere/tasks").mkdir(parents=True)
    (store_dir / "records").symlink_to("elsewhere")
    res = gitstore("validate", cwd=store_dir)
    assert res.returncode == 1
    assert res.stdout.splitlines()[:-1] == [
        "records:1: file-type: is a symlink; gitstore never follows links"
    ], res.stdout


def test_a_record_is_read_no_further_than_the_limit(store_dir: Path) -> None:
    from gitstore import fs

    (store_dir / "records/tasks").mkdir(parents=True)
    (store_dir / "records/tasks/T-1.yaml").write_text(GOOD)
    path = store_dir / "records/tasks/T-1.yaml"
    assert fs.read_bytes(path, len(GOOD), root=store_dir) == GOOD.encode()
    with pytest.raises(RecordError, match="over the 10-byte limit"):
        fs.read_bytes(path, 10, root=store_dir)
    with pytest.raises(FileNotFoundError):
        fs.read_bytes(path.with_name("T-2.yaml"), 10, root=store_dir)


# ---------------------------------------------------------------- ids


def test_ids_that_collide_or_windows_cannot_hold_are_reported(store_dir: Path) -> None:
    config = store_dir / "gitstore.yaml"
    config.write_text(config.read_text() + "  notes:\n    path: records/notes\n")
    notes = store_dir / "records/notes"
    notes.mkdir(parents=True)
    for name in ("abc", "ABC", "Abc", "CON", "ok"):
        (notes / f"{name}.yaml").write_text(f"id: {name}\n")
    res = gitstore("validate", cwd=store_dir)
    lines = [line for line in res.stdout.splitlines() if line.startswith("records/")]
    assert lines == [
        "records/notes/Abc.yaml:1: id-collision: collides with ABC.yaml on case-insensitive file "
        "systems (macOS, Windows); rename one",
        "records/notes/abc.yaml:1: id-collision: collides with ABC.yaml on case-insensitive file "
        "systems (macOS, Windows); rename one",
        "records/notes/CON.yaml:1: id: bad id 'CON': a reserved device name on Windows "
        "(CON, PRN, AUX, NUL, COM1-9, LPT1-9)",
    ], res.stdout


@pytest.mark.parametrize("setting", [None, "warn", "error", "allow"])
def test_duplicate_numbers_warn_by_default_and_fail_when_configured(
    store_dir: Path, setting: str | None
) -> None:
    if setting:
        config = store_dir / "gitstore.yaml"
        old = "  path: ROADMAP.md"
        config.write_text(config.read_text().replace(old, f"{old}\n  duplicate_ids: {setting}", 1))
    (store_dir / "ROADMAP.md").write_text("### PRIORITY 1: A\n\n### PRIORITY 1: B\n")
    res = gitstore("validate", cwd=store_dir)
    if setting == "allow":
        assert res.returncode == 0 and res.stdout == "", res.stdout
    elif setting == "error":
        assert (
            res.returncode == 1
            and "ROADMAP.md:3: duplicate-id: PRIORITY 1 also at line 1" in res.stdout
        )
    else:
        assert res.returncode == 0, res.stdout
        assert "ROADMAP.md:3: warning: duplicate-id: PRIORITY 1 also at line 1" in res.stdout
