"""gitstore: planning data as plain text files in git, safe under concurrent editing.

from gitstore import Store
store = Store.open(".")
with store.update("tasks", "T-42") as rec:
    rec["status"] = "done"
"""

from gitstore.errors import (
    ConfigError,
    GitStoreError,
    LockTimeout,
    NotAStore,
    NotFound,
    RecordError,
    UsageError,
    VersionConflict,
    WriteError,
)
from gitstore.store import Store

__all__ = [
    "ConfigError",
    "GitStoreError",
    "LockTimeout",
    "NotAStore",
    "NotFound",
    "RecordError",
    "Store",
    "UsageError",
    "VersionConflict",
    "WriteError",
]
