"""Committed symlinks: a collection folder, ``records/`` itself, a record, the roadmap, the config.

Git carries symlinks, so an attacker can point any store path anywhere. gitstore never follows a
link, on any component of a path: reading through one would leak a file of the victim's (or read
``/dev/zero`` forever), writing through one would change it. Each command refuses with exit 1
and one line naming the link. Links to real system files (``/etc/passwd``, ``/dev/zero``) are
only ever read by these cases, never written: a regression must not be able to damage the
machine running the suite, so write cases aim at files in the case's own ``outside`` folder.
"""

from __future__ import annotations

from tests.hostile.harness import PUSHED, Case, Link, World, api, cases, cli, run_case
from tests.hostile.processes import Result

TASKS = "records/tasks"
T1 = "records/tasks/T-1.yaml"
LINKED = ("symlink", "symbolic link")


def linked(path: str, target: str | None = None):  # type: ignore[no-untyped-def]
    """The attacker replaces ``path`` by a link to ``target`` (default: the case's outside)."""

    def arrange(world: World) -> None:
        world.deliver({path: Link(target or str(world.outside))})

    return arrange


def _leaks_nothing(world: World, res: Result) -> None:
    assert "outside" not in res.out, "the command printed a file from outside the repository"


REFUSED = "exit 1 naming the link; nothing outside is read into the output or written"
FOLDER = linked(TASKS, "../../outside/tasks")
RECORDS = linked("records")

CASES = [
    Case(
        "tasks-folder-link-add",
        PUSHED,
        FOLDER,
        cli("add", "tasks", "title=x"),
        1,
        words=(TASKS, LINKED),
        expect=REFUSED + "; no record is created in the outside folder",
    ),
    Case(
        "tasks-folder-link-set",
        PUSHED,
        FOLDER,
        cli("set", "T-1", "title=y"),
        1,
        words=(TASKS, LINKED),
        expect=REFUSED + "; the outside T-1.yaml keeps its bytes",
    ),
    Case(
        "tasks-folder-link-get",
        PUSHED,
        FOLDER,
        cli("get", "T-1"),
        1,
        words=(TASKS, LINKED),
        expect=REFUSED + " (every folder component is checked, not just the file)",
        after=(_leaks_nothing,),
    ),
    Case(
        "tasks-folder-link-list",
        PUSHED,
        FOLDER,
        cli("list", "tasks"),
        1,
        words=(TASKS, LINKED),
        expect=REFUSED,
        after=(_leaks_nothing,),
    ),
    Case(
        "tasks-folder-link-validate",
        PUSHED,
        FOLDER,
        cli("validate"),
        1,
        words=(TASKS, LINKED),
        expect="exit 1: validate reports the linked folder as a problem",
    ),
    Case(
        "records-folder-link-add",
        PUSHED,
        RECORDS,
        cli("add", "tasks", "title=x"),
        1,
        words=("records", LINKED),
        expect=REFUSED + " (records -> an absolute path outside)",
    ),
    Case(
        "records-folder-link-get",
        PUSHED,
        RECORDS,
        cli("get", "T-1"),
        1,
        words=("records", LINKED),
        expect=REFUSED,
        after=(_leaks_nothing,),
    ),
    Case(
        "records-folder-link-api",
        PUSHED,
        RECORDS,
        api("store.list('tasks')", show="Store.open('.').list('tasks')"),
        1,
        words=("records", LINKED),
        expect="a GitStoreError (exit 1) naming the link",
    ),
    Case(
        "record-link-to-etc-passwd-get",
        PUSHED,
        linked(T1, "/etc/passwd"),
        cli("get", "T-1"),
        1,
        words=(T1, LINKED),
        expect=REFUSED,
        watch=("/etc/passwd",),
        after=(lambda w, r: _no_passwd(r),),
    ),
    Case(
        "record-link-to-etc-passwd-list",
        PUSHED,
        linked(T1, "/etc/passwd"),
        cli("list", "tasks"),
        1,
        words=(T1, LINKED),
        expect=REFUSED,
        watch=("/etc/passwd",),
        after=(lambda w, r: _no_passwd(r),),
    ),
    Case(
        "record-link-to-etc-passwd-validate",
        PUSHED,
        linked(T1, "/etc/passwd"),
        cli("validate"),
        1,
        words=(T1, LINKED),
        expect="exit 1: reported as a symlink (not parsed as YAML through the link)",
        watch=("/etc/passwd",),
        after=(lambda w, r: _no_passwd(r),),
    ),
    Case(
        "record-link-to-dev-zero-get",
        PUSHED,
        linked(T1, "/dev/zero"),
        cli("get", "T-1"),
        1,
        words=(T1, LINKED),
        expect=REFUSED + "; no unbounded read",
    ),
    Case(
        "record-link-to-dev-zero-validate",
        PUSHED,
        linked(T1, "/dev/zero"),
        cli("validate"),
        1,
        words=(T1, LINKED),
        expect="exit 1: reported as a symlink; no unbounded read (no MemoryError, no hang)",
    ),
    Case(
        "record-link-to-dev-zero-api",
        PUSHED,
        linked(T1, "/dev/zero"),
        api("store.list('tasks')", show="Store.open('.').list('tasks')"),
        1,
        words=(T1, LINKED),
        expect="a GitStoreError (exit 1) naming the link",
    ),
    Case(
        "record-link-to-outside-file-set",
        PUSHED,
        linked(T1, "../../../outside/secret.yaml"),
        cli("set", "T-1", "title=y"),
        1,
        words=(T1, LINKED),
        expect=REFUSED + "; the outside file keeps its bytes",
    ),
    Case(
        "record-link-to-outside-file-get",
        PUSHED,
        linked(T1, "../../../outside/secret.yaml"),
        cli("get", "T-1"),
        1,
        words=(T1, LINKED),
        expect=REFUSED,
        after=(_leaks_nothing,),
    ),
    Case(
        "record-link-to-another-record-get",
        PUSHED,
        linked(T1, "T-2.yaml"),
        cli("get", "T-1"),
        1,
        words=(T1, LINKED),
        expect=REFUSED,
    ),
    Case(
        "record-link-to-another-record-set",
        PUSHED,
        linked(T1, "T-2.yaml"),
        cli("set", "T-1", "title=y"),
        1,
        words=(T1, LINKED),
        expect=REFUSED + "; T-2 keeps its bytes",
    ),
    Case(
        "record-link-to-another-record-validate",
        PUSHED,
        linked(T1, "T-2.yaml"),
        cli("validate"),
        1,
        words=(T1, LINKED),
        expect="exit 1: reported as a symlink",
    ),
    Case(
        "new-record-link-list",
        PUSHED,
        linked("records/tasks/T-5.yaml", "../../../outside/secret.yaml"),
        cli("list", "tasks"),
        1,
        words=("records/tasks/T-5.yaml", LINKED),
        expect=REFUSED,
        after=(_leaks_nothing,),
    ),
    Case(
        "roadmap-link-list",
        PUSHED,
        linked("ROADMAP.md", "../outside/roadmap.md"),
        cli("roadmap", "list"),
        1,
        words=("ROADMAP.md", LINKED),
        expect=REFUSED,
    ),
    Case(
        "roadmap-link-status",
        PUSHED,
        linked("ROADMAP.md", "../outside/roadmap.md"),
        cli("roadmap", "status", "1", "done"),
        1,
        words=("ROADMAP.md", LINKED),
        expect=REFUSED + "; the outside roadmap keeps its bytes",
    ),
    Case(
        "roadmap-link-validate",
        PUSHED,
        linked("ROADMAP.md", "../outside/roadmap.md"),
        cli("validate"),
        1,
        words=("ROADMAP.md", LINKED),
        expect="exit 1: reported as a symlink",
    ),
    Case(
        "config-link-get",
        PUSHED,
        linked("gitstore.yaml", "../outside/gitstore.yaml"),
        cli("get", "T-1"),
        1,
        words=("gitstore.yaml", LINKED),
        expect="exit 1 naming gitstore.yaml: a store whose config is a link is not opened",
        lock_check=False,
    ),
    Case(
        "gitattributes-link-install",
        PUSHED,
        linked(".gitattributes", "../outside/empty"),
        cli("install"),
        1,
        words=(".gitattributes", LINKED),
        expect="exit 1 naming .gitattributes; install writes nothing through the link",
    ),
    Case(
        "gitignore-link-init",
        PUSHED,
        linked(".gitignore", "../outside/empty"),
        cli("init"),
        1,
        words=(".gitignore", LINKED),
        expect="exit 1 naming .gitignore; init writes nothing through the link",
    ),
]


def _no_passwd(res: Result) -> None:
    assert "root:" not in res.out + res.err, "the command printed /etc/passwd"


@cases(CASES)
def test_committed_symlinks_are_never_followed(world: World, case: Case) -> None:
    run_case(world, case)
