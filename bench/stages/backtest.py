"""Stages: one backtest cold (fresh process) and warm, and a parameter grid in one call.

Both run on the real BTCUSDT 4h candles (the last 8 years) with ``hermes.backtest.engine``,
from Smart Momentum's signals with the registry's parameters (:func:`signals_file`).
"""

from __future__ import annotations

import itertools
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench.synthetic import BUNDLED

BARS_8Y_4H = int(8 * 6 * 365.25)
PRICES = ("open", "high", "low", "close")

# 10 x 10 x 10 = 1,000 combinations of Smart Momentum parameters
GRID_FAST = (5, 8, 10, 12, 15, 20, 25, 30, 40, 50)
GRID_SLOW = (60, 70, 80, 90, 100, 120, 140, 160, 200, 240)
GRID_RSI_BANDS = (
    (45, 55), (40, 60), (35, 65), (30, 70), (50, 60),
    (40, 50), (45, 65), (35, 55), (30, 60), (40, 70),
)  # fmt: skip


def default_parameters() -> dict[str, Any]:
    from hermes.signals.registry import load_strategy

    return dict(load_strategy("smart_momentum").parameters)


def signals_file(work: Path) -> Path:
    """``work/btc-4h-8y-signals.npz``: OHLC, open_time, and Smart Momentum's buy and sell
    signals as entries and exits, saved once so every backtest process starts alike."""
    path = work / "btc-4h-8y-signals.npz"
    if not path.exists():
        from hermes.signals import smart_momentum

        frame = pl.read_csv(BUNDLED / "BTCUSDT_4h.csv.gz").tail(BARS_8Y_4H)
        ohlc: dict[str, Any] = {
            c: frame[c].to_numpy().astype(float) for c in ("open", "high", "low", "close")
        }
        ohlc["open_time"] = frame["timestamp"].str.to_datetime().dt.epoch("ms").to_numpy()
        params = default_parameters()
        flags = smart_momentum.generate(smart_momentum.compute_inputs(ohlc, params), params)
        work.mkdir(parents=True, exist_ok=True)
        np.savez(path, **ohlc, entries=flags["buy_signal"], exits=flags["sell_signal"])
    return path


def _prices(data: Any) -> dict[str, np.ndarray]:
    return {k: data[k] for k in PRICES}


def single(signals_file: str, warm_calls: int = 20) -> dict[str, Any]:
    """Cold: import + first simulation in this fresh process. Warm: median of later calls."""
    data = dict(np.load(signals_file))
    started = time.perf_counter()
    from hermes.backtest.config import BacktestConfig
    from hermes.backtest.engine import simulate

    config = BacktestConfig()
    simulation = simulate(_prices(data), data["entries"], data["exits"], config)
    cold = time.perf_counter() - started
    warm = []
    for _ in range(warm_calls):
        t0 = time.perf_counter()
        simulate(_prices(data), data["entries"], data["exits"], config)
        warm.append(time.perf_counter() - t0)
    return {
        "seconds": statistics.median(warm),
        "cold_seconds": cold,
        "rows": len(data["close"]),
        "trades": int(len(simulation.trades)),
    }


def grid_combinations(size: int) -> list[tuple[int, int, float, float]]:
    combos = [
        (fast, slow, float(low), float(high))
        for fast, slow, (low, high) in itertools.product(GRID_FAST, GRID_SLOW, GRID_RSI_BANDS)
    ]
    return combos[:: max(1, len(combos) // size)][:size]


def grid(signals_file: str, size: int = 1000) -> dict[str, Any]:
    """Signals for ``size`` parameter combinations, then one vectorised simulation.

    Timed from the OHLC arrays: indicators (each distinct period once), the rule's flags for
    every combination, and ``simulate`` over a (bars x combinations) signal matrix.
    """
    from hermes import indicators
    from hermes.backtest.config import BacktestConfig
    from hermes.backtest.engine import simulate
    from hermes.signals import smart_momentum

    defaults = default_parameters()
    data = dict(np.load(signals_file))
    prices = _prices(data)
    combos = grid_combinations(size)
    # warm the numba kernels and vectorbt (2-d signal matrices compile their own variant)
    # outside the timing, as in a session that has already run a backtest
    warm_up = np.stack([data["entries"], data["entries"]], axis=1)
    simulate(prices, warm_up, np.stack([data["exits"], data["exits"]], axis=1), BacktestConfig())
    indicators.ema(prices["close"], 12)
    started = time.perf_counter()
    close = prices["close"]
    emas = {p: indicators.ema(close, p) for p in {c[0] for c in combos} | {c[1] for c in combos}}
    rsi = indicators.rsi(close, defaults["rsi_period"])
    st = (defaults["st_period"], defaults["st_multiplier"])
    _line, direction = indicators.supertrend(prices["high"], prices["low"], close, *st)
    entries = np.empty((len(close), len(combos)), dtype=bool)
    exits = np.empty_like(entries)
    for j, (fast, slow, low, high) in enumerate(combos):
        params = {**defaults, "ema_fast": fast, "ema_slow": slow, "rsi_low": low, "rsi_high": high}
        inputs = {"ema_fast": emas[fast], "ema_slow": emas[slow], "rsi": rsi, "st_dir": direction}
        flags = smart_momentum.generate(inputs, params)
        entries[:, j], exits[:, j] = flags["buy_signal"], flags["sell_signal"]
    signal_seconds = time.perf_counter() - started
    simulation = simulate(prices, entries, exits, BacktestConfig())
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "signal_seconds": signal_seconds,
        "simulate_seconds": seconds - signal_seconds,
        "combinations": len(combos),
        "bars": len(close),
        "trades": int(len(simulation.trades)),
    }
