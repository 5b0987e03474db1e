"""Backtest stages on the last 8 years of real BTCUSDT 4h and Smart Momentum's signals
(the registry's parameters): one backtest cold and warm, a grid, and a SQL-only grid."""

from __future__ import annotations

import itertools
import statistics
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench.lakes import use_lake
from bench.measure import stopwatch, warm_calls
from bench.synthetic import BUNDLED

BARS_8Y_4H, PRICES = int(8 * 6 * 365.25), ("open", "high", "low", "close")
GRID_FAST = (5, 8, 10, 12, 15, 20, 25, 30, 40, 50)  # x GRID_SLOW x GRID_RSI_BANDS: 1,000
GRID_SLOW = (60, 70, 80, 90, 100, 120, 140, 160, 200, 240)
GRID_RSI_BANDS = ((45, 55), (40, 60), (35, 65), (30, 70), (50, 60),
                  (40, 50), (45, 65), (35, 55), (30, 60), (40, 70))  # fmt: skip
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
        from hermes.live.fake_exchange import load_bundled
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
    warm, _ = warm_calls(lambda: simulate(prices, entries, exits, BacktestConfig()), calls)
    return {"seconds": statistics.median(warm), "cold_seconds": cold_seconds,
            "rows": len(prices["close"]), "trades": len(simulation.trades)}  # fmt: skip


def grid(signals_file: str, size: int = 1000) -> dict[str, Any]:
    """Indicators once per period, ``size`` combinations' flags, one ``simulate`` of all."""
    from hermes import indicators
    from hermes.backtest.config import BacktestConfig
    from hermes.backtest.engine import simulate
    from hermes.signals import smart_momentum as rule

    defaults, (prices, entries, exits) = smart_momentum(), _load(signals_file)
    combos = list(itertools.product(GRID_FAST, GRID_SLOW, GRID_RSI_BANDS))
    combos = combos[:: max(1, len(combos) // size)][:size]
    # numba kernels and vectorbt's 2-d variant compiled outside the timing, as in a session
    # that has already run a backtest
    simulate(prices, np.stack([entries] * 2, 1), np.stack([exits] * 2, 1), BacktestConfig())
    indicators.ema(prices["close"], 12)
    elapsed, close = stopwatch(), prices["close"]
    emas = {p: indicators.ema(close, p) for p in {c[0] for c in combos} | {c[1] for c in combos}}
    inputs = {
        "rsi": indicators.rsi(close, defaults["rsi_period"]),
        "st_dir": indicators.supertrend(
            prices["high"], prices["low"], close, defaults["st_period"], defaults["st_multiplier"]
        )[1],
    }
    entries, exits = (np.empty((len(close), len(combos)), dtype=bool) for _ in range(2))
    for j, (fast, slow, (low, high)) in enumerate(combos):
        band = {"rsi_low": float(low), "rsi_high": float(high)}
        params = defaults | band | {"ema_fast": fast, "ema_slow": slow}
        flags = rule.generate(inputs | {"ema_fast": emas[fast], "ema_slow": emas[slow]}, params)
        entries[:, j], exits[:, j] = flags["buy_signal"], flags["sell_signal"]
    signal_seconds = elapsed()
    simulation = simulate(prices, entries, exits, BacktestConfig())
    seconds = elapsed()
    return {"seconds": seconds, "signal_seconds": signal_seconds,
            "simulate_seconds": seconds - signal_seconds, "combinations": len(combos),
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
