"""The lake's catalog: created once, every row stored exactly in parquet."""

from __future__ import annotations

import random

import pyarrow as pa

from hermes.config import Settings
from hermes.lake import connect, current_snapshot, table_exists


def test_small_inserts_read_back_bit_for_bit(lake_settings: Settings) -> None:
    """Single-row inserts (as a daily refresh makes) are not inlined in the catalog.

    Inlined doubles read back with their last digit changed; the lake switches inlining off
    when it creates the catalog, so every value written is the value read.
    """
    rng = random.Random(20260101)
    values = [rng.random() / 3 for _ in range(200)]
    conn = connect(lake_settings)
    try:
        options = dict(
            conn.execute("select option_name, value from ducklake_options('lake')").fetchall()
        )
        assert options["data_inlining_row_limit"] == "0"
        assert not table_exists(conn, "exact_values")
        conn.execute("create table exact_values (x double)")
        assert table_exists(conn, "exact_values")
        first = current_snapshot(conn)
        for value in values:
            conn.register("batch", pa.table({"x": [value]}))
            conn.execute("insert into exact_values select * from batch")
            conn.unregister("batch")
        assert current_snapshot(conn) == first + len(values)
    finally:
        conn.close()
    conn = connect(lake_settings)
    try:
        read = [row[0] for row in conn.execute("select x from exact_values").fetchall()]
    finally:
        conn.close()
    assert read == values
    data_files = list((lake_settings.lake_root / "data").rglob("*.parquet"))
    assert len(data_files) == len(values)
