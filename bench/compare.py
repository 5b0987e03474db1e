"""The alternatives users would otherwise use or write, each a stage of a child process
(:mod:`bench.measure`), timed warm unless said otherwise; docs/benchmarks.md describes each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.lakes import use_lake
from bench.measure import stopwatch
from hermes.live.fake_exchange import BUNDLED

OHLCV = ("open", "high", "low", "close", "volume")
CHUNK = "select * from gold_feature_store where symbol = ? and interval = ? order by open_time "
CHUNK += "limit ? offset ?"


def smart_momentum_flags(frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """The notebook's buy/sell flags of one chunk (with its context rows) of one series."""
    from hermes.signals.smart_momentum import FLAGS, feature_columns

    fast, slow, rsi, direction = (frame[c] for c in feature_columns(params).values())
    out = frame[["symbol", "interval", "open_time"]].copy()
    out["ema_cross"] = (fast > slow) & (fast.shift(1) <= slow.shift(1))
    out["rsi_neutral"] = (rsi >= params["rsi_low"]) & (rsi <= params["rsi_high"])
    out["st_bullish"] = direction == 1
    out["st_exit"] = (direction.shift(1) == 1) & (direction == -1)
    # a comparison with a missing value (warm-up rows) is false, not missing
    out[list(FLAGS)] = out[list(FLAGS)].fillna(False).astype(bool)
    out["buy_signal"] = out["ema_cross"] & out["rsi_neutral"] & out["st_bullish"]
    out["sell_signal"] = out["st_exit"]
    return out


def notebook(work: str, restore_from: str, chunk_rows: int, params: dict[str, Any]) -> Any:
    """The notebook's signals (LIMIT/OFFSET chunks, pandas, a lake table), checked against dbt's."""
    from hermes.lake import connect, table_exists

    series = "select symbol, interval, count(*) from gold_feature_store group by all order by all"
    with connect(use_lake(work, restore_from)) as conn:
        elapsed, parts = stopwatch(), []
        for symbol, interval, total in conn.execute(series).fetchall():
            context = None
            for offset in range(0, total, chunk_rows):
                chunk = conn.execute(CHUNK, [symbol, interval, chunk_rows, offset]).df()
                window = (
                    chunk if context is None else pd.concat([context, chunk], ignore_index=True)
                )
                parts.append(smart_momentum_flags(window, params).iloc[len(window) - len(chunk) :])
                context = window.tail(50)
        conn.register("notebook_frame", signals := pd.concat(parts, ignore_index=True))
        conn.execute(
            "create or replace table bench_notebook_signals as select * from notebook_frame"
        )
        out = {"seconds": elapsed(), "rows": len(signals), "chunk_rows": chunk_rows,
               "buy_signals": int(signals["buy_signal"].sum()),
               "sell_signals": int(signals["sell_signal"].sum())}  # fmt: skip
        if table_exists(conn, "gold_signals_smart_momentum"):
            missing, different = conn.execute("""
                select count(*) filter (where h.open_time is null or n.open_time is null),
                    count(*) filter (where h.buy_signal is distinct from n.buy_signal
                                     or h.sell_signal is distinct from n.sell_signal)
                from gold_signals_smart_momentum as h
                full join bench_notebook_signals as n using (symbol, interval, open_time)
            """).fetchone()  # type: ignore[misc]  # fmt: skip
            out |= {"rows_missing_vs_hermes": missing, "flag_mismatches_vs_hermes": different}
    return out


RULES = ("smart_momentum", "donchian_breakout", "bollinger_reversion")


def _signals(h: Any, low: Any, c: Any, direction: Any, params: dict[str, Any]) -> dict[str, Any]:
    """(buy, sell) of each active rule strategy, decided on each bar's close."""
    import talib

    previous = lambda a: np.concatenate([[np.nan], a[:-1]])  # noqa: E731
    p, d, b = (params[rule] for rule in RULES)
    fast, slow = talib.EMA(c, p["ema_fast"]), talib.EMA(c, p["ema_slow"])
    rsi, (_, middle, lower) = talib.RSI(c, p["rsi_period"]), talib.BBANDS(
        c, b["bb_period"], b["bb_stddevs"], b["bb_stddevs"])  # fmt: skip
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
        }  # fmt: skip


def plain_recompute(out_dir: str, data: list[str] | None = None) -> dict[str, Any]:
    """The daily job without a lake: features, signals and 4h backtests to parquet files."""
    from hermes.config import project_vars
    from hermes.costs import FEES, SLIPPAGE
    from hermes.signals.registry import load_strategy
    from hermes.signals.smart_momentum import feature_columns

    # the registry's parameters, the project's feature periods and the daily job's costs,
    # looked up before the clock starts (a plain script would write them in)
    params, v = {name: load_strategy(name).parameters for name in RULES}, project_vars()
    folders = data or [str(BUNDLED)]
    files = sorted(f for folder in folders for f in Path(folder).glob("*.csv*"))
    elapsed = stopwatch()
    import polars as pl
    import talib
    import vectorbt as vbt

    from hermes.indicators import supertrend

    out, trades, rows = Path(out_dir), {}, 0
    out.mkdir(parents=True, exist_ok=True)
    for path in files:
        frame = pl.read_csv(path, try_parse_dates=True)
        o, h, low, c, volume = (frame[k].to_numpy().astype(float) for k in OHLCV)
        features = {f"sma_{n}": talib.SMA(c, n) for n in v["feature_sma_periods"]}
        features |= {f"ema_{n}": talib.EMA(c, n) for n in v["feature_ema_periods"]}
        features |= {f"rsi_{n}": talib.RSI(c, n) for n in v["feature_rsi_periods"]}
        features |= {f"atr_{n}": talib.ATR(h, low, c, n) for n in v["feature_atr_periods"]}
        for n, k in v["feature_bollinger_params"]:
            bands = zip(("upper", "middle", "lower"), talib.BBANDS(c, n, k, k), strict=True)
            features |= {f"bb_{band}_{n}_{k}": x for band, x in bands}
        for f, s, n in v["feature_macd_params"]:
            lines = zip(("macd", "macd_signal", "macd_hist"), talib.MACD(c, f, s, n), strict=True)
            features |= {f"{name}_{f}_{s}_{n}": x for name, x in lines}
        donchian, returns = v["feature_donchian_periods"], v["feature_return_periods"]
        features |= {f"donchian_upper_{n}": talib.MAX(h, n) for n in donchian}
        features |= {f"donchian_lower_{n}": talib.MIN(low, n) for n in donchian}
        features |= {f"return_{n}": talib.ROC(c, n) / 100 for n in returns}
        features |= {f"log_return_{n}": np.log(c / np.roll(c, n)) for n in returns}
        features["true_range"] = talib.TRANGE(h, low, c)
        features |= {f"volume_zscore_{n}": (volume - talib.SMA(volume, n)) / talib.STDDEV(volume, n)
                     for n in v["feature_volume_zscore_periods"]}  # fmt: skip
        sm = params["smart_momentum"]
        direction = supertrend(h, low, c, sm["st_period"], sm["st_multiplier"])[1]
        features[feature_columns(sm)["st_dir"]] = direction
        signals = _signals(h, low, c, direction, params)
        for name, (buy, sell) in signals.items():
            features |= {f"{name}_buy": buy, f"{name}_sell": sell}
        series = path.name.split(".")[0]
        frame.with_columns(pl.Series(k, x) for k, x in features.items()).write_parquet(
            out / f"{series}.parquet"
        )
        rows += frame.height
        for name, (buy, sell) in signals.items() if series.endswith("_4h") else ():
            # decided on a close, filled at the next open
            entries, exits = (np.concatenate([[False], x[:-1]]) for x in (buy, sell))
            portfolio = vbt.Portfolio.from_signals(
                close=c, price=o, entries=entries, exits=exits, init_cash=10_000.0, fees=FEES,
                slippage=SLIPPAGE, freq="4h")  # fmt: skip
            trades[f"{name} {series.split('_')[0]}"] = int(portfolio.trades.closed.count())
    return {"seconds": elapsed(), "rows": rows, "trades": trades}
