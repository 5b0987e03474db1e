"""Lake commands: ``hermes sql``, ``build``, ``quality``, ``maintain``, ``ingest``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from hermes.cli.app import console, err_console
from hermes.cli.errors import lock_message, usage_errors
from hermes.cli.options import (
    PeriodOption,
    parse_day,
    upper_symbols,
)
from hermes.config import Settings


def sql(
    query: str = typer.Argument(..., help="SQL to run against the lake (all layers attached)."),
    as_csv: bool = typer.Option(False, "--csv", help="Print every row as CSV, full values."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array, full values."),
    max_rows: int = typer.Option(200, help="Rows shown in table mode (CSV and JSON print all)."),
    max_width: int = typer.Option(40, help="Characters shown per cell in table mode."),
    write: bool = typer.Option(
        False, "--write", help="Open the lake read-write and allow any statement."
    ),
    external_access: bool = typer.Option(
        False, "--external-access", help="Allow files and databases outside the lake."
    ),
) -> None:
    """Run SQL against the lake and print the result (read-only unless --write)."""
    from hermes.query import print_table, run_query, write_csv, write_json

    result = run_query(Settings.from_env(), query, write=write, external_access=external_access)
    if as_csv:
        write_csv(result)
    elif as_json:
        write_json(result)
    else:
        print_table(result, console, max_rows=max_rows, max_width=max_width)


def build(
    select: str = typer.Option(None, "--select", "-s", help="dbt selection."),
    selector: str = typer.Option(
        None, help="Named selection of selectors.yml: full, daily, silver, features, ..."
    ),
    full_refresh: bool = typer.Option(False, help="Rebuild incremental models from scratch."),
) -> None:
    """Run dbt build on the lake (models, seeds and tests)."""
    from hermes.dbt_runner import DbtError, run_dbt
    from hermes.lake import connect

    args = ["build"]
    if select:
        args += ["--select", select]
    if selector:
        args += ["--selector", selector]
    if full_refresh:
        args.append("--full-refresh")
    connect(Settings.from_env()).close()  # a busy lake fails here in one line, before dbt runs
    try:
        run_dbt(args)
    except DbtError as exc:
        message = lock_message(str(exc)) or str(exc)
        err_console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
        raise typer.Exit(1) from exc


def quality(
    table: Annotated[
        list[str] | None,
        typer.Option("--table", "-t", help="Table to check (default: all checked tables)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="UTC time freshness is measured at ('now', ISO; default: last candle)."),
    ] = None,
    max_lag_hours: Annotated[
        float, typer.Option(help="Hours the latest candle of a series may lag.")
    ] = 48.0,
) -> None:
    """Run the Great Expectations checkpoint on the lake and write its Data Docs."""
    from datetime import timedelta

    from hermes.quality import TABLES, parse_as_of, run_checkpoint

    with usage_errors():
        result = run_checkpoint(
            Settings.from_env(),
            tables=table or TABLES,
            as_of=parse_as_of(as_of),
            max_lag=timedelta(hours=max_lag_hours),
        )
    out = console if result.success else err_console
    out.print(result.summary(), markup=False, highlight=False, soft_wrap=True)
    if not result.success:
        raise typer.Exit(1)


def maintain(
    retention_days: float = typer.Option(
        None,
        help="Keep snapshots younger than this (default: HERMES_SNAPSHOT_RETENTION_DAYS or 7).",
    ),
) -> None:
    """Expire old lake snapshots, delete files nothing references any more, and keep only
    the latest page per (strategy, series) plus study and pinned pages."""
    from datetime import timedelta

    from hermes.maintenance import tidy_lake
    from hermes.report.keep import prune_pages

    settings = Settings.from_env()
    retention = None if retention_days is None else timedelta(days=retention_days)
    report = tidy_lake(settings, retention)
    with usage_errors():
        pages = prune_pages(settings)
    console.print(
        f"expired {report.expired_snapshots} snapshots "
        f"(kept {report.kept_for_runs} recorded by backtest runs), "
        f"deleted {report.deleted_data_files} data files, "
        f"{report.deleted_decoded_files} superseded decoded landing files and "
        f"{len(pages)} superseded pages"
    )


def ingest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Local archives, CSV files or folders.")
    ] = None,
    from_dir: Annotated[
        list[Path] | None, typer.Option("--from-dir", help="Folder to import (recursive).")
    ] = None,
    symbol: Annotated[
        list[str] | None,
        typer.Option(
            "--symbol", "-s", callback=upper_symbols, help="Symbol to download (BTCUSDT, any case)."
        ),
    ] = None,
    interval: Annotated[
        list[str] | None, typer.Option("--interval", "-i", help="Interval to download (4h).")
    ] = None,
    start: Annotated[
        date | None,
        typer.Option(parser=parse_day, metavar="YYYY-MM-DD", help="First day to download."),
    ] = None,
    end: Annotated[
        date | None,
        typer.Option(
            parser=parse_day,
            metavar="YYYY-MM-DD",
            help="Last day to download (default: yesterday, UTC; for monthly archives the "
            "end of last month, the latest the site publishes).",
        ),
    ] = None,
    period: PeriodOption = "monthly",
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
            start=start,
            end=end,
            period=period,
            base_url=base_url,
        )
    except (InvalidName, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    print_summary(report, console)
    if not report.ok:
        raise typer.Exit(1)
