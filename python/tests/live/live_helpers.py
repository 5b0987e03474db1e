"""Constants and comparisons the live tests share."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from hermes.config import Settings
from hermes.lake import pinned

SYMBOLS = ("BTCUSDT", "ETHUSDT")
STEP_MS = 4 * 3600 * 1000
API_ONLY = {"ingested_at", "quote_asset_volume", "number_of_trades"}
"""Lineage and fields the bundled CSV files do not carry (null in the batch, 0 from the API)."""


def batch_features(settings: Settings, key: tuple[str, str], since: object) -> pa.Table:
    """The batch's gold_features rows of a series from ``since`` on."""
    with pinned(settings) as (reader, _):
        return reader.execute(
            "select * from gold_features where symbol = ? and interval = ? "
            "and open_time >= ? order by open_time",
            [*key, since],
        ).to_arrow_table()


def assert_same_bits(live: pa.Table, batch: pa.Table) -> None:
    """Every column but the API-only ones equal, floats to the bit."""
    assert live.column_names == batch.column_names
    assert live.num_rows == batch.num_rows > 0
    for name in batch.column_names:
        if name in API_ONLY:
            continue
        a = live.column(name).to_numpy(zero_copy_only=False)
        b = batch.column(name).to_numpy(zero_copy_only=False)
        if a.dtype.kind == "f":
            assert np.array_equal(a.view(np.int64), b.view(np.int64)), name
        else:
            assert list(a) == list(b), name
