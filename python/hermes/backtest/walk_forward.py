"""Walk-forward analysis: optimise the grid in-sample, trade the choice out-of-sample.

The period is cut into folds by calendar time: an in-sample window of ``in_sample_days``
followed by an out-of-sample window of ``out_of_sample_days``; the next fold starts one
out-of-sample window later (rolling windows, complete windows only). In each fold:

1. every grid combination is backtested on the in-sample window (one vectorbt call, see
   :mod:`hermes.backtest.grid`) using only bars before the window's end: the inputs are cut
   there before anything is computed, so no later bar can influence the choice;
2. the combination with the best ``objective`` is chosen (ties and NaN: the first in grid
   order; when no combination has a finite objective the first is kept, objective NULL);
3. the choice is backtested on the out-of-sample window, starting flat with the initial cash
   (indicators carry their history from before the window, signals inside it only).

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
from hermes.backtest.grid import (
    DEFAULT_BANDS,
    DEFAULT_FAST,
    DEFAULT_SLOW,
    Combination,
    check_grid_strategy,
    combinations,
    read_series,
    run_grid,
    years_of,
)
from hermes.backtest.inputs import interval_seconds, load_slice
from hermes.backtest.metrics import METRIC_NAMES
from hermes.backtest.runs import RunResult, execute, new_id, now, save
from hermes.config import Settings
from hermes.signals.registry import StrategyError, load_strategy
from hermes.signals.run import select_series
from hermes.signals.store import FEATURE_STORE, DataError, pinned

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
    combination: Combination
    objective: float | None
    in_sample: dict[str, Any]


def choose(
    arrays: dict[str, np.ndarray],
    window: slice,
    combos: Sequence[Combination],
    config: BacktestConfig,
    objective: str,
    bar_seconds: int,
) -> Choice:
    """The best combination on ``window``, computed from the bars before ``window.stop`` only.

    ``arrays`` hold the whole series (``open_time``, ``open``, ``high``, ``low``, ``close``,
    ``rsi``, ``st_dir``); they are cut at the window's end first.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective {objective!r} must be one of {', '.join(OBJECTIVES)}")
    cut = {k: np.asarray(v)[: window.stop] for k, v in arrays.items()}
    frame = grid_frame(cut, window.start, combos, config, bar_seconds)
    scores = frame[objective].to_numpy(dtype=float, na_value=np.nan)
    finite = np.where(np.isfinite(scores), scores, -np.inf)
    best = int(np.argmax(finite))
    score = float(scores[best]) if np.isfinite(scores[best]) else None
    return Choice(best, combos[best], score, frame.iloc[best].to_dict())


def grid_frame(
    arrays: dict[str, np.ndarray],
    first: int,
    combos: Sequence[Combination],
    config: BacktestConfig,
    bar_seconds: int,
) -> pd.DataFrame:
    """The grid's metrics on ``[first:]`` of ``arrays`` (combinations as given)."""
    fast = sorted({c.ema_fast for c in combos})
    slow = sorted({c.ema_slow for c in combos})
    bands = sorted({(c.rsi_low, c.rsi_high) for c in combos})
    frame = run_grid(
        arrays["open"],
        arrays["high"],
        arrays["low"],
        arrays["close"],
        fast_periods=fast,
        slow_periods=slow,
        rsi_bands=bands,
        config=config,
        rsi=arrays["rsi"],
        st_dir=arrays["st_dir"],
        bar_seconds=bar_seconds,
        years=years_of(arrays["open_time"][first:], bar_seconds),
        first=first,
    )
    key = frame.set_index(["ema_fast", "ema_slow", "rsi_low", "rsi_high"]).index
    wanted = [(c.ema_fast, c.ema_slow, c.rsi_low, c.rsi_high) for c in combos]
    return frame.iloc[key.get_indexer(wanted)].reset_index(drop=True)


def walk_forward_arrays(
    arrays: dict[str, np.ndarray],
    folds: Sequence[Fold],
    combos: Sequence[Combination],
    config: BacktestConfig,
    objective: str,
    bar_seconds: int,
) -> pd.DataFrame:
    """One row per fold: the choice, its in-sample and its out-of-sample metrics (no lake)."""
    rows = []
    for fold in folds:
        choice = choose(arrays, fold.in_sample, combos, config, objective, bar_seconds)
        cut = {k: np.asarray(v)[: fold.out_of_sample.stop] for k, v in arrays.items()}
        oos = grid_frame(cut, fold.out_of_sample.start, [choice.combination], config, bar_seconds)
        rows.append(
            {
                "fold": fold.number,
                "combination": choice.index,
                **choice.combination.overrides(),
                "in_sample_objective": choice.objective,
                **{f"in_sample_{k}": choice.in_sample[k] for k in METRIC_NAMES},
                **oos.iloc[0][[*METRIC_NAMES, "final_equity"]].to_dict(),
            }
        )
    return pd.DataFrame(rows)


@dataclass
class WalkForwardResult:
    walk_forward_id: str
    symbol: str
    interval: str
    folds: pd.DataFrame


def run_walk_forward(
    settings: Settings,
    strategy_id: str,
    symbols: list[str] | None = None,
    intervals: list[str] | None = None,
    *,
    in_sample_days: float = 730,
    out_of_sample_days: float = 182,
    objective: str = "sharpe",
    fast_periods: Sequence[int] = DEFAULT_FAST,
    slow_periods: Sequence[int] = DEFAULT_SLOW,
    rsi_bands: Sequence[tuple[float, float]] = DEFAULT_BANDS,
    start: datetime | None = None,
    end: datetime | None = None,
    overrides: dict[str, Any] | None = None,
    config: BacktestConfig | None = None,
    features_table: str = FEATURE_STORE,
    show_progress: bool = False,
) -> list[WalkForwardResult]:
    """Walk-forward on each (symbol, interval); folds and out-of-sample runs go to the lake.

    Everything is validated (strategy, grid, objective, series, windows) before the first
    simulation; all rows are written in one transaction.
    """
    if objective not in OBJECTIVES:
        raise StrategyError(f"objective {objective!r} must be one of {', '.join(OBJECTIVES)}")
    config = config or BacktestConfig()
    combos = combinations(fast_periods, slow_periods, rsi_bands)
    results: list[WalkForwardResult] = []
    runs: list[RunResult] = []
    fold_tables: list[pa.Table] = []
    with pinned(settings) as (reader, snapshot):
        strategy = load_strategy(strategy_id, overrides, reader)
        check_grid_strategy(strategy)
        pairs = select_series(reader, symbols, intervals, features_table)
        plans = []
        for symbol, interval in pairs:
            data = read_series(
                reader, strategy, symbol, interval, start=start, end=end, table=features_table
            )
            bar = interval_seconds(interval)
            folds = make_folds(data.open_time, data.first, in_sample_days, out_of_sample_days, bar)
            plans.append((data, folds, bar))
        wf_id = new_id("wf")
        with Progress(disable=not show_progress) as progress:
            total = sum(len(folds) for _, folds, _ in plans)
            task = progress.add_task(f"walk-forward ({len(combos)} combinations)", total=total)
            for data, folds, bar in plans:
                arrays = {"open_time": data.open_time, **data.prices, **data.inputs}
                fold_rows = []
                for fold in folds:
                    choice = choose(arrays, fold.in_sample, combos, config, objective, bar)
                    chosen = strategy.with_parameters(choice.combination.overrides())
                    window = load_slice(
                        reader,
                        chosen,
                        data.symbol,
                        data.interval,
                        start=fold.in_sample_end,
                        end=fold.out_of_sample_end,
                        table=features_table,
                    )
                    run = execute(
                        chosen,
                        window,
                        config,
                        snapshot=snapshot,
                        features_table=features_table,
                        period_start=fold.in_sample_end,
                        period_end=fold.out_of_sample_end,
                        run_kind="walk_forward",
                    )
                    runs.append(run)
                    fold_rows.append(_fold_row(wf_id, fold, choice, chosen, run, objective, combos))
                    progress.advance(task)
                frame = pd.DataFrame(fold_rows)
                fold_tables.append(pa.Table.from_pylist(fold_rows))
                results.append(WalkForwardResult(wf_id, data.symbol, data.interval, frame))
    save(settings, runs, [("gold_backtest_walk_forward", t) for t in fold_tables])
    return results


def _fold_row(
    wf_id: str,
    fold: Fold,
    choice: Choice,
    chosen: Any,
    run: RunResult,
    objective: str,
    combos: Sequence[Combination],
) -> dict[str, Any]:
    def number(value: Any) -> float | None:
        return None if value is None or not np.isfinite(value) else float(value)

    trades = choice.in_sample["trades"]
    return {
        "walk_forward_id": wf_id,
        "created_at": now(),
        "fold": fold.number,
        "strategy_id": chosen.strategy_id,
        "symbol": run.run["symbol"],
        "interval": run.run["interval"],
        "in_sample_start": fold.in_sample_start,
        "in_sample_end": fold.in_sample_end,
        "out_of_sample_start": fold.in_sample_end,
        "out_of_sample_end": fold.out_of_sample_end,
        "combinations": len(combos),
        "objective": objective,
        "in_sample_objective": choice.objective,
        "in_sample_total_return": number(choice.in_sample["total_return"]),
        "in_sample_sharpe": number(choice.in_sample["sharpe"]),
        "in_sample_max_drawdown": number(choice.in_sample["max_drawdown"]),
        "in_sample_trades": None if trades is None else int(trades),
        "parameters": chosen.parameters_json,
        "snapshot_id": run.run["snapshot_id"],
        "run_id": run.run_id,
        **{name: run.run[name] for name in METRIC_NAMES},
    }
