"""schema.py: store paths in gitstore.yaml, and the ids a collection accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitstore.errors import ConfigError, UsageError
from gitstore.schema import Collection, parse_config


def _config(tasks_path: object = "records/tasks", roadmap_path: object = "ROADMAP.md") -> Any:
    raw = {"collections": {"tasks": {"path": tasks_path}}, "roadmap": {"path": roadmap_path}}
    return parse_config(Path("/store"), raw, Path("/store/gitstore.yaml"))


@pytest.mark.parametrize(
    "written", ["./records/tasks", "records//tasks/", "records/tasks/.", "records/./tasks"]
)
def test_paths_are_normalised(written: str) -> None:
    config = _config(written, "./docs//ROADMAP.md")
    assert config.collections["tasks"].path == "records/tasks"
    assert config.roadmap_path == "docs/ROADMAP.md"


@pytest.mark.parametrize(
    "written",
    [
        "",
        " ",
        ".",
        "./",
        "/etc",
        "../outside",
        "records/../../outside",
        "records/../tasks",
        ".git/records",
        "records/.GIT/tasks",
        "records\\tasks",
        None,
        7,
    ],
)
@pytest.mark.parametrize("key", ["collections.tasks.path", "roadmap.path"])
def test_paths_outside_the_store_or_inside_git_are_refused(written: object, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        if key == "roadmap.path":
            _config(roadmap_path=written)
        else:
            _config(written)
    assert err.value.message.startswith(f"{key}: ")


def test_a_collection_folder_inside_another_is_refused() -> None:
    raw = {"collections": {"all": {"path": "records"}, "tasks": {"path": "records/tasks"}}}
    with pytest.raises(ConfigError) as err:
        parse_config(Path("/store"), raw, Path("/store/gitstore.yaml"))
    assert err.value.message.startswith("collections.all.path: records is, or holds, another")


@pytest.mark.parametrize(
    "bad",
    [
        "CON",
        "con",
        "Nul",
        "aux.txt",
        "COM1",
        "lpt9.backup",
        "COM\u00b9",
        "PRN .x",
        "a:b",
        'say"hi"',
        "what?",
        "a*b",
        "a<b>",
        "a|b",
        "tab\there",
        "bell\x07",
        "trailing.",
        "trailing ",
    ],
)
def test_ids_windows_cannot_hold_are_refused(bad: str) -> None:
    with pytest.raises(UsageError, match="Windows"):
        Collection("notes", "records/notes", id_pattern=".+").check_id(bad)


@pytest.mark.parametrize("good", ["CONSOLE", "COM10", "LPT0", "icon", "T-1", "a.b", "NULL-1"])
def test_ids_that_only_look_reserved_keep_working(good: str) -> None:
    assert Collection("notes", "records/notes", id_pattern=".+").check_id(good) == good


@pytest.mark.parametrize(
    "pattern",
    [r"(T-[0-9]+|(a+)+b)", r"(a|aa)*", r"x(\w+\s?)*y", r"(.)\1", r"\w*\w*\w*\w*x", r"(?:a\w+)*"],
)
def test_patterns_that_could_backtrack_forever_are_refused(pattern: str) -> None:
    from gitstore.patterns import pattern_problem

    assert pattern_problem(pattern) is not None


@pytest.mark.parametrize(
    "pattern",
    [
        r"T-[0-9]+",
        r"[A-Za-z0-9][A-Za-z0-9_.-]*",
        r"PRIORITY[ \t]+(?P<id>\d+(?:\.\d+)*)",
        r"(-[a-z0-9]+)*",
    ],
)
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    from gitstore.patterns import pattern_problem

    assert pattern_problem(pattern) is None


def test_an_id_checked_once_is_still_checked_by_type_and_for_each_collection() -> None:
    """check_id remembers the ids it accepted: a bad id is refused every time, the same text
    is refused by a collection whose pattern refuses it, and a non-string never passes."""
    tasks = Collection("tasks", "records/tasks", id_pattern=r"T-\d+")
    notes = Collection("notes", "records/notes", id_pattern=r"[a-z]+")
    for _ in range(2):
        assert tasks.check_id("T-1") == "T-1"
        with pytest.raises(UsageError):
            notes.check_id("T-1")
        with pytest.raises(UsageError):
            tasks.check_id("t-1")
    with pytest.raises(UsageError):
        tasks.check_id(["T-1"])
