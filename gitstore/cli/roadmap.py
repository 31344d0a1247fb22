"""``gitstore roadmap ...``: list, show, add, set, status, move, renumber, rm, edit, next."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from gitstore.cli.common import (
    CommitFlag,
    JsonFlag,
    app,
    emit_json,
    handled,
    parse_assignments,
    print_table,
    run_editor,
    state,
)
from gitstore.errors import GitStoreError, UsageError

roadmap_app = typer.Typer(
    help="Read and edit ROADMAP.md section by section (each edit changes only its section).",
    no_args_is_help=True,
)
app.add_typer(roadmap_app, name="roadmap")

SectionId = Annotated[
    str,
    typer.Argument(
        metavar="ID",
        help="Section id (1.5), label (PRIORITY 1.5), ID#N for the N-th duplicate, or the "
        "section's stable id (id= in its metadata comment).",
    ),
]


def _roadmap(root: str) -> Any:
    from gitstore.store import Store

    return Store.open(root).roadmap()


def _report(st: Any, section: dict[str, Any], verb: str) -> None:
    if st.json:
        emit_json(section)
        return
    version = section.get("version")
    print(f"{_called(section)} {verb}" + (f" (version {version})" if version else ""))


def _called(section: dict[str, Any]) -> str:
    """``PRIORITY 2.5``, or ``PRIORITY 3 (3#2)`` for one of several sections numbered 3."""
    label = str(section.get("label", section.get("id", "")))
    unique = section.get("id")
    return label if not unique or unique == section.get("number") else f"{label} ({unique})"


@roadmap_app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="Only sections in this state (planned, in_progress, complete, blocked) "
            "or whose status contains this text.",
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """List the roadmap's sections: id, title, status, owner.

    Example: gitstore roadmap list --status planned
    """
    st = state(ctx, json_out)
    with handled(st):
        sections = _roadmap(st.root).sections()
        if status:
            wanted = status.lower().replace("-", "_").replace(" ", "_")
            sections = [
                s
                for s in sections
                if s["state"] == wanted or status.lower() in (s["status"] or "").lower()
            ]
        if st.json:
            emit_json(sections)
            return
        rows = [[s["name"], s["title"], s["status"] or "", s["owner"] or ""] for s in sections]
        print_table(["id", "title", "status", "owner"], rows, f"roadmap ({len(sections)} sections)")


@roadmap_app.command()
def show(ctx: typer.Context, name: SectionId, json_out: JsonFlag = False) -> None:
    """Show one section, rendered as markdown (or as JSON with its text).

    Example: gitstore roadmap show 2.5
    """
    st = state(ctx, json_out)
    with handled(st):
        roadmap = _roadmap(st.root)
        text = roadmap.section_text(name)
        if st.json:
            emit_json(roadmap.get(name) | {"text": text})
            return
        if not sys.stdout.isatty():
            sys.stdout.write(text)
            return
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(text))


@roadmap_app.command()
def add(
    ctx: typer.Context,
    title: Annotated[str, typer.Option("--title", help="The section's title.")],
    after: Annotated[
        str | None,
        typer.Option(
            "--after", metavar="ID", help="Insert after this section (default: at the end)."
        ),
    ] = None,
    status: Annotated[
        str, typer.Option("--status", help="Initial status: a state keyword or text.")
    ] = "planned",
    field: Annotated[
        list[str] | None,
        typer.Option("--field", metavar="KEY=VALUE", help="A field line (repeatable)."),
    ] = None,
    section_id: Annotated[
        str | None, typer.Option("--id", help="The new id (default: the next whole number).")
    ] = None,
    commit: CommitFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Add a section (heading, status and field lines, metadata comment).

    Example: gitstore roadmap add --title "CI hardening" --after 2.5 --field Owner=alice
    """
    st = state(ctx, json_out)
    with handled(st, edit=True, commit=commit):
        fields, typed = parse_assignments(field or [])
        if typed:
            raise UsageError("roadmap fields are text: use KEY=VALUE")
        section = _roadmap(st.root).add(
            title, after=after, status=status, fields=fields, section_id=section_id
        )
        _report(st, section, "added")


@roadmap_app.command("set")
def set_(
    ctx: typer.Context,
    name: SectionId,
    args: Annotated[
        list[str],
        typer.Argument(metavar="KEY=VALUE...", help="Field lines to set, e.g. Owner=alice."),
    ],
    commit: CommitFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Set field lines (**Key**: value) of a section; a missing field is added under the heading.

    Example: gitstore roadmap set 2.5 Owner=alice "Estimated=3 days"
    """
    st = state(ctx, json_out)
    with handled(st, edit=True, commit=commit):
        fields, typed = parse_assignments(args)
        if typed:
            raise UsageError("roadmap fields are text: use KEY=VALUE")
        _report(st, _roadmap(st.root).set_fields(name, fields), "updated")


@roadmap_app.command()
def status(
    ctx: typer.Context,
    name: SectionId,
    value: Annotated[
        str, typer.Argument(help="planned, in_progress, complete, blocked, or any text.")
    ],
    commit: CommitFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Set a section's **Status** field (the heading text is left alone).

    Example: gitstore roadmap status 2.5 complete
    """
    st = state(ctx, json_out)
    with handled(st, edit=True, commit=commit):
        _report(st, _roadmap(st.root).set_status(name, value), "updated")


@roadmap_app.command()
def move(
    ctx: typer.Context,
    name: SectionId,
    after: Annotated[str | None, typer.Option("--after", metavar="ID")] = None,
    before: Annotated[str | None, typer.Option("--before", metavar="ID")] = None,
    commit: CommitFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Move a section after or before another one (give one of --after, --before).

    Example: gitstore roadmap move 7 --before 3
    """
    st = state(ctx, json_out)
    with handled(st, edit=True, commit=commit):
        if after is not None and before is not None:
            raise UsageError("give --after or --before, not both")
        _report(st, _roadmap(st.root).move(name, after=after, before=before), "moved")


@roadmap_app.command()
def renumber(
    ctx: typer.Context,
    name: SectionId,
    new_id: Annotated[str, typer.Argument(metavar="NEW_ID", help="The new number, e.g. 2.5.")],
    commit: CommitFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Give a section another number in its heading; its title, body and stable id stay.

    Example: gitstore roadmap renumber 5#2 6
    """
    st = state(ctx, json_out)
    with handled(st, edit=True, commit=commit):
        _report(st, _roadmap(st.root).renumber(name, new_id), "renumbered")


@roadmap_app.command()
def rm(
    ctx: typer.Context,
    name: SectionId,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Do not ask (required when stdin is not a terminal)."),
    ] = False,
    commit: CommitFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Remove a section and its text. On a terminal it asks first; elsewhere (a script, a
    daemon) it refuses unless given --yes.

    Example: gitstore roadmap rm 4.2 --yes
    """
    st = state(ctx, json_out)
    with handled(st, edit=True, commit=commit):
        roadmap = _roadmap(st.root)
        if not yes:
            _confirm_removal(roadmap, name)
        section = roadmap.remove(name)
        if st.json:
            emit_json(section)
        else:
            print(f"{_called(section)} removed")


def _confirm_removal(roadmap: Any, name: str) -> None:
    if not sys.stdin.isatty():
        raise UsageError(
            f"roadmap rm {name}: not on a terminal, so not asking; pass --yes to remove it "
            "(nothing was removed)"
        )
    section = roadmap.get(name)
    lines = roadmap.section_text(name).count("\n")
    question = f"Remove {_called(section)}: {section['title']} ({lines} lines)?"
    if not typer.confirm(question, default=False, err=True):
        raise GitStoreError("nothing was removed")


@roadmap_app.command()
def edit(
    ctx: typer.Context, name: SectionId, commit: CommitFlag = False, json_out: JsonFlag = False
) -> None:
    """Open one section in $EDITOR; the result is checked, then written under the lock.

    An invalid edit is never written: your text is kept in a rescue file whose path is printed.

    Example: EDITOR=nano gitstore roadmap edit 2.5
    """
    st = state(ctx, json_out)
    with handled(st, edit=True, commit=commit):
        roadmap = _roadmap(st.root)
        original = roadmap.section_text(name)
        edited = run_editor(original, "section.md").decode("utf-8", "replace")
        if edited == original:
            print(f"{name}: no changes")
            return
        try:
            section = roadmap.replace(name, edited)
        except GitStoreError as err:
            from gitstore.cli.records import rescue

            kept = rescue(roadmap.store, f"roadmap-{name}", edited.encode(), ".md")
            err.message = f"{err.message} — your edit is kept in {kept}"
            raise
        _report(st, section, "updated")


@roadmap_app.command("next")
def next_(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Show the first section whose status means planned (what a daemon should do next).

    Example: gitstore roadmap next --json
    """
    st = state(ctx, json_out)
    with handled(st):
        section = _roadmap(st.root).next()
        if st.json:
            emit_json(section)
        elif section is None:
            print("nothing planned")
        else:
            print(f"{section['name']}: {section['title']} ({section['status']})")
