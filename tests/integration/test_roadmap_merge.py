"""ROADMAP.md through a real `git merge`, merged both ways: issue 10's roadmap items (10-15).

Each test builds two branches from one base, merges main into other and other into main from the
same two commits, and asserts the rule: either both directions exit 0 with identical bytes and
every one-sided edit kept, or both stop with a conflict that `gitstore conflicts` names and
`gitstore resolve NAME --ours/--theirs` settles. Nothing is ever dropped, doubled or brought back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitstore import Store
from tests.conftest import git, gitstore
from tests.integration.test_git_merge import commit_all, run_git

BASE = (
    "# Roadmap\n\n**Last Updated**: 2026-11-01\n\n"
    + "".join(
        f"### PRIORITY {i}: Item {i}\n**Status**: 📝 Planned\n\n"
        f"Body of item {i}.\nMore about item {i}.\n\n"
        for i in range(1, 5)
    )
    + "---\n\n## Appendix\n\nNotes that end the file.\n"
)


@dataclass
class Merged:
    code: int
    text: str
    output: str


@pytest.fixture
def repo(store_dir: Path) -> Path:
    (store_dir / "ROADMAP.md").write_text(BASE)
    commit_all(store_dir, "base")
    git(store_dir, "branch", "other")
    return store_dir


def road(root: Path) -> Path:
    return root / "ROADMAP.md"


def on(root: Path, branch: str, change: Callable[[Store], object], actor: str = "") -> None:
    """One commit on ``branch``: a Roadmap API call (a CLI-equivalent edit) or a hand edit."""
    git(root, "checkout", "-q", branch)
    change(Store.open(root, actor=actor or branch))
    commit_all(root, f"edit on {branch}")
    time.sleep(0.002)  # the next edit is later on the clock


def by_hand(old: str, new: str) -> Callable[[Store], None]:
    def change(store: Store) -> None:
        text = road(store.root).read_text()
        assert old in text, old
        road(store.root).write_text(text.replace(old, new, 1))

    return change


def both_ways(root: Path, then: Callable[[Merged], None] | None = None) -> tuple[Merged, Merged]:
    """Merge other into main and main into other (detached, from the same two commits)."""
    tips = [git(root, "rev-parse", b).strip() for b in ("main", "other")]
    results = []
    for into, other in (tips, tips[::-1]):
        git(root, "checkout", "-q", "--detach", into)
        done = run_git(root, "merge", "--no-edit", other)
        merged = Merged(done.returncode, road(root).read_text(), done.stdout + done.stderr)
        if then is not None:
            then(merged)
        run_git(root, "merge", "--abort")
        git(root, "reset", "-q", "--hard")
        results.append(merged)
    return results[0], results[1]


def clean_and_same(root: Path) -> str:
    one, other = both_ways(root)
    assert one.code == 0, one.output
    assert other.code == 0, other.output
    assert one.text == other.text
    assert "<<<<<<<" not in one.text
    return one.text


def sections(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("### PRIORITY")]


# ---------------------------------------------------------------- 10: add/add of one number


def test_10_both_sides_add_after_1_keep_both_sections_addressable(repo: Path) -> None:
    on(repo, "main", lambda s: s.roadmap().add("From main", after="1"))
    on(repo, "other", lambda s: s.roadmap().add("From other", after="1"))

    def check(merged: Merged) -> None:
        assert merged.code == 0, merged.output
        assert "share the number 5" in merged.output  # the driver says so
        listed = gitstore("conflicts", "--json", cwd=repo)
        assert listed.returncode == 0 and json.loads(listed.stdout) == []
        ambiguous = gitstore("roadmap", "show", "5", cwd=repo)
        assert ambiguous.returncode == 2 and "5#1" in ambiguous.stderr and "5#2" in ambiguous.stderr
        first = json.loads(gitstore("roadmap", "show", "5#1", "--json", cwd=repo).stdout)
        second = json.loads(gitstore("roadmap", "show", "5#2", "--json", cwd=repo).stdout)
        assert {first["title"], second["title"]} == {"From main", "From other"}
        by_id = json.loads(gitstore("roadmap", "show", second["uid"], "--json", cwd=repo).stdout)
        assert by_id["title"] == second["title"]
        assert gitstore("roadmap", "set", "5#2", "Owner=bob", cwd=repo).returncode == 0
        renumbered = gitstore("roadmap", "renumber", "5#2", "6", cwd=repo)
        assert renumbered.returncode == 0, renumbered.stderr
        listed_ids = [s["name"] for s in Store.open(repo).roadmap().sections()]
        assert listed_ids == ["1", "5", "6", "2", "3", "4"]

    one, other = both_ways(repo, check)
    assert one.text == other.text
    assert one.text.count("From main") == 1 and one.text.count("From other") == 1
    assert [h.split(":")[0] for h in sections(one.text)] == [
        f"### PRIORITY {n}" for n in ("1", "5", "5", "2", "3", "4")
    ]


def test_10_a_later_conflict_in_one_of_two_same_numbered_sections_is_named_and_resolved(
    repo: Path,
) -> None:
    on(repo, "main", lambda s: s.roadmap().add("From main", after="1"))
    on(repo, "other", lambda s: s.roadmap().add("From other", after="1"))
    git(repo, "checkout", "-q", "main")
    assert run_git(repo, "merge", "--no-edit", "other").returncode == 0
    git(repo, "checkout", "-q", "other")
    git(repo, "merge", "-q", "--ff-only", "main")
    second = Store.open(repo).roadmap().get("5#2")["title"]
    on(repo, "main", lambda s: s.roadmap().replace_body("5#2", "Main's plan.\n"))
    on(repo, "other", lambda s: s.roadmap().replace_body("5#2", "Other's plan.\n"))

    def check(merged: Merged) -> None:
        assert merged.code == 1, merged.output
        listed = json.loads(gitstore("conflicts", "--json", cwd=repo).stdout)
        assert [c.get("section") for c in listed] == ["5#2"], listed
        done = gitstore("resolve", "5#2", "--ours", cwd=repo)
        assert done.returncode == 0, done.stderr
        text = road(repo).read_text()
        assert "<<<<<<<" not in text and text.count(second) == 1
        assert gitstore("conflicts", cwd=repo).returncode == 0

    one, other = both_ways(repo, check)
    assert one.code == other.code == 1


# ---------------------------------------------------------------- 11: renumber vs body edit


@pytest.mark.parametrize("how", ["by hand", "renumber"])
def test_11_renumbered_on_one_side_body_edited_on_the_other(repo: Path, how: str) -> None:
    if how == "by hand":
        on(repo, "main", by_hand("### PRIORITY 2: Item 2", "### PRIORITY 2.5: Item 2"))
    else:
        on(repo, "main", lambda s: s.roadmap().renumber("2", "2.5"))
    on(repo, "other", by_hand("Body of item 2.", "Body of item 2, edited on other."))
    text = clean_and_same(repo)
    assert text.count("Item 2") == 1 and "### PRIORITY 2.5: Item 2" in text
    assert text.count("More about item 2.") == 1
    assert "Body of item 2, edited on other." in text
    assert "### PRIORITY 2:" not in text


def test_11_renamed_and_renumbered_by_hand_while_the_other_side_edits(repo: Path) -> None:
    on(repo, "main", by_hand("### PRIORITY 3: Item 3", "### PRIORITY 7: Third, renamed"))
    on(repo, "other", lambda s: s.roadmap().set_status("3", "in_progress"))
    text = clean_and_same(repo)
    assert sections(text)[2] == "### PRIORITY 7: Third, renamed"
    assert text.count("More about item 3.") == 1 and "🔄 In Progress" in text


# ---------------------------------------------------------------- 12: duplicate numbers


def allow_duplicates(root: Path) -> None:
    """Real roadmaps have duplicate numbers (every corpus file); validation must let them in."""
    config = root / "gitstore.yaml"
    old = "  path: ROADMAP.md"
    config.write_text(config.read_text().replace(old, old + "\n  duplicate_ids: warn", 1))


@pytest.mark.parametrize("titles", [("First", "Second"), ("Same", "Same")])
def test_12_delete_the_first_duplicate_edit_the_second(
    store_dir: Path, titles: tuple[str, str]
) -> None:
    allow_duplicates(store_dir)
    a, b = titles
    base = BASE.replace(
        "### PRIORITY 4: Item 4",
        f"### PRIORITY 3: {a}\n**Status**: 📝 Planned\n\nFirst three.\n\n"
        f"### PRIORITY 3: {b}\n**Status**: 📝 Planned\n\nSecond three.\nSecond more.\n\n"
        "### PRIORITY 4: Item 4",
    )
    road(store_dir).write_text(base)
    commit_all(store_dir, "base")
    git(store_dir, "branch", "other")
    first = f"### PRIORITY 3: {a}\n**Status**: 📝 Planned\n\nFirst three.\n\n"
    on(store_dir, "main", by_hand(first, ""))
    on(store_dir, "other", by_hand("Second three.", "Second three, edited."))
    text = clean_and_same(store_dir)
    assert "First three." not in text
    assert text.count("Second more.") == 1 and "Second three, edited." in text  # one copy, edited
    assert "Second three.\n" not in text


def test_12_through_the_api_rm_and_set_of_duplicates(store_dir: Path) -> None:
    allow_duplicates(store_dir)
    base = BASE.replace(
        "### PRIORITY 4: Item 4",
        "### PRIORITY 3: Again\n**Status**: 📝 Planned\n\nAgain three.\n\n### PRIORITY 4: Item 4",
    )
    road(store_dir).write_text(base)
    commit_all(store_dir, "base")
    git(store_dir, "branch", "other")
    on(store_dir, "main", lambda s: s.roadmap().remove("3#1"))
    on(store_dir, "other", lambda s: s.roadmap().set_fields("3#2", {"Owner": "bob"}))
    text = clean_and_same(store_dir)
    assert "Item 3" not in text and text.count("Again three.") == 1 and "**Owner**: bob" in text


# ---------------------------------------------------------------- 13: move vs rm


def test_13_a_delete_beats_a_move(repo: Path) -> None:
    on(repo, "main", lambda s: s.roadmap().move("3", after="4"))
    on(repo, "other", lambda s: s.roadmap().remove("3"))
    text = clean_and_same(repo)
    assert "Item 3" not in text and "item 3" not in text
    assert [h.split(":")[0][-1] for h in sections(text)] == ["1", "2", "4"]


def test_13_a_delete_versus_an_edit_keeps_the_edit_and_says_so(repo: Path) -> None:
    on(repo, "main", lambda s: s.roadmap().set_status("3", "complete"))
    on(repo, "other", lambda s: s.roadmap().remove("3"))
    one, other = both_ways(repo)
    assert one.code == other.code == 0 and one.text == other.text
    assert one.text.count("Item 3") == 1 and "✅ Complete" in one.text
    assert "deleted on one side and edited on the other" in one.output
    assert "deleted on one side and edited on the other" in other.output


# ---------------------------------------------------------------- 14: trailing text


def test_14_new_last_section_before_the_appendix_while_the_appendix_is_edited(
    repo: Path,
) -> None:
    on(repo, "main", lambda s: s.roadmap().add("New last", after="4"))
    on(repo, "other", by_hand("Notes that end the file.", "Notes that end the file, edited."))
    text = clean_and_same(repo)
    assert text.count("## Appendix") == 1 and text.count("---\n") == 1
    assert text.endswith("## Appendix\n\nNotes that end the file, edited.\n")
    assert text.index("PRIORITY 5: New last") < text.index("## Appendix")


def test_14_a_section_added_by_hand_before_the_rule_while_the_appendix_is_edited(
    repo: Path,
) -> None:
    new = "### PRIORITY 5: By hand\n**Status**: 📝 Planned\n\nHand-written.\n\n---"
    on(repo, "main", by_hand("More about item 4.\n\n---", "More about item 4.\n\n" + new))
    on(repo, "other", by_hand("Notes that end the file.", "Notes that end the file, edited."))
    on(repo, "other", by_hand("Body of item 4.", "Body of item 4, edited."))
    text = clean_and_same(repo)
    assert text.count("## Appendix") == 1 and text.count("---\n") == 1
    assert "Body of item 4, edited." in text and "Hand-written." in text
    assert text.endswith(
        "Hand-written.\n\n---\n\n## Appendix\n\nNotes that end the file, edited.\n"
    )


def test_14_a_conflict_in_the_appendix_is_named_and_resolved(repo: Path) -> None:
    on(repo, "main", by_hand("Notes that end the file.", "Main's notes."))
    on(repo, "other", by_hand("Notes that end the file.", "Other's notes."))

    def check(merged: Merged) -> None:
        assert merged.code == 1, merged.output
        listed = json.loads(gitstore("conflicts", "--json", cwd=repo).stdout)
        assert [c.get("section") for c in listed] == ["(text after 4)"], listed
        done = gitstore("resolve", "(text after 4)", "--theirs", cwd=repo)
        assert done.returncode == 0 and done.stdout == "(text after 4) resolved\n", done.stderr
        text = road(repo).read_text()
        assert text.count("## Appendix") == 1 and "<<<<<<<" not in text
        assert "M  ROADMAP.md" in git(repo, "status", "--porcelain")  # staged

    one, other = both_ways(repo, check)
    assert one.code == other.code == 1


# ---------------------------------------------------------------- 15: two reorders


def test_15_two_different_reorders_both_kept_the_same_either_way(repo: Path) -> None:
    on(repo, "main", lambda s: s.roadmap().move("4", before="1"))
    on(repo, "other", lambda s: s.roadmap().move("1", after="3"))
    text = clean_and_same(repo)
    assert [h.split(":")[0][-1] for h in sections(text)] == ["4", "2", "3", "1"]


def test_15_two_moves_of_one_section_the_later_move_wins_either_way(repo: Path) -> None:
    on(repo, "main", lambda s: s.roadmap().move("4", before="2"))
    on(repo, "other", lambda s: s.roadmap().move("4", before="1"))  # later
    text = clean_and_same(repo)
    assert [h.split(":")[0][-1] for h in sections(text)] == ["4", "1", "2", "3"]


def test_15_hand_reorders_merge_the_same_either_way(repo: Path) -> None:
    two = (
        "### PRIORITY 2: Item 2\n**Status**: 📝 Planned\n\nBody of item 2.\nMore about item 2.\n\n"
    )
    four = (
        "### PRIORITY 4: Item 4\n**Status**: 📝 Planned\n\nBody of item 4.\nMore about item 4.\n\n"
    )
    on(repo, "main", by_hand(two, ""))
    on(repo, "main", by_hand("### PRIORITY 4:", two + "### PRIORITY 4:"))  # 2 after 3
    on(repo, "other", by_hand(four, ""))
    on(repo, "other", by_hand("### PRIORITY 1:", four + "### PRIORITY 1:"))  # 4 to the front
    text = clean_and_same(repo)
    assert [h.split(":")[0][-1] for h in sections(text)] == ["4", "1", "3", "2"]
