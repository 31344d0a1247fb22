"""docs/hostile-cases.md is generated from the case lists and must match them."""

from __future__ import annotations

from tests.hostile.table import DOC, render, themes


def test_the_case_table_is_current() -> None:
    assert DOC.read_text() == render(), "stale: run python -m tests.hostile.table --write"


def test_there_are_at_least_80_cases_with_unique_names() -> None:
    names = [c.name for _, _, items in themes() for c in items]
    assert len(names) >= 80
    assert len(set(names)) == len(names)
