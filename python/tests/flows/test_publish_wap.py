"""Write-audit-publish on a real DuckLake lake: `published` is the last recorded snapshot."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from hermes.config import Settings
from hermes.ingest.manifest import ManifestEntry, record_file
from hermes.lake import connect, current_snapshot
from hermes.landing import ensure_landing_tables
from hermes.maintenance import tidy_lake
from hermes.publication import attach_published, latest_publication, published_snapshots
from hermes.publish import held_series, pending_since_publication, publish


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
        # a plain connection leaves `published` out: no catalog read, no view built
        databases = reader.execute("select database_name from duckdb_databases()").fetchall()
        assert ("published",) not in databases
        with pytest.raises(duckdb.CatalogException, match="published"):
            reader.execute("select * from published.gold_scores")
        assert attach_published(reader) == audited
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
        attach_published(reader)
        assert reader.execute("select sum(score) from published.gold_scores").fetchone() == (4.0,)
        # a second publication moves `published` forward
        second = publish(reader, "run-2", "results")
        assert second.snapshot_id > audited
    finally:
        reader.close()
    reader = connect(lake_settings)
    try:
        assert attach_published(reader) == second.snapshot_id
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


def test_a_held_series_reads_as_last_published_and_stays_pending(
    lake_settings: Settings,
) -> None:
    conn = connect(lake_settings)
    try:
        ensure_landing_tables(conn)
        conn.execute("create table silver_klines (symbol varchar, interval varchar, close double)")
        conn.execute("create table gold_runs (symbol varchar, score double)")  # no interval
        conn.execute(
            "insert into silver_klines values "
            "('BTCUSDT', '4h', 1.0), ('ETHUSDT', '4h', 2.0), ('ETHUSDT', '1d', 3.0)"
        )
        conn.execute("insert into gold_runs values ('BTCUSDT', 1.0)")
        record_file(conn, _entry("a.zip", "BTCUSDT", "4h"))
        first = publish(conn, "run-1", "data")
        # the next build: BTCUSDT 4h fails its audit, ETHUSDT 4h changes, XRPUSDT is new and bad
        record_file(conn, _entry("b.zip", "BTCUSDT", "4h"))
        record_file(conn, _entry("c.zip", "XRPUSDT", "4h"))
        conn.execute("update silver_klines set close = -1 where symbol = 'BTCUSDT'")
        conn.execute("update silver_klines set close = 2.5 where interval = '4h' and close = 2")
        conn.execute("insert into silver_klines values ('XRPUSDT', '4h', -5.0)")
        conn.execute("insert into gold_runs values ('ETHUSDT', 2.0)")
        held = {("BTCUSDT", "4h"): "dbt test ohlc", ("XRPUSDT", "4h"): "gx freshness"}
        files = "select count(*) from ducklake_list_files('lake', 'hermes_series_publications')"
        before = conn.execute(files).fetchone()
        second = publish(conn, "run-2", "data", held=held)
        # the publication's four series rows are one statement: one data file, not four
        after = conn.execute(files).fetchone()
        assert before is not None and after is not None and after[0] == before[0] + 1
        assert held_series(conn) == held
        # both held series stay pending; the published one is not
        assert pending_since_publication(conn) == [("BTCUSDT", "4h"), ("XRPUSDT", "4h")]
        assert published_snapshots(conn) == {first.snapshot_id, second.snapshot_id}
    finally:
        conn.close()
    reader = connect(lake_settings)
    try:
        assert attach_published(reader) == second.snapshot_id
        rows = reader.execute(
            "select symbol, interval, close from published.silver_klines order by all"
        ).fetchall()
        # BTCUSDT as run 1 published it, ETHUSDT's change published, XRPUSDT never shown
        assert rows == [("BTCUSDT", "4h", 1.0), ("ETHUSDT", "1d", 3.0), ("ETHUSDT", "4h", 2.5)]
        # a table without the series key is read at the publication's snapshot
        assert reader.execute("select count(*) from published.gold_runs").fetchone() == (2,)
        series = reader.execute(
            "select symbol, interval, snapshot_id from published.published_series order by all"
        ).fetchall()
        assert series == [
            ("BTCUSDT", "4h", first.snapshot_id),
            ("ETHUSDT", "1d", second.snapshot_id),
            ("ETHUSDT", "4h", second.snapshot_id),
        ]
    finally:
        reader.close()
