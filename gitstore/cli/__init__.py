"""The ``gitstore`` command: a thin typer skin over :class:`gitstore.Store`.

Exit codes: 0 ok, 1 problems found, 2 usage, 3 lock timeout, 4 version conflict, 5 not a store,
6 remote unreachable (``gitstore.errors.EXIT_CODES`` says what produces each).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    import typer


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for name in ("stdout", "stderr"):  # started with the stream closed (`gitstore ... >&-`)
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115
    if args[:1] == ["merge-driver"] and not {"-h", "--help"} & set(args):
        # git calls the driver once per file: skip typer and everything else it would import
        from gitstore.merge.driver import main as merge_driver

        return merge_driver(args[1:])
    import signal

    import typer

    # typer 0.26 vendors click; its UsageError covers every argument-parser error.
    from typer._click.exceptions import Abort, NoArgsIsHelpError, UsageError

    from gitstore.cli.common import usage_failure

    app = only_the_command(command_tree(), args)

    # SIGTERM unwinds like Ctrl-C: temp files are removed and locks released on the way out.
    previous = signal.signal(signal.SIGTERM, _terminated)
    if not sys.stdout.isatty() or "NO_COLOR" in os.environ:
        app.rich_markup_mode = None  # plain help text: no boxes or styles in a pipe
    try:
        command = typer.main.get_command(app)
        code = command.main(args=args, prog_name="gitstore", standalone_mode=False)
        sys.stdout.flush()
        return code if isinstance(code, int) else 0
    except NoArgsIsHelpError as err:
        print(err.ctx.get_help() if err.ctx else "usage: gitstore COMMAND", file=sys.stderr)
        return 2
    except UsageError as err:
        return usage_failure(
            err.format_message(), err.ctx.command_path if err.ctx else "gitstore", args
        )
    except Abort:  # a prompt got Ctrl-C or end of input
        print("gitstore: aborted; nothing was changed", file=sys.stderr)
        return 1
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except KeyboardInterrupt:  # outside a command (inside one: cli.common.handled says it)
        print("gitstore: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`gitstore list | head`): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as err:  # a bug: still one line, unless asked for the traceback
        if os.environ.get("GITSTORE_DEBUG"):
            raise
        print(
            f"gitstore: internal error: {type(err).__name__}: {err} "
            "(set GITSTORE_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def command_tree() -> typer.Typer:
    """The app with every command registered: what ``main`` runs, and what docs/cli.md and the
    docs tests walk (so a command module added here is documented and tested, or they fail)."""
    from gitstore.cli import (  # noqa: F401
        audit,
        io,
        notify,
        records,
        roadmap,
        schema,
        setup,
        validate,
        watch,
        workflow,
    )
    from gitstore.cli.common import app

    return app


def only_the_command(app: typer.Typer, args: list[str]) -> typer.Typer:
    """The app with only the command ``args`` name, when they name one. typer builds a command's
    parser by inspecting its function's signature and annotations, ~1.3 ms a command: building
    all of them cost 50 ms of every run. The help, completion and an unknown name (which gets a
    "did you mean") still see every command."""
    if any(name.endswith("_COMPLETE") for name in os.environ):
        return app
    wanted = _command_name(args)
    if wanted is None:
        return app
    import copy

    from typer.main import get_command_name

    commands = [
        info
        for info in app.registered_commands
        if (info.name or get_command_name(getattr(info.callback, "__name__", ""))) == wanted
    ]
    groups = [
        info
        for info in app.registered_groups
        if (info.name or (info.typer_instance.info.name if info.typer_instance else None)) == wanted
    ]
    if not commands and not groups:
        return app
    pruned = copy.copy(app)
    pruned.registered_commands = commands
    pruned.registered_groups = groups
    return pruned


def _command_name(args: list[str]) -> str | None:
    """The first argument, after the top-level options that only set state (``-C PATH``,
    ``-CPATH``, ``--json``). Any other option before it (``-h``, ``--help``, ``--version``, the
    completion options, ``--``, a typo) gets None: the whole tree, since the top level's help
    lists every command and an unknown option's error is the full app's."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "-C":
            skip = True
        elif arg == "--json" or (arg.startswith("-C") and arg != "-C"):
            continue
        elif arg.startswith("-"):
            return None
        else:
            return arg
    return None


def _terminated(signum: int, frame: object) -> None:
    print("gitstore: terminated", file=sys.stderr)
    raise SystemExit(143)
