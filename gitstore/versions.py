"""A record's metadata: the checks before a write builds on it, the version a caller expects,
and the metadata a write stamps.

A write must never build on a record whose metadata is broken (it would crash or silently
"repair" it), and compare-and-swap (``expected_version``) refuses a record that moved on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitstore.clock import brought_back, next_clock, time_problem, times_ok
from gitstore.errors import RecordError, UsageError, VersionConflict
from gitstore.record import META, check_data, same
from gitstore.schema import check_record

if TYPE_CHECKING:
    from pathlib import Path

    from gitstore.schema import Collection, Config

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


def stamped(
    collection: Collection, old: Record | None, new: Record, path: Path, actor: str, config: Config
) -> Record:
    """``new`` with fresh metadata and validated: what a write of it over ``old`` puts on disk.

    Besides ``version`` and ``last_modified``, the ``clocks`` block records when each field
    of an existing record last changed, so a merge decides a field both sides changed by that
    field's own clock (per-field last-writer-wins), not by the record's."""
    if old is not None:
        check_metadata(old, path)
    if not same(new.get("conflicts"), (old or {}).get("conflicts")) and "conflicts" in new:
        raise UsageError(
            "conflicts: is written by the merge driver only; settle a conflict with "
            "'gitstore resolve'",
            path,
        )
    missing = object()
    if old is None:
        changed = list(new)
    else:  # in the order of [*old, *new]: the clocks block keeps it
        changed = [k for k, v in old.items() if not same(v, new.get(k, missing))]
        changed += [k for k in new if k not in old]
    # what the file held already was held by a file: only the changed values need a look
    check_data({k: new[k] for k in changed if k in new}, path, config.max_depth)
    now = next_clock((old or {}).get("last_modified"))
    kept = {k: v for k, v in new.items() if k not in META and k != "clocks"}
    out: Record = {
        "id": new.get("id"),
        "version": (old or {}).get("version", 0) + 1,
        "last_modified": now,
        "modified_by": actor,
    } | kept
    if old is not None:
        clocks = brought_back(old["clocks"], now) if isinstance(old.get("clocks"), dict) else {}
        for key in changed:
            if key not in META and key not in ("clocks", "conflicts"):
                clocks[key] = now
        if clocks:
            out["clocks"] = clocks
    check_record(collection, out, path)
    return out
