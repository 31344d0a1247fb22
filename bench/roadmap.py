"""Roadmap benchmark: parse+render of the largest corpus file, and one CLI status edit on it.

Run: python bench/roadmap.py [--corpus ../shared/corpus/roadmap]. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gitstore.initialize import init_store
from gitstore.roadmap import Parser

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "roadmap"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    largest = max(args.corpus.glob("versions/*.md.gz"), key=lambda p: p.stat().st_size)
    text = gzip.decompress(largest.read_bytes()).decode()
    road = Parser()
    samples = []
    for _ in range(args.runs):
        t = time.perf_counter()
        doc = road.parse(text)
        assert doc.render() == text
        samples.append(time.perf_counter() - t)
    print(
        f"{largest.name}: {len(text.encode()) / 1e6:.2f} MB, {text.count(chr(10))} lines, {len(doc.sections)} sections"
    )
    print(
        f"parse+render: median {statistics.median(samples) * 1e3:.0f} ms, max {max(samples) * 1e3:.0f} ms (goal < 150 ms)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        init_store(root)
        (root / "ROADMAP.md").write_text(text)

        def timed(argv: list[str]) -> float:
            runs = []
            for _ in range(args.runs):
                t = time.perf_counter()
                subprocess.run(argv, cwd=root, check=True, capture_output=True)
                runs.append(time.perf_counter() - t)
            return statistics.median(runs)

        base = timed([sys.executable, "-c", "pass"])
        edit = timed([sys.executable, "-m", "gitstore", "roadmap", "status", "25", "in_progress"])
        print(f"python -c pass: {base * 1e3:.0f} ms")
        print(f"gitstore roadmap status 25 in_progress: {edit * 1e3:.0f} ms total (goal < 300 ms)")


if __name__ == "__main__":
    main()
