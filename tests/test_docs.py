"""The CLI reference is generated from --help and must not go stale."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_cli_reference_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_cli", DOCS / "gen_cli.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert (DOCS / "cli.md").read_text() == gen.render(), "run: python docs/gen_cli.py"


def test_every_command_is_documented() -> None:
    from gitstore.cli import records, roadmap, setup  # noqa: F401
    from gitstore.cli.common import app

    text = (DOCS / "cli.md").read_text()
    for command in app.registered_commands:
        name = command.name or command.callback.__name__  # type: ignore[union-attr]
        assert f"## gitstore {name}\n" in text
    for command in roadmap.roadmap_app.registered_commands:
        name = command.name or command.callback.__name__  # type: ignore[union-attr]
        assert f"## gitstore roadmap {name}\n" in text
