"""Attacks on ``gitstore status`` taking freshness from git's index (gitstore.index.vouch).

Each test drives a real repository into an odd state (a setting, a file name, an attributes
file, a git command) and then compares ``status`` (and ``list --where``) with the index, after
git's index has aged past vouch.BLIND_NS so that git's word may be taken, with the answer from
the files alone (``index=False``).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import gitstore.index.vouch as vouch
from gitstore import Store, statedir
from gitstore.errors import GitStoreError
from gitstore.initialize import init_store
from gitstore.workflow import status
from tests.test_index_vouch import SETTLE, _git, _settle, _spoil, template

__all__ = ["template"]  # the module's fixture, used here too

TASKS = Path("records") / "tasks"


def _answers(root: Path, index: bool) -> dict[str, Any]:
    """What status and a query say about the store."""
    store = Store.open(root, index=index)
    found = status(store)
    found["problems"] = [p.split(" (")[0] for p in found["problems"]]
    skipped: list[Any] = []
    try:
        listed = store.find("tasks", on_error=skipped.append)
        found["find"] = sorted((r.get("id"), r.get("status"), r.get("title")) for r in listed)
    except GitStoreError as err:
        found["find"] = f"{type(err).__name__}: {err}"
    found["skipped"] = sorted(str(e) for e in skipped)
    return found


def _age(root: Path) -> None:
    """_settle, for a store anywhere in a work tree (a linked one too)."""
    found = statedir.git_dir(root)
    assert found is not None
    index = found[0] / "index"
    time.sleep(SETTLE)
    while time.time_ns() < index.stat().st_mtime_ns + vouch.BLIND_NS + SETTLE * 1e9:
        time.sleep(0.05)


def _compare(root: Path, rounds: int = 2) -> int:
    """Compare with and without the index ``rounds`` times, git's index aged before each
    call; how many of the calls git vouched for a folder."""
    count = 0
    for _ in range(rounds):
        _age(root)
        files = _answers(root, False)
        _age(root)
        before = vouch.vouched
        assert _answers(root, True) == files
        count += vouch.vouched - before
    return count


def _copy(tmp_path: Path, template: Path) -> Path:
    root = tmp_path / "store"
    shutil.copytree(template, root, symlinks=True)
    for _ in range(2):  # git refreshes its index for the copy; then a listing is seen whole
        _settle(root)
        status(Store.open(root))
    return root


def _vouched_now(root: Path) -> bool:
    _age(root)
    before = vouch.vouched
    status(Store.open(root))
    return vouch.vouched > before


# ------------------------------------------------------------------ cases that break


def test_a_modified_file_named_with_a_line_separator_is_doubted(
    tmp_path: Path,
) -> None:
    """``core.quotePath=false`` (common with non-ASCII names): git prints the name as it is,
    and a U+2028 in it splits ``_named``'s ``splitlines()`` line in two: the modified file is
    not among the names git called dirty, so its stale row is taken."""
    root = tmp_path / "store"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    init_store(root)
    config = root / "gitstore.yaml"
    config.write_text(config.read_text().replace('"T-[0-9a-z]+"', '"T-.+"'))
    store = Store.open(root, index=False)
    odd = "T-a\u2028b"
    store.put("tasks", {"id": odd, "title": "t", "status": "todo"})
    store.put("tasks", {"id": "T-1", "title": "t", "status": "todo"})
    _git(root, "config", "core.quotePath", "false")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "--no-verify", "-m", "base")
    time.sleep(1.1)  # (as the template: git stops rewriting its index)
    for _ in range(2):
        _settle(root)
        status(Store.open(root))
    assert _vouched_now(root)
    _spoil(root / TASKS / f"{odd}.yaml")
    _compare(root)


PIECES = [b"*", b"*.yaml", b"text", b"-text", b"eol=lf", b"ident", b"\r", b" ", b"\t", b"\x0b"]
PIECES += [b"\x0c", b"\xc2\x85", b"\xe2\x80\xa8", b"#", b"!", b"[attr]m"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(line=b"*.yaml\rtext\n")
@example(line=b"*\rfilter=x\n")
@example(line=b"*.yaml\x0btext\n")
@given(
    line=st.lists(
        st.sampled_from(PIECES),
        min_size=1,
        max_size=6,
    ).map(lambda parts: b"".join(parts) + b"\n")
)
def test_an_attributes_line_git_reads_as_converting_is_seen_as_such(line: bytes) -> None:
    """Differential against ``git check-attr``: whenever git gives a record file a converting
    attribute from a line, ``_converts`` must say the line converts (git takes only ``\\n`` as
    the end of a line and ``\\r`` as a blank; ``splitlines`` also ends lines at ``\\r``)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        _git(repo, "init", "-q")
        (repo / ".gitattributes").write_bytes(line)
        out = subprocess.run(
            ["git", "check-attr", "-a", "--", "records/tasks/T-1.yaml"],
            cwd=repo,
            capture_output=True,
            text=True,
        ).stdout
    fields = [entry.split(": ") for entry in out.splitlines()]
    found = {f[1] for f in fields if len(f) == 3 and f[2] != "unset"}
    if found & vouch.CONVERTING:
        assert vouch._converts(line), (line, out)


# ------------------------------------------------------------------ cases that hold


def _chmod_x(root: Path) -> None:
    path = root / TASKS / "T-2.yaml"
    path.chmod(0o755)
    _spoil(path)


def _index_chmod(root: Path) -> None:
    _git(root, "update-index", "--chmod=+x", "--", str(TASKS / "T-2.yaml"))
    _spoil(root / TASKS / "T-2.yaml")


def _git_mv(root: Path) -> None:
    _git(root, "mv", str(TASKS / "T-2.yaml"), str(TASKS / "T-9.yaml"))
    _spoil(root / TASKS / "T-9.yaml")


def _stash(root: Path) -> None:
    Store.open(root, index=False).put("tasks", {"id": "T-1", "title": "x", "status": "done"})
    _git(root, "stash", "-q")
    _spoil(root / TASKS / "T-1.yaml")


def _stash_pop(root: Path) -> None:
    Store.open(root, index=False).put("tasks", {"id": "T-1", "title": "x", "status": "done"})
    _git(root, "stash", "-q")
    _settle(root)
    status(Store.open(root))
    _git(root, "stash", "pop", "-q")
    _spoil(root / TASKS / "T-1.yaml")


def _checkout_file(root: Path) -> None:
    Store.open(root, index=False).put("tasks", {"id": "T-1", "title": "x", "status": "done"})
    _settle(root)
    status(Store.open(root))
    _git(root, "checkout", "--", str(TASKS / "T-1.yaml"))
    _spoil(root / TASKS / "T-2.yaml")


def _reset_hard(root: Path) -> None:
    Store.open(root, index=False).put("tasks", {"id": "T-1", "title": "x", "status": "done"})
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "--no-verify", "-m", "x")
    _settle(root)
    status(Store.open(root))
    _git(root, "reset", "-q", "--hard", "HEAD~1")
    _spoil(root / TASKS / "T-1.yaml")


def _add_then_edit(root: Path) -> None:
    Store.open(root, index=False).put("tasks", {"id": "T-1", "title": "x", "status": "done"})
    _git(root, "add", "--", str(TASKS / "T-1.yaml"))
    _spoil(root / TASKS / "T-1.yaml")


def _same_second_as_index(root: Path) -> None:
    # an edit keeping size and mtime, in the same second as a write of git's index
    path = root / TASKS / "T-2.yaml"
    _git(root, "update-index", "--really-refresh")
    _spoil(path)
    os.utime(root / ".git" / "index")


def _split_index(root: Path) -> None:
    _git(root, "update-index", "--split-index")
    _settle(root)
    status(Store.open(root))
    _spoil(root / TASKS / "T-2.yaml")


def _index_v4(root: Path) -> None:
    _git(root, "update-index", "--index-version", "4")
    _git(root, "config", "core.untrackedCache", "true")
    _settle(root)
    status(Store.open(root))
    _spoil(root / TASKS / "T-3.yaml")


def _deleted_attributes(root: Path) -> None:
    with open(root / ".gitattributes", "a") as f:
        f.write("*.yaml text\n")
    _git(root, "add", ".gitattributes")
    _git(root, "commit", "-q", "--no-verify", "-m", "attrs")
    (root / ".gitattributes").unlink()
    _spoil(root / TASKS / "T-2.yaml", crlf=True)


def _linked_attributes(root: Path) -> None:
    (root / "attrs").write_text("*.yaml text\n")
    (root / TASKS / ".gitattributes").symlink_to(root / "attrs")
    _spoil(root / TASKS / "T-2.yaml", crlf=True)


def _folder_attributes(root: Path) -> None:
    (root / TASKS / ".gitattributes").write_text("T-2.yaml text\n")
    _spoil(root / TASKS / "T-2.yaml", crlf=True)


def _home_attributes(root: Path) -> None:
    home = Path(os.environ["HOME"]) / ".config" / "git"
    home.mkdir(parents=True, exist_ok=True)
    (home / "attributes").write_text("*.yaml text\n")
    _spoil(root / TASKS / "T-2.yaml", crlf=True)


def _symlink_record(root: Path) -> None:
    path = root / TASKS / "T-2.yaml"
    path.unlink()
    path.symlink_to("T-3.yaml")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "--no-verify", "-m", "link")
    _settle(root)
    status(Store.open(root))
    _spoil(root / TASKS / "T-3.yaml")


def _gitlink(root: Path) -> None:
    sub = root / TASKS / "sub"
    sub.mkdir()
    _git(sub, "init", "-q")
    _git(sub, "commit", "-q", "--allow-empty", "-m", "s")
    _git(root, "add", str(TASKS / "sub"))
    _git(root, "commit", "-q", "--no-verify", "-m", "gitlink")
    _settle(root)
    status(Store.open(root))
    _spoil(root / TASKS / "T-3.yaml")


def _nested_folder(root: Path) -> None:
    nested = root / TASKS / "deeper"
    nested.mkdir()
    (nested / "T-8.yaml").write_text("id: T-8\n")
    (root / TASKS / "T-6.yaml").mkdir()  # a folder with a record's name
    _settle(root)
    status(Store.open(root))
    (nested / "T-8.yaml").write_text("id: T-8\nbroken: [\n")
    _spoil(root / TASKS / "T-3.yaml")


def _future_mtime(root: Path) -> None:
    path = root / TASKS / "T-2.yaml"
    later = time.time_ns() + 86400 * 10**9
    os.utime(path, ns=(later, later))
    _settle(root)
    status(Store.open(root))
    _spoil(path)


def _untracked_hidden(root: Path) -> None:
    _git(root, "config", "status.showUntrackedFiles", "no")
    Store.open(root, index=False).put("tasks", {"id": "T-7", "title": "x", "status": "done"})
    _settle(root)
    status(Store.open(root))
    _spoil(root / TASKS / "T-7.yaml")


def _index_locked(root: Path) -> None:
    # a `git commit` waiting in its editor: no git can write the index meanwhile
    (root / ".git" / "index.lock").write_text("")
    os.utime(root / TASKS / "T-2.yaml")  # git must now compare its content at every status
    _spoil(root / TASKS / "T-2.yaml")
    _spoil(root / TASKS / "T-3.yaml")


def _ignorecase(root: Path) -> None:
    _git(root, "config", "core.ignorecase", "true")
    twin = root / TASKS / "t-1.yaml"
    twin.write_bytes((root / TASKS / "T-1.yaml").read_bytes())
    _git(root, "add", "-A")
    _settle(root)
    status(Store.open(root))
    _spoil(root / TASKS / "t-1.yaml")


def _sparse(root: Path) -> None:
    _git(root, "sparse-checkout", "set", "--no-cone", "/*", "!/records/tasks/T-2.yaml")
    (root / TASKS / "T-2.yaml").write_text("id: T-2\nbroken: [\n")


def _spaces_and_quotes(root: Path) -> None:
    config = root / "gitstore.yaml"
    config.write_text(config.read_text().replace('"T-[0-9a-z]+"', '"T-.+"'))
    store = Store.open(root, index=False)
    for odd in ["T-a b", "T-a'q'", "T-é", "T-a\u00a0b"]:
        store.put("tasks", {"id": odd, "title": "t", "status": "done"})
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "--no-verify", "-m", "odd")
    _settle(root)
    status(Store.open(root))
    _settle(root)
    status(Store.open(root))
    for odd in ["T-a b", "T-a'q'", "T-é", "T-a\u00a0b"]:
        _spoil(root / TASKS / f"{odd}.yaml")


CASES: dict[str, Callable[[Path], None]] = {
    "chmod +x in the work tree": _chmod_x,
    "update-index --chmod=+x": _index_chmod,
    "git mv": _git_mv,
    "git stash": _stash,
    "git stash pop": _stash_pop,
    "git checkout -- file": _checkout_file,
    "git reset --hard": _reset_hard,
    "git add, then an edit": _add_then_edit,
    "same second as git's index": _same_second_as_index,
    "split index": _split_index,
    "index v4 and untracked cache": _index_v4,
    ".gitattributes deleted, in git's index": _deleted_attributes,
    "symlinked .gitattributes": _linked_attributes,
    ".gitattributes in the folder": _folder_attributes,
    "~/.config/git/attributes": _home_attributes,
    "a record that is a symlink in git": _symlink_record,
    "a gitlink in the folder": _gitlink,
    "nested folders": _nested_folder,
    "an mtime in the future": _future_mtime,
    "status.showUntrackedFiles=no": _untracked_hidden,
    "index.lock held": _index_locked,
    "core.ignorecase and a case twin": _ignorecase,
    "sparse checkout": _sparse,
    "spaces, quotes, non-ASCII names": _spaces_and_quotes,
}


#: Cases that change what every process of this test shares (its HOME): run on their own.
ALONE = {"~/.config/git/attributes"}


def _holds(case: str, tmp: str, template: str) -> None:
    folder = Path(tmp)
    folder.mkdir()
    root = _copy(folder, Path(template))
    CASES[case](root)
    _compare(root)


def test_status_holds_in_every_setup(tmp_path: Path, template: Path) -> None:
    """Each case in its own repository and its own forked process, side by side: most of a
    case is waiting for git's index to age (BLIND_NS), which they can do together."""
    context = multiprocessing.get_context("fork")
    failed = {}
    with ProcessPoolExecutor(6, mp_context=context) as pool:
        running = {
            case: pool.submit(_holds, case, str(tmp_path / f"case{i}"), str(template))
            for i, case in enumerate(CASES)
            if case not in ALONE
        }
        for case, done in running.items():
            try:
                done.result()
            except Exception as err:  # every case's failure, not just the first
                failed[case] = f"{type(err).__name__}: {err}"
    assert not failed, failed


@pytest.mark.parametrize("case", sorted(ALONE))
def test_status_holds(tmp_path: Path, template: Path, case: str) -> None:
    root = _copy(tmp_path, template)
    CASES[case](root)
    _compare(root)


def _warm(root: Path) -> None:
    for _ in range(2):
        _age(root)
        status(Store.open(root))


def _new_store(root: Path, *init: str) -> Path:
    """A store of five committed tasks at ``root`` (its repository made when missing)."""
    root.mkdir(parents=True, exist_ok=True)
    if statedir.git_dir(root) is None:
        _git(root, "init", "-q", "-b", "main", *init)
    init_store(root)
    store = Store.open(root, index=False)
    for i in range(1, 6):
        store.put("tasks", {"id": f"T-{i}", "title": f"task {i}", "status": "todo"})
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "--no-verify", "-m", "base")
    time.sleep(1.1)
    _warm(root)
    return root


def test_a_store_in_a_linked_worktree(tmp_path: Path, template: Path) -> None:
    main = _copy(tmp_path, template)
    _git(main, "worktree", "add", "-q", str(tmp_path / "linked"), "other")
    root = tmp_path / "linked"
    time.sleep(1.1)
    _warm(root)
    assert _vouched_now(root)
    _spoil(root / TASKS / "T-2.yaml")
    _spoil(main / TASKS / "T-3.yaml")  # the main work tree's: another index, another state
    _compare(root)
    _compare(main)


def test_a_store_in_a_subfolder_beside_another_store(tmp_path: Path) -> None:
    top = _new_store(tmp_path / "repo")
    sub = _new_store(tmp_path / "repo" / "sub" / "inner")
    _warm(top)
    assert _vouched_now(sub)
    _spoil(sub / TASKS / "T-2.yaml")
    _spoil(top / TASKS / "T-3.yaml")
    _compare(sub)
    _compare(top)


def test_a_sha256_repository(tmp_path: Path) -> None:
    root = _new_store(tmp_path / "store", "--object-format=sha256")
    _spoil(root / TASKS / "T-2.yaml")
    _compare(root)


class Killed(Exception):
    """A refresh killed between its rows and its listing row."""


def test_a_refresh_killed_after_a_row_went_and_another_came(
    tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh that found T-7 gone as it read it (a concurrent delete) and stored a row for a
    new T-6 is killed before its listing row: the rows are T-1..T-6, the listing T-1..T-5, T-7,
    the same count. git tracks T-1..T-6 (T-6 deleted from the work tree) and does not name the
    untracked T-7 (``status.showUntrackedFiles=no``): git's listing equals the rows, so
    ``_vouched`` says "every record file of the stored listing", T-7 included, although no row
    of T-7 exists; the stored numbers are kept and ``unchanged`` passes on the row count."""
    from gitstore.index import session
    from gitstore.index.checks import worktree
    from gitstore.index.refresh import Refresh

    root = _copy(tmp_path, template)
    store = Store.open(root, index=False)
    store.put("tasks", {"id": "T-6", "title": "six", "status": "todo"})
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "--no-verify", "-m", "six")
    _git(root, "config", "status.showUntrackedFiles", "no")
    six = root / TASKS / "T-6.yaml"
    kept = six.read_bytes()
    six.unlink()  # git sees it deleted: it never rewrites its index for it
    store.put("tasks", {"id": "T-7", "title": "seven", "status": "todo"})  # untracked
    time.sleep(1.1)
    _warm(root)
    assert _vouched_now(root)

    # the killed refresh: not through status (no git runs, git's index stays as it is)
    six.write_bytes(kept)
    store.put("tasks", {"id": "T-7", "title": "seven again", "status": "todo"})
    time.sleep(0.1)  # T-6 old enough to be trusted when read
    real_store_all, seven = Refresh._store_all, root / TASKS / "T-7.yaml"

    def store_all(self: Refresh, todo: list[str], *args: Any) -> None:
        seven.unlink(missing_ok=True)  # deleted by another process as this one reads it
        real_store_all(self, todo, *args)

    def finish(self: Refresh, *args: Any) -> None:
        raise Killed

    monkeypatch.setattr(Refresh, "_store_all", store_all)
    monkeypatch.setattr(Refresh, "_finish", finish)
    opened = Store.open(root)
    with pytest.raises(Killed), session(opened):
        worktree(opened, opened.roadmap().validator())
    monkeypatch.undo()

    six.unlink()
    store.put("tasks", {"id": "T-7", "title": "seven", "status": "todo"})
    _spoil(seven)  # a problem only a read of T-7 finds
    _compare(root)
