"""folders.py: a big folder's ``lstat``s split with a forked child give exactly what one process
gives, whatever happens to the child, and never leave it behind."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from gitstore import folders

COUNT = 40


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    place = tmp_path / "records"
    place.mkdir()
    for i in range(COUNT):
        (place / f"T-{i}.yaml").write_bytes(b"x" * i)
    (place / "sub").mkdir()
    (place / "link").symlink_to("/")
    os.mkfifo(place / "fifo")  # lstat-ed, never opened: nothing blocks
    return place


@pytest.fixture
def split(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Splits every folder of two names or more; the children forked, by pid."""
    monkeypatch.setattr(folders, "SPLIT_FROM", 2)
    monkeypatch.setattr(folders, "_may_fork", lambda: True)
    forked: list[int] = []
    real = os.fork

    def fork() -> int:
        pid = real()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return forked


@pytest.fixture
def here(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many names each of this process's own lstat runs looked at (not the child's)."""
    parent, calls, real = os.getpid(), [], folders._numbers

    def spy(fd: int, names: list[str], known: object) -> object:
        if os.getpid() == parent:
            calls.append(len(names))
        return real(fd, names, known)  # type: ignore[arg-type]

    monkeypatch.setattr(folders, "_numbers", spy)
    return calls


@pytest.fixture
def fd(folder: Path) -> Iterator[int]:
    opened = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    yield opened
    os.close(opened)


def alone(fd: int, names: list[str]) -> tuple[list[str], list[int]]:
    kept, numbers = folders._numbers(fd, names, None)
    return kept, list(numbers)


def gone(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True  # reaped already
    return False


def test_split_scan_is_the_scan_of_one_process(
    folder: Path, split: list[int], here: list[int]
) -> None:
    _, names, numbers = folders.scan(folder)
    assert split and here == [len(names) // 2], "the child's half was not used"
    here.clear()
    assert sorted(names) == sorted(os.listdir(folder))
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert (names, list(numbers)) == alone(fd, names)
    finally:
        os.close(fd)
    assert all(gone(pid) for pid in split)


def test_names_gone_since_the_listing_are_left_out_on_both_halves(
    fd: int, split: list[int], here: list[int]
) -> None:
    names = sorted(os.listdir(fd))
    with_gone = ["gone-0", *names[:10], "gone-1", *names[10:], "gone-2"]
    kept, numbers = folders._looked_at(fd, with_gone, None)
    assert split and here == [len(with_gone) // 2], "the child's half was not used"
    here.clear()
    assert (kept, list(numbers)) == alone(fd, names)


def test_known_numbers_are_used_in_the_child_too(
    fd: int, split: list[int], here: list[int]
) -> None:
    names = sorted(os.listdir(fd))

    def known(name: str) -> Sequence[int] | None:
        return (1, 2, 3, 4, 5) if name.endswith("7.yaml") else None

    kept, numbers = folders._looked_at(fd, names, known)
    assert split and here == [len(names) // 2] and kept == names
    for name in ("T-7.yaml", "T-37.yaml"):  # one in each half
        at = 5 * kept.index(name)
        assert numbers[at : at + 5].tolist() == [1, 2, 3, 4, 5]
    real = alone(fd, names)[1]
    assert [n for i, n in enumerate(numbers) if not kept[i // 5].endswith("7.yaml")] == [
        n for i, n in enumerate(real) if not names[i // 5].endswith("7.yaml")
    ]


@pytest.mark.parametrize("how", ["raises", "killed", "exits", "garbles"])
def test_a_child_that_fails_leaves_its_half_to_this_process(
    fd: int, split: list[int], here: list[int], how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = os.getpid()
    names = sorted(os.listdir(fd))

    def known(name: str) -> Sequence[int] | None:
        if os.getpid() != parent:
            if how == "raises":
                raise OSError(5, "Input/output error")
            if how == "killed":
                os.kill(os.getpid(), signal.SIGKILL)
            if how == "exits":
                os._exit(0)  # says nothing, yet exits 0
        return None

    if how == "garbles":
        monkeypatch.setattr(folders.marshal, "dumps", lambda value: b"\x00garbage")
    kept, numbers = folders._looked_at(fd, names, known)
    half = len(names) // 2
    assert split and here == [half, len(names) - half]  # its own half, then the child's
    here.clear()
    assert (kept, list(numbers)) == alone(fd, names)
    assert all(gone(pid) for pid in split)


def test_an_interrupted_scan_kills_and_reaps_its_child(fd: int, split: list[int]) -> None:
    parent = os.getpid()
    names = sorted(os.listdir(fd))

    def known(name: str) -> Sequence[int] | None:
        if os.getpid() == parent and name == names[3]:
            raise KeyboardInterrupt
        if os.getpid() != parent:
            signal.pause()  # a child that would never finish by itself
        return None

    with pytest.raises(KeyboardInterrupt):
        folders._looked_at(fd, names, known)
    assert split and all(gone(pid) for pid in split)


def test_no_fork_while_another_thread_runs() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not folders._may_fork()
    finally:
        stop.set()
        thread.join()


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_ctrl_c_just_after_the_fork_never_runs_the_callers_code_in_the_child(
    fd: int, split: list[int], here: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C reaches the whole process group: landing in the child before it is inside its own
    try, the KeyboardInterrupt must not unwind through its parent's frames (releasing its parent's
    locks, removing its temp files): the child exits, and its half is done here."""
    parent, escaped, forking = os.getpid(), tmp_path / "escaped", os.fork

    def fork() -> int:
        pid = forking()
        if pid == 0:
            os.kill(os.getpid(), signal.SIGINT)  # delivered at the first chance it gets
        return pid

    monkeypatch.setattr(os, "fork", fork)
    names = sorted(os.listdir(fd))
    try:
        kept, numbers = folders._looked_at(fd, names, None)
    except BaseException:
        if os.getpid() != parent:
            escaped.touch()
            os._exit(0)
        raise
    assert not escaped.exists(), "the child ran its parent's code after Ctrl-C"
    assert here == [len(names) // 2, len(names) - len(names) // 2]
    here.clear()
    assert (kept, list(numbers)) == alone(fd, names)


def test_ctrl_c_just_after_the_fork_in_this_process_still_reaps_the_child(
    fd: int, split: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    forking, before = os.fork, open_fds()

    def fork() -> int:
        pid = forking()
        if pid:
            os.kill(os.getpid(), signal.SIGINT)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    with pytest.raises(KeyboardInterrupt):
        folders._looked_at(fd, sorted(os.listdir(fd)), None)
    assert split and all(gone(pid) for pid in split)
    assert open_fds() == before, "the pipe was left open"


def test_no_pipe_for_the_child_leaves_it_all_to_this_process(
    fd: int, split: list[int], here: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pipe() -> tuple[int, int]:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(os, "pipe", no_pipe)
    names = sorted(os.listdir(fd))
    kept, numbers = folders._looked_at(fd, names, None)
    assert not split and here == [len(names) // 2, len(names) - len(names) // 2]
    here.clear()
    assert (kept, list(numbers)) == alone(fd, names)
