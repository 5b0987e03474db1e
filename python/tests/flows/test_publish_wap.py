"""Write-audit-publish on a real DuckLake lake: `published` is the last recorded snapshot."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hermes.config import Settings
from hermes.ingest.manifest import ManifestEntry, record_file
from hermes.lake import (
    attach_published,
    connect,
    current_snapshot,
    latest_publication,
    published_snapshots,
)
from hermes.landing import ensure_landing_tables
from hermes.maintenance import tidy_lake
from hermes.publish import pending_since_publication, publish


def _entry(source: str, symbol: str, interval: str) -> ManifestEntry:
    return ManifestEntry(
        source_file=source,
        source_sha256="0" * 64,
        decoded_file=f"/nowhere/{source}.parquet",
        provider="binance",
        market="spot",
        symbol=symbol,
        interval=interval,
        period="daily",
        row_count=6,
    )


def test_published_state_survives_later_writes_rebuilds_and_maintenance(
    lake_settings: Settings,
) -> None:
    conn = connect(lake_settings)
    assert latest_publication(conn) is None
    assert attach_published(conn) is None
    assert published_snapshots(conn) == set()
    conn.execute("create table gold_scores (symbol varchar, score double)")
    conn.execute("insert into gold_scores values ('BTCUSDT', 1.5), ('ETHUSDT', 2.5)")
    conn.execute("create schema extra")
    conn.execute("create table extra.notes (note varchar)")
    conn.execute("insert into extra.notes values ('audited')")
    audited = current_snapshot(conn)
    first = publish(conn, "run-1", "data", {"rows": 2})
    assert first.snapshot_id == audited
    # the working state moves on: a failed build rebuilds the table with bad data
    conn.execute("drop table gold_scores")
    conn.execute("create table gold_scores (symbol varchar, score double)")
    conn.execute("insert into gold_scores values ('BTCUSDT', -99.0)")
    conn.execute("insert into extra.notes values ('unaudited')")
    conn.close()

    reader = connect(lake_settings)
    try:
        assert reader.execute("select * from published.gold_scores order by symbol").fetchall() == [
            ("BTCUSDT", 1.5),
            ("ETHUSDT", 2.5),
        ]
        assert reader.execute("select note from published.extra.notes").fetchall() == [("audited",)]
        assert reader.execute("select * from lake.gold_scores").fetchall() == [("BTCUSDT", -99.0)]
        with pytest.raises(Exception, match="hermes_publications|gold_later"):
            reader.execute("select * from published.gold_later")
        publication = latest_publication(reader)
        assert publication is not None
        assert (publication.snapshot_id, publication.flow_run, publication.stage) == (
            audited,
            "run-1",
            "data",
        )
        assert publication.summary == {"rows": 2}
    finally:
        reader.close()

    # maintenance with zero retention expires everything it may, but not the published state
    report = tidy_lake(lake_settings, timedelta(0))
    assert report.expired_snapshots > 0
    reader = connect(lake_settings)
    try:
        assert published_snapshots(reader) == {audited}
        assert reader.execute("select sum(score) from published.gold_scores").fetchone() == (4.0,)
        # a second publication moves `published` forward
        second = publish(reader, "run-2", "results")
        assert second.snapshot_id > audited
    finally:
        reader.close()
    reader = connect(lake_settings)
    try:
        assert reader.execute("select * from published.gold_scores").fetchall() == [
            ("BTCUSDT", -99.0)
        ]
        with pytest.raises(ValueError, match="unknown publication stage 'final'"):
            publish(reader, "run-3", "final")
    finally:
        reader.close()


def test_pending_partitions_are_those_landed_since_the_last_publication(
    lake_settings: Settings,
) -> None:
    conn = connect(lake_settings)
    try:
        assert pending_since_publication(conn) == []
        ensure_landing_tables(conn)
        record_file(conn, _entry("a.zip", "BTCUSDT", "4h"))
        record_file(conn, _entry("b.zip", "ETHUSDT", "1d"))
        record_file(conn, _entry("c.zip", "BTCUSDT", "4h"))
        assert pending_since_publication(conn) == [("BTCUSDT", "4h"), ("ETHUSDT", "1d")]
        publish(conn, "run-1", "data")
        assert pending_since_publication(conn) == []
        record_file(conn, _entry("d.zip", "ETHUSDT", "4h"))
        assert pending_since_publication(conn) == [("ETHUSDT", "4h")]
    finally:
        conn.close()
