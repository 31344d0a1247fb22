"""Issue 10, records: each rule through a real `git merge`, in both directions.

Every case builds two branches from one base, then merges main into other and other into main
(on detached heads, so both merges start from the same two commits) and asserts the rule: the
same bytes either way, or a conflict either way that `gitstore conflicts` names and
`gitstore resolve` settles.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gitstore import Store
from gitstore.clock import format_time
from gitstore.record import loads
from gitstore.workflow import conflicts, resolve
from tests.conftest import flag_status, git, gitstore
from tests.integration.test_git_merge import commit_all, run_git

T1 = "records/tasks/T-1.yaml"
Change = Callable[[Path], None]


@pytest.fixture
def repo(store_dir: Path) -> Path:
    Store.open(store_dir).put(
        "tasks",
        {"id": "T-1", "title": "Fix the loop", "status": "todo", "tags": ["daemon", "p0"]},
    )
    commit_all(store_dir, "base")
    git(store_dir, "branch", "other")
    return store_dir


def new_base(root: Path) -> None:
    """Start ``other`` again from main: what main has now is the base of the next merge."""
    git(root, "branch", "-f", "other", "main")


def on(root: Path, branch: str, *changes: Change) -> None:
    """Make ``changes`` on ``branch``, one commit each."""
    git(root, "checkout", "-q", branch)
    for change in changes:
        change(root)
        commit_all(root, f"change on {branch}")
    git(root, "checkout", "-q", "main")


def cli(**values: object) -> Change:
    """An edit through the Store API (what `gitstore set` does)."""

    def change(root: Path) -> None:
        with Store.open(root).update("tasks", "T-1") as rec:
            rec.update(values)

    return change


def by_hand(old: str, new: str, path: str = T1) -> Change:
    """A hand edit of the file: no metadata changes."""

    def change(root: Path) -> None:
        file = root / path
        text = file.read_bytes().decode()
        assert old in text, text
        file.write_bytes(text.replace(old, new, 1).encode())

    return change


def write(text: str, path: str = T1) -> Change:
    def change(root: Path) -> None:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(text.encode())

    return change


def merge_both(root: Path, path: str = T1) -> list[tuple[int, bytes, str]]:
    """Merge other into main and main into other: (exit code, file bytes, git's output) each."""
    out = []
    for into, other in (("main", "other"), ("other", "main")):
        git(root, "checkout", "-q", "--detach", into)
        res = run_git(root, "merge", "--no-edit", other)
        out.append((res.returncode, (root / path).read_bytes(), res.stdout + res.stderr))
        if res.returncode:
            git(root, "merge", "--abort")
    git(root, "checkout", "-q", "main")
    return out


def clean_both(root: Path, path: str = T1) -> dict[str, object]:
    """Both merges clean and byte-identical; the merged record."""
    (one, a, log_a), (two, b, log_b) = merge_both(root, path)
    assert one == two == 0, log_a + log_b
    assert a == b, (a.decode(), b.decode())
    return loads(a.decode())


def conflict_both(root: Path, path: str = T1) -> list[bytes]:
    """Both merges stop with a conflict that leaves a readable record."""
    results = merge_both(root, path)
    for code, data, log in results:
        assert code == 1, log
        assert "conflicts" in loads(data.decode()), data.decode()
    return [data for _, data, _ in results]


def stop_at_conflict(root: Path, into: str = "main", other: str = "other") -> str:
    git(root, "checkout", "-q", into)
    res = run_git(root, "merge", "--no-edit", other)
    assert res.returncode == 1, res.stdout + res.stderr
    return res.stderr


# ---------------------------------------------------------------- 1. ids


def test_adds_in_two_clones_never_collide(repo: Path) -> None:
    def add(title: str) -> Change:
        return lambda root: gitstore_ok(root, "add", "tasks", f"title={title}")

    on(repo, "main", add("from main"))
    on(repo, "other", add("from other"))
    for code, _, log in merge_both(repo, "gitstore.yaml"):
        assert code == 0 and "CONFLICT" not in log, log
    git(repo, "merge", "-q", "--no-edit", "other")
    titles = sorted(r["title"] for r in Store.open(repo).list("tasks"))
    assert titles == ["Fix the loop", "from main", "from other"]


def gitstore_ok(root: Path, *args: str) -> str:
    res = gitstore(*args, cwd=root)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_add_add_of_one_id_is_a_conflict_keeping_both_versions(repo: Path) -> None:
    # Sequential ids: both clones pick T-2 for two different tasks.
    config = repo / "gitstore.yaml"
    config.write_text(config.read_text().replace("    ids: random ", "    ids: sequential "))
    commit_all(repo, "sequential ids")
    new_base(repo)
    on(repo, "main", lambda r: gitstore_ok(r, "add", "tasks", "title=Write docs", "owner=alice"))
    on(repo, "other", lambda r: gitstore_ok(r, "add", "tasks", "title=Ship it", "priority=1"))
    for data in conflict_both(repo, "records/tasks/T-2.yaml"):
        rec = loads(data.decode())
        block = rec["conflicts"]
        assert set(block) == {"title", "owner", "priority"}
        assert all("base" not in entry for entry in block.values())
    stderr = stop_at_conflict(repo)
    assert "both sides created this record with different content" in stderr
    store = Store.open(repo)
    assert [c.get("id") for c in conflicts(store)] == ["T-2"]
    rec = store.get("tasks", "T-2")
    assert rec["title"] == "Write docs" and rec["owner"] == "alice" and "priority" not in rec
    assert rec["conflicts"]["title"] == {"ours": "Write docs", "theirs": "Ship it"}
    settled = resolve(store, "T-2", side="theirs")
    assert settled["title"] == "Ship it" and settled["priority"] == 1 and "owner" not in settled
    assert conflicts(store) == []


def test_add_add_of_the_same_content_merges(repo: Path) -> None:
    same = {"id": "T-5", "title": "Same", "status": "todo"}
    on(repo, "main", lambda r: Store.open(r, actor="alice").put("tasks", same))
    on(repo, "other", lambda r: Store.open(r, actor="bob").put("tasks", same))
    rec = clean_both(repo, "records/tasks/T-5.yaml")
    assert rec["title"] == "Same" and "conflicts" not in rec


# ---------------------------------------------------------------- 2. comments


def test_hand_comments_survive_an_edit_on_the_other_side(repo: Path) -> None:
    on(
        repo,
        "main",
        by_hand("status: todo\n", "# waiting for bob's review\nstatus: todo\n"),
        by_hand("tags: [daemon, p0]\n", "tags: [daemon, p0]\n\n# a standalone note at the end\n"),
    )
    on(repo, "other", cli(owner="bob"), cli(title="Fix the notification loop"))
    rec = clean_both(repo)
    merged = merge_both(repo)[0][1].decode()
    assert "# waiting for bob's review\nstatus: todo\n" in merged
    assert "# a standalone note at the end\n" in merged
    assert rec["owner"] == "bob" and rec["title"] == "Fix the notification loop"


def test_a_comment_only_edit_survives(repo: Path) -> None:
    on(repo, "main", by_hand("title: Fix the loop\n", "# first note\ntitle: Fix the loop\n"))
    new_base(repo)
    on(repo, "main", by_hand("# first note\n", "# the note, reworded\n"))
    on(repo, "other", cli(status="doing"))
    rec = clean_both(repo)
    merged = merge_both(repo)[0][1].decode()
    assert "# the note, reworded\ntitle: Fix the loop\n" in merged and "# first note" not in merged
    assert rec["status"] == "doing"


# ---------------------------------------------------------------- 3. union


def test_union_has_one_order_and_one_version_whichever_way(repo: Path) -> None:
    on(repo, "main", cli(tags=["daemon", "p0", "beta"]))
    on(repo, "other", cli(tags=["daemon", "p0", "alpha"]))
    rec = clean_both(repo)
    assert rec["tags"] == ["daemon", "p0", "beta", "alpha"]  # the earlier side's first
    assert rec["version"] == 3


def test_a_block_list_stays_a_block_list(repo: Path) -> None:
    on(repo, "main", by_hand("tags: [daemon, p0]\n", "tags:\n- daemon\n- p0\n"))
    new_base(repo)
    on(repo, "main", by_hand("- p0\n", "- p0\n- beta\n"))
    on(repo, "other", cli(tags=["daemon", "p0", "alpha"]))
    rec = clean_both(repo)
    assert rec["tags"] == ["daemon", "p0", "beta", "alpha"]
    assert "tags:\n- daemon\n- p0\n- beta\n- alpha\n" in merge_both(repo)[0][1].decode()


# ---------------------------------------------------------------- 4. text


def test_both_sides_append_a_line_to_notes(repo: Path) -> None:
    on(repo, "main", cli(notes="one\ntwo\n"))
    new_base(repo)
    on(repo, "main", cli(notes="one\ntwo\nfrom main\n"))
    on(repo, "other", cli(notes="one\ntwo\nfrom other\n"))
    rec = clean_both(repo)
    assert rec["notes"] == "one\ntwo\nfrom main\nfrom other\n"


def test_same_line_of_notes_edited_by_hand_on_both_sides_is_a_conflict(repo: Path) -> None:
    on(repo, "main", cli(notes="one\ntwo\nthree\nfour\nfive\n"))
    new_base(repo)
    on(repo, "main", by_hand("  three\n", "  3 from main\n"), by_hand("  one\n", "  ONE\n"))
    on(repo, "other", by_hand("  three\n", "  3 from other\n"), by_hand("  five\n", "  FIVE\n"))
    ours, theirs = (loads(d.decode()) for d in conflict_both(repo))
    # Both sides' other lines are kept in both versions; only the line both edited differs.
    assert ours["notes"] == "ONE\ntwo\n3 from main\nfour\nFIVE\n"
    assert ours["conflicts"]["notes"]["theirs"] == "ONE\ntwo\n3 from other\nfour\nFIVE\n"
    assert theirs["notes"] == "ONE\ntwo\n3 from other\nfour\nFIVE\n"


# ---------------------------------------------------------------- 5. undeclared multi-line text


def test_undeclared_multi_line_values_merge_by_lines(repo: Path) -> None:
    on(repo, "main", cli(design="first line\nmiddle line\nlast line\n"))
    new_base(repo)
    on(repo, "main", by_hand("  first line\n", "  first line, edited\n"))
    on(repo, "other", cli(design="first line\nmiddle line\nlast line, edited\n"))
    rec = clean_both(repo)
    assert rec["design"] == "first line, edited\nmiddle line\nlast line, edited\n"


# ---------------------------------------------------------------- 6. nested mappings


def test_nested_mappings_merge_key_by_key(repo: Path) -> None:
    on(
        repo,
        "main",
        by_hand(
            "tags: [daemon, p0]\n",
            "tags: [daemon, p0]\nsettings:\n  retries: 3\n  level: info\n  limits:\n    cpu: 1\n",
        ),
    )
    new_base(repo)
    on(
        repo,
        "main",
        by_hand("retries: 3", "retries: 5"),
        by_hand("cpu: 1\n", "cpu: 1\n    mem: 2\n"),
    )
    on(repo, "other", by_hand("level: info", "level: debug"), by_hand("cpu: 1", "cpu: 4"))
    rec = clean_both(repo)
    assert rec["settings"] == {"retries": 5, "level": "debug", "limits": {"cpu": 4, "mem": 2}}


def test_the_same_nested_key_edited_by_hand_on_both_sides_is_a_conflict(repo: Path) -> None:
    on(
        repo,
        "main",
        by_hand(
            "tags: [daemon, p0]\n", "tags: [daemon, p0]\nsettings:\n  retries: 3\n  level: info\n"
        ),
    )
    new_base(repo)
    on(repo, "main", by_hand("retries: 3", "retries: 5"))
    on(repo, "other", by_hand("retries: 3", "retries: 7"), by_hand("level: info", "level: debug"))
    ours, _ = (loads(d.decode()) for d in conflict_both(repo))
    assert ours["settings"] == {"retries": 5, "level": "debug"}
    assert ours["conflicts"]["settings"]["theirs"] == {"retries": 7, "level": "debug"}
    stop_at_conflict(repo)
    store = Store.open(repo)
    assert resolve(store, "T-1", side="theirs")["settings"] == {"retries": 7, "level": "debug"}


# ---------------------------------------------------------------- 7. CRLF


def test_crlf_records_keep_their_line_endings(repo: Path) -> None:
    path = repo / T1
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    commit_all(repo, "crlf")
    new_base(repo)
    on(repo, "main", cli(title="Fix it", owner="alice"))  # `gitstore set` rewrites the file
    assert b"\n" not in (repo / T1).read_bytes().replace(b"\r\n", b"")
    on(repo, "other", by_hand("status: todo\r\n", "status: doing\r\n# a note\r\n"), cli(priority=2))
    rec = clean_both(repo)
    data = merge_both(repo)[0][1]
    assert data.count(b"\n") == data.count(b"\r\n") > 5
    assert rec["title"] == "Fix it" and rec["status"] == "doing" and rec["priority"] == 2


# ---------------------------------------------------------------- 8. criss-cross


def test_criss_cross_keeps_a_conflict_both_sides_settled_differently(repo: Path) -> None:
    flag_status(repo)
    commit_all(repo, "status is flag")
    new_base(repo)
    on(repo, "main", cli(status="doing"))
    on(repo, "other", cli(status="blocked"))
    a, b = (git(repo, "rev-parse", name).strip() for name in ("main", "other"))
    for branch, other, side in (("main", b, "ours"), ("other", a, "ours")):
        git(repo, "checkout", "-q", branch)
        assert run_git(repo, "merge", "--no-edit", other).returncode == 1
        resolve(Store.open(repo), "T-1", side=side)
        git(repo, "commit", "-q", "--no-edit")
    assert len(git(repo, "merge-base", "--all", "main", "other").split()) == 2  # criss-cross
    for data in conflict_both(repo):
        rec = loads(data.decode())
        assert rec["conflicts"]["status"]["base"] == "todo"
        assert {rec["conflicts"]["status"]["ours"], rec["conflicts"]["status"]["theirs"]} == {
            "doing",
            "blocked",
        }
    # Plain git agrees there is something to decide here.
    git(repo, "checkout", "-q", "--detach", "main")
    text = run_git(repo, "merge", "--no-edit", "other", env={"GITSTORE_MERGE": "0"})
    assert text.returncode == 1
    git(repo, "merge", "--abort")


def test_criss_cross_settled_the_same_way_merges(repo: Path) -> None:
    flag_status(repo)
    commit_all(repo, "status is flag")
    new_base(repo)
    on(repo, "main", cli(status="doing"))
    on(repo, "other", cli(status="blocked"))
    a, b = (git(repo, "rev-parse", name).strip() for name in ("main", "other"))
    for branch, other, side in (("main", b, "ours"), ("other", a, "theirs")):
        git(repo, "checkout", "-q", branch)
        assert run_git(repo, "merge", "--no-edit", other).returncode == 1
        resolve(Store.open(repo), "T-1", side=side)
        git(repo, "commit", "-q", "--no-edit")
    rec = clean_both(repo)
    assert rec["status"] == "doing" and "conflicts" not in rec


# ---------------------------------------------------------------- 9. hand edits and clocks


@pytest.mark.parametrize("hand_first", [True, False])
def test_a_hand_edit_and_a_cli_edit_of_one_field_conflict(repo: Path, hand_first: bool) -> None:
    hand, tool = by_hand("status: todo", "status: blocked"), cli(status="done")
    on(repo, "main", hand if hand_first else tool)
    on(repo, "other", tool if hand_first else hand)
    for data in conflict_both(repo):
        assert set(loads(data.decode())["conflicts"]) == {"status"}
    assert "a hand edit carries no time" in stop_at_conflict(repo)
    store = Store.open(repo)
    assert [c["fields"] for c in conflicts(store)] == [["status"]]
    assert resolve(store, "T-1", side="theirs")["status"] == ("done" if hand_first else "blocked")
    git(repo, "commit", "-q", "--no-edit")
    # A merge the driver stopped is a person's to settle: check-merge does not call it wrong.
    assert gitstore("check-merge", cwd=repo).returncode == 0


def test_hand_edits_of_different_fields_merge(repo: Path) -> None:
    on(repo, "main", by_hand("status: todo", "status: blocked"))
    on(repo, "other", cli(status="todo", owner="bob"), by_hand("title: Fix the loop", "title: Fix"))
    rec = clean_both(repo)
    assert rec["status"] == "blocked" and rec["owner"] == "bob" and rec["title"] == "Fix"


def test_two_cli_edits_of_one_field_are_settled_by_their_clocks(repo: Path) -> None:
    on(repo, "main", cli(status="doing"))
    on(repo, "other", cli(status="done"))  # later
    assert clean_both(repo)["status"] == "done"


def test_a_clock_far_ahead_is_refused_reported_and_never_followed(repo: Path) -> None:
    text = (repo / T1).read_text()
    stamp = loads(text)["last_modified"]
    ahead = format_time(dt.datetime.now(dt.UTC) + dt.timedelta(days=365))
    (repo / T1).write_text(
        text.replace(stamp, "2099-01-01T00:00:00.000000Z") + f"clocks:\n  title: {ahead}\n"
    )
    res = gitstore("validate", cwd=repo)
    assert res.returncode == 1 and "clock-ahead" in res.stdout and "2099" in res.stdout
    git(repo, "add", "-A")
    assert (
        subprocess.run(["git", "commit", "-qm", "x"], cwd=repo, capture_output=True).returncode != 0
    )
    doctor = gitstore("doctor", cwd=repo)
    assert "2099-01-01" in doctor.stdout and "ahead" in doctor.stdout
    with Store.open(repo).update("tasks", "T-1") as rec:
        rec["owner"] = "alice"
    after = loads((repo / T1).read_text())
    now = dt.datetime.now(dt.UTC)
    assert after["last_modified"] < format_time(now + dt.timedelta(minutes=1))
    assert all(v < format_time(now + dt.timedelta(minutes=1)) for v in after["clocks"].values())
    assert gitstore("validate", cwd=repo).returncode == 0
