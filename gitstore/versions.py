"""Checks of a record's metadata before a write builds on it, and of the version a caller expects.

A write must never build on a record whose metadata is broken (it would crash or silently
"repair" it), and compare-and-swap (``expected_version``) refuses a record that moved on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitstore.clock import time_problem, times_ok
from gitstore.errors import RecordError, VersionConflict

if TYPE_CHECKING:
    from pathlib import Path

Record = dict[str, Any]


def check_metadata(old: Record, path: Path) -> None:
    """Refuse to build on a record whose metadata is broken: a write would either crash or
    silently "repair" it, and either way the history it stands for would be lost."""
    problems = []
    version = old.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        problems.append(f"version: {version!r} is not a non-negative integer")
    if "last_modified" in old and (why := time_problem(old["last_modified"])):
        problems.append(f"last_modified: {why}")
    clocks = old.get("clocks")
    if clocks is not None and not (isinstance(clocks, dict) and times_ok(clocks.values())):
        problems.append("clocks: must map field names to RFC 3339 times")
    if problems:
        raise RecordError(
            "; ".join(problems) + "; fix the file by hand (gitstore will not overwrite it)", path
        )


def check_version(old: Record | None, expected: int | None, path: Path) -> None:
    if old is not None:
        check_metadata(old, path)
    if expected is None:
        return
    actual = 0 if old is None else int(old.get("version", 0))
    if actual != expected:
        raise VersionConflict(
            f"version is {actual}, expected {expected}: someone else changed it; re-read and retry",
            path,
            expected=expected,
            actual=actual,
        )
