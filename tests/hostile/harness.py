"""The hostile harness (fixtures in conftest.py): an attacker, a victim and a bare remote, and one check for every case.

A session fixture builds the three repositories once (``gitstore init`` in the attacker's clone,
a few records, pushed; ``gitstore install`` in the victim's fresh clone) beside an ``outside``
folder that stands for everything of the victim's that is not the store: sentinels, the targets
of committed symlinks. Each case gets a copy (``shutil.copytree(symlinks=True)``), so a case costs
a few git calls and one command, whatever it does to its copy.

:func:`run_case` checks, for every case: the exact exit code; the error as one ``gitstore:`` line
on stderr (or, for reports such as ``validate`` and git's own output, some line) naming the
offending path and the case's key words; no traceback, "internal error" or crash; no subprocess
killed by a signal; no hang (every subprocess has a timeout, a hang is a failure); no byte
changed in the victim's ``.git/config``, ``.git/hooks``, ``.git/info``, worktree (but for the
files the case allows) or anything outside; no fsmonitor or hook planted (a sentinel never
appears, even after a ``git status``); and that a second process takes the store lock at once.
Children run through :mod:`tests.hostile.processes`; what a case must leave alone is
fingerprinted by :mod:`tests.hostile.snapshot`.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.processes import (
    Hung,
    Result,
    make_env,
    run,
    short,
)
from tests.hostile.snapshot import Guard, diff

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "runner.py"
#: Output that means the program failed in a way no user should see.
CRASH_TEXT = (
    "Traceback (most recent call last)",
    "internal error",
    "Segmentation fault",
    "Fatal Python error",
    "core dumped",
    "Exception ignored",
    "RecursionError",
    "MemoryError",
)
#: Exit statuses a shell or git reports for a child killed by SIGABRT, SIGBUS, SIGFPE, SIGKILL,
#: SIGSEGV (128 + N).
CRASH_CODES = {134, 135, 136, 137, 139}

# How a case reaches the victim (the table's "delivered" column).
PUSHED = "attacker commits (hook bypassed), pushes; victim pulls"
LOCAL = "made in the victim's clone (git cannot carry it)"
FAULT = "fault injected in the victim's process"
HOOKED = "staged in a clone with the hook, then git commit"
MERGED = "diverging commits; victim runs git pull (merge)"
API = "Python API in the victim's clone"
SIGNALED = "signal sent to a waiting gitstore process"

SEED_RECORD = """\
id: T-1
version: 1
last_modified: 2026-11-20T10:00:00.000000Z
modified_by: alice
title: first task
status: todo
owner: alice
priority: 1
tags: [a, b]
due: 2026-12-01
notes: |
  line one
  line two
"""
NOTES_COLLECTION = """
  notes:
    path: records/notes
    # words in any script, but not a task's or notification's id (bare ids stay unambiguous)
    id_pattern: "(?![TN]-[0-9])\\\\w[\\\\w.-]*"
    fields:
      title:
        type: str
"""
ROADMAP = "# Roadmap\n\n" + "".join(
    f"### PRIORITY {i}: Item {i}\n**Status**: 📝 Planned\n\nBody of item {i}.\n\n"
    for i in range(1, 5)
)


# ---------------------------------------------------------------- what a case writes


@dataclass(frozen=True)
class Link:
    """A symlink to ``target`` (relative links resolve the same from both clones)."""

    target: str


@dataclass(frozen=True)
class Exe:
    """A file committed with the executable bit."""

    data: str


DELETE = object()
Content = str | bytes | Link | Exe | object


def put_files(root: Path, files: dict[str, Content]) -> None:
    for rel, content in files.items():
        path = root / rel
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
        if content is DELETE:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            path.symlink_to(content.target)
        elif isinstance(content, Exe):
            path.write_text(content.data)
            path.chmod(0o755)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            assert isinstance(content, str)
            path.write_text(content)


# ---------------------------------------------------------------- the world


class World:
    """One case's copy: ``remote`` (bare), ``attacker`` and ``victim`` clones, ``outside``."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.root = root
        self.remote = root / "remote.git"
        self.attacker = root / "attacker"
        self.victim = root / "victim"
        self.outside = root / "outside"
        self.env = env
        self.attacker_env = {**env, "GITSTORE_USER": "mallory"}
        self.later: Any = None  # what an in-process case keeps for its after-checks

    @property
    def sentinel(self) -> Path:
        """What a planted fsmonitor or hook would create."""
        return self.outside / "pwned"

    def gitstore(
        self,
        *argv: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        label: str | None = None,
    ) -> Result:
        return run(
            [sys.executable, "-m", "gitstore", *argv],
            cwd or self.victim,
            {**self.env, **(env or {})},
            label=label or "gitstore " + short(argv),
            one_line=argv[0] not in REPORTS if argv else True,
        )

    def git(self, *argv: str, cwd: Path | None = None, check: bool = True) -> Result:
        cwd = cwd or self.victim
        env = self.attacker_env if cwd == self.attacker else self.env
        res = run(["git", *argv], cwd, env, one_line=False)
        if check and res.code != 0:
            raise AssertionError(f"setup step failed:\n{res.show()}")
        return res

    def api(
        self, snippet: str, env: dict[str, str] | None = None, label: str | None = None
    ) -> Result:
        return run(
            [sys.executable, str(RUNNER), "api", snippet],
            self.victim,
            {**self.env, **(env or {})},
            label=label or snippet,
        )

    def commit(self, clone: Path, files: dict[str, Content], message: str, *, hook: bool) -> Result:
        """Write ``files`` in ``clone``, stage exactly them (ignored or not) and commit."""
        put_files(clone, files)
        self.git("add", "-A", "-f", "--", *files, cwd=clone)
        argv = ["commit", "-q", "-m", message] + ([] if hook else ["--no-verify"])
        return self.git(*argv, cwd=clone, check=not hook)

    def attack(self, files: dict[str, Content], message: str = "attack") -> None:
        """The attacker commits ``files`` with the hook bypassed and pushes them."""
        self.commit(self.attacker, files, message, hook=False)
        self.git("push", "-q", "origin", "HEAD:main", cwd=self.attacker)

    def pull(self) -> None:
        self.git("pull", "-q", "--ff-only", "origin", "main")

    def deliver(self, files: dict[str, Content], message: str = "attack") -> None:
        """What an attacker pushes, pulled into the victim's clone (a fast-forward)."""
        self.attack(files, message)
        self.pull()

    def fix_paths(self, template: Path) -> None:
        """Point each clone's remote at this copy's bare repository, not the template's."""
        for clone in (self.attacker, self.victim):
            config = clone / ".git" / "config"
            config.write_text(config.read_text().replace(str(template), str(self.root)))


REPORTS = ("validate", "status", "doctor", "conflicts", "check-merge")


def build_template(root: Path) -> None:
    home = root.parent / (root.name + "-home")
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n"
        "[advice]\n\tdetachedHead = false\n[pull]\n\trebase = false\n"
    )
    world = World(root, make_env(home))
    world.git("init", "-q", "--bare", str(world.remote), cwd=root)
    world.git("clone", "-q", str(world.remote), str(world.attacker), cwd=root)
    assert world.gitstore("init", cwd=world.attacker).code == 0
    config = world.attacker / "gitstore.yaml"
    config.write_text(config.read_text() + NOTES_COLLECTION)
    assert world.gitstore("install", cwd=world.attacker).code == 0
    put_files(
        world.attacker,
        {
            "ROADMAP.md": ROADMAP,
            "records/tasks/T-1.yaml": SEED_RECORD,
            "records/tasks/T-2.yaml": record("T-2", title="second task"),
            "records/tasks/T-3.yaml": record("T-3", title="third task"),
            "records/notifications/N-1.yaml": record("N-1", message="hello"),
            "records/notes/welcome.yaml": record("welcome", title="notes in any script"),
        },
    )
    world.git("add", "-A", cwd=world.attacker)
    res = world.git("commit", "-q", "-m", "base", cwd=world.attacker, check=False)
    assert res.code == 0, res.show()  # the base commit passes the hook
    world.git("push", "-q", "-u", "origin", "main", cwd=world.attacker)
    world.git("clone", "-q", str(world.remote), str(world.victim), cwd=root)
    assert world.gitstore("install").code == 0
    world.outside.mkdir()
    put_files(
        world.outside,
        {
            "sentinel.txt": "the victim's own file, outside the repository\n",
            "secret.yaml": record("T-1", title="a file of the victim's, outside the repo"),
            "tasks/T-1.yaml": record("T-1", title="outside"),
            "tasks/keep.txt": "outside\n",
            "roadmap.md": ROADMAP,
            "gitstore.yaml": config.read_text(),
            "empty": "",
        },
    )


def record(record_id: str, **fields: str) -> str:
    """A valid record's text."""
    head = (
        f"id: {record_id}\nversion: 1\nlast_modified: 2026-11-20T10:00:00.000000Z\n"
        "modified_by: alice\n"
    )
    return head + "".join(f"{k}: {v}\n" for k, v in fields.items())


# ---------------------------------------------------------------- what a case runs


@dataclass(frozen=True)
class Act:
    """A command of the victim's; ``label`` is what the table shows."""

    label: str
    go: Callable[[World], Result]

    def __call__(self, world: World) -> Result:
        return self.go(world)


def cli(*argv: str, env: dict[str, str] | None = None, show: str | None = None) -> Act:
    label = show or "gitstore " + short(argv)
    return Act(label, lambda w: w.gitstore(*argv, env=env, label=label))


def api(snippet: str, show: str | None = None) -> Act:
    label = show or snippet
    return Act(label, lambda w: w.api(snippet, label=label))


def _fault_options(faults: Iterable[str]) -> list[str]:
    options: list[str] = []
    for spec in faults:
        options += ["--os-fault", spec[3:]] if spec.startswith("os.") else ["--fault", spec]
    return options


def faulty(faults: Iterable[str], *argv: str, show: str | None = None) -> Act:
    """``gitstore ARGV`` with faults: ``STEP:ERRNO:MATCH`` for gitstore.fs's fault hook, or
    ``os.CALL:ERRNO:MATCH`` for an ``os`` call (see runner.py)."""
    faults = list(faults)
    label = show or "gitstore " + short(argv) + "  [" + ", ".join(faults) + "]"

    def go(w: World) -> Result:
        return run(
            [sys.executable, str(RUNNER), *_fault_options(faults), "cli", *argv],
            w.victim,
            w.env,
            label=label,
            one_line=argv[0] not in REPORTS,
        )

    return Act(label, go)


def faulty_api(faults: Iterable[str], snippet: str, show: str | None = None) -> Act:
    """An API snippet (as :func:`api`) with faults (as :func:`faulty`)."""
    faults = list(faults)
    label = (show or snippet) + "  [" + ", ".join(faults) + "]"

    def go(w: World) -> Result:
        argv = [sys.executable, str(RUNNER), *_fault_options(faults), "api", snippet]
        return run(argv, w.victim, w.env, label=label)

    return Act(label, go)


def git(*argv: str, show: str | None = None) -> Act:
    return Act(show or "git " + short(argv), lambda w: w.git(*argv, check=False))


def in_process(show: str, fn: Callable[[World], object]) -> Act:
    """Call ``fn`` in this process (for state that must outlive one call: locks, faults). A
    GitStoreError becomes its exit code and one line; anything else is an internal error."""

    def go(w: World) -> Result:
        import traceback

        from gitstore import GitStoreError

        try:
            fn(w)
        except GitStoreError as err:
            return Result(show, err.exit_code, "", f"gitstore: {type(err).__name__}: {err}\n")
        except Exception:
            return Result(show, 1, "", "internal error:\n" + traceback.format_exc())
        return Result(show, 0, "", "")

    return Act(show, go)


# ---------------------------------------------------------------- a case, and its check

Words = tuple[str | tuple[str, ...], ...]


@dataclass(frozen=True)
class Case:
    """One hostile case: how the hostile state arrives, what the victim runs, what must happen.

    ``words`` must all appear (case-insensitively) on one line of the error — a tuple inside it is
    a choice of wordings. ``expect`` says the expected outcome in words, with the reasoning where
    it is a judgment call; it is what docs/hostile-cases.md shows.
    """

    name: str
    delivery: str
    arrange: Callable[[World], None]
    act: Act
    code: int
    words: Words = ()
    expect: str = ""
    allow: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()
    after: tuple[Callable[[World, Result], None], ...] = ()
    lock_check: bool = True

    def __str__(self) -> str:
        return self.name


def _has(line: str, word: str | tuple[str, ...]) -> bool:
    options = (word,) if isinstance(word, str) else word
    return any(o.lower() in line.lower() for o in options)


def check_result(res: Result, code: int, words: Words = ()) -> list[str]:
    """Everything wrong with one command's result, as messages (empty when it is right)."""
    problems = []
    if res.code < 0:
        problems.append(f"killed by signal {-res.code} ({signal.Signals(-res.code).name})")
    elif res.code in CRASH_CODES:
        problems.append(f"exit {res.code}: a child was killed by signal {res.code - 128}")
    if res.code != code:
        problems.append(f"exit {res.code}, expected {code}")
    both = res.out + res.err
    problems += [f"output holds {bad!r}" for bad in CRASH_TEXT if bad.lower() in both.lower()]
    if res.one_line and res.code != 0:
        lines = res.err.strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith("gitstore: "):
            problems.append(
                f"the error is not one 'gitstore: ' line on stderr ({len(lines)} lines)"
            )
        if lines and not all(_has(lines[-1], w) for w in words):
            problems.append(f"the error line lacks {words}")
    elif words and not any(all(_has(line, w) for w in words) for line in both.splitlines()):
        problems.append(f"no output line holds all of {words}")
    return problems


def run_case(world: World, case: Case) -> None:
    case.arrange(world)
    guard = Guard(world, case.allow, case.watch)
    before = guard.snap()
    try:
        res = case.act(world)
    except Hung as hung:
        pytest.fail(str(hung))
    problems = check_result(res, case.code, case.words)
    changes = diff(before, guard.snap())
    problems += [f"changed: {c}" for c in changes]
    # A planted fsmonitor runs on the next git status; a planted hook would leave the sentinel.
    world.git("status", "--porcelain", check=False)
    if os.path.lexists(world.sentinel):
        problems.append(f"the sentinel {world.sentinel} was created: attacker code ran")
    for after in case.after:
        try:
            after(world, res)
        except AssertionError as err:
            problems.append(str(err))
        except Hung as hung:
            problems.append(str(hung))
    if case.lock_check and not problems:
        problems += lock_is_free(world)
    if problems:
        summary = "; ".join(p.splitlines()[0] for p in problems)
        pytest.fail("\n".join([summary, "", *problems, "", res.show()]), pytrace=False)


def lock_is_free(world: World) -> list[str]:
    """A second process takes the store lock exclusively at once (a 1 s timeout)."""
    try:
        res = world.api("with store.transaction(): pass", env={"GITSTORE_LOCK_TIMEOUT": "1"})
    except Hung as hung:
        return [f"lock check: {hung}"]
    if res.code != 0:
        return [f"a second process could not take the store lock afterwards:\n{res.show()}"]
    return []


def cases(items: list[Case]) -> Any:
    """``@cases(CASES)``: one test per case, named by it."""
    names = [c.name for c in items]
    assert len(set(names)) == len(names), "case names must be unique"
    return pytest.mark.parametrize("case", items, ids=names)
