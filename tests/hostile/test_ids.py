"""Ids that are safe on Linux but not on every clone's filesystem: names equal but for case (one
file on macOS and Windows, so one record silently replaces the other), names equal after
Unicode normalisation (one file on macOS), Windows device names (``CON``, ``nul``, ``com1``:
no such file can exist there, so the checkout fails), and ids too long in bytes for a file name.
``validate`` and the hook report them; ``add`` refuses to make them (exit 2, a usage error like
any bad id). The ``notes`` collection accepts words in any script, so these ids pass its pattern.
"""

from __future__ import annotations

import unicodedata

from tests.hostile.harness import (
    HOOKED,
    LOCAL,
    PUSHED,
    Case,
    World,
    cases,
    cli,
    git,
    put_files,
    record,
    run_case,
)

COLLIDE = ("collid", "collision", "clash", "case", "normaliz", "differ only")
RESERVED = ("reserved", "windows", "device")
NFC = unicodedata.normalize("NFC", "café")
NFD = unicodedata.normalize("NFD", "café")
LONG = "界" * 200  # 200 characters, 600 bytes: no file system takes that as a name


def notes(*ids: str) -> dict[str, str]:
    return {f"records/notes/{i}.yaml": record(i, title=f"note {i}") for i in ids}


def pushed(*ids: str):  # type: ignore[no-untyped-def]
    def arrange(world: World) -> None:
        world.deliver(notes(*ids))

    return arrange


def staged(*ids: str, head: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    def arrange(world: World) -> None:
        if head:
            world.deliver(notes(*head))
        files = notes(*ids)
        put_files(world.victim, files)
        world.git("add", "--", *files)

    return arrange


COMMIT = git("commit", "-q", "-m", "work")

CASES = [
    Case(
        "case-collision-validate",
        PUSHED,
        pushed("abc", "ABC"),
        cli("validate"),
        1,
        ("records/notes/abc.yaml", COLLIDE),
        "exit 1: abc and ABC are one file on macOS and Windows",
    ),
    Case(
        "normalisation-collision-validate",
        PUSHED,
        pushed(NFC, NFD),
        cli("validate"),
        1,
        ("records/notes/caf", COLLIDE),
        "exit 1: café in NFC and in NFD are one file on macOS",
    ),
    *(
        Case(
            f"windows-reserved-{name.lower().replace('.', '-')}-validate",
            PUSHED,
            pushed(name),
            cli("validate"),
            1,
            (f"records/notes/{name}.yaml", RESERVED),
            f"exit 1: {name}.yaml cannot exist on Windows (a device name, with any extension)",
        )
        for name in ("CON", "nul", "com1", "LPT9", "Aux.txt")
    ),
    Case(
        "hook-case-collision-with-head",
        HOOKED,
        staged("ABC", head=("abc",)),
        COMMIT,
        1,
        ("records/notes/abc.yaml", COLLIDE),
        "git commit exits 1: the new ABC collides with abc already in HEAD",
    ),
    Case(
        "hook-case-collision-in-one-commit",
        HOOKED,
        staged("Readme", "README"),
        COMMIT,
        1,
        ("records/notes/readme.yaml", COLLIDE),
        "git commit exits 1",
    ),
    Case(
        "hook-windows-reserved",
        HOOKED,
        staged("con"),
        COMMIT,
        1,
        ("records/notes/con.yaml", RESERVED),
        "git commit exits 1",
    ),
    Case(
        "add-windows-reserved",
        LOCAL,
        lambda w: None,
        cli("add", "notes", "CON", "title=x"),
        2,
        ("CON", RESERVED),
        "exit 2 (a bad id); nothing is written",
    ),
    Case(
        "add-case-colliding-id",
        PUSHED,
        pushed("abc"),
        cli("add", "notes", "ABC", "title=x"),
        2,
        ("abc", COLLIDE),
        "exit 2: abc exists; ABC would replace it on a case-insensitive filesystem",
    ),
    Case(
        "add-id-too-long-in-bytes",
        LOCAL,
        lambda w: None,
        cli("add", "notes", LONG, "title=x", show="gitstore add notes <200 × 界> title=x"),
        2,
        (("long", "bytes"),),
        "exit 2 (a bad id: 600 bytes is no file name), checked before any lock or file is made",
    ),
]


@cases(CASES)
def test_ids_that_break_other_filesystems(world: World, case: Case) -> None:
    run_case(world, case)
