"""``hermes grid``, ``hermes walk-forward`` and ``hermes ab``: parameter studies of a strategy."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hermes.cli.app import console, print_path
from hermes.cli.errors import usage_errors
from hermes.cli.options import AbFilterOption, ObjectiveOption, backtest_options
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


@backtest_options("fill")
def grid(
    request: Any,
    param: GridParam = None,
    top: int = typer.Option(10, help="Rows of the best combinations (by Sharpe) to print."),
    report: StudyReportOption = True,
) -> None:
    """Backtest every parameter set of a grid in one vectorbt call (any strategy).

    The best-Sharpe set's deflated Sharpe ratio, probability of backtest overfitting and
    bootstrap intervals are printed, stored in gold_backtest_overfitting and shown on the
    grid's page.
    """
    from hermes.backtest.grid import run_grid_backtest
    from hermes.report.pages import write_any
    from hermes.report.studies import print_grid

    with usage_errors():
        settings = Settings.from_env()
        results = run_grid_backtest(settings, request, _axes(param), show_progress=True)
    for result in results:
        print_grid(result, top, console)
        if report:
            print_path("report", write_any(settings, result.grid_id, top=top))


@backtest_options("fill")
def walk_forward(
    request: Any,
    in_sample_days: float = typer.Option(730, help="In-sample window length, days."),
    out_of_sample_days: float = typer.Option(182, help="Out-of-sample window (and step), days."),
    objective: ObjectiveOption = "sharpe",
    param: GridParam = None,
    report: StudyReportOption = True,
) -> None:
    """Optimise a grid on rolling in-sample windows, trade each choice out of sample.

    Each fold's choice gets its deflated Sharpe ratio and probability of backtest overfitting
    among the fold's sets (printed, stored in gold_backtest_overfitting, on the page).
    """
    from hermes.backtest.walk_forward import run_walk_forward
    from hermes.report.pages import write_any
    from hermes.report.studies import print_walk_forward

    with usage_errors():
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


@backtest_options("fill")
def ab(request: Any, entry_filter: AbFilterOption = "mtf_confluence") -> None:
    """A/B: the strategy on gold_features vs the feature store's experimental filter."""
    from hermes.backtest.ab import run_ab
    from hermes.report.studies import print_ab

    settings = Settings.from_env()
    with usage_errors():
        comparison = run_ab(settings, request, filter_name=entry_filter)
    print_ab(settings, comparison.ab_id, console)
