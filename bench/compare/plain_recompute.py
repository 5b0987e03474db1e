"""The plain baseline of the daily job: recompute everything from the CSV files, no lake.

What a user could write instead of Hermes for the same core work (the bundled data, or
every CSV file of the folders given): polars reads the files, TA-Lib computes the default
indicators of every series (numba the SuperTrend), numpy the signals of every active rule
strategy (Smart Momentum, Donchian Breakout, Bollinger Reversion), vectorbt their
next-open backtests on every 4h series (the registry's parameters, the daily job's fees and
slippage), and parquet files receive the features and signals. No catalog, tests, audit, history or
reproducibility: the point of comparison for what the daily job's bookkeeping costs.
Timed from the function's start, imports included (the child process is fresh).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.measure import stopwatch
from hermes.config import PROJECT_ROOT

DATA = PROJECT_ROOT / "data" / "binance-ohlcv"
RULES = ("smart_momentum", "donchian_breakout", "bollinger_reversion")
OHLCV = ("open", "high", "low", "close", "volume")


def _supertrend_direction(high: Any, low: Any, close: Any, atr: Any, period: int, mult: float):  # type: ignore[no-untyped-def]
    import numpy as np
    from numba import njit

    @njit(cache=True)
    def kernel(high, low, close, atr, period, mult, out):  # type: ignore[no-untyped-def]
        if len(close) <= period:
            return
        middle = (high[period] + low[period]) / 2.0
        upper = middle + mult * atr[period]
        lower = middle - mult * atr[period]
        direction = -1.0
        out[period] = direction
        for i in range(period + 1, len(close)):
            middle = (high[i] + low[i]) / 2.0
            basic_upper = middle + mult * atr[i]
            basic_lower = middle - mult * atr[i]
            if basic_lower > lower or close[i - 1] < lower:
                lower = basic_lower
            if basic_upper < upper or close[i - 1] > upper:
                upper = basic_upper
            if direction < 0:
                direction = 1.0 if close[i] > upper else -1.0
            else:
                direction = -1.0 if close[i] < lower else 1.0
            out[i] = direction

    out = np.full(len(close), np.nan)
    kernel(high, low, close, atr, period, mult, out)
    return out


def _signals(h: Any, low: Any, c: Any, params: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """(buy, sell) of each active rule strategy, decided on each bar's close."""
    import numpy as np
    import talib

    previous = lambda a: np.concatenate([[np.nan], a[:-1]])  # noqa: E731
    p, d, b = params["smart_momentum"], params["donchian_breakout"], params["bollinger_reversion"]
    fast, slow = talib.EMA(c, p["ema_fast"]), talib.EMA(c, p["ema_slow"])
    rsi, atr = talib.RSI(c, p["rsi_period"]), talib.ATR(h, low, c, p["st_period"])
    direction = _supertrend_direction(h, low, c, atr, p["st_period"], p["st_multiplier"])
    _, middle, lower = talib.BBANDS(c, b["bb_period"], b["bb_stddevs"], b["bb_stddevs"])
    with np.errstate(invalid="ignore"):
        cross = (fast > slow) & (previous(fast) <= previous(slow))
        neutral = (rsi >= p["rsi_low"]) & (rsi <= p["rsi_high"])
        return {
            "smart_momentum": (cross & neutral & (direction == 1),
                               (direction == -1) & (previous(direction) == 1)),
            "donchian_breakout": (c > previous(talib.MAX(h, d["entry_period"])),
                                  c < previous(talib.MIN(low, d["exit_period"]))),
            "bollinger_reversion": (
                (previous(c) < previous(lower)) & (c >= lower)
                & (talib.RSI(c, b["rsi_period"]) < b["rsi_max"]), c >= middle),
            "supertrend": direction,
        }  # fmt: skip


def run(out_dir: str, data: list[str] | None = None) -> dict[str, Any]:
    from hermes.costs import FEES, SLIPPAGE
    from hermes.signals.registry import load_strategy
    from hermes.signals.smart_momentum import feature_columns

    # the registry's parameters and the daily job's costs, looked up before the clock starts
    # (a plain script would write them in), so the baseline's time is its own work
    params = {name: load_strategy(name).parameters for name in RULES}
    files = sorted(f for folder in (data or [str(DATA)]) for f in Path(folder).glob("*.csv*"))
    elapsed = stopwatch()
    import numpy as np
    import polars as pl
    import talib
    import vectorbt as vbt

    out, trades, rows = Path(out_dir), {}, 0
    out.mkdir(parents=True, exist_ok=True)
    for path in files:
        frame = pl.read_csv(path, try_parse_dates=True)
        o, h, low, c, v = (frame[k].to_numpy().astype(float) for k in OHLCV)
        features = {f"sma_{n}": talib.SMA(c, n) for n in (20, 50, 200)}
        features |= {f"ema_{n}": talib.EMA(c, n) for n in (12, 26, 50, 200)}
        features |= {"rsi_14": talib.RSI(c, 14), "atr_14": talib.ATR(h, low, c, 14)}
        upper, middle, lower = talib.BBANDS(c, 20, 2, 2)
        features |= {"bb_upper_20_2": upper, "bb_middle_20_2": middle, "bb_lower_20_2": lower}
        macd, signal, hist = talib.MACD(c, 12, 26, 9)
        features |= {"macd_12_26_9": macd, "macd_signal_12_26_9": signal, "macd_hist_12_26_9": hist}
        features |= {"donchian_upper_20": talib.MAX(h, 20), "donchian_lower_20": talib.MIN(low, 20)}
        features |= {"return_1": talib.ROC(c, 1) / 100, "log_return_1": np.log(c / np.roll(c, 1))}
        features["true_range"] = talib.TRANGE(h, low, c)
        features["volume_zscore_20"] = (v - talib.SMA(v, 20)) / talib.STDDEV(v, 20)
        signals = _signals(h, low, c, params)
        features[feature_columns(params["smart_momentum"])["st_dir"]] = signals.pop("supertrend")
        for name, (buy, sell) in signals.items():
            features |= {f"{name}_buy": buy, f"{name}_sell": sell}
        columns = [pl.Series(k, x) for k, x in features.items()]
        series = path.name.split(".")[0]
        frame.with_columns(columns).write_parquet(out / f"{series}.parquet")
        rows += frame.height
        if not series.endswith("_4h"):
            continue
        for name, (buy, sell) in signals.items():  # decided on a close, filled at the next open
            entries, exits = (np.concatenate([[False], x[:-1]]) for x in (buy, sell))
            portfolio = vbt.Portfolio.from_signals(
                close=c, price=o, entries=entries, exits=exits, init_cash=10_000.0, fees=FEES,
                slippage=SLIPPAGE, freq="4h")  # fmt: skip
            trades[f"{name} {series.split('_')[0]}"] = int(portfolio.trades.closed.count())
    return {"seconds": elapsed(), "rows": rows, "trades": trades}
