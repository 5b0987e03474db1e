"""``hermes run``, ``refresh``, ``backfill``, ``serve`` and ``server status|start|stop|url``:
the jobs Prefect runs, and the local Prefect server they use.

Each hands over to :mod:`hermes.flows.commands`, which imports Prefect only when a flow
really runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from hermes.cli.app import console
from hermes.universe import active_symbols, universe_intervals


def _flows() -> Any:
    """:mod:`hermes.flows.commands`, imported on use (it imports no Prefect itself)."""
    from hermes.flows import commands

    return commands


FlowSymbols = Annotated[
    list[str] | None,
    typer.Option("--symbol", "-s", help="Symbol (default: the universe's active pairs)."),
]
FlowIntervals = Annotated[
    list[str] | None, typer.Option("--interval", "-i", help="Interval (default: the universe's).")
]
FlowBaseUrl = Annotated[
    str | None, typer.Option(help="Data site (default: HERMES_BINANCE_BASE_URL).")
]


def run(
    rebuild: bool = typer.Option(
        False, help="Build, audit and backtest again even when nothing new was ingested."
    ),
) -> None:
    """The whole job on the bundled data, no network: ingest, build, audit, publish, backtest.

    With nothing new since the last run it says so in about a second, without starting
    Prefect. Otherwise the flow runs against PREFECT_API_URL, or a local Prefect server
    started on first use and reused afterwards (`hermes server`).
    """
    raise typer.Exit(_flows().run_bundled(console, rebuild=rebuild))


def refresh(
    day: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Last day to fetch (default: yesterday, UTC)."),
    ] = None,
    symbol: FlowSymbols = None,
    interval: FlowIntervals = None,
    lookback_days: Annotated[int, typer.Option(help="Days up to --day to fetch.")] = 3,
    base_url: FlowBaseUrl = None,
) -> None:
    """The daily refresh now: download what the site published, then build, audit, publish."""
    raise typer.Exit(
        _flows().run_refresh(
            console,
            day=day.date() if day else None,
            symbols=symbol or active_symbols(),
            intervals=interval or universe_intervals(),
            lookback_days=lookback_days,
            base_url=base_url,
        )
    )


def backfill(
    start: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="First day.")],
    end: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="Last day (inclusive).")],
    symbol: FlowSymbols = None,
    interval: FlowIntervals = None,
    base_url: FlowBaseUrl = None,
) -> None:
    """Fetch a date range (monthly archives, dailies where a month is not published yet)."""
    raise typer.Exit(
        _flows().run_backfill(
            console,
            start=start.date(),
            end=end.date(),
            symbols=symbol or active_symbols(),
            intervals=interval or universe_intervals(),
            base_url=base_url,
        )
    )


def serve(
    cron: Annotated[str, typer.Option(help="Schedule of the daily refresh (UTC).")] = "0 3 * * *",
    symbol: FlowSymbols = None,
    interval: FlowIntervals = None,
) -> None:
    """Serve the daily refresh on its schedule (and the backfill on demand) from this process.

    Needs a Prefect server: PREFECT_API_URL, or `hermes server start`.
    """
    raise typer.Exit(
        _flows().serve(
            console,
            cron=cron,
            symbols=symbol or active_symbols(),
            intervals=interval or universe_intervals(),
        )
    )


def server_status() -> None:
    """Whether the local Prefect server runs, and where (its API and UI)."""
    raise typer.Exit(_flows().server(console, "status"))


def server_start() -> None:
    """Start the local Prefect server (or reuse the one already running for this lake)."""
    raise typer.Exit(_flows().server(console, "start"))


def server_stop() -> None:
    """Stop the local Prefect server of this lake."""
    raise typer.Exit(_flows().server(console, "stop"))


def server_url() -> None:
    """Print the API address of the running local Prefect server (for PREFECT_API_URL)."""
    raise typer.Exit(_flows().server(console, "url"))
