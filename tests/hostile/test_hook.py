"""The pre-commit and pre-merge-commit hooks under a real ``git commit`` / ``git pull``.

The hook is the gate: what it lets into history reaches every clone. Each case stages what a
careless tool (or a teammate bypassing nothing) would stage, in a clone where ``gitstore
install`` ran, and expects the commit refused (git exits 1) with the validator's line naming the
file — including what ``--diff-filter=ACMR`` would not show (type changes), what a changed
config makes invalid, secrets hidden behind YAML escapes, runtime state force-added, and a clean
merge whose result breaks the merged schema (the pre-merge-commit hook).
"""

from __future__ import annotations

from tests.hostile.harness import (
    HOOKED,
    MERGED,
    Case,
    Content,
    Link,
    World,
    cases,
    git,
    put_files,
    record,
    run_case,
)
from tests.hostile.processes import Result
from tests.test_bad_input import BOMB

T1 = "records/tasks/T-1.yaml"
T5 = "records/tasks/T-5.yaml"
COMMIT = git("commit", "-q", "-m", "work")
PULL = git("pull", "--no-rebase", "--no-edit", "origin", "main")
LINKED = ("symlink", "symbolic link")
BROKEN = "id: T-1\ntitle: [unclosed\n"


def staged(files):  # type: ignore[no-untyped-def]
    """Write ``files`` (or a function of the world giving them) and stage exactly them."""

    def arrange(world: World) -> None:
        wanted: dict[str, Content] = files(world) if callable(files) else files
        put_files(world.victim, wanted)
        world.git("add", "-A", "-f", "--", *wanted)

    return arrange


def config(old: str, new: str):  # type: ignore[no-untyped-def]
    """The victim's gitstore.yaml with one edit."""

    def edit(world: World) -> str:
        text = (world.victim / "gitstore.yaml").read_text()
        assert old in text, old
        return text.replace(old, new)

    return edit


def with_config(edit, **files: Content):  # type: ignore[no-untyped-def]
    return staged(lambda w: {"gitstore.yaml": edit(w), **files})


def _nothing_committed(world: World, res: Result) -> None:
    head = world.git("rev-parse", "HEAD").out
    assert head == world.git("rev-parse", "origin/main").out, "the commit went through"


def _no_merge_commit(world: World, res: Result) -> None:
    merges = world.git("rev-list", "--merges", "HEAD").out.strip()
    assert not merges, "a merge commit was made"
    # Concluding the refused merge by hand meets the pre-commit hook, which refuses it too.
    done = world.git("commit", "-q", "--no-edit", check=False)
    assert done.code != 0, "git commit concluded the refused merge"
    assert not world.git("rev-list", "--merges", "HEAD").out.strip(), "a merge commit was made"


def secret(value: str):  # type: ignore[no-untyped-def]
    return staged({T5: record("T-5", title="creds") + f"notes: {value}\n"})


REQUIRED_OWNER = config(
    "      owner:\n        type: str\n", "      owner:\n        type: str\n        required: true\n"
)


def path_variant(variant: str):  # type: ignore[no-untyped-def]
    return with_config(
        config("    path: records/tasks\n", f"    path: {variant}\n"), **{T1: BROKEN}
    )


def staged_config_broken(world: World) -> None:
    """A broken gitstore.yaml staged, and the worktree's copy put back as it was."""
    path = world.victim / "gitstore.yaml"
    good = path.read_text()
    path.write_text(good.replace("type: date", "type: when"))
    world.git("add", "gitstore.yaml")
    path.write_text(good)


def diverged(attack, local: dict[str, Content]):  # type: ignore[no-untyped-def]
    """The victim commits ``local`` (the hook passes it); the attacker pushes ``attack``."""

    def arrange(world: World) -> None:
        put_files(world.victim, local)
        world.git("add", "-A", "--", *local)
        world.git("commit", "-q", "-m", "victim's work")
        world.attack(attack(world) if callable(attack) else attack)

    return arrange


REFUSED = "git commit exits 1; the hook names the file"
MERGE_REFUSED = (
    "git pull exits 1: the clean merge is refused by the pre-merge-commit hook (no merge commit; "
    "a later git commit to conclude it is refused too)"
)
MERGE_ALLOW = ("records", "gitstore.yaml", "ROADMAP.md")  # what the merge itself checks out
NEW_T5 = {T5: record("T-5", title="victim's new task")}

CASES = [
    Case(
        "hook-type-change-to-symlink",
        HOOKED,
        staged({T1: Link("../../../outside/secret.yaml")}),
        COMMIT,
        1,
        (T1, LINKED),
        REFUSED + " as a symlink (a type change, which --diff-filter=ACMR does not list)",
        after=(_nothing_committed,),
    ),
    Case(
        "hook-new-record-is-symlink",
        HOOKED,
        staged({T5: Link("T-1.yaml")}),
        COMMIT,
        1,
        (T5, LINKED),
        REFUSED + " as a symlink (not parsed as the link's text)",
        after=(_nothing_committed,),
    ),
    Case(
        "hook-directory-named-like-a-record",
        HOOKED,
        staged({"records/tasks/T-9.yaml/notes.txt": "scratch\n"}),
        COMMIT,
        1,
        ("records/tasks/T-9.yaml",),
        REFUSED + ": a folder named like a record in a collection folder",
        after=(_nothing_committed,),
    ),
    Case(
        "hook-collection-path-dot-slash",
        HOOKED,
        path_variant("./records/tasks"),
        COMMIT,
        1,
        ((T1, "gitstore.yaml"),),
        REFUSED + ": path ./records/tasks still means records/tasks, so the broken T-1 is "
        "checked (or the unnormalised path is refused)",
        after=(_nothing_committed,),
    ),
    Case(
        "hook-collection-path-double-slash",
        HOOKED,
        path_variant("records//tasks"),
        COMMIT,
        1,
        ((T1, "gitstore.yaml"),),
        REFUSED + " (records//tasks)",
        after=(_nothing_committed,),
    ),
    Case(
        "hook-collection-path-trailing-dot",
        HOOKED,
        path_variant("records/tasks/."),
        COMMIT,
        1,
        ((T1, "gitstore.yaml"),),
        REFUSED + " (records/tasks/.)",
        after=(_nothing_committed,),
    ),
    Case(
        "hook-config-makes-records-invalid",
        HOOKED,
        with_config(REQUIRED_OWNER),
        COMMIT,
        1,
        ("records/tasks/T-2.yaml", "owner"),
        REFUSED + ": a gitstore.yaml change revalidates every record (T-2 lacks the newly "
        "required owner)",
        after=(_nothing_committed,),
    ),
    Case(
        "hook-config-changes-id-pattern",
        HOOKED,
        with_config(config('id_pattern: "T-[0-9a-z]+"', 'id_pattern: "T-[0-9a-z]{6}"')),
        COMMIT,
        1,
        (T1, "id"),
        REFUSED + ": every existing task id stops matching the new pattern",
        after=(_nothing_committed,),
    ),
    Case(
        "hook-staged-config-is-checked",
        HOOKED,
        staged_config_broken,
        COMMIT,
        1,
        ("gitstore.yaml",),
        REFUSED + ": the staged gitstore.yaml is what is checked, not the worktree's good copy",
        after=(_nothing_committed,),
    ),
    Case(
        "hook-force-added-journal",
        HOOKED,
        staged({".gitstore/journal.json": '[{"temp": "x", "target": ".git/config"}]'}),
        COMMIT,
        1,
        (".gitstore/journal.json",),
        REFUSED + ": runtime state never goes into a commit",
        after=(_nothing_committed,),
    ),
    Case(
        "hook-force-added-lock-link",
        HOOKED,
        staged({".gitstore/locks/store.lock": Link("../../../outside/sentinel.txt")}),
        COMMIT,
        1,
        (".gitstore/locks/store.lock",),
        REFUSED,
        after=(_nothing_committed,),
    ),
    Case(
        "hook-force-added-temp-file",
        HOOKED,
        staged({"records/tasks/.gitstore-tmp-T-1.yaml.1.deadbeef": "id: T-1\n"}),
        COMMIT,
        1,
        ("records/tasks/.gitstore-tmp-T-1.yaml.1.deadbeef",),
        REFUSED + ": a gitstore temp file is never committed (a sweep by status, validate or "
        "doctor may remove the worktree copy)",
        allow=("records/tasks/.gitstore-tmp-T-1.yaml.1.deadbeef",),
        after=(_nothing_committed,),
    ),
    Case(
        "hook-secret-hex-escape",
        HOOKED,
        secret(r'"AKIA\x49OSFODNN7EXAMPLE"'),
        COMMIT,
        1,
        (T5, "secret"),
        REFUSED + ": secrets are looked for in the decoded values, not only the raw text",
        after=(_nothing_committed,),
    ),
    Case(
        "hook-secret-unicode-escape",
        HOOKED,
        secret(r'"\u0041KIAIOSFODNN7EXAMPLE"'),
        COMMIT,
        1,
        (T5, "secret"),
        REFUSED,
        after=(_nothing_committed,),
    ),
    Case(
        "hook-secret-escaped-line-break",
        HOOKED,
        secret('"AKIAIOSF\\\n  ODNN7EXAMPLE"'),
        COMMIT,
        1,
        (T5, "secret"),
        REFUSED + " (a double-quoted scalar continued over two lines)",
        after=(_nothing_committed,),
    ),
    Case(
        "hook-private-key-escaped",
        HOOKED,
        secret(r'"-----BEGIN RSA PRIVATE KEY\x2d----\nMIIEowIBAAKCAQEA\n"'),
        COMMIT,
        1,
        (T5, "secret"),
        REFUSED,
        after=(_nothing_committed,),
    ),
    Case(
        "hook-github-token-escaped",
        HOOKED,
        secret('"ghp\\x5f' + "aB3" * 12 + '"'),
        COMMIT,
        1,
        (T5, "secret"),
        REFUSED,
        after=(_nothing_committed,),
    ),
    Case(
        "hook-roadmap-is-symlink",
        HOOKED,
        staged({"ROADMAP.md": Link("../outside/roadmap.md")}),
        COMMIT,
        1,
        ("ROADMAP.md", LINKED),
        REFUSED,
        after=(_nothing_committed,),
    ),
    Case(
        "hook-config-is-symlink",
        HOOKED,
        staged({"gitstore.yaml": Link("../outside/gitstore.yaml")}),
        COMMIT,
        1,
        ("gitstore.yaml", LINKED),
        REFUSED,
        after=(_nothing_committed,),
        lock_check=False,  # the worktree's config is the link: the store does not open
    ),
    Case(
        "hook-alias-bomb",
        HOOKED,
        staged({T5: "id: T-5\ntitle: bomb\n" + BOMB}),
        COMMIT,
        1,
        (T5, "anchor"),
        REFUSED + " (no alias expansion)",
        after=(_nothing_committed,),
    ),
    Case(
        "merge-breaks-the-merged-schema",
        MERGED,
        diverged(
            lambda w: {
                "gitstore.yaml": REQUIRED_OWNER(w),
                "records/tasks/T-2.yaml": record("T-2", title="second task", owner="bob"),
                "records/tasks/T-3.yaml": record("T-3", title="third task", owner="bob"),
            },
            NEW_T5,
        ),
        PULL,
        1,
        (T5, "owner"),
        MERGE_REFUSED + ": each side is valid, the merged T-5 lacks the owner the merged "
        "config requires",
        allow=MERGE_ALLOW,
        after=(_no_merge_commit,),
    ),
    Case(
        "merge-brings-broken-yaml",
        MERGED,
        diverged({"records/tasks/T-2.yaml": "id: T-2\ntitle: [unclosed\n"}, NEW_T5),
        PULL,
        1,
        ("records/tasks/T-2.yaml", "yaml"),
        MERGE_REFUSED + ": a pushed record that skipped the pre-commit hook is caught here",
        allow=MERGE_ALLOW,
        after=(_no_merge_commit,),
    ),
    Case(
        "merge-brings-a-secret",
        MERGED,
        diverged(
            {"records/tasks/T-2.yaml": record("T-2", title="x", notes="AKIAIOSFODNN7EXAMPLE")},
            NEW_T5,
        ),
        PULL,
        1,
        ("records/tasks/T-2.yaml", "secret"),
        MERGE_REFUSED,
        allow=MERGE_ALLOW,
        after=(_no_merge_commit,),
    ),
    Case(
        "merge-brings-a-symlink-record",
        MERGED,
        diverged({"records/tasks/T-2.yaml": Link("../../../outside/secret.yaml")}, NEW_T5),
        PULL,
        1,
        ("records/tasks/T-2.yaml", LINKED),
        MERGE_REFUSED,
        allow=MERGE_ALLOW,
        after=(_no_merge_commit,),
    ),
]


@cases(CASES)
def test_the_hooks_refuse(world: World, case: Case) -> None:
    run_case(world, case)
