"""The ``hermes`` command line: one sub-command per job."""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hermes.config import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
console = Console()
err_console = Console(stderr=True)


@app.command()
def sql(
    query: str = typer.Argument(..., help="SQL to run against the lake (all layers attached)."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV instead of a table."),
    max_rows: int = typer.Option(200, help="Rows shown in table mode (CSV prints all)."),
) -> None:
    """Run SQL against the lake and print the result."""
    from hermes.lake import connect

    try:
        conn = connect(Settings.from_env())
        cursor = conn.execute(query)
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall() if columns else []
    except Exception as exc:  # duckdb raises many error types; all end the command the same way
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
        return
    table = Table(*columns, show_lines=False)
    for row in rows[:max_rows]:
        table.add_row(*("" if v is None else str(v) for v in row))
    # a pipe or a file gets the whole table, not one cut to 80 columns
    Console(width=None if console.is_terminal else 1000).print(table)
    if len(rows) > max_rows:
        console.print(f"... {len(rows) - max_rows} more rows (use --csv for all)")


@app.command()
def build(
    select: str = typer.Option(None, "--select", "-s", help="dbt selection."),
    full_refresh: bool = typer.Option(False, help="Rebuild incremental models from scratch."),
) -> None:
    """Run ``dbt build`` on the lake (models, seeds and tests)."""
    from hermes.dbt_runner import DbtError, run_dbt

    args = ["build"]
    if select:
        args += ["--select", select]
    if full_refresh:
        args.append("--full-refresh")
    try:
        run_dbt(args)
    except DbtError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


@app.command()
def quality(
    table: Annotated[
        list[str] | None,
        typer.Option("--table", "-t", help="Table to check (default: silver_klines, gold_features)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Measure freshness at this UTC time ('now' or ISO); default: latest candle."),
    ] = None,
    max_lag_hours: Annotated[
        float, typer.Option(help="Hours the latest candle of a series may lag.")
    ] = 48.0,
) -> None:
    """Run the Great Expectations checkpoint on the lake and write its Data Docs."""
    from datetime import timedelta

    from hermes.quality import TABLES, parse_as_of, run_checkpoint

    try:
        result = run_checkpoint(
            Settings.from_env(),
            tables=table or TABLES,
            as_of=parse_as_of(as_of),
            max_lag=timedelta(hours=max_lag_hours),
        )
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    (console if result.success else err_console).print(result.summary(), markup=False)
    if not result.success:
        raise typer.Exit(1)


@app.command()
def maintain(
    retention_days: float = typer.Option(
        None, help="Keep snapshots younger than this (default: HERMES_SNAPSHOT_RETENTION_DAYS or 7)."
    ),
) -> None:
    """Expire old lake snapshots and delete files nothing references any more."""
    from datetime import timedelta

    from hermes.maintenance import tidy_lake

    retention = None if retention_days is None else timedelta(days=retention_days)
    report = tidy_lake(Settings.from_env(), retention)
    console.print(
        f"expired {report.expired_snapshots} snapshots "
        f"(kept {report.kept_for_runs} recorded by backtest runs), "
        f"deleted {report.deleted_data_files} data files and "
        f"{report.deleted_decoded_files} superseded decoded landing files"
    )


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Local archives, CSV files or folders.")
    ] = None,
    from_dir: Annotated[
        list[Path] | None, typer.Option("--from-dir", help="Folder to import (recursive).")
    ] = None,
    symbol: Annotated[
        list[str] | None, typer.Option("--symbol", "-s", help="Symbol to download (BTCUSDT).")
    ] = None,
    interval: Annotated[
        list[str] | None, typer.Option("--interval", "-i", help="Interval to download (4h).")
    ] = None,
    start: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First day to download.")
    ] = None,
    end: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day (default: start).")
    ] = None,
    period: Annotated[
        str, typer.Option(help="Archives to download: monthly or daily.")
    ] = "monthly",
    base_url: Annotated[
        str | None, typer.Option(help="Data site (default: HERMES_BINANCE_BASE_URL).")
    ] = None,
) -> None:
    """Land kline archives (downloaded or local) and OHLCV CSV files in the lake."""
    from hermes.ingest import InvalidName
    from hermes.ingest.console import print_summary, run_ingest

    local = [*(paths or []), *(from_dir or [])]
    if not local and not symbol:
        err_console.print("[red]error:[/red] give files/--from-dir, or --symbol with --start")
        raise typer.Exit(2)
    if symbol and (not interval or start is None):
        err_console.print("[red]error:[/red] downloading needs --interval and --start")
        raise typer.Exit(2)
    try:
        report = run_ingest(
            Settings.from_env(),
            console,
            paths=local,
            symbols=symbol or [],
            intervals=interval or [],
            start=start.date() if start else None,
            end=end.date() if end else None,
            period=period,
            base_url=base_url,
        )
    except (InvalidName, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    print_summary(report, console)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def run(
    rebuild: bool = typer.Option(
        False, help="Build, audit and backtest again even when nothing new was ingested."
    ),
) -> None:
    """The whole job on the bundled data, no network: ingest, build, audit, publish, backtest."""
    from hermes.config import PROJECT_ROOT

    if str(PROJECT_ROOT) not in sys.path:  # the flows/ folder sits next to python/
        sys.path.insert(0, str(PROJECT_ROOT))
    from flows.daily_refresh import run_bundled

    raise typer.Exit(run_bundled(rebuild=rebuild))


if __name__ == "__main__":
    app()
