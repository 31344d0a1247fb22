"""docs/hostile-cases.md, generated from the hostile suite's case lists.

    python -m tests.hostile.table --write     (from the repository root)

``test_table.py`` fails when the file and the cases disagree, so the table is never stale.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from tests.hostile.harness import Case, Words

DOC = Path(__file__).resolve().parents[2] / "docs" / "hostile-cases.md"
MODULES = (
    "test_journal",
    "test_symlinks",
    "test_special_files",
    "test_nesting",
    "test_oversize",
    "test_hook",
    "test_merge_driver",
    "test_faults",
    "test_ids",
    "test_signals",
    "test_locks",
    "test_watch_notify",
)

HEADER = """\
# Hostile cases

Generated from `tests/hostile/` by `python -m tests.hostile.table --write`; a test fails when
this file is stale. Everything that arrives by git is untrusted: each case below is delivered the
way an attacker (or a careless tool) would deliver it, then the victim runs an ordinary command.

Besides its own exit code and error words, **every** case asserts (`tests/hostile/harness.py`):

- the error is one `gitstore: ` line on stderr (reports — `validate`, `status`, `doctor`, git's own
  output — carry the path on one of their lines), with no traceback, "internal error",
  "Exception ignored", RecursionError, MemoryError or "Segmentation fault";
- no process is killed by a signal (SIGSEGV, SIGABRT...), and nothing hangs: every subprocess has
  a 20 s timeout, and a hang fails the case;
- not a byte changes in the victim's `.git/config`, `.git/hooks/`, `.git/info/`, its worktree (but
  for the files a case lets its command write) or the `outside` folder beside the clones that holds
  the victim's own files and the targets of committed symlinks; system files a case links to are
  hashed too;
- no attacker code runs: a sentinel that a planted fsmonitor or hook would create never appears,
  even after a `git status`;
- afterwards a second process takes the store lock exclusively within 1 s.

Words in the "error names" column must appear on one line, case-insensitively; `a / b` means
either wording.
"""


def _words(words: Words) -> str:
    parts = []
    for word in words:
        options = (word,) if isinstance(word, str) else word
        parts.append(" / ".join(f"`{o}`" for o in options))
    return ", ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def themes() -> list[tuple[str, str, list[Case]]]:
    """(module, first paragraph of its docstring, its cases) for every module, in order."""
    out = []
    for name in MODULES:
        module = importlib.import_module(f"tests.hostile.{name}")
        intro = (module.__doc__ or name).strip().split("\n\n")[0].replace("\n", " ")
        out.append((name, intro, list(module.CASES)))
    return out


def render() -> str:
    lines = [HEADER]
    total = 0
    for name, intro, items in themes():
        total += len(items)
        lines += [
            f"## {name.removeprefix('test_').replace('_', ' ')} ({len(items)} cases)",
            "",
            intro,
            "",
            "| case | delivered | command | exit | error names | expected outcome |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| `{c.name}` | {_cell(c.delivery)} | `{_cell(c.act.label)}` | {c.code} | "
            f"{_cell(_words(c.words))} | {_cell(c.expect)} |"
            for c in items
        ]
        lines.append("")
    lines.append(f"{total} cases in all.")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if argv == ["--write"]:
        DOC.write_text(text)
        print(f"wrote {DOC}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
