"""The changed-series cursor of the per-series Python models (``hermes.incremental``) on
real candles: new, re-landed and removed candles, and the delete of removed ones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import duckdb
import pytest

from hermes.config import PROJECT_ROOT
from hermes.incremental import changed_series, delete_removed_candles

BUNDLED = PROJECT_ROOT / "data" / "binance-ohlcv"
LANDED = datetime(2024, 1, 1)


@pytest.fixture
def session() -> Iterator[duckdb.DuckDBPyConnection]:
    """``klines`` (the first 10 bundled candles of each 4h and 1d series) and ``model_rows``
    (a model built from them, landed at ``LANDED``)."""
    conn = duckdb.connect()
    conn.execute(
        "create table klines (symbol varchar, interval varchar, open_time timestamp, "
        "ingested_at timestamp)"
    )
    for symbol in ("BTCUSDT", "ETHUSDT"):
        for interval in ("4h", "1d"):
            conn.execute(
                'insert into klines select ?, ?, "timestamp", ? from read_csv(?) limit 10',
                [symbol, interval, LANDED, str(BUNDLED / f"{symbol}_{interval}.csv.gz")],
            )
    conn.execute("create table model_rows as select * from klines")
    yield conn
    conn.close()


def _open_time(conn: duckdb.DuckDBPyConnection, symbol: str, interval: str, n: int) -> datetime:
    """Open time of the ``n``-th candle (from 0) of a series of ``klines``."""
    row = conn.execute(
        "select open_time from klines where symbol = ? and interval = ? order by 1 "
        "limit 1 offset ?",
        [symbol, interval, n],
    ).fetchone()
    assert row is not None
    return row[0]


def test_nothing_changed_nothing_to_do(session: duckdb.DuckDBPyConnection) -> None:
    assert changed_series(session, "klines", "model_rows") == []
    delete_removed_candles(session, "klines", "model_rows")
    assert session.execute("select count(*) from model_rows").fetchone() == (40,)


def test_full_build_computes_every_series(session: duckdb.DuckDBPyConnection) -> None:
    assert changed_series(session, "klines", None, ["1d"]) == [
        ("BTCUSDT", "1d", None),
        ("ETHUSDT", "1d", None),
    ]
    delete_removed_candles(session, "klines", None)  # nothing built: nothing to delete
    assert session.execute("select count(*) from model_rows").fetchone() == (40,)


def test_removed_candles_rewrite_from_the_first_removed(
    session: duckdb.DuckDBPyConnection,
) -> None:
    removed = _open_time(session, "BTCUSDT", "4h", 3)
    relanded = _open_time(session, "BTCUSDT", "4h", 6)
    gone = _open_time(session, "ETHUSDT", "1d", 9)
    assert (removed, relanded, gone) == (
        datetime(2017, 8, 17, 16),
        datetime(2017, 8, 18, 4),
        datetime(2017, 8, 26),
    )
    session.execute(
        "delete from klines where symbol = 'BTCUSDT' and interval = '4h' and open_time = ?",
        [removed],
    )
    session.execute(
        "update klines set ingested_at = ? where symbol = 'BTCUSDT' and interval = '4h' "
        "and open_time >= ?",
        [datetime(2024, 2, 1), relanded],
    )
    session.execute(
        "delete from klines where symbol = 'ETHUSDT' and interval = '1d' and open_time = ?",
        [gone],
    )
    # BTCUSDT 4h: from its removed candle, before its re-landed ones; ETHUSDT 1d: its last
    assert changed_series(session, "klines", "model_rows") == [
        ("BTCUSDT", "4h", removed),
        ("ETHUSDT", "1d", gone),
    ]
    assert changed_series(session, "klines", "model_rows", ["4h"]) == [("BTCUSDT", "4h", removed)]
    delete_removed_candles(session, "klines", "model_rows")
    assert (
        session.execute(
            "select symbol, interval, open_time from model_rows anti join klines "
            "using (symbol, interval, open_time)"
        ).fetchall()
        == []
    )
    assert session.execute("select count(*) from model_rows").fetchone() == (38,)
    # after the run the removed candles are no longer a change
    session.execute("update model_rows set ingested_at = ? ", [datetime(2024, 2, 1)])
    assert changed_series(session, "klines", "model_rows") == []
