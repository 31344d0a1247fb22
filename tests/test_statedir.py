"""Per-clone runtime state lives under the git dir, where no commit can put a file."""

from __future__ import annotations

import json
from pathlib import Path

from gitstore import Store, fs
from gitstore.doctor import doctor
from gitstore.initialize import init_store
from tests.conftest import git


def test_state_is_under_the_git_dir_not_the_working_tree(store_dir: Path) -> None:
    store = Store.open(store_dir)
    store.put("tasks", {"id": "T-1", "title": "x"})
    assert store.state == store_dir / ".git" / "gitstore"
    assert (store.state / "locks" / "tasks" / "T-1.lock").is_file()
    assert not (store_dir / ".gitstore").exists()


def test_a_store_in_a_subfolder_and_a_linked_worktree_each_have_their_own(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    init_store(repo / "planning")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init", "--no-verify")
    sub = Store.open(repo / "planning")
    assert sub.state == repo / ".git" / "gitstore" / "stores" / "planning"
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"))
    linked = Store.open(tmp_path / "wt" / "planning")
    assert linked.state.parent.parent.parent.parent == repo / ".git" / "worktrees"
    assert linked.state != sub.state


def test_a_store_outside_git_keeps_its_state_beside_the_config(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    (root / "gitstore.yaml").write_text("collections:\n  tasks:\n    path: records/tasks\n")
    assert Store.open(root).state == root / ".gitstore"


def _legacy_journal(store: Store, title: str) -> tuple[Path, Path]:
    store.put("tasks", {"id": "T-1", "title": "old"})
    target = store.path_of("tasks", "T-1")
    temp = fs.write_temp(target, target.read_bytes().replace(b"title: old", title.encode()))
    legacy = store.root / ".gitstore"
    legacy.mkdir()
    entry = {"temp": str(temp.relative_to(store.root)), "target": "records/tasks/T-1.yaml"}
    (legacy / "journal.json").write_text(json.dumps([entry]))
    return target, legacy / "journal.json"


def test_an_older_gitstores_journal_is_finished_when_this_clone_wrote_it(store: Store) -> None:
    target, journal = _legacy_journal(store, "title: new")
    Store.open(store.root)
    assert b"title: new" in target.read_bytes()
    assert not journal.exists()


def test_a_journal_that_arrived_by_git_is_never_replayed(store: Store) -> None:
    target, journal = _legacy_journal(store, "title: planted")
    git(store.root, "add", "-f", ".gitstore/journal.json", "records")
    git(store.root, "commit", "-qm", "planted", "--no-verify")
    Store.open(store.root)
    assert b"title: old" in target.read_bytes()
    assert journal.exists()  # left alone; doctor reports the folder
    checks = {c["check"]: c for c in doctor(store)}
    assert not checks["state folder"]["ok"] and ".gitstore" in checks["state folder"]["detail"]
