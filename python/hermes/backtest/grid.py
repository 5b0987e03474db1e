"""Parameter grids over any strategy: every parameter set simulated in ONE vectorbt call.

A grid is a list of axes; an axis names one parameter and its values
(``--param entry_period=10,20,30``) or several parameters moving together
(``--param rsi_low:rsi_high=45:55,40:60``). The parameter sets are the product of the
axes over the strategy's other parameters. Each value is checked against the registry;
sets breaking a rule that ties parameters together (e.g. ``ema_fast >= ema_slow``) are left
out.

Signals of every set come from :class:`hermes.signals.source.SignalSource` (the strategy's
accelerator when it has one, else its model's SQL evaluated in this process, one query per
set), form one (n, k) array and are simulated by a single ``Portfolio.from_signals``.
Column ``j`` equals, bit for bit, the single backtest with set ``j`` on the same bars.

* :func:`grid_metrics`: arrays in, one metrics row per column out (no lake)
* :func:`run_grid_backtest`: read a request's series at one snapshot, run the grid and
  append a row per parameter set to ``gold_backtest_grid``, and the overfitting statistics
  of the best-Sharpe set (:func:`grid_statistics`) to ``gold_backtest_overfitting``
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from rich.progress import Progress

from hermes.backtest.config import BacktestConfig
from hermes.backtest.engine import simulate
from hermes.backtest.inputs import period_start, years_of
from hermes.backtest.provenance import fingerprint
from hermes.backtest.request import BacktestRequest, open_request
from hermes.backtest.runs import measure_columns, new_id, now, save
from hermes.config import Settings
from hermes.features.store import OHLCV
from hermes.intervals import interval_seconds
from hermes.signals.errors import StrategyError
from hermes.signals.registry import Strategy, canonical_json, check_value, validate_parameters
from hermes.signals.source import SeriesSignals
from hermes.stats.metrics import METRIC_NAMES
from hermes.stats.study import StudyStatistics, equity_statistics, overfitting_rows

INTEGER_METRICS = ("max_drawdown_duration_bars", "trades", "open_trades")

Axis = tuple[tuple[str, ...], list[tuple[Any, ...]]]
"""Parameter names moving together, and their values (one tuple per grid step)."""


def parse_axis(text: str) -> Axis:
    """``"period=10,20"`` or ``"rsi_low:rsi_high=45:55,40:60"`` -> an axis; numbers only."""
    names_text, sep, values_text = text.partition("=")
    names = tuple(n.strip() for n in names_text.split(":"))
    if not sep or not all(names) or not values_text.strip():
        raise StrategyError(f"grid: --param {text!r} must read name=v1,v2 or a:b=1:2,3:4")
    steps = []
    for step in values_text.split(","):
        parts = step.strip().split(":")
        if len(parts) != len(names):
            raise StrategyError(
                f"grid: --param {text!r}: step {step!r} needs {len(names)} value(s)"
            )
        try:
            steps.append(tuple(json.loads(p) for p in parts))
        except json.JSONDecodeError as exc:
            raise StrategyError(f"grid: --param {text!r}: {step!r} is not a number") from exc
    return names, steps


def parameter_sets(strategy: Strategy, axes: Sequence[Axis]) -> list[dict[str, Any]]:
    """Every valid parameter set of the axes' product, in axis order (first axis slowest).

    A value of the wrong type or outside its range is an error; sets breaking a rule
    between parameters are left out (an error if none is left).
    """
    if not axes:
        raise StrategyError(
            f"grid over {strategy.strategy_id}: give at least one --param name=v1,v2,... "
            f"(parameters: {', '.join(sorted(strategy.parameters))})"
        )
    seen: set[str] = set()
    for names, steps in axes:
        for name in names:
            if name in seen:
                raise StrategyError(f"grid: parameter {name} is on two axes")
            seen.add(name)
        for step in steps:
            for name, value in zip(names, step, strict=True):
                check_value(strategy, name, value)
    out, kept = [], set()
    for product in itertools.product(*(steps for _names, steps in axes)):
        params = dict(strategy.parameters)
        for (names, _steps), step in zip(axes, product, strict=True):
            params.update(zip(names, step, strict=True))
        try:
            checked = validate_parameters(strategy, params)
        except StrategyError:
            continue
        key = canonical_json(checked)
        if key not in kept:
            kept.add(key)
            out.append(checked)
    if not out:
        raise StrategyError(f"grid over {strategy.strategy_id}: no valid parameter set")
    return out


def grid_metrics(
    prices: dict[str, np.ndarray],
    entries: np.ndarray,
    exits: np.ndarray,
    config: BacktestConfig,
    *,
    bar_seconds: int,
    years: float,
) -> tuple[pd.DataFrame, np.ndarray]:
    """(one metrics row per column plus ``final_equity``, the (n, k) equity) of one simulation.

    ``prices`` and the (n, k) signals cover exactly the backtest's bars.
    """
    sim = simulate(prices, entries, exits, config)
    measured = measure_columns(sim, prices["close"], config, bar_seconds, years)
    frame = pd.DataFrame(measured, columns=list(METRIC_NAMES))
    frame.insert(0, "combination", np.arange(entries.shape[1], dtype=np.int64))
    equity = sim.equity.reshape(entries.shape)
    frame["final_equity"] = equity[-1]
    return frame, equity


def best_index(scores: np.ndarray) -> int:
    """The best score's position: the first of equals; NaN never wins (all NaN: 0)."""
    values = np.asarray(scores, dtype=float)
    return int(np.argmax(np.where(np.isfinite(values), values, -np.inf)))


@dataclass
class GridResult:
    grid_id: str
    symbol: str
    interval: str
    rows: int
    parameter_sets: list[dict[str, Any]]
    results: pd.DataFrame
    """One row per set: ``combination``, the parameters, every metric, ``final_equity``."""
    equity: np.ndarray
    """(bars, sets) equity of every set, for overfitting statistics."""
    statistics: StudyStatistics | None = None
    """The chosen set's overfitting statistics, once :func:`run_grid_backtest` computed them."""

    @property
    def chosen(self) -> int:
        """The set a user would pick: the best Sharpe ratio (:func:`best_index`)."""
        return best_index(self.results["sharpe"].to_numpy(dtype=float, na_value=np.nan))


def grid_statistics(result: GridResult, config: BacktestConfig) -> StudyStatistics:
    """Deflated Sharpe ratio, PBO (CSCV) and bootstrap intervals of the grid's chosen set,
    its trials being every set of the grid (:mod:`hermes.stats.study`)."""
    return equity_statistics(result.equity, config.init_cash, result.chosen, result.interval)


def run_grid_backtest(
    settings: Settings,
    request: BacktestRequest,
    axes: Sequence[Axis],
    *,
    show_progress: bool = False,
) -> list[GridResult]:
    """Run the grid on each of the request's series; append its rows to ``gold_backtest_grid``.

    Everything (strategy, axes, series, periods) is checked before any simulation, and all
    rows are written in one transaction.
    """
    results: list[GridResult] = []
    tables: list[pa.Table] = []
    overfitting: list[pa.Table] = []
    with open_request(settings, request) as opened:
        sets = parameter_sets(opened.strategy, axes)
        with Progress(disable=not show_progress) as progress:
            task = progress.add_task(
                f"grid of {len(sets)} parameter sets over {request.strategy_id}", total=None
            )
            all_series = opened.signals.grids(opened.pairs, end=request.end, parameter_sets=sets)
            progress.update(task, total=len(all_series))
            for series in all_series:
                first = period_start(series, request.start, request.end)
                result = grid_of(series, first, sets, request.config)
                results.append(result)
                tables.append(
                    _grid_rows(result, opened.strategy, series, first, opened.snapshot, request)
                )
                result.statistics = grid_statistics(result, request.config)
                overfitting.append(
                    overfitting_rows(
                        "grid",
                        result.grid_id,
                        result.symbol,
                        result.interval,
                        [(None, result.statistics)],
                    )
                )
                progress.advance(task)
    save(
        settings,
        [],
        [
            *(("gold_backtest_grid", table) for table in tables),
            *(("gold_backtest_overfitting", table) for table in overfitting),
        ],
    )
    return results


def grid_of(
    series: SeriesSignals, first: int, sets: list[dict[str, Any]], config: BacktestConfig
) -> GridResult:
    """The grid of one series' (n, k) signals over ``[first:]``."""
    part = slice(first, None)
    prices = {k: v[part] for k, v in series.prices.items()}
    bar = interval_seconds(series.interval)
    frame, equity = grid_metrics(
        prices,
        series.entries[part],
        series.exits[part],
        config,
        bar_seconds=bar,
        years=years_of(series.open_time[part], bar),
    )
    names = list(sets[0])
    for position, name in enumerate(names, start=1):
        frame.insert(position, name, [p[name] for p in sets])
    rows = len(series.open_time) - first
    return GridResult(new_id("grid"), series.symbol, series.interval, rows, sets, frame, equity)


def _grid_rows(
    result: GridResult,
    strategy: Strategy,
    series: SeriesSignals,
    first: int,
    snapshot: int,
    request: BacktestRequest,
) -> pa.Table:
    import hashlib

    params = [canonical_json(p) for p in result.parameter_sets]
    frame = result.results
    k = len(frame)
    times = series.open_time[first:]
    ohlcv = [times, *(series.prices[c][first:] for c in OHLCV)]
    columns: dict[str, Any] = {
        "grid_id": [result.grid_id] * k,
        "created_at": [now()] * k,
        "strategy_id": [strategy.strategy_id] * k,
        "strategy_version": [strategy.version] * k,
        "symbol": [result.symbol] * k,
        "interval": [result.interval] * k,
        "period_start": pa.array([request.start] * k, pa.timestamp("us")),
        "period_end": pa.array([request.end] * k, pa.timestamp("us")),
        "first_open_time": pa.array(np.repeat(times[:1], k)),
        "last_open_time": pa.array(np.repeat(times[-1:], k)),
        "rows": [result.rows] * k,
        "features_table": [request.features_table] * k,
        "snapshot_id": [snapshot] * k,
        "data_fingerprint": [fingerprint(ohlcv)] * k,
        "config": [request.config.as_json] * k,
        "combination": frame["combination"].to_numpy(),
        "signal_source": [series.source] * k,
        "parameters": params,
        "parameters_hash": [hashlib.sha256(p.encode()).hexdigest()[:16] for p in params],
        "final_equity": frame["final_equity"].to_numpy(),
    }
    for name in METRIC_NAMES:
        values = frame[name].to_numpy(dtype=float, na_value=np.nan)
        kind = pa.int64() if name in INTEGER_METRICS else pa.float64()
        columns[name] = pa.array(values, mask=np.isnan(values)).cast(kind)
    return pa.table(columns)
