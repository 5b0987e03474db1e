"""Backtest stages on the last 8 years of real BTCUSDT 4h and Smart Momentum's signals
(the registry's parameters): one backtest cold and warm, a grid, and a SQL-only grid."""

from __future__ import annotations

import statistics
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench.lakes import use_lake
from bench.measure import stopwatch
from hermes.live.fake_exchange import BUNDLED, load_bundled

BARS_8Y_4H, PRICES = int(8 * 6 * 365.25), ("open", "high", "low", "close")
GRID_AXES = ["ema_fast=5,8,10,12,15,20,25,30,40,50", "ema_slow=60,70,80,90,100,120,140,160,200,240"]
GRID_AXES += ["rsi_low:rsi_high=45:55,40:60,35:65,30:70,50:60,40:50,45:65,35:55,30:60,40:70"]
SQL_STRATEGY = "donchian_breakout"  # entry 10 values x exit 10 values: 100 sets
SQL_AXES = ("entry_period=10,15,20,25,30,40,50,60,80,100",
            "exit_period=5,10,15,20,25,30,40,50,60,80")  # fmt: skip
SQL_SERIES = [str(BUNDLED / f"{symbol}_4h.csv.gz") for symbol in ("BTCUSDT", "ETHUSDT")]


def smart_momentum() -> dict[str, Any]:
    """Smart Momentum's parameters, as the strategy registry holds them."""
    from hermes.signals.registry import load_strategy

    return dict(load_strategy("smart_momentum").parameters)


def signals_file(work: Path) -> Path:
    """OHLC, open_time and Smart Momentum's entries and exits, saved once for every process."""
    if not (path := work / "btc-4h-8y-signals.npz").exists():
        from hermes.signals import smart_momentum as rule

        bars = load_bundled("BTCUSDT", "4h")
        ohlc: dict[str, Any] = dict(zip(PRICES, bars.ohlcv[-BARS_8Y_4H:, :4].T.copy(), strict=True))
        ohlc["open_time"] = bars.open_time[-BARS_8Y_4H:]
        flags = rule.generate(rule.compute_inputs(ohlc, params := smart_momentum()), params)
        work.mkdir(parents=True, exist_ok=True)
        np.savez(path, **ohlc, entries=flags["buy_signal"], exits=flags["sell_signal"])
    return path


def _load(signals_file: str) -> tuple[dict[str, np.ndarray], Any, Any]:
    data = dict(np.load(signals_file))
    return {k: data[k] for k in PRICES}, data["entries"], data["exits"]


def single(signals_file: str, calls: int = 20) -> dict[str, Any]:
    """Cold: import + first simulation in this fresh process. Warm: median of later calls."""
    prices, entries, exits = _load(signals_file)
    cold = stopwatch()
    from hermes.backtest.config import BacktestConfig
    from hermes.backtest.engine import simulate

    simulation, cold_seconds = simulate(prices, entries, exits, BacktestConfig()), cold()
    simulate(prices, entries, exits, BacktestConfig())  # untimed: caches warmed
    warm = []
    for _ in range(calls):
        elapsed = stopwatch()
        simulate(prices, entries, exits, BacktestConfig())
        warm.append(elapsed())
    return {"seconds": statistics.median(warm), "cold_seconds": cold_seconds,
            "rows": len(prices["close"]), "trades": len(simulation.trades)}  # fmt: skip


def grid(signals_file: str, size: int = 1000) -> dict[str, Any]:
    """``size`` parameter sets' signals by Smart Momentum's accelerator (each indicator once),
    then one ``simulate`` of all."""
    from hermes import indicators
    from hermes.backtest.config import BacktestConfig
    from hermes.backtest.engine import simulate
    from hermes.backtest.grid import parameter_sets, parse_axis
    from hermes.signals.accelerators import ACCELERATORS
    from hermes.signals.registry import load_strategy
    from hermes.signals.source import accelerate

    prices, entries, exits = _load(signals_file)
    sets = parameter_sets(load_strategy("smart_momentum"), [parse_axis(a) for a in GRID_AXES])
    sets = sets[:: max(1, len(sets) // size)][:size]
    # numba kernels and vectorbt's 2-d variant compiled outside the timing, as in a session
    # that has already run a backtest
    simulate(prices, np.stack([entries] * 2, 1), np.stack([exits] * 2, 1), BacktestConfig())
    indicators.ema(prices["close"], 12)
    elapsed, close = stopwatch(), prices["close"]
    flags = accelerate(ACCELERATORS["smart_momentum"], prices, {}, sets)
    entries, exits = (np.column_stack([f[k] for f in flags]) for k in ("buy_signal", "sell_signal"))
    signal_seconds = elapsed()
    simulation = simulate(prices, entries, exits, BacktestConfig())
    seconds = elapsed()
    return {"seconds": seconds, "signal_seconds": signal_seconds,
            "simulate_seconds": seconds - signal_seconds, "combinations": len(sets),
            "bars": len(close), "trades": len(simulation.trades)}  # fmt: skip


def sql_grid(work: str) -> dict[str, Any]:
    """100 sets of the SQL-only strategy evaluated in process over 8 years of both series."""
    from hermes.backtest.grid import parse_axis, run_grid_backtest
    from hermes.backtest.request import BacktestRequest
    from hermes.lake import connect

    with connect(settings := use_lake(work)) as conn:
        last: Any = conn.execute("select max(open_time) from gold_feature_store").fetchone()
    start = last[0] - timedelta(days=8 * 365.25)
    elapsed = stopwatch()
    results = run_grid_backtest(settings, BacktestRequest(SQL_STRATEGY, None, ["4h"], start=start),
                                [parse_axis(axis) for axis in SQL_AXES])  # fmt: skip
    return {"seconds": elapsed(), "parameter_sets": len(results[0].parameter_sets),
            "series": len(results), "bars": sum(r.rows for r in results),
            "trades": int(sum(r.results["trades"].sum() for r in results))}  # fmt: skip
