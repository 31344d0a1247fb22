"""Replay the corpus's real ROADMAP.md merges through the driver, next to `git merge-file`.

Run: python bench/replay_merges.py [--corpus DIR]. Prints the markdown table in docs/merging.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gitstore.merge.driver import merge_files as _merge_files
from gitstore.merge.roadmap import merge_roadmap
from gitstore.roadmap import Parser, Section

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "roadmap"


@dataclass
class Replay:
    name: str
    git_hunks: int
    git_lines: int
    hunks: int
    lines: int
    conflicted: list[str]
    lost: list[str]  # sections changed on one side only that the result does not hold as changed
    notes: list[str]


def units(text: str, parser: Parser) -> dict[str, list[str]]:
    """An independent check, not the merge's own matching: the preamble and each section with
    the text after it, keyed by id and occurrence (``2.5``, ``2.5#2``)."""
    out: dict[str, list[str]] = {"": []}
    current = ""
    for block in parser.parse(text).blocks:
        if isinstance(block, Section):
            current = block.id if block.occurrence == 0 else f"{block.id}#{block.occurrence + 1}"
            out[current] = list(block.lines)
        else:
            out[current] += block
    return out


def merge_files(base: Path, ours: Path, theirs: Path, path: str) -> int:
    with contextlib.redirect_stderr(io.StringIO()):
        return _merge_files(base, ours, theirs, path)


def conflict_lines(text: str) -> tuple[int, int]:
    hunks = lines = 0
    inside = False
    for line in text.splitlines():
        if line.startswith("<<<<<<<"):
            hunks, inside = hunks + 1, True
        elif line.startswith(">>>>>>>"):
            inside = False
        elif inside and not line.startswith("======="):
            lines += 1
    return hunks, lines


def git_merge_file(base: str, ours: str, theirs: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(tmp) / name
            path.write_text(text)
            paths.append(str(path))
        done = subprocess.run(["git", "merge-file", "-p", *paths], capture_output=True, text=True)
        return done.stdout


def replay(folder: Path, parser: Parser) -> Replay:
    base, ours, theirs = (
        gzip.decompress((folder / f"{n}.md.gz").read_bytes()).decode()
        for n in ("base", "ours", "theirs")
    )
    git_hunks, git_lines = conflict_lines(git_merge_file(base, ours, theirs))
    result = merge_roadmap(base, ours, theirs, parser)
    with tempfile.TemporaryDirectory() as tmp:  # and through the driver itself, as git calls it
        files = [Path(tmp) / n for n in ("O", "A", "B")]
        for path, text in zip(files, (base, ours, theirs), strict=True):
            path.write_text(text)
        code = merge_files(*files, "ROADMAP.md")
        assert files[1].read_text() == result.text and code == (1 if result.conflicts else 0)
    hunks, lines = conflict_lines(result.text)
    ub, uo, ut, um = (units(t, parser) for t in (base, ours, theirs, result.text))
    lost = []
    for key in {*uo, *ut}:
        for mine, other in ((uo, ut), (ut, uo)):
            changed_here = mine.get(key) != ub.get(key) and mine.get(key) is not None
            if changed_here and other.get(key) == ub.get(key) and um.get(key) != mine.get(key):
                lost.append(key)
    return Replay(
        folder.name,
        git_hunks,
        git_lines,
        hunks,
        lines,
        result.conflicted,
        sorted(set(lost)),
        result.notes,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    road = Parser()
    print(
        "| merge | git merge-file: hunks / lines | gitstore: clean? | conflicted sections | conflict lines | one-sided changes lost |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for folder in sorted((args.corpus / "merges").iterdir()):
        r = replay(folder, road)
        clean = "clean" if not r.hunks else "conflicts"
        sections = ", ".join(r.conflicted) or "-"
        print(
            f"| {r.name} | {r.git_hunks} / {r.git_lines} | {clean} | {sections} | {r.lines} | {len(r.lost)} |"
        )


if __name__ == "__main__":
    main()
