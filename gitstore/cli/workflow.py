"""Git workflow commands: commit, merge, conflicts, resolve, status, sync (log: cli.audit)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from gitstore.cli.common import (
    JsonFlag,
    app,
    emit_json,
    handled,
    open_store,
    parse_assignments,
    state,
)


@app.command()
def commit(
    ctx: typer.Context,
    message: Annotated[
        str | None,
        typer.Option(
            "-m",
            "--message",
            help="The commit message (default: which records and fields changed).",
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Commit the store's files (records, roadmap, config) and nothing else.

    Waits while another git process holds .git/index.lock, and never removes it.

    Example: gitstore commit -m "Plan the sprint"
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore.workflow import commit as do_commit

        sha = do_commit(open_store(st.root), message)
        if st.json:
            emit_json({"commit": sha})
        else:
            print(f"committed {sha[:12]}" if sha else "nothing to commit")


@app.command()
def conflicts(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """List records a merge left conflicted (with the fields), and unmerged files. Exit 1 if any.

    Example: gitstore conflicts --json
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore.workflow import conflicts as find_conflicts

        found = find_conflicts(open_store(st.root))
        if st.json:
            emit_json(found)
        else:
            for item in found:
                where = (
                    f"{item['collection']}/{item['id']}"
                    if "id" in item
                    else f"{item['path']} section {item['section']}"
                    if "section" in item
                    else item["path"]
                )
                detail = ", ".join(item["fields"]) or item.get("problem", "")
                print(f"{where}: {detail}")
            if not found:
                print("no conflicts")
        if found:
            raise typer.Exit(1)


@app.command()
def resolve(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="ID", help="ID or COLLECTION/ID.")],
    ours: Annotated[
        bool, typer.Option("--ours", help="Keep our value of every conflicting field.")
    ] = False,
    theirs: Annotated[
        bool, typer.Option("--theirs", help="Take their value of every conflicting field.")
    ] = False,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", metavar="KEY=ours|theirs|VALUE", help="Per field (repeatable)."),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Resolve a record's flagged conflicts (or a roadmap section's conflict markers), write it
    (version + 1) and stage it.

    Example: gitstore resolve T-42 --theirs --field owner=alice
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore.errors import UsageError
        from gitstore.workflow import resolve as do_resolve

        if ours and theirs:
            raise UsageError("--ours or --theirs, not both")
        store = open_store(st.root)
        side = "ours" if ours else "theirs" if theirs else None
        if not _is_record(store, name):
            from gitstore.workflow import resolve_section

            section = resolve_section(store, name, side)
            if st.json:
                emit_json(section)
            else:
                version = section.get("version")
                print(f"{section['label']} resolved" + (f" (version {version})" if version else ""))
            return
        choices, typed = parse_assignments(field or [])
        if typed:
            raise UsageError("use --field KEY=ours|theirs|VALUE")
        rec = do_resolve(
            store,
            name,
            side="ours" if ours else "theirs" if theirs else None,
            fields=choices,
        )
        if st.json:
            emit_json(rec)
        else:
            print(f"{rec['id']} resolved (version {rec['version']}) and staged")


def _is_record(store: Any, name: str) -> bool:
    from gitstore.errors import NotFound

    try:
        store.resolve(name)
    except NotFound:
        return False
    return True


@app.command()
def status(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Uncommitted store changes, conflicts, ahead/behind the upstream, validation problems.

    Example: gitstore status
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore.workflow import status as store_status

        report = store_status(open_store(st.root))
        if st.json:
            emit_json(report)
            return
        print(f"changes: {len(report['changes'])}")
        for line in report["changes"]:
            print(f"  {line}")
        if report["ahead"] is not None:
            print(f"upstream: {report['ahead']} ahead, {report['behind']} behind")
        else:
            print("upstream: none")
        print(f"conflicts: {len(report['conflicts'])}")
        for item in report["conflicts"]:
            print(
                f"  {item.get('collection', '')}/{item.get('id', item.get('path'))}: "
                f"{', '.join(item['fields'])}"
            )
        print(f"validation errors: {len(report['problems'])}")
        for problem in report["problems"]:
            print(f"  {problem}")


@app.command()
def doctor(
    ctx: typer.Context,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix", help="Repair what is safe: driver, hook, .gitattributes, journal, temps."
        ),
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Check this clone: merge driver, hook, .gitattributes, temp files, journal, locks, conflicts.

    Exit 1 when a check fails.

    Example: gitstore doctor --fix
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore.doctor import doctor as run_doctor

        checks = run_doctor(open_store(st.root), fix=fix)
        if st.json:
            emit_json(checks)
        else:
            for item in checks:
                print(f"{'ok  ' if item['ok'] else 'FAIL'} {item['check']}: {item['detail']}")
        if not all(item["ok"] for item in checks):
            raise typer.Exit(1)


@app.command("check-merge")
def check_merge(
    ctx: typer.Context,
    revisions: Annotated[
        str,
        typer.Argument(metavar="[REV]", help="Revision range (default: all of HEAD's history)."),
    ] = "HEAD",
    fix: Annotated[
        bool, typer.Option("--fix", help="Commit the driver's result for files unchanged since.")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Find merges whose store files differ from what the merge driver produces (a web merge, a
    clone without 'gitstore install'). Exit 1 when any is found and not fixed.

    Example: gitstore check-merge origin/main..HEAD --fix
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore.cli.progress import progress
        from gitstore.doctor import check_merges, fix_merges

        store = open_store(st.root)
        with progress(st) as report:
            found = check_merges(store, revisions, report)
        sha = fix_merges(store, found) if fix and found else None
        if st.json:
            emit_json(
                {
                    "found": [{k: v for k, v in f.items() if k != "expected"} for f in found],
                    "fixed_by": sha,
                }
            )
        else:
            for item in found:
                what = "conflict markers" if item["markers"] else "differs from the driver's merge"
                print(f"{item['merge'][:12]} {item['path']}: {what}")
            if sha:
                print(f"fixed in {sha[:12]}")
            elif not found:
                print("every merge of store files matches the driver")
        if found and not sha:
            raise typer.Exit(1)


@app.command()
def merge(
    ctx: typer.Context,
    revision: Annotated[
        str, typer.Argument(metavar="BRANCH", help="The branch (or commit) to merge into HEAD.")
    ],
    no_commit: Annotated[
        bool, typer.Option("--no-commit", help="Stage the merge but do not commit it.")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Merge a branch as 'git merge' does, every store file both sides changed merged in this one
    process: the merge driver's result, byte for byte, without a process per file.

    Conflicts are left as the driver leaves them ('gitstore conflicts' lists them); exit 1 then.
    A criss-cross history is merged by git with the per-file driver.

    Example: gitstore merge origin/main
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore.workflow import listed
        from gitstore.workflow import merge as do_merge

        report = do_merge(open_store(st.root), revision, commit=not no_commit)
        if st.json:
            emit_json(
                {
                    "revision": report.revision,
                    "how": report.how,
                    "reason": report.reason,
                    "merged": report.merged,
                    "conflicts": report.conflicts,
                    "commit": report.commit,
                    "notes": [{"path": p, "note": n} for p, n in report.notes],
                }
            )
        else:
            if report.output:
                print(report.output)
            for path, note in report.notes:
                print(f"gitstore merge: {path}: {note}", file=sys.stderr)
            print(_merge_summary(report, listed))
        if report.conflicts:
            raise typer.Exit(1)


def _merge_summary(report: Any, listed: Any) -> str:
    if report.how == "up to date":
        return "already up to date"
    if report.how == "fast-forward":
        return f"fast-forwarded to {report.commit[:12] if report.commit else report.revision}"
    how = (
        f"{report.merged} store file(s) merged in one process"
        if report.how == "bulk"
        else f"merged by git with the per-file driver ({report.reason})"
    )
    if report.conflicts:
        return (
            f"{how}; conflicts left in {listed(report.conflicts)}: 'gitstore conflicts' lists "
            "them; resolve, then 'gitstore commit'"
        )
    if report.commit:
        return f"{how}; committed {report.commit[:12]}"
    return f"{how}; staged, not committed ('gitstore commit' concludes the merge)"


@app.command()
def sync(
    ctx: typer.Context,
    remote: Annotated[str, typer.Argument(help="The remote to sync with.")] = "origin",
    branch: Annotated[
        str | None, typer.Option("--branch", help="Remote branch (default: the current one).")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Commit, fetch, merge (as 'gitstore merge'), push; retried when someone pushed first.

    Never force-pushes. Exit 6 when the remote is unreachable (local commits stay), 1 when a merge
    left conflicts. --json reports the commits, records and roadmap sections that came in and went
    out, the conflicts, and the duration.

    Example: gitstore sync origin
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore.cli.progress import progress
        from gitstore.errors import GitStoreError
        from gitstore.sync_report import sync as do_sync

        with progress(st, counted=False) as step:
            report = do_sync(open_store(st.root), remote, branch, progress=step)
        if "error" in report and not st.json:
            raise GitStoreError(report["error"])
        if st.json:
            emit_json(report)
        else:
            print(
                f"synced: {report['incoming']} commit(s) in, {report['outgoing']} out; "
                f"{len(report['records_in'])} record(s) in, {len(report['records_out'])} out"
            )
        if "error" in report:
            raise typer.Exit(1)
