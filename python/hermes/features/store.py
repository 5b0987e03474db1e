"""Read ordered series from the lake's feature tables.

Rows are always read by time range on ``(symbol, interval)`` and ordered by ``open_time``.
To read the lake as of a snapshot, pass a connection from :func:`hermes.lake.at_snapshot`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np

from hermes.lake import DataError, identifier, table_columns

FEATURE_STORE = "gold_feature_store"
"""What strategies read: production features, plus test features when built with them."""
BASE_FEATURES = "gold_features"
"""Production features only (the A side of an A/B comparison)."""
OHLCV = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Series:
    """One (symbol, interval) series held in a feature table."""

    symbol: str
    interval: str
    rows: int
    first_open_time: datetime
    last_open_time: datetime


def list_series(conn: duckdb.DuckDBPyConnection, table: str = FEATURE_STORE) -> list[Series]:
    table_columns(conn, table)
    rows = conn.execute(  # validated identifier
        f"select symbol, interval, count(*), min(open_time), max(open_time) "  # noqa: S608
        f"from {identifier(table)} group by all order by symbol, interval"
    ).fetchall()
    return [Series(*row) for row in rows]


def select_series(
    conn: Any,
    symbols: list[str] | None,
    intervals: list[str] | None,
    table: str,
) -> list[tuple[str, str]]:
    """The requested (symbol, interval) pairs, checked against what ``table`` holds."""
    held = {(s.symbol, s.interval) for s in list_series(conn, table)}
    held_symbols = sorted({s for s, _ in held})
    held_intervals = sorted({i for _, i in held})
    for symbol in symbols or []:
        if symbol not in held_symbols:
            raise DataError(
                f"symbol {symbol!r} is not in the lake's {table} "
                f"(has: {', '.join(held_symbols) or 'none'})"
            )
    for interval in intervals or []:
        if interval not in held_intervals:
            raise DataError(
                f"interval {interval!r} is not in the lake's {table} "
                f"(has: {', '.join(held_intervals) or 'none'})"
            )
    pairs = sorted(
        (s, i)
        for s, i in held
        if (not symbols or s in symbols) and (not intervals or i in intervals)
    )
    if not pairs:
        raise DataError(f"no series in {table} for symbols={symbols} intervals={intervals}")
    return pairs


def read_rows(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    symbol: str,
    interval: str,
    columns: list[str],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, np.ndarray]:
    """``open_time`` (datetime64[us]) and ``columns`` (float64, NULL as NaN), ordered by time.

    ``start`` is inclusive and ``end`` exclusive; either may be omitted.
    """
    selected = "".join(f", cast({identifier(c)} as double) as {c}" for c in columns)
    where = "symbol = ? and interval = ?"
    params: list[object] = [symbol, interval]
    if start is not None:
        where += " and open_time >= ?"
        params.append(start)
    if end is not None:
        where += " and open_time < ?"
        params.append(end)
    table_sql = identifier(table)
    arrow = conn.execute(  # validated identifiers, bound values
        f"select open_time{selected} from {table_sql} where {where} order by open_time",  # noqa: S608
        params,
    ).to_arrow_table()
    out = {name: arrow.column(name).to_numpy() for name in arrow.column_names}
    out["open_time"] = out["open_time"].astype("datetime64[us]")
    return out
