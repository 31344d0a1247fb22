"""gitstore: planning data as plain text files in git, safe under concurrent editing.

from gitstore import Store
store = Store.open(".")
with store.update("tasks", "T-42") as rec:
    rec["status"] = "done"
"""

from __future__ import annotations

from gitstore.errors import (
    TYPE_CHECKING,
    ConfigError,
    Exists,
    GitStoreError,
    LockTimeout,
    NotAStore,
    NotFound,
    RecordError,
    UnsafePath,
    UsageError,
    VersionConflict,
    WriteError,
)

if TYPE_CHECKING:
    from typing import Any

    from gitstore.store import Store


def __getattr__(name: str) -> Any:
    # Lazy, so that the merge driver and the hook, which run once per file, import only what
    # they use (python -m gitstore imports this package first).
    if name == "Store":
        from gitstore.store import Store

        return Store
    raise AttributeError(f"module 'gitstore' has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "Exists",
    "GitStoreError",
    "LockTimeout",
    "NotAStore",
    "NotFound",
    "RecordError",
    "Store",
    "UnsafePath",
    "UsageError",
    "VersionConflict",
    "WriteError",
]
