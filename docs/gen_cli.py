"""Regenerate docs/cli.md from the CLI's own --help (tests/test_docs.py fails when it is stale).

Run: python docs/gen_cli.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

COMMANDS = [
    "init",
    "install",
    "add",
    "get",
    "set",
    "rm",
    "list",
    "edit",
    "validate",
    "merge-driver",
]
ROADMAP_COMMANDS = ["list", "show", "add", "set", "status", "move", "renumber", "rm", "edit", "next"]
OUT = Path(__file__).with_name("cli.md")

HEADER = """# CLI reference

Generated from `gitstore --help` by `python docs/gen_cli.py`; a test fails when it is stale.

In Python: every command is one call on `gitstore.Store` (see [api.md](api.md)).

Exit codes: 0 ok, 1 problems found, 2 usage, 3 lock timeout, 4 version conflict, 5 not a store.
Values: `KEY=text` is converted to the field's declared type (`int`, `date`, `list` as `a,b`, an
enum checked against its values); an undeclared field stays text. `KEY:=json` gives any field a
typed JSON value (`count:=3`, `done:=true`, `tags:='["a","b"]'`).
"""


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


def render() -> str:
    parts = [HEADER, "## gitstore\n", "```", help_text(), "```\n"]
    for command in COMMANDS:
        parts += [f"## gitstore {command}\n", "```", help_text(command), "```\n"]
    parts += ["## gitstore roadmap\n", "```", help_text("roadmap"), "```\n"]
    for command in ROADMAP_COMMANDS:
        parts += [f"## gitstore roadmap {command}\n", "```", help_text("roadmap", command), "```\n"]
    return "\n".join(parts)


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT}")
