"""Keep the lake tidy: expire old snapshots, compact small files, delete unreferenced files.

DuckLake keeps every snapshot (time travel) and the data files they reference, so a
rebuilt table leaves its old files behind. ``tidy_lake`` expires snapshots older than the
retention period, except those a backtest run recorded (so ``hermes reproduce`` keeps
working), merges small adjacent files, then deletes the files no live snapshot references
and the decoded landing files the manifest no longer points to.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from hermes import storage
from hermes.config import LAKE_ALIAS, Settings
from hermes.lake import connect, table_exists
from hermes.landing import DECODED_FOLDER, decoded_location
from hermes.publication import published_snapshots

DEFAULT_RETENTION_DAYS = 7


@dataclass(frozen=True)
class MaintenanceReport:
    expired_snapshots: int
    kept_for_runs: int
    deleted_data_files: int
    deleted_decoded_files: int


def retention_from_env() -> timedelta:
    """Retention period from ``HERMES_SNAPSHOT_RETENTION_DAYS`` (default 7 days)."""
    raw = os.environ.get("HERMES_SNAPSHOT_RETENTION_DAYS", str(DEFAULT_RETENTION_DAYS))
    try:
        days = float(raw)
    except ValueError as exc:
        raise ValueError(
            f"HERMES_SNAPSHOT_RETENTION_DAYS must be a number of days, got {raw!r}"
        ) from exc
    if days < 0:
        raise ValueError(f"HERMES_SNAPSHOT_RETENTION_DAYS must be >= 0, got {raw!r}")
    return timedelta(days=days)


def tidy_lake(settings: Settings, retention: timedelta | None = None) -> MaintenanceReport:
    """Expire snapshots older than ``retention`` and delete files nothing references."""
    retention = retention_from_env() if retention is None else retention
    cutoff = datetime.now(UTC).replace(tzinfo=None) - retention
    with connect(settings) as conn:
        # the published state (hermes.publish) must stay readable as `published`
        pinned = _snapshots_recorded_by_runs(conn) | published_snapshots(conn)
        candidates = [
            int(row[0])
            for row in conn.execute(
                """
                select snapshot_id from ducklake_snapshots(?)
                where snapshot_time < ?::timestamptz
                  and snapshot_id < (select max(snapshot_id) from ducklake_snapshots(?))
                """,
                [LAKE_ALIAS, cutoff.isoformat() + "+00:00", LAKE_ALIAS],
            ).fetchall()
        ]
        to_expire = [s for s in candidates if s not in pinned]
        if to_expire:
            conn.execute(
                f"call ducklake_expire_snapshots('{LAKE_ALIAS}', versions => ?)", [to_expire]
            )
        conn.execute(f"call ducklake_merge_adjacent_files('{LAKE_ALIAS}')")
        deleted = conn.execute(
            f"call ducklake_cleanup_old_files('{LAKE_ALIAS}', cleanup_all => true)"
        ).fetchall()
        decoded = _delete_unreferenced_decoded_files(conn, settings)
    return MaintenanceReport(
        expired_snapshots=len(to_expire),
        kept_for_runs=len([s for s in candidates if s in pinned]),
        deleted_data_files=len(deleted),
        deleted_decoded_files=decoded,
    )


def _snapshots_recorded_by_runs(conn: duckdb.DuckDBPyConnection) -> set[int]:
    if not table_exists(conn, "gold_backtest_runs"):
        return set()
    rows = conn.execute("select distinct snapshot_id from gold_backtest_runs").fetchall()
    return {int(r[0]) for r in rows if r[0] is not None}


def _delete_unreferenced_decoded_files(conn: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    if not table_exists(conn, "files", schema="landing"):
        return 0
    referenced = {
        decoded_location(settings.landing_root, r[0])
        for r in conn.execute("select decoded_file from landing.files").fetchall()
    }
    decoded_root = f"{settings.landing_root}/{DECODED_FOLDER}"
    stale = [
        path
        for path in storage.list_files(settings, decoded_root, suffix=".parquet")
        if path not in referenced
    ]
    for path in stale:
        storage.delete(settings, path)
    return len(stale)
