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
    """The live command tree, not a list someone keeps: a new command without docs fails."""
    spec = importlib.util.spec_from_file_location("gen_cli", DOCS / "gen_cli.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    paths = gen.command_paths()
    assert ("roadmap", "next") in paths and ("check-merge",) in paths and len(paths) > 25
    text = (DOCS / "cli.md").read_text()
    for path in paths:
        assert f"## gitstore {' '.join(path)}\n" in text, path


def test_the_documented_configuration_is_a_valid_one() -> None:
    import re

    from ruamel.yaml import YAML

    from gitstore.schema import parse_config

    text = (DOCS / "configuration.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.DOTALL)
    assert block
    config = parse_config(DOCS, YAML(typ="safe").load(block.group(1)), DOCS / "x.yaml")
    assert "tasks" in config.collections and config.max_record_bytes == 1 << 20
