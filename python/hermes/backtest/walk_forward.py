"""Walk-forward analysis: optimise a grid in-sample, trade the choice out-of-sample.

The period is cut into folds by calendar time: an in-sample window of ``in_sample_days``
followed by an out-of-sample window of ``out_of_sample_days``; the next fold starts one
out-of-sample window later (rolling windows, complete windows only). In each fold:

1. every parameter set of the grid (:mod:`hermes.backtest.grid`, any strategy) is
   backtested on the in-sample window (one vectorbt call) from the bars of that window only;
   the signals come from the strategy's signal model, which is proven free of lookahead
   (the truncation test run on every signal model), so no later bar can move the choice;
2. the set with the best ``objective`` is chosen (ties and NaN: the first in grid order;
   when no set has a finite objective the first is kept, objective NULL);
3. the choice is backtested on the out-of-sample window, starting flat with the initial cash.

Out-of-sample runs are ordinary runs (``run_kind = 'walk_forward'``: runs, trades, equity;
``hermes reproduce`` re-runs them); ``gold_backtest_walk_forward`` holds one row per fold with
the windows, the chosen parameters, in-sample figures and the out-of-sample metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from rich.progress import Progress

from hermes.backtest.config import BacktestConfig
from hermes.backtest.grid import Axis, best_index, grid_metrics, parameter_sets
from hermes.backtest.inputs import load_slice, period_start, years_of
from hermes.backtest.request import BacktestRequest, open_request
from hermes.backtest.runs import RunResult, execute, new_id, now, save
from hermes.config import Settings
from hermes.intervals import interval_seconds
from hermes.lake import DataError
from hermes.signals.errors import StrategyError
from hermes.signals.registry import canonical_json
from hermes.signals.source import SeriesSignals
from hermes.stats.metrics import METRIC_NAMES
from hermes.stats.study import StudyStatistics, equity_statistics, overfitting_rows

OBJECTIVES = ("sharpe", "sortino", "calmar", "total_return", "cagr")


@dataclass(frozen=True)
class Fold:
    """Bar index windows ``[start, stop)`` into the series, and their calendar bounds."""

    number: int
    in_sample: slice
    out_of_sample: slice
    in_sample_start: datetime
    in_sample_end: datetime
    out_of_sample_end: datetime


def make_folds(
    open_time: np.ndarray,
    first: int,
    in_sample_days: float,
    out_of_sample_days: float,
    bar_seconds: int,
) -> list[Fold]:
    """Rolling folds over ``open_time[first:]``; windows are ``[start, end)`` in time."""
    if in_sample_days <= 0 or out_of_sample_days <= 0:
        raise DataError(
            f"walk-forward windows must be positive (in-sample {in_sample_days} days, "
            f"out-of-sample {out_of_sample_days} days)"
        )
    times = open_time.astype("datetime64[us]")
    step_is = np.timedelta64(int(in_sample_days * 86_400_000_000), "us")
    step_oos = np.timedelta64(int(out_of_sample_days * 86_400_000_000), "us")
    series_end = times[-1] + np.timedelta64(bar_seconds, "s")
    folds: list[Fold] = []
    start = times[first]
    while start + step_is + step_oos <= series_end:
        is_end, oos_end = start + step_is, start + step_is + step_oos
        a, b, c = (int(np.searchsorted(times, t)) for t in (start, is_end, oos_end))
        if b > a and c > b:
            folds.append(
                Fold(
                    len(folds),
                    slice(a, b),
                    slice(b, c),
                    start.astype(datetime),
                    is_end.astype(datetime),
                    oos_end.astype(datetime),
                )
            )
        start = start + step_oos
    if not folds:
        span = (series_end - times[first]).astype("timedelta64[s]").astype(int) / 86_400
        raise DataError(
            f"walk-forward needs {in_sample_days} + {out_of_sample_days} days of bars, "
            f"the period holds {span:.1f} days"
        )
    return folds


@dataclass(frozen=True)
class Choice:
    index: int
    parameters: dict[str, Any]
    objective: float | None
    in_sample: dict[str, Any]
    statistics: StudyStatistics
    """Deflated Sharpe ratio, PBO and bootstrap of the choice, over the in-sample window."""


def window_metrics(
    series: SeriesSignals, window: slice, config: BacktestConfig
) -> tuple[pd.DataFrame, np.ndarray]:
    """Every column's metrics on the bars of ``window`` only, and their (bars, sets) equity."""
    bar = interval_seconds(series.interval)
    return grid_metrics(
        {k: v[window] for k, v in series.prices.items()},
        series.entries[window],
        series.exits[window],
        config,
        bar_seconds=bar,
        years=years_of(series.open_time[window], bar),
    )


def choose(
    series: SeriesSignals,
    window: slice,
    sets: Sequence[dict[str, Any]],
    config: BacktestConfig,
    objective: str,
) -> Choice:
    """The best parameter set on ``window`` of a grid series (one column per set), with the
    overfitting statistics of that choice among the fold's sets."""
    if objective not in OBJECTIVES:
        raise StrategyError(f"objective {objective!r} must be one of {', '.join(OBJECTIVES)}")
    frame, equity = window_metrics(series, window, config)
    scores = frame[objective].to_numpy(dtype=float, na_value=np.nan)
    best = best_index(scores)
    score = float(scores[best]) if np.isfinite(scores[best]) else None
    statistics = equity_statistics(equity, config.init_cash, best, series.interval)
    return Choice(best, dict(sets[best]), score, frame.iloc[best].to_dict(), statistics)


def walk_forward_series(
    series: SeriesSignals,
    folds: Sequence[Fold],
    sets: Sequence[dict[str, Any]],
    config: BacktestConfig,
    objective: str,
) -> pd.DataFrame:
    """One row per fold: the choice, its in-sample and its out-of-sample metrics (no lake)."""
    rows = []
    for fold in folds:
        choice = choose(series, fold.in_sample, sets, config, objective)
        oos = window_metrics(series, fold.out_of_sample, config)[0].iloc[choice.index]
        rows.append(
            {
                "fold": fold.number,
                "combination": choice.index,
                **choice.parameters,
                "in_sample_objective": choice.objective,
                **{f"in_sample_{k}": choice.in_sample[k] for k in METRIC_NAMES},
                **oos[[*METRIC_NAMES, "final_equity"]].to_dict(),
            }
        )
    return pd.DataFrame(rows)


@dataclass
class WalkForwardResult:
    walk_forward_id: str
    symbol: str
    interval: str
    folds: pd.DataFrame
    statistics: list[StudyStatistics]
    """Each fold's overfitting statistics (of its in-sample choice), in fold order."""


def run_walk_forward(
    settings: Settings,
    request: BacktestRequest,
    axes: Sequence[Axis],
    *,
    in_sample_days: float = 730,
    out_of_sample_days: float = 182,
    objective: str = "sharpe",
    show_progress: bool = False,
) -> list[WalkForwardResult]:
    """Walk-forward on each of the request's series; folds and out-of-sample runs go to the lake.

    Everything is validated (strategy, grid, objective, series, windows) before the first
    simulation; all rows are written in one transaction.
    """
    if objective not in OBJECTIVES:
        raise StrategyError(f"objective {objective!r} must be one of {', '.join(OBJECTIVES)}")
    results: list[WalkForwardResult] = []
    runs: list[RunResult] = []
    fold_tables: list[pa.Table] = []
    overfitting: list[pa.Table] = []
    with open_request(settings, request) as opened:
        sets = parameter_sets(opened.strategy, axes)
        plans = []
        for series in opened.signals.grids(opened.pairs, end=request.end, parameter_sets=sets):
            interval = series.interval
            first = period_start(series, request.start, request.end)
            bar = interval_seconds(interval)
            folds = make_folds(series.open_time, first, in_sample_days, out_of_sample_days, bar)
            plans.append((series, folds))
        wf_id = new_id("wf")
        with Progress(disable=not show_progress) as progress:
            total = sum(len(folds) for _, folds in plans)
            task = progress.add_task(f"walk-forward ({len(sets)} parameter sets)", total=total)
            for series, folds in plans:
                fold_rows, fold_statistics = [], []
                for fold in folds:
                    choice = choose(series, fold.in_sample, sets, request.config, objective)
                    chosen = opened.strategy.with_parameters(choice.parameters)
                    window = load_slice(
                        opened.signals,
                        series.symbol,
                        series.interval,
                        start=fold.in_sample_end,
                        end=fold.out_of_sample_end,
                        parameters=chosen.parameters,
                    )
                    run = execute(
                        opened.context.but(
                            strategy=chosen,
                            period_start=fold.in_sample_end,
                            period_end=fold.out_of_sample_end,
                            run_kind="walk_forward",
                        ),
                        window,
                    )
                    runs.append(run)
                    fold_rows.append(_fold_row(wf_id, fold, choice, run, objective, len(sets)))
                    fold_statistics.append((fold.number, choice.statistics))
                    progress.advance(task)
                fold_tables.append(pa.Table.from_pylist(fold_rows))
                overfitting.append(
                    overfitting_rows(
                        "walk_forward", wf_id, series.symbol, series.interval, fold_statistics
                    )
                )
                frame = pd.DataFrame(fold_rows)
                results.append(
                    WalkForwardResult(
                        wf_id,
                        series.symbol,
                        series.interval,
                        frame,
                        [stats for _, stats in fold_statistics],
                    )
                )
    save(
        settings,
        runs,
        [
            *(("gold_backtest_walk_forward", t) for t in fold_tables),
            *(("gold_backtest_overfitting", t) for t in overfitting),
        ],
    )
    return results


def _fold_row(
    wf_id: str,
    fold: Fold,
    choice: Choice,
    run: RunResult,
    objective: str,
    combinations: int,
) -> dict[str, Any]:
    def number(value: Any) -> float | None:
        return None if value is None or not np.isfinite(value) else float(value)

    trades = choice.in_sample["trades"]
    return {
        "walk_forward_id": wf_id,
        "created_at": now(),
        "fold": fold.number,
        "strategy_id": run.run["strategy_id"],
        "symbol": run.run["symbol"],
        "interval": run.run["interval"],
        "in_sample_start": fold.in_sample_start,
        "in_sample_end": fold.in_sample_end,
        "out_of_sample_start": fold.in_sample_end,
        "out_of_sample_end": fold.out_of_sample_end,
        "combinations": combinations,
        "objective": objective,
        "in_sample_objective": choice.objective,
        "in_sample_total_return": number(choice.in_sample["total_return"]),
        "in_sample_sharpe": number(choice.in_sample["sharpe"]),
        "in_sample_max_drawdown": number(choice.in_sample["max_drawdown"]),
        "in_sample_trades": None if trades is None else int(trades),
        "parameters": canonical_json(choice.parameters),
        "snapshot_id": run.run["snapshot_id"],
        "run_id": run.run_id,
        **{name: run.run[name] for name in METRIC_NAMES},
    }
