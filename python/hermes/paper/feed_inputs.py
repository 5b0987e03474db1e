"""What a signal-feed row depends on, as one fingerprint, so a refresh recomputes only the
rows whose inputs changed.

A feed row (:mod:`hermes.paper.feed`) is decided by the strategy (its id, version and the
parameters its signal table was built with), the settings its position is simulated with,
the signal model's SQL, the series' prices and signals up to the last bar, and whether the
pair is delisted at the time of the refresh. Everything else in the row (the bar's age,
``stale``, ``computed_at``, the snapshot) only restates the time of the refresh.

The prices and signals of every series are summed up by one query per table (the number of
bars, the last bar, and the sum of a hash of every row: a candle landed again with other
values, or a signal table rebuilt with other features, changes it), so a refresh with one
new day reads the full history of only the series with new bars.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import duckdb

from hermes.backtest.config import BacktestConfig, run_hash
from hermes.features.store import OHLCV
from hermes.lake import identifier
from hermes.signals.registry import Strategy

SeriesKey = tuple[str, str]
"""(symbol, interval)."""


def series_digests(
    reader: duckdb.DuckDBPyConnection,
    table: str,
    *,
    columns: tuple[str, ...] | None = None,
    end: datetime | None = None,
) -> dict[SeriesKey, str]:
    """(symbol, interval) -> a digest of its rows of ``table`` before ``end`` (all: None):
    their number, the last open time and the sum of a hash of ``columns`` (the whole row:
    None)."""
    hashed = "hash(t)" if columns is None else f"hash({', '.join(map(identifier, columns))})"
    where, params = ("where open_time < ?", [end]) if end is not None else ("", [])
    rows = reader.execute(  # validated identifiers, bound values
        f"select symbol, interval, count(*), max(open_time), sum({hashed})::varchar "  # noqa: S608
        f"from {identifier(table)} as t {where} group by all",
        params,
    ).fetchall()
    return {(str(s), str(i)): f"{n}|{last}|{total}" for s, i, n, last, total in rows}


def price_digests(
    reader: duckdb.DuckDBPyConnection, table: str, *, end: datetime | None = None
) -> dict[SeriesKey, str]:
    """The digest of each series' bars (open time and OHLCV) in the feature table."""
    return series_digests(reader, table, columns=("open_time", *OHLCV), end=end)


def feed_fingerprint(
    strategy: Strategy,
    config: BacktestConfig,
    model_hash: str,
    series: SeriesKey,
    prices: str,
    signals: str,
    delisted: bool,
) -> str:
    """SHA-256 of everything one feed row is decided on (see the module's docstring)."""
    text = "|".join(
        (
            strategy.strategy_id,
            strategy.version,
            run_hash(strategy.parameters_json, config),
            model_hash,
            *series,
            prices,
            signals,
            str(delisted),
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()
