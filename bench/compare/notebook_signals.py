"""Baseline: the design notebook's way of generating signals, written plainly with pandas.

For each series it reads the feature table back from DuckDB in chunks of ``chunk_rows``
(``order by open_time limit ? offset ?``, every column, as the notebook does), prepends the
previous chunk's last rows as context, computes Smart Momentum's flags with pandas ``shift``,
drops the context rows and finally writes all signals to a lake table.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bench.lakes import use_lake
from bench.measure import stopwatch

FEATURES, OUTPUT, CONTEXT_ROWS = "gold_feature_store", "bench_notebook_signals", 50
FLAGS = ("ema_cross", "rsi_neutral", "st_bullish", "st_exit")


def smart_momentum_flags(frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Buy/sell flags for one chunk (with its context rows) of one series (the feature
    store's columns for these parameters named as Smart Momentum names them)."""
    from hermes.signals.smart_momentum import feature_columns

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


def notebook_signals(conn: Any, params: dict[str, Any], chunk_rows: int) -> pd.DataFrame:
    query = f"select * from {FEATURES} where symbol = ? and interval = ? order by open_time"  # noqa: S608
    series = f"select symbol, interval, count(*) from {FEATURES} group by all order by all"  # noqa: S608
    parts = []
    for symbol, interval, total in conn.execute(series).fetchall():
        context = None
        for offset in range(0, total, chunk_rows):
            chunk = conn.execute(
                query + " limit ? offset ?", [symbol, interval, chunk_rows, offset]
            ).df()
            window = chunk if context is None else pd.concat([context, chunk], ignore_index=True)
            parts.append(smart_momentum_flags(window, params).iloc[len(window) - len(chunk) :])
            context = window.tail(CONTEXT_ROWS)
    return pd.concat(parts, ignore_index=True)


def run(work: str, restore_from: str, chunk_rows: int, params: dict[str, Any]) -> dict[str, Any]:
    """Time the baseline end to end (read features, compute, write signals)."""
    from hermes.lake import connect

    with connect(use_lake(work, restore_from)) as conn:
        elapsed = stopwatch()
        signals = notebook_signals(conn, params, chunk_rows)
        conn.register("notebook_frame", signals)
        conn.execute(f"create or replace table {OUTPUT} as select * from notebook_frame")  # noqa: S608
        seconds, mismatches = elapsed(), _mismatches(conn)
    return {"seconds": seconds, "rows": len(signals), "chunk_rows": chunk_rows,
            "buy_signals": int(signals["buy_signal"].sum()),
            "sell_signals": int(signals["sell_signal"].sum()), **mismatches}  # fmt: skip


def _mismatches(conn: Any) -> dict[str, Any]:
    """Rows where the baseline and Hermes' dbt signals disagree (when the dbt table exists)."""
    if not conn.execute(
        "select count(*) from duckdb_tables() where database_name = 'lake' "
        "and table_name = 'gold_signals_smart_momentum'"
    ).fetchone()[0]:
        return {}
    row = conn.execute(f"""
        select
            count(*) filter (where h.open_time is null or n.open_time is null),
            count(*) filter (where h.buy_signal is distinct from n.buy_signal
                             or h.sell_signal is distinct from n.sell_signal)
        from gold_signals_smart_momentum as h
        full join {OUTPUT} as n using (symbol, interval, open_time)
    """).fetchone()  # noqa: S608  # fmt: skip
    return {"rows_missing_vs_hermes": int(row[0]), "flag_mismatches_vs_hermes": int(row[1])}
