"""Smart Momentum parameter grids: every (EMA fast, EMA slow, RSI band) in ONE vectorbt call.

The signals of all combinations form one 2-D array (a column per combination) simulated by a
single ``Portfolio.from_signals``; each EMA period is computed once with
:func:`hermes.indicators.ema` and shared by every combination using it. RSI and SuperTrend
keep the strategy's periods (they are inputs, not grid axes). Combinations with
fast >= slow are left out. Column ``j`` of the grid equals, bit for bit, the single backtest
with the same parameters on the same bars (indicators computed on the whole history before
the period, signals cut to the period, then simulated and measured the same way).

* :func:`run_grid`: arrays in, one metrics row per combination out (no lake; the benchmark
  times this on synthetic data)
* :func:`run_grid_backtest`: read a series from the lake at one snapshot, run the grid and
  append a row per combination to ``gold_backtest_grid``
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from rich.progress import Progress

from hermes.backtest.config import BacktestConfig
from hermes.backtest.engine import simulate
from hermes.backtest.inputs import interval_seconds, load_period
from hermes.backtest.metrics import METRIC_NAMES
from hermes.backtest.provenance import fingerprint
from hermes.backtest.runs import measure_columns, new_id, now, save
from hermes.config import Settings
from hermes.signals.registry import Strategy, StrategyError, load_strategy
from hermes.signals.run import select_series
from hermes.signals.store import FEATURE_STORE, DataError, pinned

INTEGER_METRICS = ("max_drawdown_duration_bars", "trades", "open_trades")
PARAMETER_COLUMNS = ("ema_fast", "ema_slow", "rsi_low", "rsi_high")
DEFAULT_FAST = (5, 8, 10, 12, 15, 18, 20, 22, 25, 28)
DEFAULT_SLOW = (30, 35, 40, 45, 50, 60, 70, 80, 100, 120)
DEFAULT_BANDS = tuple((50.0 - w, 50.0 + w) for w in (2, 4, 5, 6, 8, 10, 12, 15, 20, 25))


@dataclass(frozen=True)
class Combination:
    ema_fast: int
    ema_slow: int
    rsi_low: float
    rsi_high: float

    def overrides(self) -> dict[str, Any]:
        return {
            "ema_fast": self.ema_fast,
            "ema_slow": self.ema_slow,
            "rsi_low": self.rsi_low,
            "rsi_high": self.rsi_high,
        }


def combinations(
    fast_periods: Sequence[int],
    slow_periods: Sequence[int],
    rsi_bands: Sequence[tuple[float, float]],
) -> list[Combination]:
    """Every valid (fast, slow, band) in fast-major order; :class:`StrategyError` if bad."""
    for name, periods in (("fast", fast_periods), ("slow", slow_periods)):
        if not periods:
            raise StrategyError(f"grid: no EMA {name} period given")
        for p in periods:
            if isinstance(p, bool) or not float(p).is_integer() or int(p) < 2:
                raise StrategyError(f"grid: EMA {name} period {p!r} must be an integer >= 2")
    if not rsi_bands:
        raise StrategyError("grid: no RSI band given")
    for low, high in rsi_bands:
        if not 0 <= low <= high <= 100:
            raise StrategyError(
                f"grid: RSI band [{low}, {high}] must satisfy 0 <= low <= high <= 100"
            )
    fast = list(dict.fromkeys(int(p) for p in fast_periods))
    slow = list(dict.fromkeys(int(p) for p in slow_periods))
    bands = list(dict.fromkeys((float(low), float(high)) for low, high in rsi_bands))
    out = [Combination(f, s, low, high) for f in fast for s in slow for low, high in bands if f < s]
    if not out:
        raise StrategyError("grid: every combination has ema_fast >= ema_slow")
    return out


def _crossed_above(fast: np.ndarray, slow: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        cross = fast > slow
        cross[1:] &= fast[:-1] <= slow[:-1]
    cross[0] = False
    return cross


def grid_signals(
    close: np.ndarray,
    rsi: np.ndarray,
    st_dir: np.ndarray,
    combos: Sequence[Combination],
    first: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(entries ``(n - first, k)``, exits ``(n - first,)``) of the Smart Momentum rule.

    Indicators are computed on the whole arrays (each EMA period once), then cut to
    ``[first:]``, as a single backtest does; the rule is :mod:`hermes.signals.smart_momentum`'s.
    """
    from hermes import indicators

    close = np.asarray(close, dtype=float)
    rsi = np.asarray(rsi, dtype=float)
    st_dir = np.asarray(st_dir, dtype=float)
    periods = sorted({c.ema_fast for c in combos} | {c.ema_slow for c in combos})
    emas = {p: np.asarray(indicators.ema(close, p), dtype=float) for p in periods}
    bullish = st_dir == 1
    with np.errstate(invalid="ignore"):
        exits = (st_dir == -1) & np.concatenate([[False], st_dir[:-1] == 1])
    crosses: dict[tuple[int, int], np.ndarray] = {}
    bands: dict[tuple[float, float], np.ndarray] = {}
    entries = np.empty((len(close) - first, len(combos)), dtype=bool)
    for j, c in enumerate(combos):
        pair = (c.ema_fast, c.ema_slow)
        if pair not in crosses:
            crosses[pair] = (_crossed_above(emas[pair[0]], emas[pair[1]]) & bullish)[first:]
        band = (c.rsi_low, c.rsi_high)
        if band not in bands:
            with np.errstate(invalid="ignore"):
                bands[band] = ((rsi >= band[0]) & (rsi <= band[1]))[first:]
        np.logical_and(crosses[pair], bands[band], out=entries[:, j])
    return entries, exits[first:]


def years_of(open_time: np.ndarray, bar_seconds: int) -> float:
    """Calendar span first open to last close in years (as :class:`MarketSlice` measures it)."""
    span = (open_time[-1] - open_time[0]).astype("timedelta64[s]").astype(np.int64)
    return (int(span) + bar_seconds) / (365.25 * 86_400)


def run_grid(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    *,
    fast_periods: Sequence[int] = DEFAULT_FAST,
    slow_periods: Sequence[int] = DEFAULT_SLOW,
    rsi_bands: Sequence[tuple[float, float]] = DEFAULT_BANDS,
    config: BacktestConfig | None = None,
    rsi: np.ndarray | None = None,
    st_dir: np.ndarray | None = None,
    rsi_period: int = 14,
    st_period: int = 10,
    st_multiplier: float = 3.0,
    bar_seconds: int = 14_400,
    years: float | None = None,
    first: int = 0,
) -> pd.DataFrame:
    """One row per combination: its parameters, every metric and the final equity.

    Arrays hold the whole history (oldest first); the backtest covers ``[first:]``.
    ``rsi`` / ``st_dir`` default to :mod:`hermes.indicators` on these prices; ``years``
    defaults to the bar count times ``bar_seconds`` (pass the calendar span when bars are
    missing). All combinations are simulated in one vectorbt call.
    """
    from hermes import indicators

    config = config or BacktestConfig()
    combos = combinations(fast_periods, slow_periods, rsi_bands)
    close = np.asarray(close, dtype=float)
    if rsi is None:
        rsi = np.asarray(indicators.rsi(close, rsi_period), dtype=float)
    if st_dir is None:
        st_dir = np.asarray(indicators.supertrend(high, low, close, st_period, st_multiplier)[1])
    if not 0 <= first < len(close):
        raise DataError(f"grid: period start index {first} outside the {len(close)} bars")
    entries, exits = grid_signals(close, rsi, st_dir, combos, first)
    prices = {
        "open": np.asarray(open_, dtype=float)[first:],
        "high": np.asarray(high, dtype=float)[first:],
        "low": np.asarray(low, dtype=float)[first:],
        "close": close[first:],
    }
    exits_2d = np.broadcast_to(exits[:, None], entries.shape)
    sim = simulate(prices, entries, exits_2d, config)
    rows = len(prices["close"])
    span = years if years is not None else rows * bar_seconds / (365.25 * 86_400)
    measured = measure_columns(sim, prices["close"], config, bar_seconds, span)
    frame = pd.DataFrame(measured, columns=list(METRIC_NAMES))
    frame.insert(0, "combination", np.arange(len(combos), dtype=np.int64))
    for name in reversed(PARAMETER_COLUMNS):
        frame.insert(1, name, [getattr(c, name) for c in combos])
    frame["final_equity"] = sim.equity[-1]
    return frame


@dataclass
class GridResult:
    grid_id: str
    symbol: str
    interval: str
    rows: int
    results: pd.DataFrame


def run_grid_backtest(
    settings: Settings,
    strategy_id: str,
    symbols: list[str] | None = None,
    intervals: list[str] | None = None,
    *,
    fast_periods: Sequence[int] = DEFAULT_FAST,
    slow_periods: Sequence[int] = DEFAULT_SLOW,
    rsi_bands: Sequence[tuple[float, float]] = DEFAULT_BANDS,
    start: datetime | None = None,
    end: datetime | None = None,
    overrides: dict[str, Any] | None = None,
    config: BacktestConfig | None = None,
    features_table: str = FEATURE_STORE,
    show_progress: bool = False,
) -> list[GridResult]:
    """Run the grid on each (symbol, interval) and append its rows to ``gold_backtest_grid``.

    Everything (strategy, grid, series, periods) is checked before any simulation, and all
    rows are written in one transaction. ``overrides`` set the non-grid parameters (RSI and
    SuperTrend periods).
    """
    config = config or BacktestConfig()
    combos = combinations(fast_periods, slow_periods, rsi_bands)
    with pinned(settings) as (reader, snapshot):
        strategy = load_strategy(strategy_id, overrides, reader)
        check_grid_strategy(strategy)
        pairs = select_series(reader, symbols, intervals, features_table)
        series = [
            read_series(reader, strategy, s, i, start=start, end=end, table=features_table)
            for s, i in pairs
        ]
    results: list[GridResult] = []
    tables: list[pa.Table] = []
    with Progress(disable=not show_progress) as progress:
        task = progress.add_task(f"grids ({len(combos)} combinations each)", total=len(series))
        for data in series:
            frame = run_grid(
                data.prices["open"],
                data.prices["high"],
                data.prices["low"],
                data.prices["close"],
                fast_periods=fast_periods,
                slow_periods=slow_periods,
                rsi_bands=rsi_bands,
                config=config,
                rsi=data.inputs["rsi"],
                st_dir=data.inputs["st_dir"],
                bar_seconds=interval_seconds(data.interval),
                years=data.years,
                first=data.first,
            )
            grid_id = new_id("grid")
            results.append(GridResult(grid_id, data.symbol, data.interval, data.rows, frame))
            tables.append(
                _grid_rows(
                    grid_id,
                    now(),
                    strategy,
                    data,
                    snapshot,
                    features_table,
                    config,
                    frame,
                    (start, end),
                    combos,
                )
            )
            progress.advance(task)
    save(settings, [], [("gold_backtest_grid", table) for table in tables])
    return results


def check_grid_strategy(strategy: Strategy) -> None:
    from hermes.signals.smart_momentum import STRATEGY_ID

    if strategy.strategy_id != STRATEGY_ID:
        raise StrategyError(
            f"the parameter grid is defined for {STRATEGY_ID!r}, not {strategy.strategy_id!r}"
        )


@dataclass
class SeriesData:
    """A whole series up to the period's end, and where the period starts in it."""

    symbol: str
    interval: str
    open_time: np.ndarray
    prices: dict[str, np.ndarray]
    inputs: dict[str, np.ndarray]
    first: int
    data_fingerprint: str

    @property
    def rows(self) -> int:
        return len(self.open_time) - self.first

    @property
    def years(self) -> float:
        return years_of(self.open_time[self.first :], interval_seconds(self.interval))


def read_series(
    conn: Any,
    strategy: Strategy,
    symbol: str,
    interval: str,
    *,
    start: datetime | None,
    end: datetime | None,
    table: str,
) -> SeriesData:
    """Prices and the strategy's RSI / SuperTrend inputs up to ``end``; the period starts at
    the first bar >= ``start`` (:class:`DataError` if the period holds no bar)."""
    prices, inputs, first = load_period(
        conn, strategy, symbol, interval, start=start, end=end, table=table
    )
    times = prices["open_time"]
    ohlcv = [times, *(prices[k] for k in ("open", "high", "low", "close", "volume"))]
    return SeriesData(
        symbol=symbol,
        interval=interval,
        open_time=times,
        prices={k: v for k, v in prices.items() if k != "open_time"},
        inputs=inputs,
        first=first,
        data_fingerprint=fingerprint([a[first:] for a in ohlcv]),
    )


def _grid_rows(
    grid_id: str,
    created_at: datetime,
    strategy: Strategy,
    data: SeriesData,
    snapshot: int,
    features_table: str,
    config: BacktestConfig,
    frame: pd.DataFrame,
    period: tuple[datetime | None, datetime | None],
    combos: list[Combination],
) -> pa.Table:
    import hashlib

    params = [
        json.dumps({**strategy.parameters, **c.overrides()}, sort_keys=True, separators=(",", ":"))
        for c in combos
    ]
    k = len(frame)
    times = data.open_time[data.first :]
    columns: dict[str, Any] = {
        "grid_id": [grid_id] * k,
        "created_at": [created_at] * k,
        "strategy_id": [strategy.strategy_id] * k,
        "strategy_version": [strategy.version] * k,
        "symbol": [data.symbol] * k,
        "interval": [data.interval] * k,
        "period_start": pa.array([period[0]] * k, pa.timestamp("us")),
        "period_end": pa.array([period[1]] * k, pa.timestamp("us")),
        "first_open_time": pa.array(np.repeat(times[:1], k)),
        "last_open_time": pa.array(np.repeat(times[-1:], k)),
        "rows": [data.rows] * k,
        "features_table": [features_table] * k,
        "snapshot_id": [snapshot] * k,
        "data_fingerprint": [data.data_fingerprint] * k,
        "config": [config.as_json] * k,
        "parameters": params,
        "parameters_hash": [hashlib.sha256(p.encode()).hexdigest()[:16] for p in params],
    }
    for name in ("combination", *PARAMETER_COLUMNS, "final_equity"):
        columns[name] = frame[name].to_numpy()
    for name in METRIC_NAMES:
        values = frame[name].to_numpy(dtype=float, na_value=np.nan)
        kind = pa.int64() if name in INTEGER_METRICS else pa.float64()
        columns[name] = pa.array(values, mask=np.isnan(values)).cast(kind)
    return pa.table(columns)


def parse_periods(text: str | None, default: Sequence[int]) -> list[int]:
    """``"5,8,12"`` -> [5, 8, 12] (``None`` -> ``default``); :class:`StrategyError` if bad."""
    if not text:
        return list(default)
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise StrategyError(f"grid: periods {text!r} must be integers separated by commas") from exc


def parse_bands(text: str | None) -> list[tuple[float, float]]:
    """``"45-55,40-60"`` -> [(45, 55), (40, 60)] (``None`` -> the default bands)."""
    if not text:
        return list(DEFAULT_BANDS)
    bands = []
    for part in text.split(","):
        low, sep, high = part.strip().partition("-")
        try:
            bands.append((float(low), float(high)))
        except ValueError as exc:
            raise StrategyError(f"grid: RSI band {part!r} must read low-high, e.g. 45-55") from exc
        if not sep:
            raise StrategyError(f"grid: RSI band {part!r} must read low-high, e.g. 45-55")
    return bands
