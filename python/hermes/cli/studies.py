"""``hermes grid``, ``hermes walk-forward`` and ``hermes ab``: parameter studies of a strategy."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hermes.cli.app import backtest_request, console, print_path
from hermes.cli.errors import usage_errors
from hermes.cli.options import (
    AbFilterOption,
    EndOption,
    FillOption,
    IntervalsOption,
    ObjectiveOption,
    OverridesOption,
    StartOption,
    StrategyOption,
    SymbolsOption,
)
from hermes.config import Settings


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


def grid(
    strategy: StrategyOption = "smart_momentum",
    symbol: SymbolsOption = None,
    interval: IntervalsOption = None,
    start: StartOption = None,
    end: EndOption = None,
    param: GridParam = None,
    params: OverridesOption = None,
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
        request = backtest_request(
            strategy, symbol, interval, start, end, params, BacktestConfig(fill=fill)
        )
        settings = Settings.from_env()
        results = run_grid_backtest(settings, request, _axes(param), show_progress=True)
    for result in results:
        print_grid(result, top, console)
        if report:
            print_path("report", write_any(settings, result.grid_id, top=top))


def walk_forward(
    strategy: StrategyOption = "smart_momentum",
    symbol: SymbolsOption = None,
    interval: IntervalsOption = None,
    start: StartOption = None,
    end: EndOption = None,
    in_sample_days: float = typer.Option(730, help="In-sample window length, days."),
    out_of_sample_days: float = typer.Option(182, help="Out-of-sample window (and step), days."),
    objective: ObjectiveOption = "sharpe",
    param: GridParam = None,
    params: OverridesOption = None,
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
        request = backtest_request(
            strategy, symbol, interval, start, end, params, BacktestConfig(fill=fill)
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
        print_path("report", write_any(settings, results[0].walk_forward_id))


def ab(
    strategy: StrategyOption = "smart_momentum",
    symbol: SymbolsOption = None,
    interval: IntervalsOption = None,
    start: StartOption = None,
    end: EndOption = None,
    entry_filter: AbFilterOption = "mtf_confluence",
    params: OverridesOption = None,
    fill: FillOption = "next_open",
) -> None:
    """A/B: the strategy on gold_features vs the feature store's experimental filter."""
    from hermes.backtest.ab import run_ab
    from hermes.backtest.config import BacktestConfig
    from hermes.report.studies import print_ab

    settings = Settings.from_env()
    with usage_errors():
        request = backtest_request(
            strategy, symbol, interval, start, end, params, BacktestConfig(fill=fill)
        )
        comparison = run_ab(settings, request, filter_name=entry_filter)
    print_ab(settings, comparison.ab_id, console)
