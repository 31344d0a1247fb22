"""The CLI end to end, as a person and as a daemon (--json) use it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gitstore.query import natural_key
from gitstore.record import loads
from tests.conftest import git, gitstore


def test_init_creates_a_store_and_a_repository(tmp_path: Path) -> None:
    res = gitstore("init", "proj", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    root = tmp_path / "proj"
    assert (root / "gitstore.yaml").is_file() and (root / ".git").is_dir()
    assert ".gitstore/" in (root / ".gitignore").read_text()
    again = gitstore("init", cwd=root)
    assert again.returncode == 0 and "kept the existing" in again.stdout


def test_record_lifecycle_json(store_dir: Path) -> None:
    def run(*args: str) -> object:
        res = gitstore(*args, "--json", cwd=store_dir)
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    created = run("add", "tasks", "title=Fix the loop", "tags=daemon,p0", "due=2026-12-01")
    first = created["id"]  # type: ignore[index]
    assert re.fullmatch(r"T-[0-9a-hjkmnp-tv-z]{6}", first) and created["status"] == "todo"  # type: ignore[index]
    assert created["tags"] == ["daemon", "p0"] and created["due"] == "2026-12-01"  # type: ignore[index]
    updated = run("set", first, "status=doing", "priority=2", "count:=3", "--if-version", "1")
    assert updated["version"] == 2 and updated["priority"] == 2 and updated["count"] == 3  # type: ignore[index]
    got = run("get", f"tasks/{first}")
    assert got == updated
    second = run("add", "tasks", "title=Other", "status=done")["id"]  # type: ignore[index]
    assert second != first
    listed = run("list", "tasks", "--where", "status=doing")
    assert [r["id"] for r in listed] == [first]  # type: ignore[union-attr,index]
    unset = run("set", first, "--unset", "priority")
    assert "priority" not in unset  # type: ignore[operator]
    run("rm", first)
    assert [r["id"] for r in run("list", "tasks")] == [second]  # type: ignore[union-attr,index]
    assert [r["id"] for r in run("list", "tasks", "--deleted")] == sorted(  # type: ignore[union-attr,index]
        [first, second],
        key=natural_key,  # natural order: T-5pvv24 before T-46q541
    )


def test_human_output(store_dir: Path) -> None:
    gitstore("add", "tasks", "T-1", "title=Fix the loop", cwd=store_dir)
    got = gitstore("get", "T-1", cwd=store_dir)
    assert got.stdout.startswith("id: T-1\nversion: 1\n")
    table = gitstore("list", "tasks", cwd=store_dir)
    assert "Fix the loop" in table.stdout and "T-1" in table.stdout


def test_global_options_before_the_command(store_dir: Path, tmp_path: Path) -> None:
    gitstore("add", "tasks", "T-1", "title=x", cwd=store_dir)
    res = gitstore("-C", str(store_dir), "--json", "get", "T-1", cwd=tmp_path)
    assert res.returncode == 0 and json.loads(res.stdout)["id"] == "T-1"


def _editor(tmp_path: Path, code: str) -> dict[str, str]:
    script = tmp_path / "editor.py"
    script.write_text("import sys\np = sys.argv[1]\ntext = open(p).read()\n" + code)
    return {"EDITOR": f"{sys.executable} {script}"}


def test_edit_writes_valid_edit_keeping_comments(store_dir: Path, tmp_path: Path) -> None:
    gitstore("add", "tasks", "T-1", "title=x", cwd=store_dir)
    env = _editor(
        tmp_path, "open(p, 'w').write(text.replace('status: todo', '# why\\nstatus: doing'))"
    )
    res = gitstore("edit", "T-1", cwd=store_dir, env=env)
    assert res.returncode == 0, res.stderr
    text = (store_dir / "records/tasks/T-1.yaml").read_text()
    assert "# why\nstatus: doing\n" in text and loads(text)["version"] == 2


def test_invalid_edit_is_never_written_and_is_rescued(store_dir: Path, tmp_path: Path) -> None:
    gitstore("add", "tasks", "T-1", "title=x", cwd=store_dir)
    path = store_dir / "records/tasks/T-1.yaml"
    before = path.read_bytes()
    env = _editor(tmp_path, "open(p, 'w').write(text.replace('status: todo', 'status: [broken'))")
    res = gitstore("edit", "T-1", cwd=store_dir, env=env)
    assert res.returncode == 1
    assert path.read_bytes() == before
    rescue = Path(res.stderr.split("your edit is kept in ")[1].strip())
    assert "status: [broken" in rescue.read_text()


def test_unchanged_edit(store_dir: Path, tmp_path: Path) -> None:
    gitstore("add", "tasks", "T-1", "title=x", cwd=store_dir)
    res = gitstore("edit", "T-1", cwd=store_dir, env=_editor(tmp_path, ""))
    assert res.returncode == 0 and "no changes" in res.stdout


@pytest.mark.parametrize(
    "command",
    ["init", "install", "add", "get", "set", "rm", "list", "edit", "validate", "merge-driver"]
    + ["commit", "merge", "sync", "log", "conflicts", "resolve", "status", "doctor", "check-merge"]
    + ["import", "export"]
    + [
        f"roadmap {c}"
        for c in ["list", "show", "add", "set", "status", "move", "renumber", "rm", "edit", "next"]
    ],
)
def test_every_command_has_help_with_an_example(command: str, tmp_path: Path) -> None:
    res = gitstore(*command.split(), "--help", cwd=tmp_path)
    assert res.returncode == 0 and "Example:" in res.stdout


def test_records_are_committable(store_dir: Path) -> None:
    gitstore("add", "tasks", "T-1", "title=x", cwd=store_dir)
    git(store_dir, "add", "-A")
    git(store_dir, "commit", "-qm", "x")
    assert git(store_dir, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["list"], "Missing argument 'COLLECTION'"),
        (["lst"], "No such command 'lst'"),
        (["list", "tasks", "--limit", "x"], "'x' is not a valid integer"),
        (["get", "T-1", "--bogus"], "No such option: --bogus"),
    ],
)
def test_argument_errors_are_one_line_or_json(store_dir: Path, argv: list[str], words: str) -> None:
    res = gitstore(*argv, cwd=store_dir)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.count("\n") == 1 and words in res.stderr, res.stderr
    assert not any(ch in res.stderr for ch in "╭│╰")
    res = gitstore("--json", *argv, cwd=store_dir)
    assert res.returncode == 2
    assert json.loads(res.stdout)["error"]["code"] == "usage"


def test_version_and_plain_help_when_piped(tmp_path: Path) -> None:
    res = gitstore("--version", cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.startswith("gitstore ")
    helped = gitstore("--help", cwd=tmp_path)
    assert "--install-completion" in helped.stdout  # typer's shell completion is on
    assert not any(ch in helped.stdout for ch in "╭│╰━")


def test_a_missing_editor_is_one_clear_line(store_dir: Path) -> None:
    gitstore("add", "tasks", "T-1", "title=x", cwd=store_dir)
    res = gitstore("edit", "T-1", cwd=store_dir, env={"EDITOR": "no-such-editor-here"})
    assert res.returncode == 2 and "set $EDITOR" in res.stderr and res.stderr.count("\n") == 1


def test_a_deleted_record_is_restored_explicitly_and_log_of_nothing_fails(store_dir: Path) -> None:
    gitstore("add", "tasks", "T-1", "title=x", cwd=store_dir)
    gitstore("rm", "T-1", cwd=store_dir)
    res = gitstore("set", "T-1", "status=doing", cwd=store_dir)
    assert res.returncode == 1 and "is deleted" in res.stderr and "--restore" in res.stderr
    res = gitstore("set", "T-1", "status=doing", "--restore", "--json", cwd=store_dir)
    assert res.returncode == 0, res.stderr
    rec = json.loads(res.stdout)
    assert rec["status"] == "doing" and "deleted" not in rec and rec["version"] == 3
    gitstore("commit", cwd=store_dir)
    for unknown in ("T-404", "99.5"):
        res = gitstore("log", unknown, cwd=store_dir)
        assert res.returncode == 1 and "history" in res.stderr


def test_init_runs_plain_git_and_imports_no_gitpython(tmp_path: Path) -> None:
    """gitstore runs git itself (docs/workflow.md, "Why plain git"): GitPython is not needed."""
    code = (
        "import sys; from gitstore.cli import main; "
        f"rc = main(['init', {str(tmp_path / 'p')!r}]); "
        "print(rc, 'git' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.stdout.splitlines()[-1] == "0 False", res.stdout + res.stderr
    assert (tmp_path / "p" / ".git").is_dir()


@pytest.mark.parametrize(
    ("args", "kept"),
    [
        (["-C", "get", "--json", "get", "T-1"], "get"),  # -C takes a value, even a command's name
        (["roadmap", "list"], "roadmap"),
        (["nosuch"], None),  # an unknown name gets "did you mean", from every command
        (["--help"], None),
        ([], None),
    ],
)
def test_a_run_builds_only_the_command_it_names(args: list[str], kept: str | None) -> None:
    """Building every command's parser cost ~50 ms of each run: only the named one is built."""
    from gitstore.cli import command_tree, only_the_command

    full = command_tree()
    app = only_the_command(full, args)
    names = [c.name or c.callback.__name__ for c in app.registered_commands if c.callback]
    names += [g.name or "" for g in app.registered_groups]
    if kept is None:
        assert app is full
    else:
        assert names == [kept]
    assert len(full.registered_commands) > 20  # the shared app itself is left whole


@pytest.mark.parametrize(
    "args",
    [
        ["--help", "get"],  # the top level's help: every command, not only get
        ["-h", "list", "tasks"],
        ["--json", "-h", "get"],
        ["-C", ".", "--help", "roadmap"],
        ["--version", "get"],
        ["--jsn", "get", "T-1"],  # a typo'd option: the full app's error
        ["--", "get", "T-1"],
        ["-C"],
        ["get", "-C"],
        ["-C", "get", "--json", "get", "T-1"],
        ["-C.", "get", "T-1"],
        ["--json", "get", "T-1"],
        ["get", "--help"],
        ["roadmap"],
        ["roadmap", "-h"],
        ["roadmap", "nosuch"],
        ["gett", "T-1"],
        [],
    ],
)
def test_building_only_the_named_command_changes_no_output(
    store_dir: Path,
    args: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Whatever the argument shape, a run that builds only the named command prints and exits
    exactly as one that builds them all."""
    import gitstore.cli as cli

    monkeypatch.chdir(store_dir)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    runs = []
    for whole in (False, True):
        if whole:
            monkeypatch.setattr(cli, "only_the_command", lambda app, args: app)
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        runs.append((code, out, err))
    assert runs[0] == runs[1]


@pytest.mark.parametrize(
    ("command", "ours"),
    [
        ("gitstore merge-driver %O %A %B %P", True),  # an old clone's or written by hand
        ("'/opt/my venv/bin/gitstore' merge-driver %O %A %B %P", True),
        ("/usr/bin/python3 -P -m gitstore merge-driver %O %A %B %P", True),
        ("my-merge-driver %O %A %B", False),  # the user's own: left alone, with a warning
        ("/usr/local/bin/git-merge-driver-json %O %A %B", False),
        ("echo merge-driver; gitstore-ish %A", False),
        ("'unbalanced merge-driver", False),
    ],
)
def test_install_replaces_only_a_gitstore_driver(store_dir: Path, command: str, ours: bool) -> None:
    from gitstore.initialize import driver_command, install, is_driver

    assert is_driver(driver_command())
    assert is_driver(command) == ours
    git(store_dir, "config", "merge.gitstore.driver", command)
    done = install(store_dir)
    now = git(store_dir, "config", "--get", "merge.gitstore.driver").strip()
    assert now == (driver_command() if ours else command)
    assert any("left as it is" in line for line in done) != ours
