"""Candles from the market-data API as ``silver_klines`` rows, with their provisional
lineage (provider ``api``, source file ``api/<SYMBOL>/<INTERVAL>/<day>``): the rows the warm
path appends and the live store lands, until the day's archive supersedes them."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from hermes.intervals import interval_seconds
from hermes.live.client import Candle
from hermes.live.sources import SeriesKey

API_PROVIDER = "api"
"""``provider`` of candles landed from the market-data API (provisional lineage)."""

INSERT_KLINES = """
    insert into live_klines by name
    select *,
        high >= greatest(open, close) as is_high_valid,
        low <= least(open, close) as is_low_valid,
        volume >= 0 as is_volume_valid,
        least(open, high, low, close) > 0 as is_price_positive,
        (high >= greatest(open, close) and low <= least(open, close)
            and volume >= 0 and least(open, high, low, close) > 0) as is_valid
    from live_new
"""
"""Appends ``live_new`` (rows of :func:`kline_rows`) to ``live_klines`` with the validity
flags ``silver_klines`` computes."""


def api_source_file(symbol: str, interval: str, candle: Candle) -> str:
    """The provisional lineage of an API candle: ``api/<SYMBOL>/<INTERVAL>/<day>``."""
    return f"api/{symbol}/{interval}/{symbol}-{interval}-{candle.opened:%Y-%m-%d}"


def kline_rows(key: SeriesKey, candles: list[Candle], ingested_at: Any) -> pa.Table:
    """A series' API candles as ``silver_klines`` rows (before the validity flags)."""
    symbol, interval = key
    step = interval_seconds(interval) * 1000
    n = len(candles)
    return pa.table(
        {
            "provider": [API_PROVIDER] * n,
            "market": ["spot"] * n,
            "symbol": [symbol] * n,
            "interval": [interval] * n,
            "open_time": pa.array([c.open_time * 1000 for c in candles], pa.timestamp("us")),
            "close_time": pa.array(
                [(c.open_time + step - 1) * 1000 for c in candles], pa.timestamp("us")
            ),
            "open": [c.open for c in candles],
            "high": [c.high for c in candles],
            "low": [c.low for c in candles],
            "close": [c.close for c in candles],
            "volume": [c.volume for c in candles],
            "quote_asset_volume": [c.quote_asset_volume for c in candles],
            "number_of_trades": [c.number_of_trades for c in candles],
            "taker_buy_base_asset_volume": [c.taker_buy_base_asset_volume for c in candles],
            "taker_buy_quote_asset_volume": [c.taker_buy_quote_asset_volume for c in candles],
            "source_file": [api_source_file(symbol, interval, c) for c in candles],
            "source_sha256": [""] * n,
            "ingested_at": pa.array([ingested_at] * n, pa.timestamp("us")),
        }
    )
