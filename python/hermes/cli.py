"""The ``hermes`` command line: one sub-command per job."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hermes import __version__
from hermes.cli_errors import HermesGroup, lock_message, set_debug, usage_errors
from hermes.cli_options import (
    AbFilterOption,
    EndOption,
    FillOption,
    InitCashOption,
    ObjectiveOption,
    PeriodOption,
    StartOption,
    SymbolsOption,
    parse_day,
    upper_symbols,
)
from hermes.config import Settings

app = typer.Typer(
    cls=HermesGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold credentials
    help="Hermes: ingest exchange archives into the lake, build it with dbt, backtest, report. "
    "Errors are one line; hermes --debug <command> shows the traceback.",
)
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
    strategy: str = typer.Option("smart_momentum", help="Strategy id from the registry."),
    symbol: SymbolsOption = None,
    interval: Annotated[list[str] | None, typer.Option(help="Intervals (default: all).")] = None,
    chunk_rows: int = typer.Option(5000, help="Rows read and computed per chunk."),
    params: str = typer.Option(None, help="JSON object overriding registry parameters."),
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
    strategy: str = typer.Option("smart_momentum", help="Strategy id from the registry."),
    symbol: SymbolsOption = None,
    interval: Annotated[list[str] | None, typer.Option(help="Intervals (default: all).")] = None,
    start: StartOption = None,
    end: EndOption = None,
    params: str = typer.Option(None, help="JSON object overriding registry parameters."),
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
        request = _request(strategy, symbol, interval, start, end, params, config)
        run_ids = (run_portfolio if portfolio else run_request)(
            settings, request, show_progress=True
        )
    record_run_statistics(settings, run_ids)  # bootstrap intervals and PSR, for the pages
    print_runs(settings, run_ids, console)
    if report:
        for run_id in run_ids:
            _print_path("report", write_report(settings, run_id))


def _print_path(what: str, path: Path) -> None:
    """``what: path`` on one line, never wrapped (scripts and terminals copy it whole)."""
    console.print(f"{what}: {path}", soft_wrap=True, markup=False, highlight=False)


def _request(
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


def _axes(param: list[str] | None) -> list[Any]:
    from hermes.backtest.grid import parse_axis

    return [parse_axis(text) for text in param or []]


StudyReportOption = Annotated[
    bool,
    typer.Option("--report/--no-report", help="Write the study's HTML page (default: yes)."),
]

GridParam = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        help="A grid axis: name=v1,v2,... or a:b=1:2,3:4 for parameters moving together "
        "(repeat for more axes).",
    ),
]


@app.command()
def grid(
    strategy: str = typer.Option("smart_momentum", help="Strategy id from the registry."),
    symbol: SymbolsOption = None,
    interval: Annotated[list[str] | None, typer.Option(help="Intervals (default: all).")] = None,
    start: StartOption = None,
    end: EndOption = None,
    param: GridParam = None,
    params: str = typer.Option(None, help="JSON object overriding the other parameters."),
    fill: FillOption = "next_open",
    top: int = typer.Option(10, help="Rows of the best combinations (by Sharpe) to print."),
    report: StudyReportOption = True,
) -> None:
    """Backtest every parameter set of a grid in one vectorbt call (any strategy).

    The best-Sharpe set's deflated Sharpe ratio, probability of backtest overfitting and
    bootstrap intervals are printed, stored in gold_backtest_overfitting and shown on the
    grid's page.
    """
    from hermes.backtest.config import BacktestConfig
    from hermes.backtest.grid import run_grid_backtest
    from hermes.report.pages import write_any
    from hermes.report.studies import print_grid

    with usage_errors():
        request = _request(
            strategy,
            symbol,
            interval,
            start,
            end,
            params,
            BacktestConfig(fill=fill),
        )
        settings = Settings.from_env()
        results = run_grid_backtest(settings, request, _axes(param), show_progress=True)
    for result in results:
        print_grid(result, top, console)
        if report:
            _print_path("report", write_any(settings, result.grid_id, top=top))


@app.command("walk-forward")
def walk_forward(
    strategy: str = typer.Option("smart_momentum", help="Strategy id from the registry."),
    symbol: SymbolsOption = None,
    interval: Annotated[list[str] | None, typer.Option(help="Intervals (default: all).")] = None,
    start: StartOption = None,
    end: EndOption = None,
    in_sample_days: float = typer.Option(730, help="In-sample window length, days."),
    out_of_sample_days: float = typer.Option(182, help="Out-of-sample window (and step), days."),
    objective: ObjectiveOption = "sharpe",
    param: GridParam = None,
    params: str = typer.Option(None, help="JSON object overriding the other parameters."),
    fill: FillOption = "next_open",
    report: StudyReportOption = True,
) -> None:
    """Optimise a grid on rolling in-sample windows, trade each choice out of sample.

    Each fold's choice gets its deflated Sharpe ratio and probability of backtest overfitting
    among the fold's sets (printed, stored in gold_backtest_overfitting, on the page).
    """
    from hermes.backtest.config import BacktestConfig
    from hermes.backtest.walk_forward import run_walk_forward
    from hermes.report.pages import write_any
    from hermes.report.studies import print_walk_forward

    with usage_errors():
        request = _request(
            strategy,
            symbol,
            interval,
            start,
            end,
            params,
            BacktestConfig(fill=fill),
        )
        settings = Settings.from_env()
        results = run_walk_forward(
            settings,
            request,
            _axes(param),
            in_sample_days=in_sample_days,
            out_of_sample_days=out_of_sample_days,
            objective=objective,
            show_progress=True,
        )
    for result in results:
        print_walk_forward(result, console)
    if results and report:  # one page per walk-forward, every series on it
        _print_path("report", write_any(settings, results[0].walk_forward_id))


@app.command()
def ab(
    strategy: str = typer.Option("smart_momentum", help="Strategy id from the registry."),
    symbol: SymbolsOption = None,
    interval: Annotated[list[str] | None, typer.Option(help="Intervals (default: all).")] = None,
    start: StartOption = None,
    end: EndOption = None,
    entry_filter: AbFilterOption = "mtf_confluence",
    params: str = typer.Option(None, help="JSON object overriding registry parameters."),
    fill: FillOption = "next_open",
) -> None:
    """A/B: the strategy on gold_features vs the feature store's experimental filter."""
    from hermes.backtest.ab import run_ab
    from hermes.backtest.config import BacktestConfig
    from hermes.report.studies import print_ab

    settings = Settings.from_env()
    with usage_errors():
        request = _request(
            strategy,
            symbol,
            interval,
            start,
            end,
            params,
            BacktestConfig(fill=fill),
        )
        comparison = run_ab(settings, request, filter_name=entry_filter)
    print_ab(settings, comparison.ab_id, console)


@app.command()
def strategies(
    tag: str = typer.Option(None, help="Only strategies with this tag (e.g. trend)."),
    status: str = typer.Option(None, help="Only this status: active, experimental, retired."),
) -> None:
    """The strategy scorecard: registry rows with their latest published backtests."""
    from hermes.signals.scorecard import read_scorecard

    try:
        card = read_scorecard(Settings.from_env(), tag=tag, status=status)
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
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
    try:
        paths = [write_any(settings, p, x=x, y=y, metric=metric, top=top) for p in page_id]
    except (LookupError, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    runs = [p for p in page_id if p.startswith("bt-")]
    if runs:
        print_runs(settings, runs, console)
    for path in paths:
        _print_path("report", path)


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
def paper(
    orders: int = typer.Option(10, help="How many of the latest orders to show."),
    orders_json: bool = typer.Option(
        False, "--orders-json", help="Print every order as the versioned orders document."
    ),
) -> None:
    """The paper-trading ledger: positions, equity and the latest orders of each series."""
    from hermes.cli_paper import orders_json as document
    from hermes.cli_paper import print_ledger

    try:
        if orders_json:
            sys.stdout.write(document(Settings.from_env()) + "\n")
        else:
            print_ledger(console, Settings.from_env(), orders=orders)
    except (ValueError, LookupError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


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


def _flows() -> Any:
    """:mod:`flows.commands` (the flows/ folder sits next to python/); imports no Prefect."""
    from hermes.config import PROJECT_ROOT

    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    import flows.commands

    return flows.commands


FlowSymbols = Annotated[
    list[str] | None, typer.Option("--symbol", "-s", help="Symbol (default: BTCUSDT, ETHUSDT).")
]
FlowIntervals = Annotated[
    list[str] | None, typer.Option("--interval", "-i", help="Interval (default: 4h, 1d).")
]
FlowBaseUrl = Annotated[
    str | None, typer.Option(help="Data site (default: HERMES_BINANCE_BASE_URL).")
]
DEFAULT_FLOW_SYMBOLS = ["BTCUSDT", "ETHUSDT"]
DEFAULT_FLOW_INTERVALS = ["4h", "1d"]


@app.command()
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


@app.command()
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
            symbols=symbol or DEFAULT_FLOW_SYMBOLS,
            intervals=interval or DEFAULT_FLOW_INTERVALS,
            lookback_days=lookback_days,
            base_url=base_url,
        )
    )


@app.command()
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
            symbols=symbol or DEFAULT_FLOW_SYMBOLS,
            intervals=interval or DEFAULT_FLOW_INTERVALS,
            base_url=base_url,
        )
    )


@app.command()
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
            symbols=symbol or DEFAULT_FLOW_SYMBOLS,
            intervals=interval or DEFAULT_FLOW_INTERVALS,
        )
    )


@app.command()
def server(
    action: Annotated[str, typer.Argument(help="status, start, stop or url.")] = "status",
) -> None:
    """The local Prefect server runs use when PREFECT_API_URL is not set.

    status, start, stop, or url (the API address, for PREFECT_API_URL).
    """
    if action not in ("status", "start", "stop", "url"):
        err_console.print(
            f"[red]error:[/red] unknown action {action!r}: status, start, stop or url"
        )
        raise typer.Exit(2)
    raise typer.Exit(_flows().server(console, action))


if __name__ == "__main__":
    app()
