"""The data a backtest reads: one series' prices and its strategy signals over a period.

Rows are read from the feature table (through a connection pinned to a snapshot), from the
first bar up to the period's end, so indicators computed here (periods the store does not
hold) see their whole history; signals are then cut to ``[start, end)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np

from hermes.backtest.provenance import fingerprint
from hermes.signals.registry import Strategy
from hermes.signals.rules import rule_for
from hermes.signals.store import DataError, read_rows, table_columns

_INTERVAL = re.compile(r"^(\d+)([mhdw])$")
_OHLCV = ("open", "high", "low", "close", "volume")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def interval_seconds(interval: str) -> int:
    """Length of a Binance-style interval (``4h`` -> 14400)."""
    match = _INTERVAL.match(interval)
    if not match:
        raise DataError(f"unsupported interval {interval!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@dataclass
class MarketSlice:
    """Prices, signals and provenance of one (symbol, interval, period)."""

    symbol: str
    interval: str
    open_time: np.ndarray
    prices: dict[str, np.ndarray]
    entries: np.ndarray
    exits: np.ndarray
    flags: dict[str, np.ndarray] = field(default_factory=dict)
    data_fingerprint: str = ""
    features_version: str = ""

    @property
    def rows(self) -> int:
        return len(self.open_time)

    @property
    def bar_seconds(self) -> int:
        return interval_seconds(self.interval)

    @property
    def years(self) -> float:
        span = (self.open_time[-1] - self.open_time[0]).astype("timedelta64[s]").astype(np.int64)
        return (int(span) + self.bar_seconds) / (365.25 * 86_400)


def load_inputs(
    conn: duckdb.DuckDBPyConnection,
    strategy: Strategy,
    symbol: str,
    interval: str,
    *,
    end: datetime | None,
    table: str,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[str]]:
    """(prices incl. open_time, strategy inputs, feature columns read) up to ``end``."""
    rule = rule_for(strategy.strategy_id)
    mapping = rule.feature_columns(strategy.parameters)
    held = set(table_columns(conn, table))
    from_store = {name: column for name, column in mapping.items() if column in held}
    columns = ["open", "high", "low", "close", "volume", *from_store.values()]
    rows = read_rows(conn, table, symbol, interval, columns, end=end)
    inputs = {name: rows[column] for name, column in from_store.items()}
    missing = tuple(name for name in mapping if name not in from_store)
    if missing and len(rows["open_time"]):
        inputs.update(rule.compute_inputs(rows, strategy.parameters, missing))
    prices = {k: rows[k] for k in ("open_time", "open", "high", "low", "close", "volume")}
    return prices, inputs, list(from_store.values())


def load_period(
    conn: duckdb.DuckDBPyConnection,
    strategy: Strategy,
    symbol: str,
    interval: str,
    *,
    start: datetime | None,
    end: datetime | None,
    table: str,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
    """Prices and strategy inputs up to ``end``, and the index of the first bar >= ``start``.

    Bars before ``start`` are read too (they warm the inputs up); :class:`DataError` if the
    period holds no bar.
    """
    if start is not None and end is not None and start >= end:
        raise DataError(f"empty period: start {start} is not before end {end}")
    prices, inputs, _columns = load_inputs(conn, strategy, symbol, interval, end=end, table=table)
    times = prices["open_time"]
    first = 0 if start is None else int(np.searchsorted(times, np.datetime64(start, "us")))
    if first >= len(times):
        raise DataError(
            f"no {symbol} {interval} data in {table} for period "
            f"[{start or 'start'}, {end or 'end'})"
        )
    return prices, inputs, first


def load_slice(
    conn: duckdb.DuckDBPyConnection,
    strategy: Strategy,
    symbol: str,
    interval: str,
    *,
    start: datetime | None,
    end: datetime | None,
    table: str,
) -> MarketSlice:
    """Prices and signals of the period; :class:`DataError` if the period holds no bar."""
    prices, inputs, first = load_period(
        conn, strategy, symbol, interval, start=start, end=end, table=table
    )
    times = prices["open_time"]
    flags = rule_for(strategy.strategy_id).generate(inputs, strategy.parameters)
    cut = slice(first, None)
    period_prices = {k: v[cut] for k, v in prices.items() if k != "open_time"}
    return MarketSlice(
        symbol=symbol,
        interval=interval,
        open_time=times[cut],
        prices=period_prices,
        entries=flags["buy_signal"][cut],
        exits=flags["sell_signal"][cut],
        flags={k: v[cut] for k, v in flags.items()},
        data_fingerprint=fingerprint([times, *(prices[k] for k in _OHLCV)]),
        features_version=fingerprint([inputs[k] for k in sorted(inputs)]),
    )
