"""Incremental silver equals a full rebuild, also when a changed archive drops candles."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from fixtures.binance import archive, candles_for, kline_line, write_local, zip_bytes

from hermes.config import Settings
from hermes.dbt_runner import run_dbt
from hermes.ingest import ingest_paths
from hermes.ingest.layout import ArchiveName
from hermes.lake import connect

pytestmark = pytest.mark.untraced  # every line it runs, other files measure (fixtures/children.py)

MONTH = archive("BTCUSDT-4h-2024-11.zip")
DAY = archive("BTCUSDT-4h-2024-11-30.zip")
SILVER = ["build", "--select", "path:models/bronze", "path:models/silver"]


def archive_bytes(
    name: ArchiveName,
    *,
    drop: frozenset[datetime] = frozenset(),
    corrected: frozenset[datetime] = frozenset(),
) -> bytes:
    lines = []
    for n, candle in enumerate(candles_for(name)):
        if candle.open_time.replace(tzinfo=None) in drop:
            continue
        fields = kline_line(candle, name.interval, "ms", 1000 + n).split(",")
        if candle.open_time.replace(tzinfo=None) in corrected:
            fields[4] = fields[1]  # a corrected close: the candle's open, within its range
        lines.append(",".join(fields))
    return zip_bytes({f"{name.stem}.csv": ("\n".join(lines) + "\n").encode()})


def silver(settings: Settings) -> list[tuple]:
    conn = connect(settings)
    try:
        return conn.execute(
            "select open_time, close_time, open, high, low, close, volume, source_file, "
            "source_sha256, ingested_at from silver_klines order by open_time"
        ).fetchall()
    finally:
        conn.close()


def test_changed_archives_update_silver_like_a_full_rebuild(
    tmp_path: Path, lake_settings: Settings
) -> None:
    files = tmp_path / "files"
    target = tmp_path / "target"
    ingest_paths([write_local(files, MONTH.filename, archive_bytes(MONTH))], lake_settings)
    ingest_paths([write_local(files, DAY.filename, archive_bytes(DAY))], lake_settings)
    run_dbt(SILVER, lake_settings, target_path=target)
    first = {row[0]: row for row in silver(lake_settings)}
    assert len(first) == len(candles_for(MONTH)) == 180
    # the daily file was ingested last, so it provides the candles of 2024-11-30
    assert first[datetime(2024, 11, 30, 8)][7].endswith(DAY.filename)

    only_in_month = datetime(2024, 11, 15, 0)
    dropped_from_day = datetime(2024, 11, 30, 8)
    corrected = datetime(2024, 11, 30, 12)
    # two corrected archives, the monthly one landed first, then the daily one
    ingest_paths(
        [write_local(files, MONTH.filename, archive_bytes(MONTH, drop=frozenset({only_in_month})))],
        lake_settings,
    )
    ingest_paths(
        [
            write_local(
                files,
                DAY.filename,
                archive_bytes(
                    DAY, drop=frozenset({dropped_from_day}), corrected=frozenset({corrected})
                ),
            )
        ],
        lake_settings,
    )
    run_dbt(SILVER, lake_settings, target_path=target)
    incremental = silver(lake_settings)
    by_time = {row[0]: row for row in incremental}

    assert only_in_month not in by_time  # no file carries it any more
    assert by_time[dropped_from_day][7].endswith(MONTH.filename)  # the monthly file still does
    assert by_time[dropped_from_day][2:7] == first[dropped_from_day][2:7]
    assert first[corrected][2] != first[corrected][5]
    assert by_time[corrected][5] == first[corrected][2]
    assert by_time[corrected][7].endswith(DAY.filename)
    assert len(incremental) == 179

    run_dbt([*SILVER, "--full-refresh"], lake_settings, target_path=target)
    assert silver(lake_settings) == incremental


def test_a_new_file_is_the_only_one_bronze_reads(tmp_path: Path, lake_settings: Settings) -> None:
    """An incremental build reads the decoded files landed since the last one, not the whole
    `_decoded/` folder (at 200 symbols, 400 of 12,004 files; the folder's glob cost most of
    the new day's build and filled DuckDB's buffer)."""
    files, target = tmp_path / "files", tmp_path / "target"
    ingest_paths([write_local(files, MONTH.filename, archive_bytes(MONTH))], lake_settings)
    run_dbt(SILVER, lake_settings, target_path=target)
    ingest_paths([write_local(files, DAY.filename, archive_bytes(DAY))], lake_settings)
    _, nodes = run_dbt(SILVER, lake_settings, target_path=target)
    conn = connect(lake_settings)
    try:
        query = "select symbol || period, decoded_file from landing.files"
        decoded = dict(conn.execute(query).fetchall())
    finally:
        conn.close()
    compiled = next(n.compiled_code for n in nodes if n.name == "bronze_klines")
    assert "*.parquet" not in compiled
    assert decoded["BTCUSDTdaily"] in compiled and decoded["BTCUSDTmonthly"] not in compiled
    incremental = silver(lake_settings)
    assert len(incremental) == 180

    run_dbt([*SILVER, "--full-refresh"], lake_settings, target_path=target)
    assert silver(lake_settings) == incremental
