"""Every shell example of the README and docs/, run as written against a seeded store.

The examples are every line of a ```sh block in README.md and docs/*.md, and every
``Example:`` line of the live command tree's help (what docs/cli.md shows). A block runs in a
fresh sandbox, line by line in one shell state (``cd`` carries over); each ``gitstore`` line must
exit with its documented code (0, or the code its help names). Lines that are not gitstore
commands (``pip install``, ``python bench/...``) are left out of the count; ``git`` lines in a
block run, uncounted, as the steps between.

As written, with three documented substitutions:
- ``URL``/``REPO`` in ``git clone URL && cd REPO`` are a local bare repository (no network);
- ``$EDITOR`` is a script that appends a line (``EDITOR=nano`` in an example included), since
  an interactive editor cannot run in a test;
- nothing else. SKIP below lists what cannot run here, with the reason; it is counted.

A ``gitstore watch`` that runs until stopped is started, a record is edited until it has printed
a line, then its gitstore process gets Ctrl-C, and it must end with exit 0 as its help says.
The seeded store holds what the examples name: T-42 at version 3 with history, roadmap sections
2.5, 3, 4.2, 5 (twice), 7, notification N-k3x9q2, the files the import examples read, a remote
``origin``; the ``resolve``/``conflicts`` examples run in a copy stopped in a flagged conflict.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitstore import Store
from tests.conftest import git

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Examples that cannot run in a test, and why (counted in the summary). Empty: all run.
SKIP: dict[str, str] = {}
# Examples whose documented exit code is not 0.
EXPECTED = {"gitstore conflicts --json": 1}  # "Exit 1 if any": the seed has one

SEED_ROADMAP = """\
# Roadmap

### PRIORITY 2.5: UX documentation
**Status**: 🔄 In Progress

### PRIORITY 3: Sync
**Status**: 📝 Planned

### PRIORITY 4.2: Old idea
**Status**: 📝 Planned

### PRIORITY 5: Dashboard
**Status**: 📝 Planned

### PRIORITY 5: Dashboard, again (a duplicate number, as real roadmaps have)
**Status**: 📝 Planned

### PRIORITY 7: Release
**Status**: 📝 Planned
"""


@dataclass
class Example:
    where: str  # README.md:85, or "help of gitstore set"
    lines: list[str]  # the block's lines (one for a help example)

    @property
    def counted(self) -> list[str]:
        return [line for line in self.lines if _is_gitstore(line)]


def _is_gitstore(line: str) -> bool:
    words = line.split()
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
        words = words[1:]
    return bool(words) and (words[0] == "gitstore" or bool(re.search(r"(&&|\|) gitstore ", line)))


def _follows(line: str) -> bool:
    """``gitstore watch`` without --once runs until stopped (Ctrl-C: exit 0, its help says)."""
    return "gitstore watch" in line and "--once" not in line


def _runs(line: str) -> bool:
    return _is_gitstore(line) or line.split()[0] in ("git", "cd")


def doc_blocks() -> list[Example]:
    found = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = doc.read_text()
        for match in re.finditer(r"^```sh\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
            line_no = text.count("\n", 0, match.start()) + 2
            lines: list[str] = []
            for line in match.group(1).splitlines():
                if lines and lines[-1].endswith("\\"):  # a continued line
                    lines[-1] = lines[-1][:-1].rstrip() + " " + line.strip()
                elif line.strip():
                    lines.append(line.strip())
            found.append(Example(f"{doc.relative_to(REPO)}:{line_no}", lines))
    return found


def help_examples() -> list[Example]:
    import typer

    from gitstore.cli import command_tree

    app = command_tree()

    found = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        for line in (getattr(command, "help", None) or "").splitlines():
            if line.strip().startswith("Example:"):
                example = line.strip().removeprefix("Example:").strip()
                found.append(Example(f"help of gitstore {' '.join(path)}", [example]))
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


EXAMPLES = doc_blocks() + help_examples()


# ---------------------------------------------------------------- the sandbox


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: an existing project, a store with history and a remote, a conflicted store."""
    home = tmp_path_factory.mktemp("seed")
    with pytest.MonkeyPatch.context() as env:  # conftest's isolated git, for this fixture too
        gitconfig = home / ".gitconfig"
        gitconfig.write_text(
            "[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n"
        )
        for key in [k for k in os.environ if k.startswith("GIT_")]:
            env.delenv(key)
        env.setenv("GIT_CONFIG_NOSYSTEM", "1")
        env.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
        env.setenv("GITSTORE_USER", "tester")
        _seed(home)
    return home


def _seed(home: Path) -> None:
    from gitstore.initialize import init_store

    project = home / "my-project"
    project.mkdir()
    (project / "README.md").write_text("An existing project.\n")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "An existing project")

    store = home / "store"
    init_store(store)
    (store / "ROADMAP.md").write_text(SEED_ROADMAP)
    opened = Store.open(store)
    opened.put("tasks", {"id": "T-42", "title": "Fix the loop", "tags": ["daemon"]})
    git(store, "add", "-A")
    git(store, "commit", "-qm", "seed")
    for change in ({"status": "doing"}, {"priority": 1}):  # T-42 at version 3, with history
        with opened.update("tasks", "T-42") as rec:
            rec.update(change)
        git(store, "commit", "-qam", f"T-42 {change}")
    remote = home / "remotes" / "REPO.git"
    git(home, "init", "-q", "--bare", str(remote))
    git(store, "remote", "add", "origin", str(remote))
    git(store, "push", "-q", "-u", "origin", "HEAD:main")
    opened.put("tasks", {"id": "T-43", "title": "Not committed yet"})
    opened.put(  # the notification the examples acknowledge (notify picks a random id)
        "notifications",
        {
            "id": "N-k3x9q2",
            "message": "T-42 is done; review?",
            "level": "question",
            "about": "T-42",
        },
    )
    _import_sources(store)
    init_store(home / "other")  # `gitstore -C ../other import -`: a second store beside it

    conflicted = home / "conflicted"
    shutil.copytree(store, conflicted, symlinks=True)
    _install(conflicted)
    _flag_owner(conflicted)
    git(conflicted, "commit", "-qam", "owner conflicts are flagged")
    git(conflicted, "checkout", "-qb", "side")
    with Store.open(conflicted).update("tasks", "T-42") as rec:
        rec["owner"] = "bob"
    git(conflicted, "commit", "-qam", "bob")
    git(conflicted, "checkout", "-q", "main")
    with Store.open(conflicted).update("tasks", "T-42") as rec:
        rec["owner"] = "carol"
    git(conflicted, "commit", "-qam", "carol")
    merged = subprocess.run(["git", "merge", "side"], cwd=conflicted, capture_output=True)
    assert merged.returncode != 0  # T-42's owner flagged: a conflict for a person

    editor = home / "editor.sh"
    editor.write_text('#!/bin/sh\necho "# edited by the docs test" >> "$1"\n')
    editor.chmod(0o755)


def _import_sources(store: Path) -> None:
    """The files the import examples read: CSV, JSON, a legacy SQLite database, an export."""
    import sqlite3

    (store / "tasks.csv").write_text("id,title,status\nT-100,From a spreadsheet,todo\n")
    (store / "tasks.json").write_text('[{"id": "T-101", "title": "From JSON", "tags": ["a"]}]\n')
    with sqlite3.connect(store / "legacy.db") as db:
        db.execute(
            "CREATE TABLE todo (todo_id INTEGER, title TEXT, state TEXT, labels TEXT, "
            "updated_at TEXT, done INTEGER)"
        )
        db.execute(
            "INSERT INTO todo VALUES (7, 'Old todo', 'doing', 'p0, daemon', '2026-01-01', 0)"
        )
    db.close()
    shutil.copy(store / "legacy.db", store / "old.db")  # the name --help's example uses
    exported = subprocess.run(
        [sys.executable, "-m", "gitstore", "export", "-o", "dashboard.db"],
        cwd=store,
        capture_output=True,
        text=True,
    )
    assert exported.returncode == 0, exported.stderr


def _install(root: Path) -> None:
    """A copied clone keeps git's config but its hooks name the seed's path: set it up again."""
    from gitstore.initialize import install

    install(root)


def _flag_owner(root: Path) -> None:
    """Concurrent edits of a task's owner become a conflict for a person (merge: flag)."""
    config = root / "gitstore.yaml"
    old = "      owner:\n        type: str\n"
    assert old in config.read_text()
    config.write_text(config.read_text().replace(old, old + "        merge: flag\n"))


def sandbox(seeded: Path, tmp: Path) -> Path:
    box = tmp / "box"
    shutil.copytree(seeded, box, symlinks=True)
    for clone in ("store", "conflicted"):
        git(box / clone, "remote", "set-url", "origin", str(box / "remotes" / "REPO.git"))
        _install(box / clone)
    return box


def start(example: Example, box: Path) -> Path:
    first = example.lines[0]
    if first.startswith(("gitstore init ", "cd ", "git clone ")):
        return box
    if "resolve" in first or "conflicts" in first:
        return box / "conflicted"
    return box / "store"


def _env(box: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "EDITOR": str(box / "editor.sh"),
        "NO_COLOR": "1",
    }
    env.pop("VISUAL", None)
    return env


def run_line(line: str, cwd: Path, box: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One line in bash, in ``cwd``; returns the result and the folder it ended in."""
    line = line.replace("git clone URL", f"git clone {box / 'remotes' / 'REPO.git'}")
    line = re.sub(r"\bEDITOR=nano\b", f"EDITOR={box / 'editor.sh'}", line)
    if _follows(line):
        return follow(line, cwd, box), cwd
    script = f'{line}\ncode=$?\necho "__cwd__=$PWD"\nexit $code'
    done = subprocess.run(
        ["bash", "-c", script], cwd=cwd, capture_output=True, text=True, env=_env(box), timeout=120
    )
    where = re.search(r"__cwd__=(.*)$", done.stdout, re.MULTILINE)
    return done, Path(where.group(1)) if where else cwd


def follow(line: str, cwd: Path, box: Path) -> subprocess.CompletedProcess[str]:
    """A line that runs until stopped: start it, edit a record (again and again, so a watcher
    that is still starting misses none of it) until it has printed a line, then press Ctrl-C on
    the gitstore process, as a person would; the line must then end by itself."""
    import signal
    import threading
    import time

    proc = subprocess.Popen(
        ["bash", "-c", line],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(box),
        start_new_session=True,
    )
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(proc.stdout or []), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120  # generous: a busy machine; the test never times anything
    poke = 0
    while not out and proc.poll() is None and time.monotonic() < deadline:
        poke += 1
        subprocess.run(
            [sys.executable, "-m", "gitstore", "set", "T-42", f"owner=poke-{poke}"],
            cwd=cwd,
            capture_output=True,
        )
        time.sleep(0.2)
    for pid in _session(proc.pid):  # Ctrl-C for the gitstore process of the pipeline
        os.kill(pid, signal.SIGINT)
    try:
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    reader.join(timeout=10)
    assert proc.stdout is not None and proc.stderr is not None
    with proc.stdout, proc.stderr:
        err = proc.stderr.read()
    if not out:
        code = code or 1  # it never printed anything: a failure whatever it exited with
    return subprocess.CompletedProcess(line, code, "".join(out), err)


def _session(sid: int) -> list[int]:
    """The gitstore processes of a session (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        fields = stat.rsplit(")", 1)[-1].split()  # state, ppid, pgrp, session, ...
        ours = entry.name.isdigit() and int(fields[3]) == sid and b"bash" not in cmdline[0]
        if ours and b"gitstore" in b" ".join(cmdline):
            found.append(int(entry.name))
    return found


# ---------------------------------------------------------------- the tests

RESULTS: dict[str, str] = {}


@pytest.mark.parametrize(
    "example", EXAMPLES, ids=[f"{e.where}: {e.lines[0][:50]}" for e in EXAMPLES]
)
def test_example(example: Example, seeded: Path, tmp_path: Path) -> None:
    box = sandbox(seeded, tmp_path)
    cwd = start(example, box)
    for line in example.lines:
        if not _runs(line):
            continue
        if line in SKIP:
            RESULTS[f"{example.where}: {line}"] = "skipped"
            continue
        done, cwd = run_line(line, cwd, box)
        expected = EXPECTED.get(line, 0)
        ok = done.returncode == expected and "Traceback" not in done.stderr
        if _is_gitstore(line):
            RESULTS[f"{example.where}: {line}"] = "pass" if ok else "FAIL"
        assert ok, f"{example.where}: {line!r} exited {done.returncode}\n{done.stdout}{done.stderr}"


def test_the_examples_are_all_found_and_counted(capsys: pytest.CaptureFixture[str]) -> None:
    lines = [line for e in EXAMPLES for line in e.lines]
    commands = [line for line in lines if _is_gitstore(line)]
    steps = [line for line in lines if _runs(line) and not _is_gitstore(line)]
    left_out = [line for line in lines if not _runs(line)]
    from_help = [e for e in EXAMPLES if e.where.startswith("help of")]
    assert len(from_help) >= 28 and len(commands) >= 40  # a parser that finds nothing fails
    assert all(
        line.split()[0] in ("pipx", "pip", "python3", ".venv/bin/pip", ".venv/bin/python")
        for line in left_out
    ), left_out  # only installing and benchmarks are not run
    assert set(SKIP) <= set(commands)
    with capsys.disabled():
        passed = sum(1 for v in RESULTS.values() if v == "pass")
        print(
            f"\n[docs examples] {len(lines)} shell example lines ({len(from_help)} from --help, "
            f"{len(lines) - len(from_help)} in sh blocks of README.md and docs/): "
            f"{len(commands)} gitstore commands, {passed} of them run and passed in this run, "
            f"{len(SKIP)} skipped; {len(steps)} git/cd steps run between; {len(left_out)} "
            "install/bench lines not run"
        )


def test_the_readme_demo_runs() -> None:
    """The README's first command: its install steps are pip's; the demo itself runs here."""
    readme = (REPO / "README.md").read_text()
    assert "&& .venv/bin/python examples/demo.py" in readme
    done = subprocess.run(
        [sys.executable, "examples/demo.py"], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stdout + done.stderr
