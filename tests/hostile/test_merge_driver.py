"""The merge driver under a real ``git pull``, with one side the attacker's; and the same
deliveries merged by ``gitstore sync``'s bulk merge (in one process, no driver process).

The victim changes T-1 through gitstore and commits; the attacker pushes a T-1 whose lines do
not parse (or hold conflict markers, a ``conflicts:`` block, a nesting bomb, NUL bytes, 2 MB).
The driver falls back to a line merge for a side that is not a record, and that line merge may
well succeed — but its result is not a valid record, so the driver must not call it clean: git
pull exits 1, the file is left unmerged for a person, and no merge commit holds invalid YAML.
"""

from __future__ import annotations

from dataclasses import replace

from tests.hostile.harness import MERGED, Case, World, cases, cli, git, put_files, record, run_case
from tests.hostile.processes import Result

T1 = "records/tasks/T-1.yaml"
PULL = git("pull", "--no-rebase", "--no-edit", "origin", "main")
# Lines far enough from the victim's edit (status, metadata, the clocks block at the end) that
# git's own line merge of the two sides is clean.
LINE = "priority: 1\n"


def diverged(path: str, change, mine=("set", "T-1", "status=doing")):  # type: ignore[no-untyped-def]
    """The victim runs ``gitstore *mine`` and commits; the attacker rewrites ``path`` with
    ``change(old text)`` and pushes."""

    def arrange(world: World) -> None:
        done = world.gitstore(*mine)
        assert done.code == 0, done.show()
        world.git("commit", "-q", "-a", "-m", "victim's edit")
        old = (world.attacker / path).read_text()
        new = change(old)
        assert new != old
        world.attack({path: new})

    return arrange


def at_priority(new: str):  # type: ignore[no-untyped-def]
    return lambda text: text.replace(LINE, new)


def _unmerged(path: str):  # type: ignore[no-untyped-def]
    def check(world: World, res: Result) -> None:
        listed = world.git("diff", "--name-only", "--diff-filter=U").out.splitlines()
        assert path in listed, f"{path} is not left as a conflict (unmerged: {listed})"
        merges = world.git("rev-list", "--merges", "HEAD").out.strip()
        assert not merges, "a merge commit was made"

    return check


CONFLICT = (
    "git pull exits 1 and leaves T-1 unmerged; the driver does not call an invalid result clean"
)
ALLOW = ("records", "ROADMAP.md")

CASES = [
    Case(
        "driver-side-unterminated-quote",
        MERGED,
        diverged(T1, at_priority('priority: "1\n')),
        PULL,
        1,
        (T1,),
        CONFLICT,
        allow=ALLOW,
        after=(_unmerged(T1),),
    ),
    Case(
        "driver-side-bad-indentation",
        MERGED,
        diverged(T1, at_priority("priority: 1\n   bad: indentation\n")),
        PULL,
        1,
        (T1,),
        CONFLICT,
        allow=ALLOW,
        after=(_unmerged(T1),),
    ),
    Case(
        "driver-side-holds-conflict-markers",
        MERGED,
        diverged(
            T1, at_priority("<<<<<<< mine\npriority: 1\n=======\npriority: 2\n>>>>>>> theirs\n")
        ),
        PULL,
        1,
        (T1,),
        CONFLICT + " (markers from an earlier bad merge are not merged in as text)",
        allow=ALLOW,
        after=(_unmerged(T1),),
    ),
    Case(
        "driver-side-holds-a-conflicts-block",
        MERGED,
        diverged(
            T1,
            at_priority(
                LINE + "conflicts:\n  owner:\n    base: alice\n    ours: alice\n    theirs: eve\n"
            ),
        ),
        PULL,
        1,
        (T1,),
        CONFLICT + ": a result holding an unresolved conflicts: block is not a clean merge",
        allow=ALLOW,
        after=(_unmerged(T1),),
    ),
    Case(
        "driver-side-nested-deep",
        MERGED,
        diverged(T1, at_priority("priority: " + "[" * 30000 + "]" * 30000 + "\n")),
        PULL,
        1,
        (T1,),
        CONFLICT + "; the driver does not crash on the nesting bomb",
        allow=ALLOW,
        after=(_unmerged(T1),),
    ),
    Case(
        "driver-side-with-nul-bytes",
        MERGED,
        diverged(T1, lambda text: text.replace("  line two\n", "  line\0two\n")),
        PULL,
        1,
        (T1,),
        CONFLICT,
        allow=ALLOW,
        after=(_unmerged(T1),),
    ),
    Case(
        "driver-side-over-the-limit",
        MERGED,
        diverged(T1, at_priority(LINE + "blob: " + "x" * (2 << 20) + "\n")),
        PULL,
        1,
        (T1,),
        CONFLICT + ": a merged record over 1 MiB would be unreadable",
        allow=ALLOW,
        after=(_unmerged(T1),),
    ),
    Case(
        "driver-roadmap-side-holds-markers",
        MERGED,
        diverged(
            "ROADMAP.md",
            lambda text: text.replace(
                "Body of item 3.\n",
                "<<<<<<< mine\nBody of item 3.\n=======\nBody, changed.\n>>>>>>> theirs\n",
            ),
            mine=("roadmap", "status", "1", "done"),
        ),
        PULL,
        1,
        ("ROADMAP.md",),
        "git pull exits 1 and leaves ROADMAP.md unmerged: a section already holding conflict "
        "markers is a conflict, not a clean section merge",
        allow=ALLOW,
        after=(_unmerged("ROADMAP.md"),),
    ),
]

# A file name carrying shell syntax: %P reaches the driver's command line.
ODD = "records/tasks/T-7$(touch pwned).yaml"


def odd_name(world: World) -> None:
    """Both sides edit the oddly named file, different fields: the driver runs, merges clean."""
    world.deliver({ODD: record("T-7", title="odd name")})
    put_files(world.victim, {ODD: record("T-7", title="odd name, victim")})
    world.git("commit", "-q", "--no-verify", "-a", "-m", "victim's edit")
    world.attack({ODD: record("T-7", title="odd name", owner="eve")})


CASES.append(
    Case(
        "driver-path-with-shell-syntax",
        MERGED,
        odd_name,
        PULL,
        1,
        ("T-7",),
        "git pull exits 1 (a record whose file name is not a valid id is refused, by the driver "
        "or the pre-merge-commit hook); the %P path never reaches a shell: no 'pwned' file",
        allow=ALLOW,
    )
)


# The same deliveries merged by `gitstore sync` on the bulk path (every two-sided store file in
# the sync's own process, even one): the same outcome as git with the per-file driver.
SYNC = cli("sync", env={"GITSTORE_BULK_FROM": "1"}, show="gitstore sync (the bulk merge)")
CASES += [
    replace(
        case,
        name="bulk-" + case.name.removeprefix("driver-"),
        delivery="diverging commits; victim runs gitstore sync (a bulk merge)",
        act=SYNC,
        expect=case.expect.replace("git pull exits 1", "gitstore sync exits 1", 1),
    )
    for case in list(CASES)
]


@cases(CASES)
def test_the_driver_never_calls_invalid_output_clean(world: World, case: Case) -> None:
    run_case(world, case)
