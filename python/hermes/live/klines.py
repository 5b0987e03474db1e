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


def kline_rows(items: list[tuple[SeriesKey, list[Candle]]], ingested_at: Any) -> pa.Table:
    """Several series' API candles as ``silver_klines`` rows (before the validity flags), in
    one table: the series one after the other, each's candles in order."""
    rows = [(key, c) for key, candles in items for c in candles]
    step = {key: interval_seconds(key[1]) * 1000 for key, _ in items}
    n = len(rows)
    return pa.table(
        {
            "provider": [API_PROVIDER] * n,
            "market": ["spot"] * n,
            "symbol": [key[0] for key, _ in rows],
            "interval": [key[1] for key, _ in rows],
            "open_time": pa.array([c.open_time * 1000 for _, c in rows], pa.timestamp("us")),
            "close_time": pa.array(
                [(c.open_time + step[key] - 1) * 1000 for key, c in rows], pa.timestamp("us")
            ),
            "open": [c.open for _, c in rows],
            "high": [c.high for _, c in rows],
            "low": [c.low for _, c in rows],
            "close": [c.close for _, c in rows],
            "volume": [c.volume for _, c in rows],
            "quote_asset_volume": [c.quote_asset_volume for _, c in rows],
            "number_of_trades": [c.number_of_trades for _, c in rows],
            "taker_buy_base_asset_volume": [c.taker_buy_base_asset_volume for _, c in rows],
            "taker_buy_quote_asset_volume": [c.taker_buy_quote_asset_volume for _, c in rows],
            "source_file": [api_source_file(*key, c) for key, c in rows],
            "source_sha256": [""] * n,
            "ingested_at": pa.array([ingested_at] * n, pa.timestamp("us")),
        }
    )
