"""A local import records its manifest rows in batches: the same manifest as one commit per
file, one snapshot per batch, and a source file given twice keeps its last version."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from fixtures.binance import archive, kline_zip, write_local

from hermes.config import Settings
from hermes.ingest import Outcome, ingest_paths, manifest
from hermes.ingest.checksum import sha256_hex
from hermes.lake import connect, current_snapshot

DAYS = 5
FIRST = date(2025, 1, 1)
COLUMNS = "source_file, source_sha256, decoded_file, symbol, interval, period, row_count"


def _archives(folder: Path, unit: str) -> None:
    for n in range(DAYS):
        name = archive(f"BTCUSDT-4h-{FIRST + timedelta(days=n):%Y-%m-%d}.zip")
        write_local(folder, name.filename, kline_zip(name, unit=unit, header=True))


def _manifest(settings: Settings) -> tuple[list[tuple[object, ...]], int]:
    with connect(settings) as conn:
        rows = conn.execute(f"select {COLUMNS} from landing.files order by all").fetchall()  # noqa: S608
        return rows, current_snapshot(conn)


@pytest.mark.parametrize("batch", [1, 2, 500])
def test_batches_record_the_manifest_of_one_commit_per_file(
    tmp_path: Path, lake_settings: Settings, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    # two folders hold the same five archives in two versions (ms, then us timestamps),
    # imported by one command: the later path (b/) is the version in force, as when each
    # file had its own commit
    _archives(tmp_path / "a", unit="ms")
    _archives(tmp_path / "b", unit="us")
    ingest_paths([], lake_settings)  # the landing tables exist before counting snapshots
    _, before = _manifest(lake_settings)
    monkeypatch.setattr(manifest, "MANIFEST_BATCH", batch)

    report = ingest_paths([tmp_path / "a", tmp_path / "b"], lake_settings)

    assert [r.outcome for r in report.results] == [Outcome.INGESTED] * (2 * DAYS)
    rows, after = _manifest(lake_settings)
    assert len(rows) == DAYS  # one row per source file
    assert [row[1] for row in rows] == [
        sha256_hex(p.read_bytes()) for p in sorted((tmp_path / "b").glob("*.zip"))
    ]
    assert after - before == -(-2 * DAYS // batch)  # one snapshot per batch of manifest rows
