"""The ``hermes`` application object and what its command modules share.

The commands live in one module per group; :mod:`hermes.cli` registers each on :data:`app`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from hermes import __version__
from hermes.cli.errors import HermesGroup, set_debug

app = typer.Typer(
    cls=HermesGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold credentials
    help="Hermes: ingest exchange archives into the lake, build it with dbt, backtest, report. "
    "Errors are one line; hermes --debug <command> shows the traceback.",
)


def sub_app(help_text: str) -> typer.Typer:
    """A command group under ``hermes`` (``hermes signals ...``), ending errors as ``app`` does."""
    return typer.Typer(cls=HermesGroup, no_args_is_help=True, add_completion=False, help=help_text)


console = Console()
err_console = Console(stderr=True)


def _print_version(show: bool) -> None:
    if show:
        console.print(f"hermes {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[
        bool,
        typer.Option("--debug", envvar="HERMES_DEBUG", help="Show the full traceback of an error."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    set_debug(debug)


def print_path(what: str, path: Path) -> None:
    """``what: path`` on one line, never wrapped (scripts and terminals copy it whole)."""
    console.print(f"{what}: {path}", soft_wrap=True, markup=False, highlight=False)


def backtest_request(
    strategy: str,
    symbols: list[str] | None,
    intervals: list[str] | None,
    start: datetime | None,
    end: datetime | None,
    params: str | None,
    config: Any,
) -> Any:
    """The :class:`BacktestRequest` of a command's options (checked)."""
    from hermes.backtest.request import BacktestRequest
    from hermes.backtest.runs import parse_overrides

    return BacktestRequest(
        strategy, symbols, intervals, start, end, parse_overrides(params), config
    )
