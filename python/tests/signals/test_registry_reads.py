"""The lake's registry is read once per set of data files, counted (not timed).

A daily run asks for the registry at many snapshots (build, audit, paper trading, backtests,
reports); DuckLake never rewrites a data file, so the files behind ``strategies`` at a
snapshot name its rows exactly and the table is read once while they stay the same, and
again (with the change) once a write gives it new files.
"""

from __future__ import annotations

from unittest import mock

from hermes.config import Settings
from hermes.lake import at_snapshot, connect, current_snapshot, transaction
from hermes.signals import registry


def test_registry_is_read_once_across_snapshots_and_again_when_it_changes(
    built_lake_copy: Settings,
) -> None:
    registry._LAKE_ROWS.clear()
    with mock.patch.object(registry, "_read_rows", wraps=registry._read_rows) as read:
        with connect(built_lake_copy) as conn:
            first = registry.list_strategies(conn)
            before = current_snapshot(conn)
            with transaction(conn):  # a write elsewhere: a new snapshot, same registry files
                conn.execute("create table unrelated as select 1 as x")
            assert current_snapshot(conn) == before + 1
            assert registry.list_strategies(conn) == first
            assert registry.load_strategy("smart_momentum", conn=conn).parameters["ema_fast"] == 12
        with at_snapshot(built_lake_copy, before) as reader:
            assert registry.list_strategies(reader) == first
        assert read.call_count == 1

        with connect(built_lake_copy) as conn, transaction(conn):
            conn.execute(
                "update strategies set description = 'changed' where strategy_id = 'smart_momentum'"
            )
        with connect(built_lake_copy) as conn:
            changed = {s.strategy_id: s.description for s in registry.list_strategies(conn)}
        assert read.call_count == 2
        assert changed["smart_momentum"] == "changed"
        with at_snapshot(built_lake_copy, before) as reader:  # the earlier files: kept
            kept = {s.strategy_id: s.description for s in registry.list_strategies(reader)}
        assert read.call_count == 2
    assert kept["smart_momentum"] == next(
        s.description for s in first if s.strategy_id == "smart_momentum"
    )
    assert kept["smart_momentum"] != "changed"
    assert [s.strategy_id for s in first] == sorted(s.strategy_id for s in first)


def test_a_database_other_than_a_lake_is_read_every_time() -> None:
    """The live path's in-memory copy of the registry: read as it is, never cached."""
    import duckdb

    registry._LAKE_ROWS.clear()
    with duckdb.connect() as conn:
        assert registry._rows_from_lake(conn) is None  # no table: the seed CSV then
        conn.execute("create table strategies as select 'one' as strategy_id")
        assert registry._rows_from_lake(conn) == [{"strategy_id": "one"}]
        conn.execute("update strategies set strategy_id = 'two'")
        assert registry._rows_from_lake(conn) == [{"strategy_id": "two"}]
    assert not registry._LAKE_ROWS
