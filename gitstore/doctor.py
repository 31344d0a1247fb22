"""``gitstore doctor`` and ``gitstore check-merge``: is this clone set up, and did every merge of
store files go through the driver?

A hosted web merge, a CI merge ref, or a clone where ``gitstore install`` never ran merges store
files with git's line merge. ``check_merges`` replays the driver on each merge commit's three
versions and reports files whose committed bytes differ (or hold conflict markers); ``fix`` writes
the driver's result for them into a follow-up commit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitstore import fs, gitio
from gitstore.errors import GitStoreError

if TYPE_CHECKING:
    from gitstore.store import Store


def doctor(store: Store, fix: bool = False) -> list[dict[str, Any]]:
    """Each check as ``{check, ok, detail}``; with ``fix``, repairs what is safe to repair."""
    from gitstore.hook import HOOKS, hooks_dir
    from gitstore.initialize import install, is_driver

    if fix:
        install(store.root)
        store.recover()
    checks = []

    def report(check: str, ok: bool, detail: str) -> None:
        checks.append({"check": check, "ok": ok, "detail": detail})

    driver = gitio.git(
        "config", "--get", "merge.gitstore.driver", cwd=store.root, check=False
    ).stdout.strip()
    report(
        "merge driver",
        is_driver(driver),
        driver or "not registered: run 'gitstore install' (or doctor --fix)",
    )
    for name in HOOKS:
        report(f"{name} hook", *_hook(store, hooks_dir(store.root) / name))
    attributes = store.root / ".gitattributes"
    wanted = [store.config.roadmap_path] + [
        f"{c.path.rstrip('/')}/*.yaml" for c in store.config.collections.values()
    ]
    try:
        text = fs.read_bytes(attributes, root=store.root).decode("utf-8", errors="replace")
    except FileNotFoundError:
        text = ""
    missing = [w for w in wanted if f"{w} merge=gitstore" not in text.splitlines()]
    report(
        ".gitattributes",
        not missing,
        "complete" if not missing else f"missing: {', '.join(missing)}",
    )
    strays = store.stray_temps()
    report("stray temp files", not strays, ", ".join(str(p) for p in strays) or "none")
    from gitstore.statedir import legacy_dir

    legacy = legacy_dir(store.root, store.state)
    report(
        "state folder",
        legacy is None,
        f"{store.state}"
        if legacy is None
        else f"{legacy} is left from an older gitstore and is no longer read (runtime state now "
        f"lives in {store.state}); remove it",
    )
    from gitstore.merge import plumbing

    info_attributes = plumbing.Places(store.root).attributes
    if fix:
        plumbing.remove_leftover(info_attributes)
    pid = plumbing.leftover(info_attributes)
    report(
        "merge attributes",
        pid is None,
        "none left"
        if pid is None
        else f"a gitstore merge (pid {pid}) was stopped and left its -merge lines in "
        ".git/info/attributes, so git leaves store files conflicted: doctor --fix removes them",
    )
    journal = store.state / "journal.json"
    report(
        "transaction journal",
        not journal.exists(),
        "none" if not journal.exists() else "a committed transaction awaits replay: doctor --fix",
    )
    report("locks", True, _locks(store))
    from gitstore.sources import worktree_files
    from gitstore.validate import check_many

    validator = store.roadmap().validator()
    problems = [
        p
        for p in check_many(validator, worktree_files(store.root, validator, None))
        if p.rule in ("conflict-markers", "unresolved-conflict")
    ]
    report("conflicts", not problems, "; ".join(map(str, problems)) or "none")
    fsync = gitio.git("config", "--get", "core.fsync", cwd=store.root, check=False).stdout.strip()
    report(
        "core.fsync",
        True,
        fsync
        or "unset: consider 'git config core.fsync committed' so commits "
        "survive a power loss as store files do",
    )
    ahead = _clocks_ahead(store)
    report("clocks", not ahead, "; ".join(ahead) or "none ahead of this machine's clock")
    report("ids", True, _ids(store))
    return checks


def _hook(store: Store, hook: Path) -> tuple[bool, str]:
    """Whether a commit runs gitstore's hook at ``hook``: ours is there, or the pre-commit
    framework's is and runs ours (as ``.legacy``, or from its configuration)."""
    from gitstore import precommit
    from gitstore.hook import MARKER

    def read(path: Path) -> str | None:
        try:
            return path.read_text(errors="replace")
        except OSError:
            return None

    current, legacy = read(hook), read(hook.with_name(f"{hook.name}.legacy"))
    fix = "run 'gitstore install' (or doctor --fix)"
    if current is not None and MARKER in current:
        if precommit.is_framework_script(legacy):
            return (
                False,
                f"the pre-commit framework's script is {hook.name}.legacy, where it fails: {fix}",
            )
        return True, str(hook)
    if precommit.is_framework_script(current):
        assert current is not None
        top = Path(gitio.git("rev-parse", "--show-toplevel", cwd=store.root).stdout.strip())
        config = precommit.config_path(current, top)
        runs = precommit.gitstore_hook(config, top, hook.name)
        if runs:
            return True, f"run by the pre-commit framework ({config.name}: {runs})"
        if legacy is not None and MARKER in legacy:
            return True, f"run by the pre-commit framework, as {hook.name}.legacy"
        return False, (
            f"the pre-commit framework's hook, which does not run gitstore: {fix}, or add "
            f"the {precommit.HOOK_ID} hook to {config.name}"
        )
    return False, f"not installed: {fix}"


def _ids(store: Store) -> str:
    """How each collection picks ids, and how to get random ones where an older config keeps
    sequential ids (which two clones can pick alike)."""
    from gitstore.ids import effective_mode

    found = []
    for coll in store.config.collections.values():
        mode = effective_mode(coll)
        if coll.ids == "auto" and mode == "sequential":
            found.append(
                f"{coll.name}: sequential, as id_pattern {coll.id_pattern} admits no random id: "
                "two clones adding at once pick one id (their merge stops with an add/add "
                f"conflict); for random ids widen it (e.g. {coll.id_prefix}[0-9a-z]+, existing ids "
                "still match), or say ids: sequential to keep these"
            )
        else:
            found.append(f"{coll.name}: {mode}")
    return "; ".join(found)


def _clocks_ahead(store: Store) -> list[str]:
    """Records whose times are too far ahead of this machine's clock (they would win every
    merge); also what ``gitstore validate`` refuses."""
    from gitstore.clock import clock_problems
    from gitstore.errors import RecordError

    found = []
    for name in store.config.collections:
        for record_id in store.ids(name):
            try:
                _, rec = store.read(name, record_id)
            except RecordError:
                continue  # reported by the conflicts and validate checks
            for _, message in clock_problems(rec or {}):
                found.append(f"{name}/{record_id}: {message}")
    return found


def _locks(store: Store) -> str:
    """Lock files held right now, with what their holders wrote."""
    import os

    from gitstore.lock import hint
    from gitstore.quickimport import load_portalocker

    portalocker = load_portalocker()
    folder = store.state / "locks"
    held = []
    for path in sorted(folder.rglob("*.lock")) if folder.is_dir() else []:
        fd = os.open(path, os.O_RDONLY)
        try:
            portalocker.lock(fd, portalocker.LockFlags.SHARED | portalocker.LockFlags.NON_BLOCKING)
            portalocker.unlock(fd)
        except portalocker.LockException:
            holder = hint(path) or "shared holders"
            held.append(f"{path.relative_to(folder)} held by {holder}")
        finally:
            os.close(fd)
    return "; ".join(held) or "none held"


# ---------------------------------------------------------------- merges made without the driver


def check_merges(
    store: Store,
    revisions: str = "HEAD",
    report: Callable[[str, int, int | None], None] | None = None,
) -> list[dict[str, Any]]:
    """Merge commits in ``revisions`` whose store files differ from the driver's result. Each
    merge costs a few git processes whatever its size: the changed files and their blob ids
    come from ``diff-tree``, the blobs from one ``cat-file --batch`` by id (a side over the
    size limit is not read, and not checked). ``report(what, done, total)`` hears of each merge
    checked."""
    from gitstore.merge.driver import merge_texts
    from gitstore.merge.many import MAX_BLOB
    from gitstore.merge.plumbing import REGULAR, BlobReader, changes
    from gitstore.validate import markers

    merges = gitio.git("rev-list", "--merges", "--parents", revisions, cwd=store.root, check=False)
    if merges.returncode != 0:
        raise GitStoreError(f"not a revision range: {revisions}", store.root)
    prefix = gitio.git("rev-parse", "--show-prefix", cwd=store.root).stdout.strip()
    top = Path(gitio.git("rev-parse", "--show-toplevel", cwd=store.root).stdout.strip())
    validator = store.roadmap().validator()
    found = []
    lines = merges.stdout.splitlines()
    for done, line in enumerate(lines):
        if report:
            report("checking merges", done, len(lines))
        merge, ours, theirs, *_ = line.split()
        base = gitio.git("merge-base", ours, theirs, cwd=store.root, check=False).stdout.strip()
        if not base:
            continue
        sides = changes(top, base, ours), changes(top, base, theirs)
        names = sorted(
            n
            for n in sides[0].keys() & sides[1].keys()
            if n.startswith(prefix) and validator.kind(n[len(prefix) :])
        )
        merged = changes(top, base, merge) if names else {}
        versions = {}  # name -> blob ids of base, ours, theirs, merge (None: no such file)
        for name in names:
            (_, b_mode, b_id, o_mode, o_id), (_, _, _, t_mode, t_id) = (s[name] for s in sides)
            in_merge = merged.get(name)
            m_mode, m_id = (in_merge[3], in_merge[4]) if in_merge else (b_mode, b_id)
            if o_mode in REGULAR and t_mode in REGULAR and m_mode in REGULAR:
                versions[name] = (b_id if b_mode in REGULAR else None, o_id, t_id, m_id)
        wanted = [oid for ids in versions.values() for oid in ids if oid is not None]
        reader = BlobReader(top, wanted, MAX_BLOB)
        try:
            blobs = [reader.next()[0] for _ in wanted]
        finally:
            reader.close()
        contents = dict(zip(wanted, blobs, strict=True))
        for name, ids in versions.items():
            b, o, t, m = (contents[i] if i is not None else b"" for i in ids)
            if o is None or t is None or m is None or b is None:
                continue  # over the size limit: not read
            expected = merge_texts(
                _text(b), _text(o), _text(t), name[len(prefix) :], str(store.root)
            )
            marked = bool(markers(name, _text(m).splitlines()))
            if expected is not None and re.search(r"^conflicts:", expected, re.MULTILINE):
                continue  # the driver stops here: what was committed is a person's resolution
            if expected is not None and (expected != _text(m) or marked):
                found.append(
                    {
                        "merge": merge,
                        "path": name[len(prefix) :],
                        "markers": marked,
                        "expected": expected,
                    }
                )
    return found


def _text(blob: bytes | None) -> str:
    return (blob or b"").decode("utf-8", "replace")


def fix_merges(store: Store, findings: list[dict[str, Any]]) -> str | None:
    """Write the driver's result for files unchanged since their merge; commit it, with a
    message that counts them (the paths go to git in a file: no argument-size limit)."""
    from gitstore.merge.plumbing import changes
    from gitstore.workflow import commit

    prefix = gitio.git("rev-parse", "--show-prefix", cwd=store.root).stdout.strip()
    top = Path(gitio.git("rev-parse", "--show-toplevel", cwd=store.root).stdout.strip())
    latest: dict[str, dict[str, Any]] = {}
    for item in findings:  # rev-list lists newest first: keep each file's newest merge
        latest.setdefault(item["path"], item)
    since = {m: changes(top, m, "HEAD") for m in {item["merge"] for item in latest.values()}}
    fixed = []
    for path, item in latest.items():
        if prefix + path in since[item["merge"]]:
            continue  # edited since the merge: re-merging would undo those edits
        with store.writing(
            "roadmap.lock" if path == store.config.roadmap_path else f"fix/{path}.lock"
        ):
            fs.atomic_write(store.root / path, item["expected"].encode("utf-8"), root=store.root)
        fixed.append(path)
    if not fixed:
        return None
    shas = sorted({latest[p]["merge"][:12] for p in fixed})
    shown = "".join(f"- {p}\n" for p in fixed[:20])
    more = f"- and {len(fixed) - 20} more\n" if len(fixed) > 20 else ""
    return commit(
        store,
        f"gitstore: re-merge {len(fixed)} store file(s) with the field-level driver\n\n"
        f"{len(shas)} merge(s) were made without it: {', '.join(shas)}\n\n{shown}{more}",
    )
