"""Fixtures of the hostile suite; the machinery is in harness.py (imported under one name,
``tests.hostile.harness``, by this file and every test module alike)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.hostile.harness import World, build_template
from tests.hostile.processes import make_env


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("hostile") / "template"
    root.mkdir()
    build_template(root)
    return root, make_env(root.parent / "template-home")


@pytest.fixture
def world(template: tuple[Path, dict[str, str]], tmp_path: Path) -> World:
    source, env = template
    root = tmp_path / "w"
    shutil.copytree(source, root, symlinks=True)
    made = World(root, env)
    made.fix_paths(source)
    return made
