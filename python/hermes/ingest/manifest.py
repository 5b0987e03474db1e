"""The landing manifest (``landing.files``, ``landing.quarantine``): reads and atomic updates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from hermes.lake import transaction
from hermes.landing import ensure_landing_tables


@dataclass(frozen=True)
class ManifestEntry:
    source_file: str
    source_sha256: str
    decoded_file: str
    provider: str
    market: str
    symbol: str
    interval: str
    period: str
    row_count: int


def load_manifest(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Current SHA-256 of every landed source file, by source path."""
    ensure_landing_tables(conn)
    rows = conn.execute("select source_file, source_sha256 from landing.files").fetchall()
    return {source: sha for source, sha in rows}


def record_file(conn: duckdb.DuckDBPyConnection, entry: ManifestEntry) -> datetime:
    """Make ``entry`` the current version of its source file, in one DuckLake transaction."""
    ingested_at = utc_now()
    with transaction(conn):
        conn.execute("delete from landing.files where source_file = ?", [entry.source_file])
        conn.execute(
            "insert into landing.files (source_file, source_sha256, decoded_file, provider, "
            "market, symbol, interval, period, row_count, ingested_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                entry.source_file,
                entry.source_sha256,
                entry.decoded_file,
                entry.provider,
                entry.market,
                entry.symbol,
                entry.interval,
                entry.period,
                entry.row_count,
                ingested_at,
            ],
        )
    return ingested_at


def record_quarantine(
    conn: duckdb.DuckDBPyConnection, source_file: str, sha256: str | None, reason: str
) -> None:
    conn.execute(
        "insert into landing.quarantine (source_file, source_sha256, reason, quarantined_at) "
        "values (?, ?, ?, ?)",
        [source_file, sha256, reason, utc_now()],
    )


def utc_now() -> datetime:
    """Current UTC time as a naive timestamp (the manifest's ``timestamp`` columns)."""
    return datetime.now(UTC).replace(tzinfo=None)
