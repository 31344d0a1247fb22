"""Worker processes for the query index tests: ``python -m tests.integration.index_workers KIND ROOT``.

``query`` says "go" on stdout and then lists every record (so the index is refreshed); the parent
kills it at a random moment. ``owner`` changes its own records and checks, after every change,
that a query through the index sees exactly what it wrote, while other owners do the same.
"""

from __future__ import annotations

import json
import os
import random
import sys

from gitstore import Store
from gitstore.query import Condition


def query(root: str) -> None:
    store = Store.open(root)
    print("go", flush=True)
    store.find("tasks", [Condition("status", "=", "doing")])
    store.find("tasks")
    print("done", flush=True)


def owner(root: str, me: int, rounds: int) -> None:
    import gitstore.index

    rng = random.Random(me)
    store = Store.open(root)
    mine = {f"T-{me}n{i}": 0 for i in range(1, 11)}
    for round_ in range(1, rounds + 1):
        rid = rng.choice(sorted(mine))
        mine[rid] = round_
        if round_ % 2:
            with store.update("tasks", rid) as rec:
                rec["count"] = round_
        else:  # a hand edit, as another tool would make it: a new file put in place
            path = store.path_of("tasks", rid)
            text = path.read_text()
            lines = [line for line in text.splitlines() if not line.startswith("count:")]
            tmp = path.with_name(f"hand-{me}.tmp")
            tmp.write_text("\n".join([*lines, f"count: {round_}"]) + "\n")
            os.replace(tmp, path)
        where = [Condition("owner", "=", f"w{me}")]
        seen = {r["id"]: r.get("count", 0) for r in store.find("tasks", where)}
        if seen != mine:
            print(json.dumps({"round": round_, "wrote": mine, "saw": seen}), flush=True)
            raise SystemExit(1)
    print(json.dumps({"fallbacks": gitstore.index.fallbacks}), flush=True)


if __name__ == "__main__":
    kind, root, *rest = sys.argv[1:]
    if kind == "query":
        query(root)
    elif kind == "owner":
        owner(root, int(rest[0]), int(rest[1]))
