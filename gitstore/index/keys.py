"""What a stored parse or check depends on besides the file itself.

A parse depends on the store's limits and the collection's id rules; a validation outcome on the
configuration's whole content; both on this code. Each key is kept with what it made, and
anything stored under another key is computed again.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from gitstore import fs
from gitstore.index import codec

if TYPE_CHECKING:
    from gitstore.schema import Collection
    from gitstore.store import Store


def parse_key(store: Store, coll: Collection) -> str:
    """What a stored parse depends on besides the file: limits, the id rules, this code."""
    return json.dumps(
        [code_key(), store.config.max_record_bytes, store.config.max_depth, coll.id_pattern]
    )


_code: str | None = None


def code_key() -> str:
    """The modules whose rules decide a parse or a check: an upgrade (or an edit of a checkout)
    changes their files, and every stored result is recomputed."""
    global _code
    if _code is None:
        import sys

        import gitstore
        from gitstore import clock, record, schema, store, validate
        from gitstore.index import checks, listing, refresh

        parts = [getattr(gitstore, "__version__", "")]
        here = sys.modules[__name__]
        modules = (record, schema, store, validate, clock, fs, codec, checks, listing, refresh)
        for module in (*modules, here):
            st = os.stat(str(module.__file__))
            parts.append(f"{st.st_size}.{st.st_mtime_ns}")
        _code = ":".join(parts)
    return _code
