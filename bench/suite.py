"""Every benchmark, in one command: builds its stores in a temp dir, prints each figure with its
paired baseline, and (with --write) puts the output into docs/performance.md.

Run: python bench/suite.py [--quick] [--write] [--only NAME ...]

Each benchmark is its own script (each also runs alone); this runs them in turn, at the sizes the
goals name (1k, 10k and 100k records where a figure depends on the store's size; --quick uses
1k and 10k only, for a few minutes instead of ~30). With --write, the text between
``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` in docs/performance.md is replaced by that
benchmark's output, with the command, the date and the machine's load, so the tables there are
always ones this suite printed. Figures are ratios against a baseline measured in the same run;
nothing here asserts (the tests never time anything).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "performance.md"


def plan(quick: bool) -> list[tuple[str, list[str]]]:
    big = "10000" if quick else "100000"
    return [
        ("write", ["write.py", "--seconds", "1" if quick else "2"]),
        ("merge", ["merge.py", "--records", "200" if quick else "1000", "--bulk", ""]),
        (
            "bulk-merge",
            [
                *("merge.py", "--only-bulk", "--bulk", "1000" if quick else "1000,5000"),
                *("--driver-up-to", "1000"),
            ],
        ),
        ("roadmap", ["roadmap.py"]),
        ("validate", ["validate.py", "--records", "10000"]),
        ("sync", ["sync.py", "--records", "1000"]),
        ("shard", ["shard.py", "--records", big, "--runs", "3" if quick else "5"]),
        ("io", ["io.py", "--rows", "2000" if quick else "10000"]),
        ("index", ["index.py", "--sizes", f"1000,{big}" if quick else "1000,10000,100000"]),
        ("watch", ["watch.py", "--writes", "50" if quick else "200"]),
    ]


def run(name: str, argv: list[str]) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(HERE / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    took = time.perf_counter() - started
    out = done.stdout.rstrip("\n")
    if done.returncode:
        out += f"\n(failed, exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]})"
    return f"{out}\n({name}: {took:.0f} s)"


def block(name: str, argv: list[str], output: str) -> str:
    load = os.getloadavg()[0]
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = " ".join(["python", f"bench/{argv[0]}", *argv[1:]])
    return (
        f"<!-- bench:{name} -->\n`{command}`, {when}, {os.cpu_count()} cores, load {load:.1f} "
        f"at the start:\n\n```text\n{output}\n```\n<!-- /bench:{name} -->"
    )


def write_doc(blocks: dict[str, str]) -> list[str]:
    text = DOC.read_text()
    missing = []
    for name, new in blocks.items():
        pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.DOTALL)
        text, count = pattern.subn(lambda _: new, text)  # noqa: B023 - used at once
        if not count:
            missing.append(name)
    DOC.write_text(text)
    return missing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    blocks = {}
    for name, argv in plan(args.quick):
        if args.only and name not in args.only:
            continue
        print(f"== {name}: python bench/{' '.join(argv)}", flush=True)
        output = run(name, argv)
        print(output, flush=True)
        blocks[name] = block(name, argv, output)
    if args.write:
        missing = write_doc(blocks)
        for name in missing:
            print(f"docs/performance.md has no <!-- bench:{name} --> block; not written")


if __name__ == "__main__":
    main()
