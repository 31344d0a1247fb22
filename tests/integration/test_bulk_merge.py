"""Issue 12, item 2: `gitstore merge` merges every two-sided store file in one process and leaves
exactly what `git merge` leaves with the per-file driver.

Each case builds two branches, copies the repository twice, runs plain `git merge` (the driver
registered by `gitstore init`) in one copy and `gitstore merge` in the other, from the same
commits and in both directions, and compares everything: every file's bytes and mode, the index
(stages and all), the commit's tree, parents and message, MERGE_MSG, and what
`gitstore conflicts` reports.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitstore import Store
from gitstore.merge import bulk, many
from gitstore.workflow import conflicts
from tests.conftest import flag_status, git, gitstore
from tests.integration.test_git_merge import run_git

Change = Callable[[Path], None]
COUNT = 8


def path_of(i: int) -> str:
    return f"records/tasks/T-{i}.yaml"


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-verify", "--allow-empty", "-m", message)


@pytest.fixture
def repo(store_dir: Path) -> Path:
    config = store_dir / "gitstore.yaml"
    owner = "      owner:\n        type: str\n"
    assert owner in config.read_text()
    config.write_text(config.read_text().replace(owner, owner + "        merge: flag\n"))
    store = Store.open(store_dir)
    for i in range(1, COUNT + 1):
        store.put(
            "tasks",
            {"id": f"T-{i}", "title": f"Task {i}", "status": "todo", "tags": ["a"], "notes": "x\n"},
        )
    (store_dir / "ROADMAP.md").write_text(
        "# Roadmap\n\n"
        + "".join(
            f"### PRIORITY {i}: Item {i}\n**Status**: 📝 Planned\n\nBody.\n\n" for i in (1, 2)
        )
        + "".join(
            f"### PRIORITY {i}: Item {i}\n**Status**: 📝 Planned\n\nBody.\n\n" for i in (3, 4)
        )
    )
    (store_dir / "docs").mkdir()
    (store_dir / "docs/notes.txt").write_text("".join(f"line {i}\n" for i in range(10)))
    (store_dir / "docs/clash.txt").write_text("same\n")
    commit(store_dir, "base")
    git(store_dir, "branch", "other")
    return store_dir


def on(root: Path, branch: str, *changes: Change) -> None:
    git(root, "checkout", "-q", branch)
    for change in changes:
        change(root)
    commit(root, f"changes on {branch}")
    git(root, "checkout", "-q", "main")


def cli(i: int, **values: Any) -> Change:
    def change(root: Path) -> None:
        with Store.open(root).update("tasks", f"T-{i}") as rec:
            rec.update(values)

    return change


def hand(path: str, old: str, new: str) -> Change:
    def change(root: Path) -> None:
        text = (root / path).read_bytes().decode()
        assert old in text, text
        (root / path).write_bytes(text.replace(old, new, 1).encode())

    return change


def write(path: str, data: bytes) -> Change:
    def change(root: Path) -> None:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)

    return change


def put(i: int, title: str) -> Change:
    return lambda root: Store.open(root).put("tasks", {"id": f"T-{i}", "title": title})


def remove(path: str) -> Change:
    return lambda root: (root / path).unlink()


def executable(path: str) -> Change:
    return lambda root: (root / path).chmod(0o755)


# ---------------------------------------------------------------- running both and comparing


def state(root: Path) -> dict[str, Any]:
    """Everything a merge leaves that a person or the next command can see."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in (".git", ".gitstore") or (path.is_dir() and not path.is_symlink()):
            continue
        info = path.lstat()
        data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
        files[str(rel)] = (data, stat.S_IMODE(info.st_mode) & 0o111 != 0)
    merge_msg = root / ".git" / "MERGE_MSG"
    return {
        "files": files,
        "index": git(root, "ls-files", "-s", "-z"),
        "merging": (root / ".git" / "MERGE_HEAD").exists(),
        "merge_msg": merge_msg.read_bytes() if merge_msg.exists() else None,
        "tree": git(root, "rev-parse", "HEAD^{tree}"),
        "parents": git(root, "log", "-1", "--format=%P"),
        "message": git(root, "log", "-1", "--format=%B"),
        "conflicts": conflicts(Store.open(root)),
        "attributes": (root / ".git/info/attributes").exists(),
    }


def both_ways(root: Path, **env: str) -> list[dict[str, Any]]:
    """Merge other into main and main into other, each by `git merge` and by `gitstore merge`;
    assert the two leave the same; return gitstore's reports."""
    reports = []
    for into, other in (("main", "other"), ("other", "main")):
        plain, ours = root.parent / "plain", root.parent / "bulk"
        for copy in (plain, ours):
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(root, copy, symlinks=True)
            git(copy, "checkout", "-q", "--detach", into)
        by_git = run_git(plain, "merge", "--no-edit", other, env=env)
        by_us = gitstore("merge", other, "--json", cwd=ours, env=env)
        assert by_us.returncode in (0, 1), by_us.stdout + by_us.stderr
        assert (by_git.returncode == 0) == (by_us.returncode == 0), (
            by_git.stdout + by_git.stderr + by_us.stdout + by_us.stderr
        )
        expected, got = state(plain), state(ours)
        for key in expected:
            if key == "files":
                for name in sorted(set(expected["files"]) | set(got["files"])):
                    assert got["files"].get(name) == expected["files"].get(name), name
            assert got[key] == expected[key], key
        report = json.loads(by_us.stdout)
        if report["how"] == "bulk":  # and the driver said the same about each file
            prefix = "gitstore merge-driver: "
            said = [
                line[len(prefix) :].split(": ", 1)
                for line in by_git.stderr.splitlines()
                if line.startswith(prefix)
            ]
            expected_notes = sorted((n[0], n[1]) for n in said if len(n) == 2)
            notes = sorted(
                (n["path"], n["note"])
                for n in report["notes"]
                if "\n" not in n["path"] and not n["note"].startswith("git merge-file: ")
            )
            assert notes == expected_notes
        reports.append(report)
    return reports


# ---------------------------------------------------------------- cases


def test_conflicts_of_every_kind_are_left_exactly_as_the_driver_leaves_them(repo: Path) -> None:
    on(
        repo,
        "main",
        cli(1, status="doing"),
        cli(2, status="done"),
        hand(path_of(3), "status: todo", "status: blocked"),
        cli(4, owner="alice"),
        cli(5, notes="x\nours\n"),
        hand(path_of(6), "title: Task 6", "title: 'Task 6"),  # does not parse: a line merge
        cli(7, tags=["a", "b"]),
        write(path_of(8), b"id: T-8\0binary\n"),  # not text: a line merge
        put(20, "made on main"),  # add/add
        hand("ROADMAP.md", "Item 1\n**Status**: 📝 Planned", "Item 1\n**Status**: ✅ Complete"),
        hand("docs/notes.txt", "line 1\n", "line one\n"),
        hand("docs/clash.txt", "same", "ours"),
    )
    on(
        repo,
        "other",
        cli(1, owner="bob"),
        cli(2, status="blocked"),
        cli(3, status="done"),
        cli(4, owner="carol"),  # a flag field: a conflict
        cli(5, notes="x\ntheirs\n"),
        cli(6, status="doing"),
        cli(7, tags=["a", "c"]),
        cli(8, status="doing"),
        put(20, "made on other"),
        hand("ROADMAP.md", "Item 3\n**Status**: 📝 Planned", "Item 3\n**Status**: 🔄 Doing"),
        hand("docs/notes.txt", "line 8\n", "line eight\n"),
        hand("docs/clash.txt", "same", "theirs"),
    )
    for report in both_ways(repo):
        assert report["how"] == "bulk" and report["merged"] == 10
        assert set(report["conflicts"]) >= {path_of(3), path_of(4), "docs/clash.txt"}
        assert any("conflicting edits of owner" in n["note"] for n in report["notes"])


def test_a_clean_merge_is_committed_with_the_same_tree_and_message(repo: Path) -> None:
    on(
        repo,
        "main",
        *(cli(i, status="doing") for i in range(1, 6)),
        cli(6, notes="x\nours\n"),
        cli(7, tags=["a", "b"]),
        hand("ROADMAP.md", "Item 1\n**Status**: 📝 Planned", "Item 1\n**Status**: ✅ Complete"),
        hand("docs/notes.txt", "line 1\n", "line one\n"),
    )
    on(
        repo,
        "other",
        *(cli(i, owner=f"user{i}") for i in range(1, 6)),
        cli(6, notes="x\ntheirs\n"),
        cli(7, tags=["c", "a"]),
        executable(path_of(7)),  # a mode change merges like git merges it
        hand("ROADMAP.md", "Item 4\n**Status**: 📝 Planned", "Item 4\n**Status**: 🔄 Doing"),
        hand("docs/notes.txt", "line 8\n", "line eight\n"),
    )
    for report in both_ways(repo):
        assert report["how"] == "bulk" and report["merged"] == 8
        assert report["conflicts"] == [] and report["commit"]


def test_delete_versus_modify_and_crlf_records(repo: Path) -> None:
    crlf = (repo / path_of(8)).read_bytes().replace(b"\n", b"\r\n")
    write(path_of(8), crlf)(repo)
    commit(repo, "a CRLF record")
    git(repo, "branch", "-f", "other", "main")
    on(
        repo,
        "main",
        *(cli(i, status="doing") for i in range(1, 6)),
        hand(path_of(8), "status: todo", "status: doing"),
    )
    on(
        repo,
        "other",
        remove(path_of(1)),  # deleted here, edited there: git's modify/delete conflict
        *(cli(i, owner=f"user{i}") for i in range(2, 6)),
        hand(path_of(8), "title: Task 8", "title: Task eight"),
    )
    for report in both_ways(repo):
        assert report["how"] == "bulk"
        assert report["conflicts"] == [path_of(1)]


def test_gitstore_merge_0_and_few_files_leave_it_to_git(repo: Path) -> None:
    on(repo, "main", cli(1, status="doing"))
    on(repo, "other", cli(1, owner="bob"))
    for report in both_ways(repo):
        assert report["how"] == "per-file" and "1 store file" in report["reason"]
    on(repo, "main", *(cli(i, status="done") for i in range(2, 8)))
    on(repo, "other", *(cli(i, owner="bob") for i in range(2, 8)))
    for report in both_ways(repo, GITSTORE_MERGE="0"):
        assert report["how"] == "per-file" and "GITSTORE_MERGE=0" in report["reason"]


def test_a_criss_cross_history_is_merged_by_git_with_the_driver(repo: Path) -> None:
    flag_status(repo)
    commit(repo, "status is flag")
    git(repo, "branch", "-f", "other", "main")
    on(repo, "main", *(cli(i, status="doing") for i in range(1, 7)))
    on(repo, "other", *(cli(i, status="blocked") for i in range(1, 7)))
    a, b = (git(repo, "rev-parse", name).strip() for name in ("main", "other"))
    for branch, other in (("main", b), ("other", a)):
        git(repo, "checkout", "-q", branch)
        assert run_git(repo, "merge", "--no-edit", other).returncode == 1
        for i in range(1, 7):  # settled differently on each side
            gitstore("resolve", f"T-{i}", "--ours", cwd=repo)
        git(repo, "commit", "-q", "--no-edit", "--no-verify")
    git(repo, "checkout", "-q", "main")
    assert len(git(repo, "merge-base", "--all", "main", "other").split()) == 2
    for report in both_ways(repo):
        assert report["how"] == "per-file" and "criss-cross" in report["reason"]
        assert len(report["conflicts"]) == 6  # the virtual base's conflicts are not lost


def test_a_rename_on_one_side_is_merged_by_git_with_the_driver(repo: Path) -> None:
    def rename(root: Path) -> None:
        git(root, "mv", path_of(1), path_of(11))
        hand(path_of(11), "id: T-1", "id: T-11")(root)

    on(repo, "main", *(cli(i, status="doing") for i in range(1, 7)))
    on(repo, "other", rename, *(cli(i, owner="bob") for i in range(2, 7)))
    for report in both_ways(repo):
        assert report["how"] == "per-file" and "rename" in report["reason"]


def test_a_store_in_a_subfolder(tmp_path: Path) -> None:
    from gitstore.initialize import init_store

    top = tmp_path / "project"
    top.mkdir()
    git(top, "init", "-q")
    init_store(top / "planning")
    store = Store.open(top / "planning")
    for i in range(1, 7):
        store.put("tasks", {"id": f"T-{i}", "title": f"Task {i}"})
    commit(top, "base")
    git(top, "branch", "other")
    for branch, field in (("main", "status"), ("other", "owner")):
        git(top, "checkout", "-q", branch)
        for i in range(1, 7):
            with Store.open(top / "planning").update("tasks", f"T-{i}") as rec:
                rec[field] = "doing" if field == "status" else "bob"
        commit(top, branch)
    git(top, "checkout", "-q", "main")
    plain, ours = tmp_path / "plain", tmp_path / "ours"
    for copy in (plain, ours):
        shutil.copytree(top, copy, symlinks=True)
    assert run_git(plain, "merge", "--no-edit", "other").returncode == 0
    res = gitstore("merge", "other", "--json", cwd=ours / "planning")
    assert res.returncode == 0 and json.loads(res.stdout)["how"] == "bulk", res.stdout + res.stderr
    assert git(plain, "rev-parse", "HEAD^{tree}") == git(ours, "rev-parse", "HEAD^{tree}")


# ---------------------------------------------------------------- random edits


EDITS: list[Callable[[int, str], Change]] = [
    lambda i, side: cli(i, status="doing" if side == "main" else "done"),
    lambda i, side: cli(i, owner=side),
    lambda i, side: cli(i, notes=f"x\n{side}\n"),
    lambda i, side: cli(i, tags=["a", side]),
    lambda i, side: cli(i, title=f"Task {i} by {side}"),
    lambda i, side: hand(
        path_of(i), "status: todo", f"status: {'blocked' if side == 'main' else 'done'}"
    ),
    lambda i, side: hand(path_of(i), f"title: Task {i}\n", f"# {side} was here\ntitle: Task {i}\n"),
    lambda i, side: hand(path_of(i), "notes: |\n  x\n", f"notes: |\n  x\n  {side}\n"),
    lambda i, side: hand(path_of(i), "tags:", f"priority: {3 if side == 'main' else 4}\ntags:"),
    lambda i, side: (
        lambda root: (root / path_of(i)).write_bytes(
            (root / path_of(i)).read_bytes().replace(b"\n", b"\r\n")
        )
    ),
    lambda i, side: hand(path_of(i), f"title: Task {i}", f"title: 'Task {i}"),
]


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.sampled_from(range(len(EDITS))), st.sampled_from(range(len(EDITS)))),
        min_size=COUNT,
        max_size=COUNT,
    )
)
def test_random_edits_on_both_sides_give_the_drivers_bytes(
    store_dir: Path, tmp_path_factory: pytest.TempPathFactory, edits: list[tuple[int, int]]
) -> None:
    root = tmp_path_factory.mktemp("random") / "store"
    shutil.copytree(store_dir, root, symlinks=True)
    store = Store.open(root)
    for i in range(1, COUNT + 1):
        store.put(
            "tasks",
            {"id": f"T-{i}", "title": f"Task {i}", "status": "todo", "tags": ["a"], "notes": "x\n"},
        )
    commit(root, "base")
    git(root, "branch", "-f", "other", "main")
    on(root, "main", *(EDITS[o](i, "main") for i, (o, _) in enumerate(edits, 1)))
    on(root, "other", *(EDITS[t](i, "other") for i, (_, t) in enumerate(edits, 1)))
    for report in both_ways(root):
        assert report["how"] in ("bulk", "per-file")


# ---------------------------------------------------------------- hostile trees


def test_links_submodules_and_odd_names_are_left_to_git(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("id: T-9\ntitle: outside\n")
    odd = "records/tasks/T-odd\nname.yaml"
    sha = git(repo, "rev-parse", "HEAD").strip()

    def link(target: str) -> Change:
        def change(root: Path) -> None:
            (root / path_of(2)).unlink(missing_ok=True)
            (root / path_of(2)).symlink_to(target)

        return change

    def gitlink(root: Path) -> None:
        git(root, "update-index", "--add", "--cacheinfo", f"160000,{sha},{path_of(30)}")

    write(path_of(2), b"")(repo)
    link(str(outside))(repo)
    write(odd, (repo / path_of(3)).read_bytes())(repo)
    commit(repo, "a link and an odd name")
    git(repo, "branch", "-f", "other", "main")
    on(repo, "main", *(cli(i, status="doing") for i in range(4, 9)), link("/etc/passwd"))
    on(repo, "other", *(cli(i, owner="bob") for i in range(4, 9)), link("/etc/hostname"))
    git(repo, "checkout", "-q", "main")
    hand(odd, "status: todo", "status: doing")(repo)
    gitlink(repo)
    commit(repo, "odd name and a submodule on main")
    git(repo, "checkout", "-q", "other")
    hand(odd, "title: Task 3", "title: Task three")(repo)
    commit(repo, "odd name on other")
    git(repo, "checkout", "-q", "main")
    for report in both_ways(repo):
        assert report["how"] == "bulk"
        assert path_of(2) in report["conflicts"]  # both changed a link: never read, never merged
    assert outside.read_text() == "id: T-9\ntitle: outside\n"


def test_a_side_over_the_size_limit_goes_to_the_drivers_own_process(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on(repo, "main", *(cli(i, status="doing") for i in range(1, 7)))
    on(repo, "other", *(cli(i, owner="bob") for i in range(1, 7)))
    plain = repo.parent / "plain"
    shutil.copytree(repo, plain, symlinks=True)
    assert run_git(plain, "merge", "--no-edit", "other").returncode == 0
    monkeypatch.setattr(many, "MAX_BLOB", 100)  # every record is "too big" to read here
    report = bulk.merge(Store.open(repo), "other")
    assert report.how == "bulk" and report.merged == 6 and report.commit
    assert git(plain, "rev-parse", "HEAD^{tree}") == git(repo, "rev-parse", "HEAD^{tree}")


def test_a_killed_merge_leaves_nothing_that_outlives_the_next_one(repo: Path) -> None:
    attributes = repo / ".git/info/attributes"
    attributes.write_text(
        "*.bin binary\n# gitstore bulk merge: begin (temporary, pid 999999999; remove it)\n"
        "records/tasks/*.yaml -merge\n# gitstore bulk merge: end\n"
    )
    res = gitstore("doctor", "--json", cwd=repo)
    checks = {c["check"]: c for c in json.loads(res.stdout)}
    assert (
        not checks["merge attributes"]["ok"] and "999999999" in checks["merge attributes"]["detail"]
    )
    on(repo, "main", *(cli(i, status="doing") for i in range(1, 7)))
    on(repo, "other", *(cli(i, owner="bob") for i in range(1, 7)))
    res = gitstore("merge", "other", cwd=repo)
    assert res.returncode == 0, res.stdout + res.stderr
    assert attributes.read_text() == "*.bin binary\n"
    assert "6 store file(s) merged in one process; committed" in res.stdout


def test_a_refused_merge_changes_nothing(repo: Path) -> None:
    on(repo, "main", *(cli(i, status="doing") for i in range(1, 7)))
    on(repo, "other", *(cli(i, owner="bob") for i in range(1, 7)))
    hand(path_of(1), "title: Task 1", "title: uncommitted")(repo)  # git refuses to overwrite
    before = (repo / path_of(1)).read_bytes()
    res = gitstore("merge", "other", cwd=repo)
    assert res.returncode != 0 and "git merge failed" in res.stderr, res.stdout + res.stderr
    assert (repo / path_of(1)).read_bytes() == before
    assert not (repo / ".git/info/attributes").exists()
    assert not (repo / ".git/MERGE_HEAD").exists()
    assert gitstore("merge", "nowhere", cwd=repo).returncode == 2


def test_check_merge_fix_commits_thousands_of_long_paths(store_dir: Path) -> None:
    """The re-merged files are committed with a message that counts them; nothing lists them
    all in one argument (over 128 KiB of paths here: E2BIG before)."""
    count, folder = 1100, store_dir / "records/tasks"
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"T-{i:04d}{'x' * 110}" for i in range(count)]
    for record_id in ids:
        (folder / f"{record_id}.yaml").write_text(f"id: {record_id}\ntitle: t\nstatus: todo\n")
    commit(store_dir, "base")
    git(store_dir, "checkout", "-qb", "other")
    for record_id in ids:
        (folder / f"{record_id}.yaml").write_text(f"id: {record_id}\ntitle: t\nstatus: done\n")
    commit(store_dir, "theirs")
    git(store_dir, "checkout", "-q", "main")
    for record_id in ids:
        path = folder / f"{record_id}.yaml"
        path.write_text(path.read_text() + "owner: bob\n")
    commit(store_dir, "ours")
    # A merge made without the driver: keeps ours, dropping theirs' status everywhere.
    git(store_dir, "merge", "-q", "-s", "ours", "--no-edit", "--no-verify", "other")
    fixed = gitstore("check-merge", "--fix", "--json", cwd=store_dir)
    assert fixed.returncode == 0, fixed.stdout[-500:] + fixed.stderr
    assert len(json.loads(fixed.stdout)["found"]) == count
    message = git(store_dir, "log", "-1", "--format=%B")
    assert (
        message.startswith(f"gitstore: re-merge {count} store file(s)")
        and "and 1080 more" in message
    )
    assert "status: done" in (folder / f"{ids[-1]}.yaml").read_text()
    assert git(store_dir, "status", "--porcelain") == ""
    assert subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=store_dir).returncode == 0


def test_forked_workers_and_small_windows_give_the_same_bytes(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on(
        repo,
        "main",
        *(cli(i, status="doing") for i in range(1, 8)),
        hand(path_of(8), "status: todo", "status: blocked"),
    )
    on(repo, "other", *(cli(i, owner="bob") for i in range(1, 8)), cli(8, status="done"))
    plain = repo.parent / "plain"
    shutil.copytree(repo, plain, symlinks=True)
    assert run_git(plain, "merge", "--no-edit", "other").returncode == 1
    monkeypatch.setattr(many, "POOL_FROM", 2)
    monkeypatch.setattr(many, "WINDOW", 3)
    pools: list[object] = []
    real = many._pool

    def spy(context: many.Context, count: int) -> object:
        pools.append(real(context, count))
        return pools[-1]

    monkeypatch.setattr(many, "_pool", spy)
    report = bulk.merge(Store.open(repo), "other")
    assert pools and pools[0] is not None, "no worker pool was used"
    assert report.how == "bulk" and report.conflicts == [path_of(8)]
    assert state(plain) == state(repo)
