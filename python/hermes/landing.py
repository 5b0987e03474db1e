"""The landing zone's contract: where raw archives go and how ingest hands them to dbt.

Layout under ``<lake>/landing/`` (mirrors the Binance public data site)::

    binance/spot/{monthly,daily}/klines/<SYMBOL>/<INTERVAL>/<SYMBOL>-<INTERVAL>-<YYYY-MM[-DD]>.zip
    binance/spot/{monthly,daily}/klines/<SYMBOL>/<INTERVAL>/<...>.zip.CHECKSUM
    csv/<SYMBOL>/<INTERVAL>/<file>               generic OHLCV CSV files, as received
    _decoded/<sha256>.parquet                    one decoded file per source file version
    _quarantine/<source folder>/<sha256 prefix>/<file>  (+ .reason.txt)   rejected files, with why

Raw files are kept as received. Ingest decodes each source file once into
``_decoded/<sha256>.parquet`` (columns: :func:`decoded_schema`), then records it in the
manifest table ``lake.landing.files`` in one transaction. The dbt model ``bronze_klines``
reads the decoded files listed in the manifest.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import pyarrow as pa

LANDING_SCHEMA = "landing"

DECODED_COLUMNS = (
    ("line_number", "int32"),
    ("open_time", "int64"),  # as in the file: epoch ms or epoch us (see time_unit)
    ("open", "float64"),
    ("high", "float64"),
    ("low", "float64"),
    ("close", "float64"),
    ("volume", "float64"),
    ("close_time", "int64"),
    ("quote_asset_volume", "float64"),
    ("number_of_trades", "int64"),
    ("taker_buy_base_asset_volume", "float64"),
    ("taker_buy_quote_asset_volume", "float64"),
    ("time_unit", "string"),  # 'ms' or 'us'
)
"""Columns of a decoded file (name, pyarrow type). Columns a source does not carry (generic
CSV) are null. :func:`decoded_schema` is their pyarrow schema, built on first use: reading
the manifest (a run with nothing new) does not load pyarrow."""


@cache
def decoded_schema() -> pa.Schema:
    """The pyarrow schema of a decoded file (:data:`DECODED_COLUMNS`)."""
    import pyarrow as pa

    return pa.schema([(name, getattr(pa, kind)()) for name, kind in DECODED_COLUMNS])


MANIFEST_DDL = f"""
create schema if not exists {LANDING_SCHEMA};
create table if not exists {LANDING_SCHEMA}.files (
    source_file varchar not null,      -- path relative to the landing root
    source_sha256 varchar not null,    -- sha-256 of the raw file as received
    decoded_file varchar not null,     -- _decoded/<sha256>.parquet, relative to the landing root
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


DECODED_FOLDER = "_decoded"


def decoded_file(sha256: str) -> str:
    """How the manifest names a decoded file: relative to the landing root, so that a lake
    folder copied or moved elsewhere reads its own files."""
    return f"{DECODED_FOLDER}/{sha256}.parquet"


def decoded_location(landing_root: str, name: str) -> str:
    """Where the manifest's decoded file ``name`` is (lakes written before: a full path)."""
    if name.startswith(f"{DECODED_FOLDER}/"):
        return f"{landing_root.rstrip('/')}/{name}"
    return name


def ensure_landing_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the manifest tables in the attached lake if they do not exist yet, and record
    the decoded files of a lake written before as paths relative to the landing root."""
    conn.execute(MANIFEST_DDL)
    relative = f"starts_with(decoded_file, '{DECODED_FOLDER}/')"
    row = conn.execute(
        f"select count(*) from {LANDING_SCHEMA}.files where not {relative}"  # noqa: S608
    ).fetchone()
    if row and row[0]:
        conn.execute(  # constants only
            f"update {LANDING_SCHEMA}.files "  # noqa: S608
            f"set decoded_file = '{DECODED_FOLDER}/' || parse_filename(decoded_file) "
            f"where not {relative}"
        )
