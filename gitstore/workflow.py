"""Git workflow over a store: commit store files, list and resolve conflicts, report status.

Everything here runs git through :mod:`gitstore.gitio` and writes files through the Store, so
the same locks and atomic writes apply. Commits take the store lock exclusively: no write can
land between staging and committing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitstore import fs, gitio
from gitstore.errors import GitStoreError, NotFound, RecordError, UsageError
from gitstore.record import META, loads, same

if TYPE_CHECKING:
    from gitstore.merge.bulk import Report
    from gitstore.store import Record, Store


def store_paths(store: Store) -> list[str]:
    """The paths, relative to the store root, that hold store data and its configuration
    (.gitattributes and .gitignore carry the merge driver's and the temp files' lines)."""
    paths = ["gitstore.yaml", ".gitattributes", ".gitignore", store.config.roadmap_path]
    paths += [c.path.rstrip("/") for c in store.config.collections.values()]
    return paths


def _git_retrying(store: Store, *args: str) -> str:
    """Run git, waiting (with backoff) while another git process holds .git/index.lock."""
    deadline = time.monotonic() + store.lock_timeout
    pause = 0.05
    while True:
        done = gitio.git(*args, cwd=store.root, check=False)
        if done.returncode == 0:
            return done.stdout
        detail = (done.stderr or done.stdout).strip()
        if "index.lock" in detail and time.monotonic() < deadline:
            time.sleep(pause)  # another git is running: never remove its lock, wait for it
            pause = min(pause * 2, 1.0)
            continue
        if "index.lock" in detail:
            raise GitStoreError(
                f"git's index is locked by another git process (.git/index.lock) for over "
                f"{store.lock_timeout:g} s; let it finish (or remove the lock if no git runs)",
                store.root,
            )
        command = next(a for a in args if not a.startswith("-"))
        raise _git_failed(store, command, detail, done.returncode)


def _git_failed(store: Store, command: str, detail: str, code: int) -> GitStoreError:
    """A failed git command as one error line; the lines above it (what a hook printed: the
    problems that refused a commit) travel as the error's details, shown above it."""
    lines = [line for line in detail.splitlines() if line.strip()]
    last = lines.pop() if lines else f"exit {code}"
    if command == "commit" and "commit refused" in last:
        err = GitStoreError(
            "the pre-commit hook refused the commit: fix the problems above, then run "
            "'gitstore commit' again (nothing was committed)"
        )
    else:
        err = GitStoreError(f"git {command} failed: {last}", store.root)
    err.details = lines
    return err


def commit(store: Store, message: str | None = None) -> str | None:
    """Stage and commit the store's files only; the commit id, or None when nothing changed.
    During a merge (after ``gitstore resolve``), it concludes the merge instead: git commits a
    merge whole, so every conflicted file must be resolved first. The message and the paths go
    to git in files, never in one argument list (thousands of paths do not fit in one)."""
    paths = [p for p in store_paths(store) if os.path.lexists(store.root / p)]
    with store.lock("store.lock"):
        if merging(store):
            _check_resolved(store)
            _git_retrying(store, "add", "-A", "--", *paths)
            return _conclude_merge(store, message)
        _git_retrying(store, "add", "-A", "--", *paths)
        changed = gitio.git(
            "diff", "--cached", "--name-only", "--relative", "-z", "--", *paths, cwd=store.root
        ).stdout
        names = [n for n in changed.split("\0") if n]
        if not names:
            return None
        text = message or describe_changes(store, names)
        with _spilled(store, text, names) as (message_file, pathspec_file):
            _git_retrying(
                store,
                "--literal-pathspecs",
                "commit",
                "-q",
                "-F",
                message_file,
                "--only",
                f"--pathspec-from-file={pathspec_file}",
                "--pathspec-file-nul",
            )
        return gitio.git("rev-parse", "HEAD", cwd=store.root).stdout.strip()


@contextlib.contextmanager
def _spilled(store: Store, message: str, names: list[str]) -> Iterator[tuple[str, str]]:
    """A commit message and a NUL-separated list of paths in files of the per-clone state."""
    fs.ensure_dir(store.state)
    with tempfile.TemporaryDirectory(prefix="commit-", dir=store.state) as folder:
        message_file, pathspec_file = Path(folder) / "message", Path(folder) / "pathspec"
        message_file.write_bytes(message.encode("utf-8"))
        pathspec_file.write_bytes(b"".join(os.fsencode(n) + b"\0" for n in names))
        yield str(message_file), str(pathspec_file)


def merging(store: Store) -> bool:
    verify = ("rev-parse", "-q", "--verify", "MERGE_HEAD")
    return gitio.git(*verify, cwd=store.root, check=False).returncode == 0


def _check_resolved(store: Store) -> None:
    """Before staging a merge's files: every conflicted file must be settled (staging a file
    tells git it is resolved, so a conflicts: block or markers must not be staged)."""
    from gitstore.validate import markers

    prefix = gitio.git("rev-parse", "--show-prefix", cwd=store.root).stdout.strip()
    listed = gitio.git("diff", "--name-only", "--diff-filter=U", "--relative", cwd=store.root)
    validator = store.roadmap().validator()
    for name in listed.stdout.split():
        if validator.kind(name) is None:
            raise GitStoreError(
                f"{prefix}{name} is not a store file and still conflicted: fix it and 'git add' "
                "it, then commit again",
                store.root / name,
            )
        try:
            text = fs.read_bytes(store.root / name, root=store.root).decode("utf-8", "replace")
        except FileNotFoundError:
            continue  # deleted as the resolution
        held = bool(markers(name, text.splitlines()))
        if not held and name.endswith(".yaml"):
            held = any(line.startswith("conflicts:") for line in text.splitlines())
        if held:
            raise GitStoreError(
                "still holds a conflict: 'gitstore resolve' it (gitstore conflicts lists them), "
                "then commit again",
                store.root / name,
            )


def _conclude_merge(store: Store, message: str | None) -> str:
    args = ["commit", "-q", "--no-edit"] + (["-m", message] if message else [])
    _git_retrying(store, *args)
    return gitio.git("rev-parse", "HEAD", cwd=store.root).stdout.strip()


def describe_changes(store: Store, names: list[str]) -> str:
    """A commit message naming each changed record and its changed fields."""
    prefix = gitio.git("rev-parse", "--show-prefix", cwd=store.root).stdout.strip()
    blobs = gitio.cat_files(store.root, [f"{at}:{prefix}{n}" for at in ("HEAD", "") for n in names])
    parts = []
    for name in names:
        old, new = blobs[f"HEAD:{prefix}{name}"], blobs[f":{prefix}{name}"]
        label = Path(name).stem if name.endswith(".yaml") else name
        if old is None:
            parts.append(f"{label} (new)")
        elif new is None:
            parts.append(f"{label} (removed)")
        elif name.endswith(".yaml"):
            parts.append(f"{label} ({', '.join(changed_fields(old, new)) or 'format'})")
        else:
            parts.append(label)
    return "gitstore: " + "; ".join(parts)


def changed_fields(old: bytes, new: bytes) -> list[str]:
    try:
        before, after = loads(old.decode()), loads(new.decode())
    except (RecordError, UnicodeDecodeError):
        return ["unparseable"]
    keys = dict.fromkeys([*before, *after])
    return [k for k in keys if k not in (*META, "clocks") and not same(before.get(k), after.get(k))]


# ---------------------------------------------------------------- merge and sync


def merge(store: Store, revision: str, *, commit: bool = True) -> Report:
    """Merge ``revision`` into the current branch, every store file both sides changed merged
    in this process (:mod:`gitstore.merge.bulk`); commits unless ``commit`` is False or
    conflicts are left. Takes the store lock: no store write lands while git rewrites files."""
    from gitstore.merge.bulk import merge as bulk_merge

    with store.lock("store.lock"):
        return bulk_merge(store, revision, commit=commit)


def listed(paths: list[str], most: int = 10) -> str:
    """Paths for a message: the first ``most``, and how many more."""
    shown = ", ".join(paths[:most])
    return shown + (f" and {len(paths) - most} more" if len(paths) > most else "")


def sync(
    store: Store,
    remote: str = "origin",
    branch: str | None = None,
    attempts: int = 30,
    report: Callable[[str, int, int | None], None] | None = None,
) -> dict[str, Any]:
    """Commit pending changes, fetch, merge (store files in one process, as :func:`merge`),
    push; on a rejected push, fetch-merge-push again with backoff, ``attempts`` times at most.
    Never force-pushes. ``report(step, attempt, None)`` hears of each step."""
    import random

    def step(what: str, attempt: int = 1) -> None:
        if report:
            report(what if attempt == 1 else f"{what} (attempt {attempt})", attempt, None)

    _check_remote(store, remote, branch)
    step("committing")
    commit(store)
    branch = branch or gitio.git("rev-parse", "--abbrev-ref", "HEAD", cwd=store.root).stdout.strip()
    incoming = 0
    for attempt in range(1, attempts + 1):
        with store.lock("store.lock"):  # no store write while git rewrites the files
            step(f"fetching and merging {remote}/{branch}", attempt)
            new, outgoing, known = _fetch_and_merge(store, remote, branch)
            incoming += new
            if known and outgoing == 0:
                return {"incoming": incoming, "outgoing": 0, "attempts": attempt}
            step(f"pushing {outgoing} commit(s) to {remote}/{branch}", attempt)
            pushed = gitio.git("push", "-q", remote, f"HEAD:{branch}", cwd=store.root, check=False)
        if pushed.returncode == 0:
            return {"incoming": incoming, "outgoing": outgoing, "attempts": attempt}
        rejected = ("rejected", "fetch first", "non-fast-forward", "stale info")
        if not any(word in pushed.stderr for word in rejected):
            raise _offline(store, remote, pushed.stderr)
        # Someone pushed first: back off (randomised, so racing clones spread out), merge, retry.
        time.sleep(random.uniform(0.02, 0.1) * min(attempt, 10))
    raise GitStoreError(f"the remote kept moving: gave up after {attempts} attempts", store.root)


def _check_remote(store: Store, remote: str, branch: str | None) -> None:
    """Refuse, before anything is committed, a remote that is not configured and a ``--branch``
    the remote does not have (sync never creates a branch someone named by mistake)."""
    names = gitio.git("remote", cwd=store.root).stdout.split()
    if remote not in names:
        hint = f"known: {', '.join(names)}" if names else f"add one: git remote add {remote} URL"
        raise UsageError(f"no remote named {remote!r} ({hint}); nothing was committed")
    if branch is None:
        return
    found = gitio.git("ls-remote", "--heads", remote, branch, cwd=store.root, check=False)
    if found.returncode != 0:
        raise _offline(store, remote, found.stderr)
    if not found.stdout.strip():
        raise UsageError(
            f"remote {remote!r} has no branch {branch!r}; to create it: "
            f"git push {remote} HEAD:{branch}"
        )


def _fetch_and_merge(store: Store, remote: str, branch: str) -> tuple[int, int, bool]:
    """(commits merged in, commits to push, whether the remote branch exists)."""
    fetched = gitio.git("fetch", "-q", remote, branch, cwd=store.root, check=False)
    if fetched.returncode != 0 and "couldn't find remote ref" not in fetched.stderr:
        raise _offline(store, remote, fetched.stderr)
    upstream = f"{remote}/{branch}"
    if gitio.git("rev-parse", "-q", "--verify", upstream, cwd=store.root, check=False).returncode:
        return 0, int(gitio.git("rev-list", "--count", "HEAD", cwd=store.root).stdout), False
    counts = gitio.git("rev-list", "--left-right", "--count", f"HEAD...{upstream}", cwd=store.root)
    outgoing, new = (int(n) for n in counts.stdout.split())
    if new:
        from gitstore.merge.bulk import merge as bulk_merge

        report = bulk_merge(store, upstream)
        if report.conflicts:
            raise GitStoreError(
                f"the merge left conflicts in {listed(report.conflicts)}: see "
                "'gitstore conflicts', resolve, commit, then sync again",
                store.root,
            )
    return new, outgoing, True


def _offline(store: Store, remote: str, detail: str) -> GitStoreError:
    from gitstore.errors import Offline

    ahead = gitio.git(
        "rev-list", "--count", "HEAD", "--not", "--remotes", cwd=store.root, check=False
    ).stdout.strip()
    last = detail.strip().splitlines()[-1] if detail.strip() else "no answer"
    return Offline(
        f"remote {remote!r} unreachable ({last}); {ahead or 'all'} local commit(s) kept, "
        "the next sync sends them",
        store.root,
    )


# ---------------------------------------------------------------- conflicts


def conflicts(store: Store, unmerged: str | None = None) -> list[dict[str, Any]]:
    """Records holding a ``conflicts:`` block, and files git reports unmerged (``unmerged``: the
    output of :func:`unmerged_paths`, when the caller asked git already)."""
    found: list[dict[str, Any]] = []
    for name in store.config.collections:
        for record_id, rec, err in store.scan(name, conflicted=True):
            if isinstance(err, UsageError):  # a file name that is no id (a newline in it, say)
                folder = store.config.collections[name].path.strip("/")
                path = f"{folder}/{record_id}.yaml"
                found.append({"path": path, "fields": [], "problem": err.message})
                continue
            if err is not None:
                if not isinstance(err, RecordError):
                    raise err
                found.append(
                    {"collection": name, "id": record_id, "fields": [], "problem": err.message}
                )
                continue
            if rec is not None and isinstance(rec.get("conflicts"), dict):
                found.append(
                    {"collection": name, "id": record_id, "fields": sorted(rec["conflicts"])}
                )
    found += _roadmap_conflicts(store)
    if unmerged is None:
        unmerged = unmerged_paths(store)
    known = {
        str(store.path_of(c["collection"], c["id"]).relative_to(store.root))
        for c in found
        if "id" in c
    }
    if any("section" in c for c in found):
        known.add(store.config.roadmap_path)
    for path in unmerged.split("\n"):  # (a name git leaves unquoted may hold U+2028)
        if path and path not in known:
            found.append({"path": path, "fields": [], "problem": "unmerged (conflict markers)"})
    return found


def unmerged_paths(store: Store) -> str:
    """The paths git holds unmerged, one a line, from the top of the working tree, as
    ``git diff --name-only --diff-filter=U`` prints them, but read from git's index alone
    (``git diff`` also looks at every file: ~0.1 s at 100,000 records)."""
    listed = gitio.git("ls-files", "-u", "--full-name", "--", ":/", cwd=store.root, check=False)
    paths = dict.fromkeys(line.partition("\t")[2] for line in listed.stdout.split("\n"))
    return "".join(f"{path}\n" for path in paths if path)


def _roadmap_conflicts(store: Store) -> list[dict[str, Any]]:
    """Roadmap sections (and the text between them) holding conflict markers, each under the
    name that ``resolve`` takes: ``2.5``, ``2.5#2``, ``(preamble)``, ``(text after 4)``."""
    from gitstore.roadmap import Section, unfenced
    from gitstore.roadmap_edit import block_name
    from gitstore.validate import markers

    try:
        doc = store.roadmap().document()
    except NotFound:
        return []
    found: list[dict[str, Any]] = []
    for index, block in enumerate(doc.blocks):
        lines = block.lines if isinstance(block, Section) else block
        if markers("", list(unfenced("".join(lines)))):
            found.append(
                {
                    "section": block_name(doc, index),
                    "path": store.config.roadmap_path,
                    "fields": [],
                    "problem": "conflict markers",
                }
            )
    return found


def resolve_section(store: Store, name: str, side: str | None) -> dict[str, Any]:
    """Keep ``side``'s lines in every conflict hunk of one roadmap section, stamp it, and stage
    the roadmap once no markers are left in it."""
    if side not in ("ours", "theirs"):
        raise UsageError("a roadmap section is resolved with --ours or --theirs")
    result = store.roadmap().resolve_markers(name, side)
    if not _roadmap_conflicts(store):
        _git_retrying(store, "add", "--", store.config.roadmap_path)
    return result


def resolve(
    store: Store, name: str, *, side: str | None = None, fields: dict[str, str] | None = None
) -> Record:
    """Settle a record's flagged conflicts: ``side`` ("ours"/"theirs") for every field, or per
    field ``{"status": "theirs", "owner": "alice"}`` (a value other than ours/theirs is used as
    is). Writes the record (version + 1) without its conflicts block and stages it."""
    collection, record_id = store.resolve(name)
    with store.update(collection, record_id, include_deleted=True) as rec:
        block = rec.get("conflicts")
        if not isinstance(block, dict):
            raise NotFound(f"{collection}/{record_id} has no conflicts to resolve")
        choices = dict(fields or {})
        unknown = set(choices) - set(block)
        if unknown:
            raise UsageError(
                f"not in conflict: {', '.join(sorted(unknown))} (conflicts: {', '.join(block)})"
            )
        for key in block:
            choice = choices.get(key, side)
            if choice is None:
                raise UsageError(f"say how to resolve {key}: --ours, --theirs or --field {key}=...")
            entry = block[key] if isinstance(block[key], dict) else {}
            if choice in ("ours", "theirs"):
                if choice in entry:
                    rec[key] = entry[choice]
                else:
                    rec.pop(key, None)  # that side had no such field
            else:
                rec[key] = store.collection(collection).field(key).coerce(choice)
        del rec["conflicts"]
    path = store.path_of(collection, record_id).relative_to(store.root)
    _git_retrying(store, "add", "--", str(path))
    return rec


# ---------------------------------------------------------------- status


def status(store: Store) -> dict[str, Any]:
    import threading

    from gitstore.index import current, session
    from gitstore.index.checks import worktree
    from gitstore.index.vouch import GitView, adopt_vouched

    paths = [p for p in store_paths(store) if (store.root / p).exists()]
    found: dict[str, Any] = {}

    def ask_git() -> None:  # while this process checks the files (git runs on another core)
        try:
            upstream = threading.Thread(target=ask_upstream, daemon=True)
            upstream.start()  # the small questions beside the long one
            found["status"] = gitio.git(
                "status", "--porcelain", "--", *paths, cwd=store.root, check=False
            )
            upstream.join()
        except BaseException as err:  # raised below, in the caller's thread
            found["error"] = err

    def ask_upstream() -> None:
        try:
            found["upstream"] = gitio.git(
                "rev-list",
                "--left-right",
                "--count",
                "HEAD...@{upstream}",
                cwd=store.root,
                check=False,
            )
            found["unmerged"] = unmerged_paths(store)
        except BaseException as err:
            found["error"] = err

    view = None
    if store.use_index:  # begun before git status: git's index file is compared across it
        view = GitView(store, [c.path for c in store.config.collections.values()])
    asking = threading.Thread(target=ask_git, daemon=True)
    asking.start()
    if view is not None:
        view.start()
    try:
        with session(store) as index:  # one listing of each folder serves both questions
            if index is not None and view is not None:
                view.prepare(index.conn)
                asking.join()
                if "status" in found:
                    adopt_vouched(index, view, found["status"])
            problems, _ = worktree(store, store.roadmap().validator())
            asking.join()
            if "error" in found:
                raise found["error"]
            conflicted = conflicts(store, found["unmerged"])
            index = current(store)
            listed = index.temps() if index is not None else None
    finally:
        asking.join()
        if view is not None:
            view.close()
    store.sweep(listed)  # the collection folders' temp names came with their listing
    changes = [line for line in found["status"].stdout.split("\n") if line]
    ahead = behind = None
    if found["upstream"].returncode == 0:
        ahead, behind = (int(n) for n in found["upstream"].stdout.split())
    return {
        "changes": changes,
        "conflicts": conflicted,
        "ahead": ahead,
        "behind": behind,
        "problems": [str(p) for p in problems if p.severity == "error"],
    }
