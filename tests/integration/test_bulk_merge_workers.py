"""The bulk merge's forked decision workers when things go wrong: a worker that dies fails the
merge instead of hanging it, and Ctrl-C (while the workers start, or mid-merge) leaves no process
behind and says what it left half done. The merges themselves: tests/integration/test_bulk_merge.py."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gitstore.merge import many
from tests.conftest import git
from tests.integration.test_bulk_merge import cli, on
from tests.integration.test_bulk_merge import repo as repo  # the fixture
from tests.integration.test_git_merge import run_git

DYING_WORKER = """
import os, sys
from gitstore import Store
from gitstore.errors import GitStoreError
from gitstore.merge import bulk, many

parent, decide = os.getpid(), many._in_process

def dies_on_one(context, path, sides):
    if os.getpid() != parent and path.endswith("/T-5.yaml"):
        os._exit(3)  # a worker killed mid-merge (the OOM killer, a stray signal)
    return decide(context, path, sides)

many.POOL_FROM, many.WINDOW, many._in_process = 2, 3, dies_on_one
try:
    bulk.merge(Store.open(sys.argv[1]), "other")
except GitStoreError as err:
    print(err)
    sys.exit(1)
"""


def test_a_worker_that_dies_fails_the_merge_instead_of_hanging_it(repo: Path) -> None:
    on(repo, "main", *(cli(i, status="doing") for i in range(1, 8)))
    on(repo, "other", *(cli(i, owner="bob") for i in range(1, 8)))
    done = subprocess.Popen(
        [sys.executable, "-c", DYING_WORKER, str(repo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = done.communicate(timeout=300)  # a hang detector: the merge takes a second
    except subprocess.TimeoutExpired:
        os.killpg(done.pid, 9)
        pytest.fail("the merge hung after one of its workers died")
    assert done.returncode == 1, out + err
    assert "a merge worker process died" in out, out + err
    assert (repo / ".git/MERGE_HEAD").exists()  # left in progress, as the message says
    assert run_git(repo, "merge", "--abort").returncode == 0
    assert git(repo, "status", "--porcelain") == ""


INTERRUPTED = """
import os, signal, sys, time
from gitstore.cli import main
from gitstore.merge import many

parent, decide, start, where = os.getpid(), many._in_process, many._start, sys.argv[2]

def slow_on_one(context, path, sides):
    if os.getpid() != parent and path.endswith("/T-5.yaml"):
        open(os.path.join(where, "working"), "w").close()
        time.sleep(60)  # the person presses Ctrl-C meanwhile
    return decide(context, path, sides)

def ctrl_c_while_starting(context):
    start(context)
    if sys.argv[3] == "start":  # Ctrl-C, to the whole process group, as the pool starts
        try:
            os.close(os.open(os.path.join(where, "pressed"), os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return
        os.killpg(0, signal.SIGINT)
        time.sleep(5)  # what a worker does next is not the point

many.POOL_FROM, many.WINDOW, many._in_process = 2, 3, slow_on_one
many._start = ctrl_c_while_starting
sys.exit(main(["merge", "other"]))
"""


@pytest.mark.parametrize("when", ["start", "merging"])
def test_ctrl_c_stops_a_merge_and_leaves_no_process_behind(
    repo: Path, tmp_path: Path, when: str
) -> None:
    on(repo, "main", *(cli(i, status="doing") for i in range(1, 8)))
    on(repo, "other", *(cli(i, owner="bob") for i in range(1, 8)))
    done = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED, str(repo), str(tmp_path), when],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        if when == "merging":
            while not (tmp_path / "working").exists() and done.poll() is None:
                time.sleep(0.05)
            os.killpg(done.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
        out, err = done.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(done.pid, 9)
        pytest.fail("the merge hung after Ctrl-C")
    left = subprocess.run(
        ["ps", "-o", "pid=,args=", "-s", str(done.pid)], capture_output=True, text=True
    ).stdout.strip()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(done.pid, 9)
    assert left == "", f"processes left behind: {left}"
    assert done.returncode == 130, out + err
    assert "Traceback" not in err, err
    if (repo / ".git/MERGE_HEAD").exists():  # it says so, and how to undo it
        assert "left in progress" in err and "git merge --abort" in err, (out, err)
    assert (
        run_git(repo, "merge", "--abort").returncode == 0 or not (repo / ".git/MERGE_HEAD").exists()
    )
    assert git(repo, "status", "--porcelain") == ""


def test_ctrl_c_while_the_workers_start_leaves_none_of_them(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def ctrl_c(context: many.Context) -> None:  # in the first worker, before any task
        with contextlib.suppress(FileExistsError):
            os.close(os.open(tmp_path / "pressed", os.O_CREAT | os.O_EXCL))
            os.kill(os.getppid(), signal.SIGINT)

    monkeypatch.setattr(many, "_start", ctrl_c)
    context = many.Context(repo, None, tmp_path)  # type: ignore[arg-type]
    with pytest.raises(KeyboardInterrupt):
        many._pool(context, many.POOL_FROM)
    assert multiprocessing.active_children() == []
    assert threading.active_count() == 1, threading.enumerate()
