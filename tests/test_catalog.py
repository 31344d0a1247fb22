"""``gitstore schema``: the configuration and the counts, as a person and a daemon read them."""

from __future__ import annotations

import json
from pathlib import Path

from gitstore import Store
from gitstore.catalog import describe
from tests.conftest import gitstore


def test_describe_the_starter_store(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    store.put("tasks", {"id": "T-2", "title": "y"})
    store.delete("tasks", "T-2")
    found = describe(store)
    tasks, notes = found["collections"]
    assert (tasks["name"], tasks["path"], tasks["ids"], tasks["extra"]) == (
        "tasks",
        "records/tasks",
        "random",
        "allow",
    )
    assert (tasks["records"], tasks["deleted"], tasks["unreadable"]) == (1, 1, 0)
    fields = {f["name"]: f for f in tasks["fields"]}
    assert fields["title"] | {"description": None} == {
        "name": "title",
        "type": "str",
        "required": True,
        "default": None,
        "values": None,
        "merge": "lww",
        "description": None,
    }
    assert fields["status"]["values"] == ["todo", "doing", "done", "blocked"]
    assert fields["tags"]["merge"] == "union" and fields["notes"]["merge"] == "text"
    assert notes["name"] == "notifications" and notes["records"] == 0
    assert found["roadmap"] == {"path": "ROADMAP.md", "sections": 1}


def test_descriptions_and_unreadable_files(store_dir: Path) -> None:
    config = store_dir / "gitstore.yaml"
    text = config.read_text().replace(
        "    path: records/tasks\n",
        "    path: records/tasks\n    description: Work to do.\n",
    )
    text = text.replace(
        "      title:\n        type: str\n",
        "      title:\n        type: str\n        description: One line, imperative.\n",
    )
    config.write_text(text)
    folder = store_dir / "records/tasks"
    folder.mkdir(parents=True)
    (folder / "T-1.yaml").write_text("id: T-1\ntitle: [unclosed\n")
    res = gitstore("schema", "tasks", "--json", cwd=store_dir)
    assert res.returncode == 0, res.stderr
    [tasks] = json.loads(res.stdout)["collections"]
    assert tasks["description"] == "Work to do." and tasks["unreadable"] == 1
    assert tasks["fields"][0]["description"] == "One line, imperative."
    table = gitstore("schema", cwd=store_dir)
    assert "One line, imperative." in table.stdout and "1 unreadable" in table.stdout
    assert "notifications: records/notifications/" in table.stdout
    assert "roadmap: ROADMAP.md (1 sections)" in table.stdout


def test_unknown_collection(store_dir: Path) -> None:
    res = gitstore("schema", "nope", cwd=store_dir)
    assert res.returncode == 2 and "unknown collection 'nope'" in res.stderr
    outside = gitstore("schema", cwd=store_dir.parent)
    assert outside.returncode == 5
