"""The ``hermes`` command line: one sub-command per job."""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

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
    out = console if result.success else err_console
    out.print(result.summary(), markup=False, highlight=False, soft_wrap=True)
    if not result.success:
        raise typer.Exit(1)


@app.command()
def maintain(
    retention_days: float = typer.Option(
        None,
        help="Keep snapshots younger than this (default: HERMES_SNAPSHOT_RETENTION_DAYS or 7).",
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
def signals(
    strategy: str = typer.Option("smart_momentum", help="Strategy id from the registry."),
    symbol: Annotated[list[str] | None, typer.Option(help="Symbols (default: all).")] = None,
    interval: Annotated[list[str] | None, typer.Option(help="Intervals (default: all).")] = None,
    chunk_rows: int = typer.Option(5000, help="Rows read and computed per chunk."),
    params: str = typer.Option(None, help="JSON object overriding registry parameters."),
) -> None:
    """Generate a strategy's signals chunk by chunk into gold_strategy_signals."""
    from hermes.backtest.runs import parse_overrides
    from hermes.signals.run import generate_signals

    try:
        summaries = generate_signals(
            Settings.from_env(),
            strategy,
            symbols=symbol,
            intervals=interval,
            chunk_rows=chunk_rows,
            overrides=parse_overrides(params),
            show_progress=True,
        )
    except (ValueError, LookupError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    table = Table("symbol", "interval", "rows", "chunks", "buy signals", "sell signals")
    for s in summaries:
        counts = (s.rows, s.chunks, s.buy_signals, s.sell_signals)
        table.add_row(s.symbol, s.interval, *(str(c) for c in counts))
    console.print(table)


@app.command()
def backtest(
    strategy: str = typer.Option("smart_momentum", help="Strategy id from the registry."),
    symbol: Annotated[list[str] | None, typer.Option(help="Symbols (default: all).")] = None,
    interval: Annotated[list[str] | None, typer.Option(help="Intervals (default: all).")] = None,
    start: Annotated[datetime | None, typer.Option(help="First bar (inclusive, UTC).")] = None,
    end: Annotated[datetime | None, typer.Option(help="Period end (exclusive, UTC).")] = None,
    params: str = typer.Option(None, help="JSON object overriding registry parameters."),
    init_cash: float = typer.Option(10_000.0),
    fees: float = typer.Option(0.001, help="Fraction of each order's value."),
    slippage: float = typer.Option(0.0005, help="Fraction the fill price moves against us."),
    size: float = typer.Option(1.0, help="Fraction of equity per entry (0-1]."),
    sl_stop: float = typer.Option(None, help="Stop-loss, fraction below the entry price."),
    tp_stop: float = typer.Option(None, help="Take-profit, fraction above the entry price."),
    fill: str = typer.Option("next_open", help="next_open (default) or same_close."),
    report: bool = typer.Option(False, help="Also write an HTML report per run."),
    portfolio: bool = typer.Option(
        False, help="One shared-cash, equal-weight run per interval over all the symbols."
    ),
) -> None:
    """Backtest a strategy per (symbol, interval) and store runs, trades and equity in the lake."""
    from hermes.backtest.config import BacktestConfig
    from hermes.backtest.portfolio import run_portfolio
    from hermes.backtest.runs import parse_overrides, run_backtests
    from hermes.report import write_report
    from hermes.report.summary import print_runs

    settings = Settings.from_env()
    try:
        config = BacktestConfig(init_cash, fees, slippage, size, sl_stop, tp_stop, fill)  # type: ignore[arg-type]
        run_ids = (run_portfolio if portfolio else run_backtests)(
            settings,
            strategy,
            symbol,
            interval,
            start=start,
            end=end,
            overrides=parse_overrides(params),
            config=config,
            show_progress=True,
        )
    except (ValueError, LookupError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    print_runs(settings, run_ids, console)
    if report:
        for run_id in run_ids:
            console.print(f"report: {write_report(settings, run_id)}")


def _grid_options(
    fast: str | None, slow: str | None, rsi_bands: str | None, params: str | None, fill: str
) -> dict[str, Any]:
    """Keyword arguments shared by the grid and walk-forward commands, parsed and checked."""
    from hermes.backtest.config import BacktestConfig
    from hermes.backtest.grid import DEFAULT_FAST, DEFAULT_SLOW, parse_bands, parse_periods
    from hermes.backtest.runs import parse_overrides

    return {
        "fast_periods": parse_periods(fast, DEFAULT_FAST),
        "slow_periods": parse_periods(slow, DEFAULT_SLOW),
        "rsi_bands": parse_bands(rsi_bands),
        "overrides": parse_overrides(params),
        "config": BacktestConfig(fill=fill),  # type: ignore[arg-type]
    }


GridFast = Annotated[str | None, typer.Option(help="EMA fast periods, e.g. 5,8,12.")]
GridSlow = Annotated[str | None, typer.Option(help="EMA slow periods, e.g. 26,50,100.")]
GridBands = Annotated[str | None, typer.Option(help="RSI bands, e.g. 45-55,40-60.")]


@app.command()
def grid(
    strategy: str = typer.Option("smart_momentum", help="Strategy id from the registry."),
    symbol: Annotated[list[str] | None, typer.Option(help="Symbols (default: all).")] = None,
    interval: Annotated[list[str] | None, typer.Option(help="Intervals (default: all).")] = None,
    start: Annotated[datetime | None, typer.Option(help="First bar (inclusive, UTC).")] = None,
    end: Annotated[datetime | None, typer.Option(help="Period end (exclusive, UTC).")] = None,
    fast: GridFast = None,
    slow: GridSlow = None,
    rsi_bands: GridBands = None,
    params: str = typer.Option(None, help="JSON object overriding the other parameters."),
    fill: str = typer.Option("next_open", help="next_open (default) or same_close."),
    top: int = typer.Option(10, help="Rows of the best combinations (by Sharpe) to print."),
) -> None:
    """Backtest every EMA fast x slow x RSI band combination in one vectorbt call."""
    from hermes.backtest.grid import run_grid_backtest
    from hermes.report.studies import print_grid

    try:
        results = run_grid_backtest(
            Settings.from_env(),
            strategy,
            symbol,
            interval,
            start=start,
            end=end,
            show_progress=True,
            **_grid_options(fast, slow, rsi_bands, params, fill),
        )
    except (ValueError, LookupError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    for result in results:
        print_grid(result, top, console)


@app.command("walk-forward")
def walk_forward(
    strategy: str = typer.Option("smart_momentum", help="Strategy id from the registry."),
    symbol: Annotated[list[str] | None, typer.Option(help="Symbols (default: all).")] = None,
    interval: Annotated[list[str] | None, typer.Option(help="Intervals (default: all).")] = None,
    start: Annotated[datetime | None, typer.Option(help="First bar (inclusive, UTC).")] = None,
    end: Annotated[datetime | None, typer.Option(help="Period end (exclusive, UTC).")] = None,
    in_sample_days: float = typer.Option(730, help="In-sample window length, days."),
    out_of_sample_days: float = typer.Option(182, help="Out-of-sample window (and step), days."),
    objective: str = typer.Option("sharpe", help="sharpe, sortino, calmar, total_return, cagr."),
    fast: GridFast = None,
    slow: GridSlow = None,
    rsi_bands: GridBands = None,
    params: str = typer.Option(None, help="JSON object overriding the other parameters."),
    fill: str = typer.Option("next_open", help="next_open (default) or same_close."),
) -> None:
    """Optimise the grid on rolling in-sample windows, trade each choice out of sample."""
    from hermes.backtest.walk_forward import run_walk_forward
    from hermes.report.studies import print_walk_forward

    try:
        results = run_walk_forward(
            Settings.from_env(),
            strategy,
            symbol,
            interval,
            in_sample_days=in_sample_days,
            out_of_sample_days=out_of_sample_days,
            objective=objective,
            start=start,
            end=end,
            show_progress=True,
            **_grid_options(fast, slow, rsi_bands, params, fill),
        )
    except (ValueError, LookupError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    for result in results:
        print_walk_forward(result, console)


@app.command()
def ab(
    strategy: str = typer.Option("smart_momentum", help="Strategy id from the registry."),
    symbol: Annotated[list[str] | None, typer.Option(help="Symbols (default: all).")] = None,
    interval: Annotated[list[str] | None, typer.Option(help="Intervals (default: all).")] = None,
    start: Annotated[datetime | None, typer.Option(help="First bar (inclusive, UTC).")] = None,
    end: Annotated[datetime | None, typer.Option(help="Period end (exclusive, UTC).")] = None,
    entry_filter: str = typer.Option(
        "mtf_confluence",
        "--filter",
        help="Variant B's extra entry filter: mtf_confluence or vol_adjusted_rsi.",
    ),
    params: str = typer.Option(None, help="JSON object overriding registry parameters."),
    fill: str = typer.Option("next_open", help="next_open (default) or same_close."),
) -> None:
    """A/B: the strategy on gold_features vs the feature store's experimental filter."""
    from hermes.backtest.ab import run_ab
    from hermes.backtest.config import BacktestConfig
    from hermes.backtest.runs import parse_overrides
    from hermes.report.studies import print_ab

    settings = Settings.from_env()
    try:
        comparison = run_ab(
            settings,
            strategy,
            symbol,
            interval,
            filter_name=entry_filter,
            start=start,
            end=end,
            overrides=parse_overrides(params),
            config=BacktestConfig(fill=fill),  # type: ignore[arg-type]
        )
    except (ValueError, LookupError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    print_ab(settings, comparison.ab_id, console)


@app.command("report")
def report_command(
    page_id: Annotated[
        list[str], typer.Argument(help="Run (bt-...), grid, walk-forward (wf-...) or ab ids.")
    ],
    x: str = typer.Option(None, help="Grid heat map: parameter across (default: most varied)."),
    y: str = typer.Option(None, help="Grid heat map: parameter down (default: next most)."),
    metric: str = typer.Option("sharpe", help="Grid heat map and ranking metric."),
    top: int = typer.Option(20, help="Grid: rows of the best combinations."),
) -> None:
    """Write the HTML page of each run or study under the lake's reports folder."""
    from hermes.report.pages import write_any
    from hermes.report.summary import print_runs

    settings = Settings.from_env()
    try:
        paths = [write_any(settings, p, x=x, y=y, metric=metric, top=top) for p in page_id]
    except (LookupError, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    runs = [p for p in page_id if p.startswith("bt-")]
    if runs:
        print_runs(settings, runs, console)
    for path in paths:
        console.print(f"report: {path}")


@app.command()
def site() -> None:
    """Write the research site: <lake>/reports/index.html and every page it links."""
    from hermes.report.site import write_site

    settings = Settings.from_env()
    try:
        result = write_site(settings, show_progress=True)
    except (LookupError, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"{len(result.written)} pages written; index: {result.index}")


@app.command()
def reproduce(run_id: str = typer.Argument(..., help="Backtest run id.")) -> None:
    """Re-run a backtest on the lake snapshot it read and compare metrics and trades."""
    from hermes.backtest.reproduce import reproduce as reproduce_run

    try:
        result = reproduce_run(Settings.from_env(), run_id)
    except (ValueError, LookupError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    verdict = "[green]identical[/green]" if result.identical else "[red]different[/red]"
    console.print(f"run {run_id} on snapshot {result.snapshot_id}: {verdict}")
    for line in result.differences:
        console.print(f"  differs: {line}")
    for line in result.provenance_changes:
        console.print(f"  changed since the run: {line}")
    if not result.identical:
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
