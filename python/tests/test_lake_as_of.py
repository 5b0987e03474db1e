"""One lake connection moves between the working state and a snapshot (:func:`as_of`),
loading the extensions once (counted, not timed)."""

from __future__ import annotations

from unittest import mock

import duckdb
import pytest

import hermes.lake
from hermes.config import Settings
from hermes.lake import as_of, connect, current_snapshot, table_exists, transaction

LOAD = hermes.lake.load_extensions
"""Called once by every lake connection opened: counting its calls counts connections."""


def test_one_connection_reads_a_snapshot_between_writes(built_lake_copy: Settings) -> None:
    settings = built_lake_copy
    with mock.patch.object(hermes.lake, "load_extensions", wraps=LOAD) as opened:
        with connect(settings) as conn:
            before = current_snapshot(conn)
            conn.register("kept", conn.execute("select 7 as x").to_arrow_table())
            with transaction(conn):
                conn.execute("create table later as select 1 as x")
            with as_of(conn, settings, before) as reader:
                assert reader is conn
                assert not table_exists(reader, "later")  # the lake as it was
                assert reader.execute("select x from kept").fetchall() == [(7,)]
                with pytest.raises(Exception, match="read-only|read only"):
                    reader.execute("create table refused as select 1 as x")
            assert table_exists(conn, "later")  # the working state again, writable
            with transaction(conn):
                conn.execute("insert into later values (2)")
            assert conn.execute("select x from later order by x").fetchall() == [(1,), (2,)]
            assert current_snapshot(conn) == before + 2
    assert opened.call_count == 1
    with connect(settings, read_only=True) as conn:
        with as_of(conn, settings, before, read_only=True):
            assert not table_exists(conn, "later")
        with pytest.raises(Exception, match="read-only|read only"):  # read only again
            conn.execute("insert into later values (3)")
        assert conn.execute("select count(*) from later").fetchall() == [(2,)]


def test_a_snapshot_that_cannot_be_read_leaves_the_working_state(built_lake_copy: Settings) -> None:
    """A run's snapshot gone (e.g. expired by ``hermes maintain``): the error is raised and
    the connection reads and writes the working state as before."""
    with connect(built_lake_copy) as conn:
        now = current_snapshot(conn)
        gone = now + 1000
        with pytest.raises(duckdb.Error, match=str(gone)), as_of(conn, built_lake_copy, gone):
            pass
        with transaction(conn):
            conn.execute("create table after_error as select 1 as x")
        assert current_snapshot(conn) == now + 1
