"""Baseline: the design notebook's way of generating signals, written plainly with pandas.

For each series it counts the rows, then reads the feature table back from DuckDB in
chunks of ``chunk_rows`` with ``order by open_time limit ? offset ?`` (every column, as the
notebook does), prepends a fixed context buffer of the previous chunk's last rows,
computes the Smart Momentum flags with pandas ``shift``, drops the buffer rows and finally
writes all signals to a lake table. Hermes is compared against this in the same run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd

from bench.lakes import use_lake

FEATURES = "gold_feature_store"
OUTPUT = "bench_notebook_signals"
CONTEXT_ROWS = 50


def smart_momentum_flags(frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Buy/sell flags for one chunk (with its context rows) of one series."""
    from hermes.indicators.recursive_features import suffix

    fast, slow = frame[f"ema_{params['ema_fast']}"], frame[f"ema_{params['ema_slow']}"]
    rsi = frame[f"rsi_{params['rsi_period']}"]
    direction = frame[f"supertrend_dir_{suffix(params['st_period'], params['st_multiplier'])}"]
    out = frame[["symbol", "interval", "open_time"]].copy()
    out["ema_cross"] = (fast > slow) & (fast.shift(1) <= slow.shift(1))
    out["rsi_neutral"] = (rsi >= params["rsi_low"]) & (rsi <= params["rsi_high"])
    out["st_bullish"] = direction == 1
    out["st_exit"] = (direction.shift(1) == 1) & (direction == -1)
    for flag in ("ema_cross", "rsi_neutral", "st_bullish", "st_exit"):
        # a comparison with a missing value (warm-up rows) is false, not missing
        out[flag] = out[flag].fillna(False).astype(bool)
    out["buy_signal"] = out["ema_cross"] & out["rsi_neutral"] & out["st_bullish"]
    out["sell_signal"] = out["st_exit"]
    return out


def notebook_signals(conn: Any, params: dict[str, Any], chunk_rows: int) -> pd.DataFrame:
    series = conn.execute(
        f"select symbol, interval, count(*) from {FEATURES} group by all order by all"  # noqa: S608 (constant)
    ).fetchall()
    parts = []
    for symbol, interval, total in series:
        context = None
        for offset in range(0, total, chunk_rows):
            chunk = conn.execute(
                f"select * from {FEATURES} where symbol = ? and interval = ? "  # noqa: S608 (constant)
                "order by open_time limit ? offset ?",
                [symbol, interval, chunk_rows, offset],
            ).df()
            window = chunk if context is None else pd.concat([context, chunk], ignore_index=True)
            flags = smart_momentum_flags(window, params)
            parts.append(flags.iloc[len(window) - len(chunk) :])
            context = window.tail(CONTEXT_ROWS)
    return pd.concat(parts, ignore_index=True)


def run(work: str, restore_from: str, chunk_rows: int, params: dict[str, Any]) -> dict[str, Any]:
    """Time the baseline end to end (read features, compute, write signals)."""
    from hermes.lake import connect

    with connect(use_lake(Path(work), restore_from)) as conn:
        started = time.perf_counter()
        signals = notebook_signals(conn, params, chunk_rows)
        conn.register("notebook_frame", signals)
        conn.execute(f"create or replace table {OUTPUT} as select * from notebook_frame")  # noqa: S608 (constant)
        seconds = time.perf_counter() - started
        mismatches = _mismatches(conn)
    return {
        "seconds": seconds, "rows": len(signals), "chunk_rows": chunk_rows,
        "buy_signals": int(signals["buy_signal"].sum()),
        "sell_signals": int(signals["sell_signal"].sum()), **mismatches,
    }  # fmt: skip


def _mismatches(conn: Any) -> dict[str, Any]:
    """Rows where the baseline and Hermes' dbt signals disagree (when the dbt table exists)."""
    exists = conn.execute(
        "select count(*) from duckdb_tables() where database_name = 'lake' "
        "and table_name = 'gold_signals_smart_momentum'"
    ).fetchone()[0]
    if not exists:
        return {}
    row = conn.execute(
        f"""
        select
            count(*) filter (where h.open_time is null or n.open_time is null),
            count(*) filter (where h.buy_signal is distinct from n.buy_signal
                             or h.sell_signal is distinct from n.sell_signal)
        from gold_signals_smart_momentum as h
        full join {OUTPUT} as n using (symbol, interval, open_time)
        """  # noqa: S608 (constant)
    ).fetchone()
    return {"rows_missing_vs_hermes": int(row[0]), "flag_mismatches_vs_hermes": int(row[1])}
