"""What the study pages read from the lake: study rows, their parameters and statistics."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from hermes.backtest.equity import equity_query
from hermes.lake import DataError, table_columns
from hermes.report.labels import format_metric


def frame(conn: duckdb.DuckDBPyConnection, table: str, key: str, value: str) -> pd.DataFrame:
    """Rows of ``table`` (a constant name) whose ``key`` column equals ``value``."""
    try:
        table_columns(conn, table)
    except DataError as exc:
        raise LookupError(f"no {key} {value!r}: the lake holds no {table} yet") from exc
    rows = conn.execute(
        f"select * from {table} where {key} = ?",  # noqa: S608 (constant names)
        [value],
    ).df()
    if rows.empty:
        raise LookupError(f"no {key} {value!r} in the lake")
    return rows


def runs_equity(conn: duckdb.DuckDBPyConnection, run_ids: list[str]) -> tuple[pd.DataFrame, float]:
    """The equity rows of ``run_ids`` (by run, then time) and their initial cash."""
    sql, params = equity_query(conn, run_ids)
    equity = conn.execute(
        "select run_id, open_time, equity, buy_and_hold_equity "  # noqa: S608 (constant)
        f"from ({sql}) as e order by run_id, open_time",
        params,
    ).df()
    configs = conn.execute(
        "select distinct config from gold_backtest_runs where list_contains(?, run_id)",
        [run_ids],
    ).fetchall()
    return equity, float(json.loads(configs[0][0])["init_cash"]) if configs else 10_000.0


def overfitting(conn: duckdb.DuckDBPyConnection, kind: str, study_id: str) -> list[dict]:
    """The ``gold_backtest_overfitting`` rows of a study (none when it has none yet)."""
    try:
        table_columns(conn, "gold_backtest_overfitting")
    except DataError:
        return []
    rows = conn.execute(
        "select * from gold_backtest_overfitting where study_kind = ? and study_id = ? "
        "order by fold nulls first, created_at",
        [kind, study_id],
    ).df()
    return [{k: clean(v) for k, v in r.items()} for r in rows.to_dict("records")]


def clean(value: Any) -> Any:
    """NaN / NaT (NULL read into pandas) as None."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def parameters(rows: pd.DataFrame) -> pd.DataFrame:
    """The ``parameters`` JSON of each row as columns (same index as ``rows``)."""
    return pd.DataFrame([json.loads(text) for text in rows["parameters"]], index=rows.index)


def varying(params: pd.DataFrame) -> list[str]:
    """Parameters taking more than one value, the most varied first (then in name order)."""
    counts = {c: params[c].astype(str).nunique() for c in params.columns}
    return sorted((c for c, n in counts.items() if n > 1), key=lambda c: (-counts[c], c))


def compact(parameters_json: str, keys: list[str]) -> str:
    """``ema_fast=8, ema_slow=30`` for the given keys (all keys when ``keys`` is empty)."""
    values = json.loads(parameters_json)
    shown = keys or sorted(values)
    return ", ".join(
        f"{k}={values[k]:g}" if _is_number(values.get(k)) else f"{k}={values.get(k)}" for k in shown
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


STAT_ROWS = (
    ("trials", "Combinations tried (N)", "count"),
    ("observations", "Bar returns (T)", "count"),
    ("sharpe", "Sharpe ratio of the chosen one", "sharpe"),
    ("expected_max_sharpe", "Best Sharpe ratio of N skill-less trials", "expected_max_sharpe"),
    ("psr", "Probabilistic Sharpe ratio (vs 0)", "psr"),
    ("dsr", "Deflated Sharpe ratio", "dsr"),
    ("pbo", "Probability of backtest overfitting (CSCV)", "pbo"),
    ("pbo_loss_probability", "Probability of an out-of-sample loss", "pbo_loss_probability"),
)


def statistics_pairs(row: dict[str, Any]) -> list[tuple[str, str]]:
    """A ``gold_backtest_overfitting`` row as readable (label, value) pairs."""
    out = [(heading, format_metric(kind, row.get(key))) for key, heading, kind in STAT_ROWS]
    level = f"{row['ci_level']:.0%}"
    for key, heading, kind in (
        ("sharpe", "Sharpe ratio", "sharpe"),
        ("total_return", "Total return", "total_return"),
    ):
        low, high = row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high")
        shown = (
            "n/a" if low is None else f"{format_metric(kind, low)} .. {format_metric(kind, high)}"
        )
        out.append((f"{heading}, {level} bootstrap interval", shown))
    out.append(
        (
            "Method",
            f"CSCV over {row['pbo_partitions']} blocks ({row['pbo_splits']:,} splits); "
            f"{row['bootstrap_samples']:,} circular block resamples of "
            f"{row['bootstrap_block_bars']} bars (seed {row['bootstrap_seed']})",
        )
    )
    return out


def now_text() -> str:
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M}"
