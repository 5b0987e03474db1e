"""The landing zone's contract: where raw archives go and how ingest hands them to dbt.

Layout under ``<lake>/landing/`` (mirrors the Binance public data site)::

    binance/spot/{monthly,daily}/klines/<SYMBOL>/<INTERVAL>/<SYMBOL>-<INTERVAL>-<YYYY-MM[-DD]>.zip
    binance/spot/{monthly,daily}/klines/<SYMBOL>/<INTERVAL>/<...>.zip.CHECKSUM
    csv/<SYMBOL>/<INTERVAL>/<file>               generic OHLCV CSV files, as received
    _decoded/<sha256>.parquet                    one decoded file per source file version
    _quarantine/<source folder>/<sha256 prefix>/<file>  (+ .reason.txt)   rejected files, with why

Raw files are kept as received. Ingest decodes each source file once into
``_decoded/<sha256>.parquet`` (columns: :data:`DECODED_SCHEMA`), then records it in the
manifest table ``lake.landing.files`` in one transaction. The dbt model ``bronze_klines``
reads the decoded files listed in the manifest.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

LANDING_SCHEMA = "landing"

DECODED_SCHEMA = pa.schema(
    [
        ("line_number", pa.int32()),
        ("open_time", pa.int64()),  # as in the file: epoch ms or epoch us (see time_unit)
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.float64()),
        ("close_time", pa.int64()),
        ("quote_asset_volume", pa.float64()),
        ("number_of_trades", pa.int64()),
        ("taker_buy_base_asset_volume", pa.float64()),
        ("taker_buy_quote_asset_volume", pa.float64()),
        ("time_unit", pa.string()),  # 'ms' or 'us'
    ]
)
"""Columns of a decoded file. Columns a source does not carry (generic CSV) are null."""

MANIFEST_DDL = f"""
create schema if not exists {LANDING_SCHEMA};
create table if not exists {LANDING_SCHEMA}.files (
    source_file varchar not null,      -- path relative to the landing root
    source_sha256 varchar not null,    -- sha-256 of the raw file as received
    decoded_file varchar not null,     -- full path/URL of _decoded/<sha256>.parquet
    provider varchar not null,         -- 'binance' or 'csv'
    market varchar not null,           -- 'spot'
    symbol varchar not null,
    interval varchar not null,
    period varchar not null,           -- 'monthly', 'daily' or 'file'
    row_count bigint not null,
    ingested_at timestamp not null     -- UTC
);
create table if not exists {LANDING_SCHEMA}.quarantine (
    source_file varchar not null,
    source_sha256 varchar,
    reason varchar not null,
    quarantined_at timestamp not null  -- UTC
);
"""


def ensure_landing_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the manifest tables in the attached lake if they do not exist yet."""
    conn.execute(MANIFEST_DDL)
