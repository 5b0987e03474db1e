"""Read ordered series from the lake's feature tables.

Rows are always read by time range on ``(symbol, interval)`` and ordered by ``open_time``.
To read the lake as of a snapshot, pass a connection from
``hermes.lake.connect(settings, snapshot=n)`` (see :func:`pinned`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np

from hermes.config import Settings
from hermes.lake import connect, current_snapshot

FEATURE_STORE = "gold_feature_store"
"""What strategies read: production features, plus test features when built with them."""
BASE_FEATURES = "gold_features"
"""Production features only (the A side of an A/B comparison)."""
OHLCV = ("open", "high", "low", "close", "volume")

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class DataError(ValueError):
    """Missing table, symbol, interval or column, or an empty period."""


def identifier(name: str) -> str:
    """``name`` if it is a plain lower-case SQL identifier, else :class:`DataError`."""
    if not _IDENTIFIER.match(name):
        raise DataError(f"invalid identifier {name!r}")
    return name


@contextmanager
def pinned(settings: Settings) -> Iterator[tuple[duckdb.DuckDBPyConnection, int]]:
    """A read-only connection to the lake as of its current snapshot, and that snapshot id."""
    conn = connect(settings)
    try:
        snapshot = current_snapshot(conn)
    finally:
        conn.close()
    with at_snapshot(settings, snapshot) as reader:
        yield reader, snapshot


@contextmanager
def at_snapshot(settings: Settings, snapshot: int) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the lake as of ``snapshot`` (closed on exit)."""
    conn = connect(settings, snapshot=snapshot)
    try:
        yield conn
    finally:
        conn.close()


def table_columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Columns of ``table`` (raises :class:`DataError` if the lake has no such table)."""
    try:
        cursor = conn.execute(f"select * from {identifier(table)} limit 0")  # noqa: S608
    except duckdb.CatalogException as exc:
        raise DataError(f"the lake has no table {table!r} (run `hermes build` first)") from exc
    return [d[0] for d in cursor.description or []]


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
