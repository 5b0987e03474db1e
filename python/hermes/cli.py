"""The ``hermes`` command line: one sub-command per job."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hermes.cli_app import app, backtest_request, console, err_console, print_path
from hermes.cli_errors import lock_message, usage_errors
from hermes.cli_options import (
    EndOption,
    FillOption,
    InitCashOption,
    IntervalsOption,
    OverridesOption,
    PeriodOption,
    StartOption,
    StrategyOption,
    SymbolsOption,
    parse_day,
    upper_symbols,
)
from hermes.config import Settings


@app.command()
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


@app.command()
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


@app.command()
def signals(
    action: Annotated[
        str, typer.Argument(help="generate (default) or latest (print the signal feed).")
    ] = "generate",
    strategy: StrategyOption = "smart_momentum",
    symbol: SymbolsOption = None,
    interval: IntervalsOption = None,
    chunk_rows: int = typer.Option(5000, help="Rows read and computed per chunk."),
    params: OverridesOption = None,
) -> None:
    """Generate a strategy's signals chunk by chunk into gold_strategy_signals, or print the
    signal feed (`hermes signals latest`: each active strategy's decision on the last bar)."""
    from hermes.backtest.runs import parse_overrides
    from hermes.signals.run import generate_signals

    if action not in ("generate", "latest"):
        err_console.print(f"[red]error:[/red] unknown action {action!r}: generate or latest")
        raise typer.Exit(2)
    if action == "latest":
        from hermes.cli_paper import print_feed

        with usage_errors():
            print_feed(console, Settings.from_env())
        return
    with usage_errors():
        summaries = generate_signals(
            Settings.from_env(),
            strategy,
            symbols=symbol,
            intervals=interval,
            chunk_rows=chunk_rows,
            overrides=parse_overrides(params),
            show_progress=True,
        )
    table = Table("symbol", "interval", "rows", "chunks", "buy signals", "sell signals")
    for s in summaries:
        counts = (s.rows, s.chunks, s.buy_signals, s.sell_signals)
        table.add_row(s.symbol, s.interval, *(str(c) for c in counts))
    console.print(table)


@app.command()
def backtest(
    strategy: StrategyOption = "smart_momentum",
    symbol: SymbolsOption = None,
    interval: IntervalsOption = None,
    start: StartOption = None,
    end: EndOption = None,
    params: OverridesOption = None,
    init_cash: InitCashOption = 10_000.0,
    fees: float = typer.Option(0.001, help="Fraction of each order's value."),
    slippage: float = typer.Option(0.0005, help="Fraction the fill price moves against us."),
    size: float = typer.Option(1.0, help="Fraction of equity per entry (0-1]."),
    sl_stop: float = typer.Option(None, help="Stop-loss, fraction below the entry price."),
    tp_stop: float = typer.Option(None, help="Take-profit, fraction above the entry price."),
    fill: FillOption = "next_open",
    report: bool = typer.Option(False, help="Also write an HTML report per run."),
    portfolio: bool = typer.Option(
        False, help="One shared-cash, equal-weight run per interval over all the symbols."
    ),
    max_positions: int = typer.Option(
        None, help="With --portfolio: most symbols held at once (first symbols first)."
    ),
    max_drawdown_halt: float = typer.Option(
        None, help="Drawdown from the equity peak (fraction) that halts new entries."
    ),
    halt_bars: int = typer.Option(
        None, help="Bars new entries stay halted after a trip (default: rest of the run)."
    ),
) -> None:
    """Backtest a strategy's signal model per (symbol, interval); store runs, trades, equity."""
    from hermes.backtest.config import BacktestConfig
    from hermes.backtest.portfolio import run_portfolio
    from hermes.backtest.runs import run_request
    from hermes.report import write_report
    from hermes.report.summary import print_runs
    from hermes.stats.lake import record_run_statistics

    settings = Settings.from_env()
    with usage_errors():
        config = BacktestConfig(
            init_cash, fees, slippage, size, sl_stop, tp_stop, fill,
            max_positions, max_drawdown_halt, halt_bars,
        )  # fmt: skip
        if max_positions is not None and not portfolio:
            raise ValueError("--max-positions applies to --portfolio runs (symbols sharing cash)")
        request = backtest_request(strategy, symbol, interval, start, end, params, config)
        run_ids = (run_portfolio if portfolio else run_request)(
            settings, request, show_progress=True
        )
    record_run_statistics(settings, run_ids)  # bootstrap intervals and PSR, for the pages
    print_runs(settings, run_ids, console)
    if report:
        for run_id in run_ids:
            print_path("report", write_report(settings, run_id))


@app.command()
def strategies(
    tag: str = typer.Option(None, help="Only strategies with this tag (e.g. trend)."),
    status: str = typer.Option(None, help="Only this status: active, experimental, retired."),
) -> None:
    """The strategy scorecard: registry rows with their latest published backtests."""
    from hermes.signals.scorecard import read_scorecard

    with usage_errors():
        card = read_scorecard(Settings.from_env(), tag=tag, status=status)
    table = Table(
        "strategy", "version", "status", "tags", "symbol", "interval", "return", "CAGR",
        "Sharpe", "max DD", "trades", "exposure", "buy & hold", "run",
        title=None if card.snapshot is None else f"snapshot {card.snapshot}",
    )  # fmt: skip

    def pct(value: Any) -> str:
        return "" if value is None else f"{value:.1%}"

    for row in card.rows:
        table.add_row(
            row["strategy_id"],
            row["version"],
            row["status"],
            (row["tags"] or "").replace("|", ", "),
            row["symbol"] or "",
            row["interval"] or "",
            pct(row["total_return"]),
            pct(row["cagr"]),
            "" if row["sharpe"] is None else f"{row['sharpe']:.2f}",
            pct(row["max_drawdown"]),
            "" if row["trades"] is None else str(row["trades"]),
            pct(row["exposure"]),
            pct(row["buy_and_hold_return"]),
            row["run_id"] or "",
        )
    # a pipe or a file gets full rows, not a table squeezed into 80 columns
    Console(width=None if console.is_terminal else 200).print(table)


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
    with usage_errors():
        paths = [write_any(settings, p, x=x, y=y, metric=metric, top=top) for p in page_id]
    runs = [p for p in page_id if p.startswith("bt-")]
    if runs:
        print_runs(settings, runs, console)
    for path in paths:
        print_path("report", path)


@app.command()
def site() -> None:
    """Write the research site: <lake>/reports/index.html and every page it links."""
    from hermes.report.site import write_site

    settings = Settings.from_env()
    with usage_errors():
        result = write_site(settings, show_progress=True)
    console.print(f"{len(result.written)} pages written; index: {result.index}")


@app.command()
def paper(
    orders: int = typer.Option(10, help="How many of the latest orders to show."),
    orders_json: bool = typer.Option(
        False, "--orders-json", help="Print every order as the versioned orders document."
    ),
    verify: bool = typer.Option(
        False,
        "--verify",
        help="Compare each ledger series with the backtest of its period (exit 1 on a difference).",
    ),
) -> None:
    """The paper-trading ledger: positions, equity and the latest orders of each series."""
    from hermes.cli_paper import orders_json as document
    from hermes.cli_paper import print_ledger, print_verify

    with usage_errors():
        if verify:
            if not print_verify(console, Settings.from_env()):
                raise typer.Exit(1)
        elif orders_json:
            sys.stdout.write(document(Settings.from_env()) + "\n")
        else:
            print_ledger(console, Settings.from_env(), orders=orders)


@app.command()
def reproduce(run_id: str = typer.Argument(..., help="Backtest run id.")) -> None:
    """Re-run a backtest on the lake snapshot it read and compare metrics and trades."""
    from hermes.backtest.reproduce import reproduce as reproduce_run

    with usage_errors():
        result = reproduce_run(Settings.from_env(), run_id)
    verdict = "[green]identical[/green]" if result.identical else "[red]different[/red]"
    console.print(f"run {run_id} on snapshot {result.snapshot_id}: {verdict}")
    for line in result.differences:
        console.print(f"  differs: {line}")
    for line in result.provenance_changes:
        console.print(f"  changed since the run: {line}")
    if not result.identical:
        raise typer.Exit(1)


# the other command modules register on the same app
from hermes import cli_flows, cli_studies  # noqa: E402, F401

if __name__ == "__main__":
    app()
