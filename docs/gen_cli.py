"""Regenerate docs/cli.md from the CLI's own --help (tests/test_docs.py fails when it is stale).

Run: python docs/gen_cli.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).with_name("cli.md")

HEADER = """# CLI reference

Generated from `gitstore --help` by `python docs/gen_cli.py`; a test fails when it is stale.
Every `Example:` below runs as written against a seeded store in `tests/test_docs_examples.py`
(with every `gitstore` line of the README's and docs' shell blocks).

In Python: every command is one call on `gitstore.Store` (see [api.md](api.md)).

Exit codes: {summary}.
With `--json`, every error (the argument parser's too) is
`{{"error": {{"code", "message", "path"}}}}` on stdout.

| exit | meaning | produced by |
| --- | --- | --- |
{table}

Values: `KEY=text` is converted to the field's declared type (`int`, `date`, `list` as `a,b`, an
enum checked against its values); an undeclared field stays text. `KEY:=json` gives any field a
typed JSON value (`count:=3`, `done:=true`, `tags:='["a","b"]'`).
"""


def header() -> str:
    from gitstore.errors import EXIT_CODES, exit_summary

    table = "\n".join(f"| {code} | {name} | {why} |" for code, name, why in EXIT_CODES)
    return HEADER.format(summary=exit_summary(), table=table)


def help_text(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "gitstore", *args, "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return "\n".join(line.rstrip() for line in done.stdout.strip("\n").splitlines())


def command_paths() -> list[tuple[str, ...]]:
    """Every command and subcommand of the live CLI, in the order ``--help`` lists them."""
    import typer

    from gitstore.cli import command_tree

    app = command_tree()

    found: list[tuple[str, ...]] = []

    def walk(group: object, path: tuple[str, ...]) -> None:
        commands = getattr(group, "commands", {})
        for name in group.list_commands(None) if commands else []:  # type: ignore[attr-defined]
            found.append((*path, name))
            walk(commands[name], (*path, name))

    walk(typer.main.get_command(app), ())
    return found


def render() -> str:
    parts = [header(), "## gitstore\n", "```", help_text(), "```\n"]
    for path in command_paths():
        parts += [f"## gitstore {' '.join(path)}\n", "```", help_text(*path), "```\n"]
    return "\n".join(parts)


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT}")
