"""Research commands: ``hermes backtest``, ``reproduce``, ``strategies``, ``report``, ``site``."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hermes.cli.app import console, print_path
from hermes.cli.errors import usage_errors
from hermes.cli.options import backtest_options
from hermes.config import Settings


@backtest_options()
def backtest(
    request: Any,
    report: bool = typer.Option(False, help="Also write an HTML report per run."),
    portfolio: bool = typer.Option(
        False, help="One shared-cash, equal-weight run per interval over all the symbols."
    ),
    outside_universe: bool = typer.Option(
        False,
        "--outside-universe",
        help="Also backtest symbols the universe (HERMES_UNIVERSE) does not list; without it "
        "such a --symbol is an error and the default is the universe's symbols.",
    ),
) -> None:
    """Backtest a strategy's signal model per (symbol, interval); store runs, trades, equity.

    The symbols are the universe's that the lake holds, or the --symbol ones (each listed by
    the universe unless --outside-universe)."""
    from hermes.backtest.portfolio import run_portfolio
    from hermes.backtest.runs import run_request
    from hermes.backtest.statistics import record_run_statistics
    from hermes.report import write_report
    from hermes.report.summary import print_runs
    from hermes.signals.registry_file import check_registry

    settings = Settings.from_env()
    check_registry()  # a broken registry is named before the universe is looked at
    with usage_errors():
        if request.config.max_positions is not None and not portfolio:
            raise ValueError("--max-positions applies to --portfolio runs (symbols sharing cash)")
        if not outside_universe:
            request = in_universe(settings, request)
        run_ids = (run_portfolio if portfolio else run_request)(
            settings, request, show_progress=True
        )
    record_run_statistics(settings, run_ids)  # bootstrap intervals and PSR, for the pages
    print_runs(settings, run_ids, console)
    if report:
        for run_id in run_ids:
            print_path("report", write_report(settings, run_id))


def in_universe(settings: Settings, request: Any) -> Any:
    """``request`` limited to the universe's symbols: its own ``symbols`` when the universe
    lists each of them (else a ``ValueError`` naming the first that it does not), or the
    universe's symbols the lake's features table holds."""
    from hermes.features.store import list_series
    from hermes.lake import connect
    from hermes.universe import load_universe, universe_csv

    listed = {x.symbol for x in load_universe()}
    for symbol in request.symbols or []:
        if symbol not in listed:
            raise ValueError(
                f"symbol {symbol} is not in the universe ({universe_csv()}): add its row "
                "there, or pass --outside-universe"
            )
    if request.symbols:
        return request
    with connect(settings, read_only=True) as conn:
        held = {s.symbol for s in list_series(conn, request.features_table)}
    if not held & listed:
        raise ValueError(
            f"the lake's {request.features_table} holds no symbol of the universe "
            f"({universe_csv()}); --outside-universe backtests the symbols it holds"
        )
    return replace(request, symbols=sorted(held & listed))


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
        "Sharpe", "max DD", "trades", "exposure", "buy & hold", "run", "verdict",
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
            row["verdict"] or "",
        )
    # a pipe or a file gets full rows, not a table squeezed into 80 columns
    Console(width=None if console.is_terminal else 200).print(table)


def report_command(
    page_id: Annotated[
        list[str], typer.Argument(help="Run (bt-...), grid, walk-forward (wf-...) or ab ids.")
    ],
    x: str = typer.Option(None, help="Grid heat map: parameter across (default: most varied)."),
    y: str = typer.Option(None, help="Grid heat map: parameter down (default: next most)."),
    metric: str = typer.Option("sharpe", help="Grid heat map and ranking metric."),
    top: int = typer.Option(20, help="Grid: rows of the best combinations."),
    pin: bool = typer.Option(False, "--pin", help="Keep these pages through hermes maintain."),
) -> None:
    """Write the HTML page of each run or study under the lake's reports folder."""
    from hermes.report.keep import pin as pin_pages
    from hermes.report.pages import write_any
    from hermes.report.summary import print_runs

    settings = Settings.from_env()
    with usage_errors():
        paths = [write_any(settings, p, x=x, y=y, metric=metric, top=top) for p in page_id]
        pins = pin_pages(settings, page_id) if pin else []
    runs = [p for p in page_id if p.startswith("bt-")]
    if runs:
        print_runs(settings, runs, console)
    for path in paths:
        print_path("report", path)
    if pins:
        console.print(f"pinned ({len(pins)} in all, kept by hermes maintain): {', '.join(page_id)}")


def site() -> None:
    """Write the research site: <lake>/reports/index.html and every page it links."""
    from hermes.report.site import write_site

    settings = Settings.from_env()
    with usage_errors():
        result = write_site(settings, show_progress=True)
    console.print(f"{len(result.written)} pages written; index: {result.index}")


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
