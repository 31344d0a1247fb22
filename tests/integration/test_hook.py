"""The hooks under a real `git commit` and `git merge`, and under the real pre-commit framework."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gitstore import Store
from tests.conftest import git

REPO = Path(__file__).resolve().parents[2]
BROKEN = "id: T-1\ntitle: [unclosed\n"


def commit(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-qm", "x", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_a_broken_record_is_refused_and_a_fixed_one_goes_through(store_dir: Path) -> None:
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "ok"})
    git(store_dir, "add", "-A")
    assert commit(store_dir).returncode == 0
    path = store_dir / "records/tasks/T-1.yaml"
    good = path.read_text()
    path.write_text(BROKEN)
    git(store_dir, "add", "-A")
    res = commit(store_dir)
    assert res.returncode != 0
    assert "records/tasks/T-1.yaml:2: yaml: invalid YAML" in res.stdout + res.stderr
    assert "commit refused" in res.stderr
    path.write_text(good.replace("title: ok", "title: fixed").replace("version: 1", "version: 2"))
    git(store_dir, "add", "-A")
    assert commit(store_dir).returncode == 0
    path.write_text(BROKEN)
    git(store_dir, "add", "-A")
    assert commit(store_dir, "--no-verify").returncode == 0  # the user's choice


def test_commit_all_checks_the_index_being_committed(store_dir: Path) -> None:
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "ok"})
    git(store_dir, "add", "-A")
    assert commit(store_dir).returncode == 0
    (store_dir / "records/tasks/T-1.yaml").write_text(BROKEN)  # not staged: `commit -a` stages it
    res = commit(store_dir, "-a")
    assert res.returncode != 0 and "T-1.yaml:2: yaml" in res.stdout + res.stderr


def test_a_version_going_down_is_refused(store_dir: Path) -> None:
    store = Store.open(store_dir)
    store.put("tasks", {"id": "T-1", "title": "ok"})
    old = (store_dir / "records/tasks/T-1.yaml").read_text()
    store.put("tasks", {"id": "T-1", "title": "newer"})
    git(store_dir, "add", "-A")
    assert commit(store_dir).returncode == 0
    (store_dir / "records/tasks/T-1.yaml").write_text(old)
    git(store_dir, "add", "-A")
    res = commit(store_dir)
    assert (
        res.returncode != 0
        and "T-1.yaml:2: version: version 1 is lower than 2 in HEAD" in res.stdout + res.stderr
    )


def test_an_existing_hook_is_chained_and_hooks_path_respected(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q")
    hooks = root / "my-hooks"
    hooks.mkdir()
    git(root, "config", "core.hooksPath", "my-hooks")
    foreign = hooks / "pre-commit"
    foreign.write_text("#!/bin/sh\necho foreign-ran > foreign.txt\n")
    foreign.chmod(0o755)
    assert subprocess.run([sys.executable, "-m", "gitstore", "init"], cwd=root).returncode == 0
    assert (hooks / "pre-commit.legacy").read_text().startswith("#!/bin/sh\necho foreign-ran")
    assert "gitstore-pre-commit-hook" in foreign.read_text()
    assert not (root / ".git" / "hooks" / "pre-commit").exists()
    git(root, "add", "-A")
    assert commit(root).returncode == 0
    assert (root / "foreign.txt").read_text() == "foreign-ran\n"
    again = subprocess.run(
        [sys.executable, "-m", "gitstore", "install"], cwd=root, capture_output=True, text=True
    )
    assert again.returncode == 0 and "already installed" in again.stdout  # idempotent


def test_missing_or_broken_gitstore_fails_loudly(store_dir: Path, tmp_path: Path) -> None:
    hook = store_dir / ".git" / "hooks" / "pre-commit"
    text = hook.read_text()
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "ok"})
    git(store_dir, "add", "-A")
    hook.write_text(
        "\n".join(
            "GITSTORE=/nonexistent/gitstore" if line.startswith("GITSTORE=") else line
            for line in text.splitlines()
        )
        + "\n"
    )
    path_without = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "gitstore").exists()
    )
    res = commit(store_dir, env={"PATH": path_without})
    assert res.returncode != 0 and "'gitstore' command was not found" in res.stderr
    broken = tmp_path / "gitstore"
    broken.write_text("#!/bin/sh\necho 'ImportError: no module named gitstore' >&2\nexit 1\n")
    broken.chmod(0o755)
    hook.write_text(text.replace(text.split("\n")[3], f"GITSTORE={broken}"))
    res = commit(store_dir)
    assert res.returncode != 0 and "ImportError" in res.stderr and "commit refused" in res.stderr


@pytest.mark.skipif(
    shutil.which("pre-commit") is None
    and not (Path(sys.executable).parent / "pre-commit").exists(),
    reason="the pre-commit framework is not installed (pip install pre-commit)",
)
def test_the_pre_commit_framework_runs_our_hook(store_dir: Path, tmp_path: Path) -> None:
    # A copy of this repository as the hook repo, committed, as pre-commit expects.
    hook_repo = tmp_path / "hook-repo"
    shutil.copytree(
        REPO,
        hook_repo,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "__pycache__",
            "*.egg-info",
            ".hypothesis",
            ".pytest_cache",
            ".mypy_cache",
            ".ruff_cache",
        ),
    )
    git(hook_repo, "init", "-q")
    git(hook_repo, "add", "-A")
    git(hook_repo, "commit", "-qm", "hooks")
    (store_dir / "records/tasks").mkdir(parents=True)
    (store_dir / "records/tasks/T-1.yaml").write_text(BROKEN)
    git(store_dir, "add", "-A")
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}

    def try_repo() -> subprocess.CompletedProcess[str]:
        argv = [
            pre_commit,
            "try-repo",
            str(hook_repo),
            "gitstore-validate",
            "--files",
            "records/tasks/T-1.yaml",
        ]
        return subprocess.run(
            argv, cwd=store_dir, capture_output=True, text=True, env=env, timeout=600
        )

    res = try_repo()
    assert res.returncode == 1, res.stdout + res.stderr
    assert "records/tasks/T-1.yaml:2: yaml: invalid YAML" in res.stdout
    (store_dir / "records/tasks/T-1.yaml").write_text("id: T-1\ntitle: fine\n")
    res = try_repo()
    assert res.returncode == 0, res.stdout + res.stderr


# ---------------------------------------------------------------- ways past the hook

GOOD = "id: T-1\ntitle: ok\n"


def committed(store_dir: Path) -> Path:
    """A store with T-1 committed; returns its records/tasks folder."""
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "ok"})
    git(store_dir, "add", "-A")
    assert commit(store_dir).returncode == 0
    return store_dir / "records" / "tasks"


def _record_to_symlink(root: Path) -> None:
    (root / "outside.yaml").write_text(BROKEN)
    (root / "records/tasks/T-1.yaml").unlink()
    (root / "records/tasks/T-1.yaml").symlink_to("../../outside.yaml")


def _record_to_gitlink(root: Path) -> None:
    nested = root / "records/tasks/T-2.yaml"  # a repository: `git add` makes it a gitlink
    nested.mkdir()
    git(nested, "init", "-q")
    git(nested, "commit", "-q", "--allow-empty", "-m", "x")


def _folder_named_like_a_record(root: Path) -> None:
    (root / "records/tasks/T-9.yaml").mkdir()
    (root / "records/tasks/T-9.yaml/x").write_text(BROKEN)


def _record_in_a_subfolder(root: Path) -> None:
    (root / "records/tasks/old").mkdir()
    (root / "records/tasks/old/T-3.yaml").write_text(BROKEN)


def _symlink_in_the_folder(root: Path) -> None:
    (root / "records/tasks/README.md").symlink_to("/etc/passwd")


@pytest.mark.parametrize(
    ("arrange", "expected"),
    [
        (_record_to_symlink, "records/tasks/T-1.yaml:1: file-type: is a symlink; gitstore never"),
        (_record_to_gitlink, "records/tasks/T-2.yaml:1: file-type: is a submodule"),
        (_folder_named_like_a_record, "records/tasks/T-9.yaml/x:1: layout: is in a subfolder"),
        (_record_in_a_subfolder, "records/tasks/old/T-3.yaml:1: layout: is in a subfolder"),
        (_symlink_in_the_folder, "records/tasks/README.md:1: file-type: is a symlink"),
    ],
    ids=["type change to a symlink", "gitlink", "folder named T-9.yaml", "subfolder", "any link"],
)
def test_links_and_folders_in_a_collection_are_refused(
    store_dir: Path, arrange: Callable[[Path], None], expected: str
) -> None:
    committed(store_dir)
    arrange(store_dir)
    git(store_dir, "add", "-A")
    res = commit(store_dir)
    assert res.returncode != 0 and expected in res.stdout + res.stderr, res.stdout + res.stderr


@pytest.mark.parametrize("link", ["records/tasks", "records"])
def test_a_symlinked_collection_folder_is_refused(store_dir: Path, link: str) -> None:
    elsewhere = store_dir / "elsewhere" / "tasks"
    elsewhere.mkdir(parents=True)
    (elsewhere / "T-1.yaml").write_text(BROKEN)
    target = store_dir / link
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(
        os.path.relpath(elsewhere.parent if link == "records" else elsewhere, target.parent)
    )
    git(store_dir, "add", "-A")
    res = commit(store_dir)
    assert res.returncode != 0, res.stdout + res.stderr
    assert (
        f"{link}:1: file-type: is a symlink; gitstore never follows links"
        in res.stdout + res.stderr
    )


@pytest.mark.parametrize("path", ["./records/tasks", "records//tasks/", "records/tasks/."])
def test_collection_paths_are_normalised(store_dir: Path, path: str) -> None:
    config = store_dir / "gitstore.yaml"
    config.write_text(config.read_text().replace("path: records/tasks", f"path: {path}"))
    git(store_dir, "add", "-A")
    assert commit(store_dir).returncode == 0
    (store_dir / "records/tasks").mkdir(parents=True)
    (store_dir / "records/tasks/T-1.yaml").write_text(BROKEN)
    git(store_dir, "add", "-A")
    res = commit(store_dir)
    assert res.returncode != 0 and "records/tasks/T-1.yaml:2: yaml:" in res.stdout + res.stderr, (
        res.stdout
    )


def _drop_blocked(root: Path) -> None:
    config = root / "gitstore.yaml"
    text = config.read_text()
    assert "values: [todo, doing, done, blocked]" in text
    config.write_text(text.replace("values: [todo, doing, done, blocked]", "values: [todo, done]"))


def test_a_config_change_revalidates_every_record(store_dir: Path) -> None:
    store = Store.open(store_dir)
    store.put("tasks", {"id": "T-1", "title": "a", "status": "doing"})
    store.put("tasks", {"id": "T-2", "title": "b", "status": "done"})
    git(store_dir, "add", "-A")
    assert commit(store_dir).returncode == 0
    _drop_blocked(store_dir)  # T-1 is 'doing': no record file changes, yet it becomes invalid
    git(store_dir, "add", "gitstore.yaml")
    res = commit(store_dir)
    assert res.returncode != 0, res.stdout + res.stderr
    assert (
        "records/tasks/T-1.yaml:6: schema: status: 'doing' is not one of todo, done"
        in res.stdout + res.stderr
    )
    assert "T-2.yaml" not in res.stdout + res.stderr


def test_the_staged_config_applies_not_the_working_trees(store_dir: Path) -> None:
    records = committed(store_dir)
    config = store_dir / "gitstore.yaml"
    lax = config.read_text()
    _drop_blocked(store_dir)
    git(store_dir, "add", "gitstore.yaml")
    config.write_text(lax)  # the working tree says 'doing' is fine; the commit says it is not
    with Store.open(store_dir).update("tasks", "T-1") as rec:
        rec["status"] = "doing"
    git(store_dir, "add", str(records / "T-1.yaml"))
    res = commit(store_dir)
    assert (
        res.returncode != 0 and "T-1.yaml:6: schema: status: 'doing'" in res.stdout + res.stderr
    ), res.stdout
    git(store_dir, "add", "gitstore.yaml")  # stage the lax config back: now it commits
    assert commit(store_dir).returncode == 0


def test_a_broken_staged_config_is_refused(store_dir: Path) -> None:
    committed(store_dir)
    config = store_dir / "gitstore.yaml"
    good = config.read_text()
    config.write_text(good.replace("path: records/tasks", "path: ../outside"))
    git(store_dir, "add", "gitstore.yaml")
    config.write_text(good)  # only the commit's copy is broken
    res = commit(store_dir)
    assert res.returncode != 0
    assert (
        "gitstore.yaml:1: config: collections.tasks.path: '../outside'" in res.stdout + res.stderr
    ), res.stdout


@pytest.mark.parametrize(
    "path", [".gitstore/locks/store.lock", "records/tasks/.gitstore-tmp-T-1.yaml.42.ab12cd34"]
)
def test_runtime_state_is_refused(store_dir: Path, path: str) -> None:
    committed(store_dir)
    (store_dir / path).parent.mkdir(parents=True, exist_ok=True)
    (store_dir / path).write_text("12345 gitstore set\n")
    git(store_dir, "add", "-f", path)
    res = commit(store_dir)
    assert res.returncode != 0, res.stdout + res.stderr
    out = res.stdout + res.stderr
    assert (
        f"{path}:1: runtime-state: runtime state must not be committed; git rm --cached it" in out
    )


def test_a_secret_written_with_yaml_escapes_is_refused(store_dir: Path) -> None:
    records = committed(store_dir)
    (records / "T-2.yaml").write_text('id: T-2\ntitle: x\nowner: "AKIA\\x49OSFODNN7EXAMPLE"\n')
    git(store_dir, "add", "-A")
    res = commit(store_dir)
    assert res.returncode != 0
    assert (
        "records/tasks/T-2.yaml:3: secret: looks like an AWS access key id"
        in res.stdout + res.stderr
    )


def test_ids_that_collide_on_case_insensitive_file_systems_are_refused(store_dir: Path) -> None:
    config = store_dir / "gitstore.yaml"
    config.write_text(config.read_text() + "  notes:\n    path: records/notes\n")
    notes = store_dir / "records" / "notes"
    notes.mkdir(parents=True)
    (notes / "abc.yaml").write_text("id: abc\n")
    git(store_dir, "add", "-A")
    assert commit(store_dir).returncode == 0
    (notes / "ABC.yaml").write_text("id: ABC\n")
    git(store_dir, "add", "-A")
    res = commit(store_dir)
    assert res.returncode != 0
    assert (
        "records/notes/ABC.yaml:1: id-collision: collides with abc.yaml on case-insensitive "
        "file systems (macOS, Windows); rename one"
    ) in res.stdout + res.stderr


def test_a_clean_merge_the_merged_schema_rejects_is_refused(store_dir: Path) -> None:
    store = Store.open(store_dir)
    store.put("tasks", {"id": "T-1", "title": "a"})
    git(store_dir, "add", "-A")
    assert commit(store_dir).returncode == 0
    git(store_dir, "checkout", "-qb", "other")
    with store.update("tasks", "T-1") as rec:
        rec["status"] = "doing"  # valid here
    git(store_dir, "commit", "-qam", "doing")
    git(store_dir, "checkout", "-q", "main")
    _drop_blocked(store_dir)  # no 'doing' any more: each branch alone is valid
    git(store_dir, "commit", "-qam", "fewer states")
    res = subprocess.run(
        ["git", "merge", "--no-edit", "other"], cwd=store_dir, capture_output=True, text=True
    )
    assert res.returncode != 0, res.stdout + res.stderr
    assert "records/tasks/T-1.yaml:6: schema: status: 'doing'" in res.stdout + res.stderr
    assert "gitstore pre-merge-commit: commit refused" in res.stderr
    assert git(store_dir, "rev-parse", "HEAD^@").count("\n") == 1  # no merge commit was made
    git(store_dir, "merge", "--abort")
    res = subprocess.run(
        ["git", "merge", "--no-edit", "--no-verify", "other"], cwd=store_dir, capture_output=True
    )
    assert res.returncode == 0  # the user's choice, as for a commit


def test_the_hook_run_as_its_own_legacy_copy_does_not_call_itself(store_dir: Path) -> None:
    """What the pre-commit framework does when it is installed after gitstore: it moves our
    hook to pre-commit.legacy and calls that. Our hook must then not exec pre-commit.legacy,
    which is itself (that looped forever)."""
    hooks = store_dir / ".git" / "hooks"
    (hooks / "pre-commit").rename(hooks / "pre-commit.legacy")
    framework = hooks / "pre-commit"
    framework.write_text('#!/bin/sh\nexec "$(dirname "$0")/pre-commit.legacy" "$@"\n')
    framework.chmod(0o755)
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "ok"})
    git(store_dir, "add", "-A")
    done = subprocess.run(
        ["git", "commit", "-qm", "x"], cwd=store_dir, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_a_gitstore_file_in_the_work_tree_is_never_run_by_the_hook(store_dir: Path) -> None:
    """The shipped hook names the command `gitstore`: it is looked up in PATH, never run (or
    even tested) as a file of that name at the top of the work tree, which a commit can bring."""
    from gitstore.hook import script

    hook = store_dir / ".git" / "hooks" / "pre-commit"
    hook.write_text(script("gitstore", ".", "pre-commit"))
    planted = store_dir / "gitstore"
    planted.write_text("#!/bin/sh\ntouch PWNED\nexit 0\n")
    planted.chmod(0o755)
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "ok"})
    (store_dir / "records/tasks/T-2.yaml").write_text("id: T-2\ntitle: [broken\n")
    git(store_dir, "add", "-A")
    bin_dir = str(Path(sys.executable).parent)  # where the real gitstore script is
    res = commit(store_dir, env={"PATH": os.pathsep.join([bin_dir, os.environ["PATH"]])})
    assert res.returncode != 0 and "T-2.yaml" in res.stderr  # the real validation ran
    assert not (store_dir / "PWNED").exists()
