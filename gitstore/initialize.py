"""``gitstore init``: the starter configuration, ignore rules, and a git repository if needed."""

from __future__ import annotations

import itertools
import shlex
import sys
from pathlib import Path

from gitstore import fs, gitio
from gitstore.errors import GitStoreError
from gitstore.schema import CONFIG_NAME

STARTER_CONFIG = """\
# gitstore configuration: what the store holds and how concurrent edits merge.
# Docs: docs/configuration.md. Every record is records/<collection>/<id>.yaml.

roadmap:
  path: ROADMAP.md            # the roadmap file, relative to this folder

collections:
  tasks:
    path: records/tasks
    id_pattern: "T-[0-9a-z]+" # a regular expression every id must match in full
    id_prefix: "T-"
    ids: random               # 'gitstore add tasks' without an id picks T- plus 6 random
                              # characters (T-k3x9q2): clones never pick the same id. Or
                              # sequential: the next free T-<n> (two clones can collide)
    extra: allow              # undeclared fields are kept (daemons add them); 'warn' or 'reject'
    fields:
      title:
        type: str
        required: true
      status:
        type: enum
        values: [todo, doing, done, blocked]
        default: todo
        merge: lww            # lww: the later edit wins; flag: a conflict for a person
      owner:
        type: str
      priority:
        type: int
      tags:
        type: list
        merge: union          # both sides' additions kept, both sides' removals applied
      notes:
        type: text
        merge: text           # line-level three-way merge inside the text
      due:
        type: date

  notifications:
    path: records/notifications
    id_pattern: "N-[0-9a-z]+"
    id_prefix: "N-"
    ids: random
    fields:
      message:
        type: text
        required: true
      level:
        type: enum
        values: [info, question, warning, error]
        default: info
      status:
        type: enum
        values: [unread, read, dismissed]
        default: unread
      source:
        type: str             # who wrote it: daemon, cli, ...
      about:
        type: str             # a task or priority id
"""

STARTER_ROADMAP = """\
# Roadmap

**Last Updated**: (set by gitstore)

Sections are `### PRIORITY <n>: Title`; gitstore edits their `**Status**:` and other field lines.
The first section whose status is Planned is what comes next.

### PRIORITY 1: Set up the project
**Status**: 📝 Planned
**Owner**: (nobody yet)

Describe the work here: deliverables, acceptance criteria.
"""

IGNORE_LINES = (".gitstore/", ".gitstore-tmp-*")


def init_store(path: Path) -> list[str]:
    """Create a store in ``path`` (idempotent); returns what was done, one line each."""
    done = []
    fs.ensure_dir(path)
    if not gitio.is_repo(path):
        gitio.init_repo(path)
        done.append(f"initialised a git repository in {path}")
    config = path / CONFIG_NAME
    if config.exists():
        done.append(f"kept the existing {CONFIG_NAME}")
    else:
        fs.atomic_write(config, STARTER_CONFIG.encode())
        done.append(f"wrote {CONFIG_NAME} (collections: tasks, notifications)")
    roadmap = path / "ROADMAP.md"
    if not roadmap.exists():
        fs.atomic_write(roadmap, STARTER_ROADMAP.encode())
        done.append("wrote a starter ROADMAP.md")
    if _ensure_lines(path / ".gitignore", IGNORE_LINES):
        done.append("added .gitstore/ and temp files to .gitignore")
    from gitstore.statedir import state_dir

    fs.ensure_dir(state_dir(path.resolve()))
    done += install(path)
    return done


DRIVER_CODE = "import sys; from gitstore.merge.driver import main; sys.exit(main(sys.argv[1:]))"


def driver_argv() -> list[str]:
    """The driver process, before its four file arguments: this interpreter, by absolute path
    so no PATH is needed, running the driver module straight away. git starts it once per file,
    so start-up is its cost: ``-c`` skips ``-m``'s runpy (~5 ms) and the ``gitstore`` script's
    own imports (under 1 ms). -P: git runs drivers at the top of the work tree, and without it
    a ``gitstore/`` folder a commit put there would be imported instead of this installation."""
    return [sys.executable, "-P", "-c", DRIVER_CODE]


def driver_command() -> str:
    """``merge.gitstore.driver``: :func:`driver_argv` and git's placeholders, for a shell."""
    return f"{shlex.join(driver_argv())} %O %A %B %P"


def is_driver(command: str) -> bool:
    """Whether a configured driver command is gitstore's (this form, or ``gitstore
    merge-driver`` from an older install or written by hand)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    if DRIVER_CODE in words:
        return True
    # `.../gitstore merge-driver` or `python -P -m gitstore merge-driver`: not any command that
    # holds the word (a driver of the user's own, `my-merge-driver %O %A %B`, is left alone)
    return any(
        word == "merge-driver" and before.rsplit("/", 1)[-1] == "gitstore"
        for before, word in itertools.pairwise(words)
    )


def install(path: Path) -> list[str]:
    """Register the merge driver, the .gitattributes lines and the pre-commit and
    pre-merge-commit hooks (idempotent; for fresh clones)."""
    from gitstore.schema import load_config

    done = []
    config = load_config(path)
    current = gitio.git(
        "config", "--get", "merge.gitstore.driver", cwd=path, check=False
    ).stdout.strip()
    wanted = driver_command()
    if current and not is_driver(current):
        done.append(f"warning: merge.gitstore.driver is set to {current!r}; left as it is")
    elif current != wanted:
        gitio.git("config", "merge.gitstore.name", "gitstore field-level merge", cwd=path)
        gitio.git("config", "merge.gitstore.driver", wanted, cwd=path)
        done.append("registered the gitstore merge driver in .git/config")
    patterns = [config.roadmap_path] + [
        f"{c.path.rstrip('/')}/*.yaml" for c in config.collections.values()
    ]
    if _ensure_lines(path / ".gitattributes", tuple(f"{p} merge=gitstore" for p in patterns)):
        done.append("added merge=gitstore lines to .gitattributes")
    from gitstore.hook import install_hooks

    done += install_hooks(path)
    return done


def _ensure_lines(path: Path, lines: tuple[str, ...]) -> bool:
    try:
        text = fs.read_bytes(path, root=path.parent).decode()
    except FileNotFoundError:
        text = ""
    except UnicodeDecodeError:
        raise GitStoreError("is not UTF-8 text; add the lines by hand", path) from None
    present = set(text.splitlines())
    missing = [line for line in lines if line not in present]
    if not missing:
        return False
    if text and not text.endswith("\n"):
        text += "\n"
    fs.atomic_write(path, (text + "".join(f"{line}\n" for line in missing)).encode())
    return True
