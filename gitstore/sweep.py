"""Whether an interrupted write may have left temp files, without listing every data folder at
every ``Store.open`` (a folder of 100,000 records takes tens of milliseconds to list).

A temp file is a new entry in its folder, and a new entry changes the folder's mtime and ctime.
So a folder whose stat is the one recorded when a listing of it found no temp file holds none
now, and is not listed again. A stat is recorded only once the folder's times are
:data:`SETTLE_NS` old, so that an entry made in the same clock tick as the listing cannot hide
behind an unchanged time. ``<state>/swept.json`` keeps the stats; anything wrong with it (or a
folder that cannot be entered) only costs a listing, and a miss only delays a sweep.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from gitstore import fs
from gitstore.errors import GitStoreError

if TYPE_CHECKING:
    from gitstore.store import Store

NAME = "swept.json"
SETTLE_NS = 2_000_000_000


def may_have_temps(store: Store) -> bool:
    """True when some data folder (or the state folder) may hold a stray temp file."""
    path = store.state / NAME
    try:
        known = json.loads(fs.read_bytes(path, 1 << 16))
        if not isinstance(known, dict):
            known = {}
    except (OSError, GitStoreError, ValueError):
        known = {}
    clean = dict(known)
    found = False
    for folder in store.data_dirs():
        key = folder.relative_to(store.root).as_posix()
        try:
            st = fs.folder_stat(folder, store.root)
        except (OSError, GitStoreError):
            st = None
        numbers = None if st is None else [st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        if numbers is not None and known.get(key) == numbers:
            continue
        clean.pop(key, None)
        if fs.stray_temps([folder], store.root):
            found = True
        elif numbers is not None and max(numbers[:2]) < time.time_ns() - SETTLE_NS:
            clean[key] = numbers
    if clean != known:
        try:
            fs.ensure_dir(store.state)
            fs.atomic_write(path, json.dumps(clean).encode())
        except GitStoreError:
            pass  # a read-only clone: list again next time
    return found or bool(fs.stray_temps([store.state]))
