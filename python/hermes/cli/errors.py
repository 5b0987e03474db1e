"""How every ``hermes`` command ends on an error: one clear line, a traceback only with --debug.

:class:`HermesGroup` is the command group of the ``hermes`` app. It

* turns any exception a command raises into one line on stderr and exit code 1 (``hermes
  --debug <command>``, or ``HERMES_DEBUG=1``, shows the traceback instead; bad options are
  reported by typer before the command runs);
* says who holds a locked lake: ``the lake at ... is in use by process 4242 (hermes run)``;
* checks that the lake exists before any command that does not create one, so a mistyped
  ``HERMES_LAKE_ROOT`` is an error naming the path instead of a new empty lake.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from hermes.config import Settings

CREATES_LAKE = frozenset({"ingest", "run", "refresh", "backfill", "serve"})
"""Commands that may create a lake (they land data in it; refresh, backfill and serve are the
daily flow's); every other command, those to come included, needs an existing lake."""

WITHOUT_LAKE = frozenset({"server"})
"""Commands that never open the lake (the Prefect server's state is under PREFECT_HOME)."""

_LOCK = re.compile(
    r'Could not set lock on file "(?P<path>[^"]+)": '
    r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)"
)
_QUERY_CONTEXT = re.compile(r"LINE \d+:")
_KNOWN = (ValueError, LookupError, OSError, RuntimeError)
"""Errors whose message is meant for the user as it stands (no --debug hint)."""

err_console = Console(stderr=True)
_debug = False


def set_debug(debug: bool) -> None:
    """``hermes --debug``: let errors end in their traceback."""
    global _debug
    _debug = debug


class HermesGroup(TyperGroup):
    """The ``hermes`` group: each command's body runs inside :func:`guarded`."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        # in a sub-group (``hermes server stop``) the lake rule is the group's (``server``)
        group = ctx
        while group.parent is not None and group.parent.parent is not None:
            group = group.parent
        top = name if group.parent is None else group.info_name
        if command is not None and command.callback is not None:
            command.callback = guarded(
                command.callback, needs_lake=top not in CREATES_LAKE | WITHOUT_LAKE
            )
        return name, command, rest


def guarded(callback: Callable[..., Any], *, needs_lake: bool) -> Callable[..., Any]:
    """``callback`` after the lake check (``needs_lake``), its errors ending as one line."""
    if getattr(callback, "_hermes_guarded", False):
        return callback

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            if needs_lake:
                from hermes.lake import require_lake

                require_lake(Settings.from_env())
            return callback(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if _debug:
                raise
            err_console.print(
                f"[red]error:[/red] {escape(one_line(exc))}", soft_wrap=True, highlight=False
            )
            raise typer.Exit(1) from None

    run._hermes_guarded = True  # type: ignore[attr-defined]
    return run


@contextlib.contextmanager
def usage_errors() -> Iterator[None]:
    """A bad option value (``ValueError``, ``LookupError``) ends the command with its message
    and exit code 2, as typer does for malformed options. A broken registry file is not an
    option's fault: it ends as every other error does (one line, exit code 1)."""
    from hermes.signals.registry_file import RegistryError

    try:
        yield
    except RegistryError:
        raise
    except (ValueError, LookupError) as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from exc


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` as one line for the terminal (its lines joined, without
    DuckDB's echo of the query)."""
    text = str(exc)
    locked = lock_message(text)
    if locked:
        return locked
    lines = []
    for line in text.splitlines():
        if _QUERY_CONTEXT.match(line):
            break  # DuckDB's echo of the query with a caret under the error
        if line.strip():
            lines.append(line.strip())
    first = " ".join(lines)
    if isinstance(exc, KeyError) or not first:
        first = f"{type(exc).__name__}: {first}".rstrip(": ")
    expected = isinstance(exc, _KNOWN) and not isinstance(exc, KeyError)  # KeyError: a bug
    if not expected and not _is_duckdb_error(exc):
        first += " (hermes --debug shows the traceback)"
    return first


def lock_message(text: str) -> str | None:
    """``the lake at ... is in use by process N (...)`` when ``text`` holds DuckDB's lock
    error (from any layer: an attach, dbt's log of a failed node)."""
    lock = _LOCK.search(text)
    if lock is None:
        return None
    catalog = Path(lock["path"])
    holder = _command_line(int(lock["pid"])) or lock["program"]
    return (
        f"the lake at {catalog.parent} is in use by process {lock['pid']} ({holder}), "
        f"which holds its catalog {catalog.name}: wait for it to finish, or stop it, "
        "then run the command again"
    )


def _command_line(pid: int) -> str | None:
    """What process ``pid`` runs (``hermes run``), when the system says (Linux /proc)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    if not words:
        return None
    # `python .../bin/hermes run` and `.../bin/hermes run` both read as `hermes run`
    while len(words) > 1 and Path(words[0]).name.startswith("python"):
        words = words[1:]
    words[0] = Path(words[0]).name
    return " ".join(words)[:120]


def _is_duckdb_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith(("duckdb", "_duckdb"))
