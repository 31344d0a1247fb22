"""Committed runtime state: a journal, temp files, lock files and state folders from a commit.

The transaction journal once lived in the tree (``.gitstore/journal.json``), where a commit can
put one: its replay would rename attacker bytes onto any path the journal names. The victim's
state now lives under the git dir, where no commit reaches, so a committed ``.gitstore/`` is
inert: every case below expects the victim's ordinary command to simply work (exit 0) and touch
nothing the attacker aimed at. ``doctor`` reports the stray folder.
"""

from __future__ import annotations

import json
import textwrap

from tests.hostile.harness import (
    LOCAL,
    PUSHED,
    Case,
    Exe,
    Link,
    World,
    api,
    cases,
    cli,
    record,
    run_case,
)
from tests.hostile.processes import Result

TEMP = "records/tasks/.gitstore-tmp-T-1.yaml.4242.deadbeef"
T2_TEMP = "records/tasks/.gitstore-tmp-T-2.yaml.4242.deadbeef"
JOURNAL = ".gitstore/journal.json"


def _fsmonitor(world: World) -> str:
    return textwrap.dedent(
        f"""\
        [core]
        \trepositoryformatversion = 0
        \tfilemode = true
        \tbare = false
        \tfsmonitor = "touch {world.sentinel}; false"
        """
    )


def _hook(world: World) -> Exe:
    return Exe(f"#!/bin/sh\ntouch {world.sentinel}\n")


def journal(target, payload=None, temp: str = TEMP, extra=None):  # type: ignore[no-untyped-def]
    """The attacker commits a journal renaming ``temp`` (attacker bytes) onto ``target``.
    ``target``/``payload``/``extra`` may be functions of the world (absolute paths)."""

    def arrange(world: World) -> None:
        goal = target(world) if callable(target) else target
        body = payload(world) if callable(payload) else payload
        files = {
            JOURNAL: json.dumps([{"temp": temp, "target": goal}], indent=1),
            **(extra(world) if callable(extra) else extra or {}),
        }
        if body is not None:
            files[temp] = body
        world.deliver(files)

    return arrange


def untracked(arrange):  # type: ignore[no-untyped-def]
    """``arrange``, then the victim follows the hook's advice for committed runtime state
    (``git rm -r --cached .gitstore``): the files stay in the worktree, now untracked."""

    def both(world: World) -> None:
        arrange(world)
        world.git("rm", "-r", "-q", "--cached", ".gitstore")

    return both


def _config_attack():  # type: ignore[no-untyped-def]
    return journal(".git/config", _fsmonitor)


def _state_under_the_git_dir(world: World, res: Result) -> None:
    common = world.git("rev-parse", "--git-common-dir").out.strip()
    state = (world.victim / common / "gitstore").resolve()
    assert state.is_dir(), f"no per-clone state in {state}"
    assert not (world.victim / ".gitstore").exists(), "the victim made a .gitstore/ in the tree"


INERT = "exit 0: a committed journal is never read (state lives under the git dir); nothing changes"
# The open-time sweep may remove a committed temp file: it is junk, and git shows the deletion.
SWEPT = (TEMP,)

CASES = [
    Case(
        "state-lives-under-the-git-dir",
        LOCAL,
        lambda w: None,
        api(
            "with store.transaction() as tx: tx.put('tasks', {'id': 'T-2', 'title': 'tx'})",
            show="with store.transaction() as tx: tx.put(...)",
        ),
        0,
        expect="exit 0: locks and the journal live in $(git rev-parse --git-common-dir)/gitstore/; "
        "the worktree gets no .gitstore/, so no commit can carry or plant state",
        allow=("records/tasks/T-2.yaml",),
        after=(_state_under_the_git_dir,),
    ),
    Case(
        "journal-onto-git-config-get",
        PUSHED,
        _config_attack(),
        cli("get", "T-1"),
        0,
        expect=INERT + "; .git/config keeps no fsmonitor, the sentinel is never created",
        allow=SWEPT,
    ),
    Case(
        "journal-onto-git-config-list",
        PUSHED,
        _config_attack(),
        cli("list", "tasks"),
        0,
        expect=INERT,
        allow=SWEPT,
    ),
    Case(
        "journal-onto-git-config-status",
        PUSHED,
        _config_attack(),
        cli("status"),
        0,
        expect=INERT + " (status runs git status: a planted fsmonitor would run here)",
        allow=SWEPT,
    ),
    Case(
        "journal-onto-git-config-api",
        PUSHED,
        _config_attack(),
        api("store.list('tasks')", show="Store.open('.').list('tasks')"),
        0,
        expect=INERT,
        allow=SWEPT,
    ),
    Case(
        "journal-onto-git-config-set",
        PUSHED,
        _config_attack(),
        cli("set", "T-2", "title=edited"),
        0,
        expect=INERT + "; only T-2 is written",
        allow=(*SWEPT, "records/tasks/T-2.yaml"),
    ),
    Case(
        "journal-doctor-reports-the-stray-folder",
        PUSHED,
        _config_attack(),
        cli("doctor"),
        1,
        words=(".gitstore",),
        expect="exit 1: doctor fails a check naming the committed .gitstore/ (git rm -r --cached "
        "it); nothing is replayed",
        allow=SWEPT,
    ),
    Case(
        "journal-onto-pre-commit-hook",
        PUSHED,
        journal(".git/hooks/pre-commit", _hook),
        cli("get", "T-1"),
        0,
        expect=INERT + "; the victim's hook is not replaced (a later commit runs no attacker code)",
        allow=SWEPT,
        after=(lambda w, r: _commit_runs_no_attacker_code(w),),
    ),
    Case(
        "journal-onto-gitstore-yaml",
        PUSHED,
        journal("gitstore.yaml", "collections: {}\n"),
        cli("get", "T-1"),
        0,
        expect=INERT + "; gitstore.yaml is not replaced",
        allow=SWEPT,
    ),
    Case(
        "journal-dotdot-target",
        PUSHED,
        journal("../outside/sentinel.txt", "attacker bytes\n"),
        cli("get", "T-1"),
        0,
        expect=INERT + " (not even refused: a hostile journal must not lock the victim out)",
        allow=SWEPT,
    ),
    Case(
        "journal-absolute-target",
        PUSHED,
        journal(lambda w: str(w.outside / "sentinel.txt"), "attacker bytes\n"),
        cli("list", "tasks"),
        0,
        expect=INERT,
        allow=SWEPT,
    ),
    Case(
        "journal-through-symlink-to-root",
        PUSHED,
        journal(
            lambda w: f"escape{w.outside}/planted",
            "attacker bytes\n",
            extra={"escape": Link("/")},
        ),
        cli("get", "T-1"),
        0,
        expect=INERT + "; nothing is created through the committed escape -> / link",
        allow=SWEPT,
    ),
    Case(
        "journal-through-symlink-to-outside",
        PUSHED,
        journal(
            "escape/planted",
            "attacker bytes\n",
            extra=lambda w: {"escape": Link(str(w.outside))},
        ),
        api("store.list('tasks')", show="Store.open('.').list('tasks')"),
        0,
        expect=INERT + "; nothing is created through the committed escape -> outside link",
        allow=SWEPT,
    ),
    Case(
        "journal-exfiltrates-an-outside-file",
        PUSHED,
        journal(
            "records/tasks/T-3.yaml",
            None,
            temp="escape/secret.yaml",
            extra={"escape": Link("../outside")},
        ),
        cli("get", "T-1"),
        0,
        expect=INERT + "; the victim's outside file is not moved into the repository",
    ),
    Case(
        "journal-onto-a-data-file",
        PUSHED,
        journal("records/tasks/T-2.yaml", "id: T-2\ntitle: smuggled\n"),
        cli("get", "T-2"),
        0,
        words=("second task",),
        expect=INERT + "; T-2 keeps its committed content",
        allow=SWEPT,
    ),
    Case(
        "journal-untracked-after-following-the-advice",
        PUSHED,
        untracked(journal(".git/config", _fsmonitor)),
        cli("get", "T-1"),
        0,
        expect=INERT + ": after the victim does as told (git rm -r --cached .gitstore) the "
        "journal is untracked but still came from a commit; it is never adopted",
        allow=SWEPT,
    ),
    Case(
        "journal-untracked-onto-a-record",
        PUSHED,
        untracked(journal("records/tasks/T-2.yaml", record("T-2", title="smuggled"), temp=T2_TEMP)),
        cli("get", "T-2"),
        0,
        words=("second task",),
        expect=INERT + ": a well-formed entry (a real temp name, a record target) from a "
        "committed journal does not overwrite T-2 either",
        allow=(T2_TEMP,),
    ),
    Case(
        "journal-is-a-symlink-to-dev-zero",
        PUSHED,
        lambda w: w.deliver({JOURNAL: Link("/dev/zero")}),
        cli("get", "T-1"),
        0,
        expect=INERT + " (no unbounded read, no lock-out)",
    ),
    Case(
        "state-folder-is-a-symlink",
        PUSHED,
        lambda w: w.deliver({".gitstore": Link("../outside")}),
        cli("set", "T-1", "title=edited"),
        0,
        expect="exit 0: T-1 is written; no lock file is created through the committed "
        ".gitstore -> outside link",
        allow=("records/tasks/T-1.yaml",),
    ),
    Case(
        "locks-folder-is-a-symlink",
        PUSHED,
        lambda w: w.deliver({".gitstore/locks": Link("../../outside/tasks")}),
        cli("set", "T-1", "title=edited"),
        0,
        expect="exit 0: T-1 is written; no lock file is created outside",
        allow=("records/tasks/T-1.yaml",),
    ),
    Case(
        "record-lock-is-a-symlink",
        PUSHED,
        lambda w: w.deliver(
            {".gitstore/locks/tasks/T-1.lock": Link("../../../../outside/sentinel.txt")}
        ),
        cli("set", "T-1", "title=edited"),
        0,
        expect="exit 0: T-1 is written; the outside file the lock link names is not truncated "
        "(an exclusive holder writes its pid into the lock file)",
        allow=("records/tasks/T-1.yaml",),
    ),
    Case(
        "store-lock-is-a-symlink",
        PUSHED,
        lambda w: w.deliver({".gitstore/locks/store.lock": Link("../../../outside/sentinel.txt")}),
        api(
            "with store.transaction() as tx: tx.put('tasks', {'id': 'T-2', 'title': 'tx'})",
            show="with store.transaction() as tx: tx.put(...)",
        ),
        0,
        expect="exit 0: the transaction commits; the outside file is not truncated",
        allow=("records/tasks/T-2.yaml",),
    ),
    Case(
        "rescue-folder-is-a-symlink",
        PUSHED,
        lambda w: _bad_editor(w) or w.deliver({".gitstore/rescue": Link("../../outside/tasks")}),
        cli("edit", "T-1", show="EDITOR=<writes invalid YAML> gitstore edit T-1"),
        1,
        words=("T-1", "kept in"),
        expect="exit 1 (the edit is invalid); the rescue copy goes to the state dir under .git, "
        "not through the committed link",
    ),
]


def _bad_editor(world: World) -> None:
    editor = world.root / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "title: [unclosed\\n" > "$1"\n')
    editor.chmod(0o755)
    world.env = {**world.env, "EDITOR": str(editor), "VISUAL": str(editor)}


def _commit_runs_no_attacker_code(world: World) -> None:
    world.git("commit", "-q", "--allow-empty", "-m", "later work", check=False)
    assert not world.sentinel.exists(), "a later commit ran the attacker's hook"


@cases(CASES)
def test_committed_state_is_inert(world: World, case: Case) -> None:
    run_case(world, case)
