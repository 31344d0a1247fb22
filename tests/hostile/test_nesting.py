"""Crash by nesting: a 60 KB record that opens 30,000 flow sequences crashes a recursive parser
(SIGSEGV in a C extension, or a RecursionError); so may deep block sequences, deep indentation,
a deep config, or a deep JSON value given on the command line. Every command reads them as what
they are — a record "nested too deeply" — with one line and exit 1 (exit 2 for a value the user
typed), never a crash.
"""

from __future__ import annotations

from tests.hostile.harness import (
    API,
    HOOKED,
    LOCAL,
    PUSHED,
    Case,
    World,
    api,
    cases,
    cli,
    git,
    put_files,
    record,
    run_case,
)

T2 = "records/tasks/T-2.yaml"
NESTED = ("nested", "deep")
BASE = record("T-2", title="second task")
FLOW_SEQUENCES = BASE + "x: " + "[" * 30000 + "]" * 30000 + "\n"
FLOW_MAPPINGS = BASE + "x: " + "{a: " * 15000 + "1" + "}" * 15000 + "\n"
BLOCK_SEQUENCES = BASE + "x:\n" + "- " * 30000 + "a\n"
INDENTED = (
    BASE + "x:\n" + "".join(" " * d + f"k{d}:\n" for d in range(1, 1400)) + " " * 1400 + "v: 1\n"
)


def pushed(text: str, path: str = T2):  # type: ignore[no-untyped-def]
    def arrange(world: World) -> None:
        world.deliver({path: text})

    return arrange


def staged(text: str, path: str = T2):  # type: ignore[no-untyped-def]
    def arrange(world: World) -> None:
        put_files(world.victim, {path: text})
        world.git("add", "--", path)

    return arrange


ONE_LINE = "exit 1, one line naming the file and 'nested too deeply'; no SIGSEGV, no RecursionError"

CASES = [
    Case(
        "flow-sequences-get",
        PUSHED,
        pushed(FLOW_SEQUENCES),
        cli("get", "T-2"),
        1,
        (T2, NESTED),
        ONE_LINE,
    ),
    Case(
        "flow-sequences-list",
        PUSHED,
        pushed(FLOW_SEQUENCES),
        cli("list", "tasks"),
        1,
        (T2, NESTED),
        ONE_LINE,
    ),
    Case(
        "flow-sequences-validate",
        PUSHED,
        pushed(FLOW_SEQUENCES),
        cli("validate"),
        1,
        (T2, NESTED),
        "exit 1: validate reports the file as nested too deeply",
    ),
    Case(
        "flow-sequences-api",
        PUSHED,
        pushed(FLOW_SEQUENCES),
        api("store.list('tasks')", show="Store.open('.').list('tasks')"),
        1,
        (T2, NESTED),
        "a RecordError (exit 1) naming the file; the process does not crash",
    ),
    Case(
        "flow-sequences-set",
        PUSHED,
        pushed(FLOW_SEQUENCES),
        cli("set", "T-2", "title=y"),
        1,
        (T2, NESTED),
        ONE_LINE + "; the file is untouched",
    ),
    Case(
        "flow-sequences-hook",
        HOOKED,
        staged(FLOW_SEQUENCES),
        git("commit", "-q", "-m", "work"),
        1,
        (T2, NESTED),
        "the commit is refused with the validator's line for the file (not a crashed hook)",
    ),
    Case(
        "flow-mappings-get",
        PUSHED,
        pushed(FLOW_MAPPINGS),
        cli("get", "T-2"),
        1,
        (T2, (*NESTED, "flow mapping")),
        "exit 1 naming the file (a flow mapping is refused before it is parsed deep)",
    ),
    Case(
        "flow-mappings-validate",
        PUSHED,
        pushed(FLOW_MAPPINGS),
        cli("validate"),
        1,
        (T2, (*NESTED, "flow mapping")),
        "exit 1: reported",
    ),
    Case(
        "block-sequences-get",
        PUSHED,
        pushed(BLOCK_SEQUENCES),
        cli("get", "T-2"),
        1,
        (T2, NESTED),
        ONE_LINE,
    ),
    Case(
        "block-sequences-validate",
        PUSHED,
        pushed(BLOCK_SEQUENCES),
        cli("validate"),
        1,
        (T2, NESTED),
        "exit 1: reported as nested too deeply",
    ),
    Case(
        "deep-indentation-get",
        PUSHED,
        pushed(INDENTED),
        cli("get", "T-2"),
        1,
        (T2, NESTED),
        ONE_LINE + " (1,400 mapping levels, 1 MB)",
    ),
    Case(
        "deep-indentation-validate",
        PUSHED,
        pushed(INDENTED),
        cli("validate"),
        1,
        (T2, NESTED),
        "exit 1: reported as nested too deeply",
    ),
    Case(
        "deep-config-get",
        PUSHED,
        pushed(
            "collections:\n  tasks:\n    path: records/tasks\n    x: "
            + "[" * 30000
            + "]" * 30000
            + "\n",
            "gitstore.yaml",
        ),
        cli("get", "T-1"),
        1,
        ("gitstore.yaml", NESTED),
        "exit 1 naming gitstore.yaml; no crash",
        lock_check=False,
    ),
    Case(
        "deep-json-value-set",
        LOCAL,
        lambda w: None,
        cli(
            "set",
            "T-2",
            "x:=" + "[" * 5000 + "]" * 5000,
            show="gitstore set T-2 'x:=[[[…]]]' (5,000 deep)",
        ),
        2,
        ("x", NESTED),
        "exit 2 (a usage error: the value typed is refused), one line; the file is untouched",
    ),
    Case(
        "deep-value-api-put",
        API,
        lambda w: None,
        api(
            "v = []\nfor _ in range(5000):\n    v = [v]\n"
            "store.put('tasks', {'id': 'T-2', 'title': 't', 'x': v})",
            show="store.put('tasks', {..., 'x': <list 5,000 deep>})",
        ),
        1,
        (T2, NESTED),
        "a RecordError (exit 1) naming the file; the file is untouched",
    ),
]


@cases(CASES)
def test_nesting_never_crashes(world: World, case: Case) -> None:
    run_case(world, case)
