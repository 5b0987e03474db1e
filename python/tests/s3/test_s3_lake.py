"""The lake on the s3 target: where the files are, and that it holds what the local lake holds."""

from __future__ import annotations

from pathlib import Path

import duckdb

from hermes.backtest.tables import TABLES
from hermes.config import Settings
from hermes.lake import connect
from hermes.landing import decoded_location
from s3.local_s3 import LocalS3

LANDED = {
    "csv/BTCUSDT/1d/BTCUSDT_1d.csv.gz",
    "csv/BTCUSDT/4h/BTCUSDT_4h.csv.gz",
    "csv/ETHUSDT/1d/ETHUSDT_1d.csv.gz",
    "csv/ETHUSDT/4h/ETHUSDT_4h.csv.gz",
}


def _tables(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return [
        (schema, name)
        for schema, name in conn.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = 'lake' "
            "order by all"
        ).fetchall()
    ]


def test_landing_zone_and_table_files_live_in_the_bucket(
    built_s3_lake: Settings, local_s3: LocalS3
) -> None:
    s3 = built_s3_lake.s3
    assert s3 is not None
    keys = set(local_s3.keys(f"{s3.prefix}/"))
    # Raw files as received, and one decoded parquet file per source file.
    for source_file in LANDED:
        assert f"{s3.prefix}/landing/{source_file}" in keys
    conn = connect(built_s3_lake)
    try:
        decoded = [r[0] for r in conn.execute("select decoded_file from landing.files").fetchall()]
        files = [
            path for schema, table in _tables(conn) for path in _table_files(conn, schema, table)
        ]
    finally:
        conn.close()
    assert len(decoded) == 4
    # recorded relative to the landing root (the lake can move), found under the bucket's
    assert all(path.startswith("_decoded/") for path in decoded)
    located = [decoded_location(built_s3_lake.landing_root, path) for path in decoded]
    assert all(path.startswith(f"{built_s3_lake.landing_root}/_decoded/") for path in located)
    assert {path.removeprefix(f"s3://{s3.bucket}/") for path in located} <= keys
    # Every table's parquet files are objects under s3://bucket/prefix/data/.
    assert files, "the build wrote no data file"
    for path in files:
        assert path.startswith(built_s3_lake.data_path), path
        assert path.removeprefix(f"s3://{s3.bucket}/") in keys, path
    # Locally there is the catalog and nothing else of the lake: no parquet file.
    assert not list(built_s3_lake.lake_root.rglob("*.parquet"))


def _table_files(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "select data_file from ducklake_list_files('lake', ?, schema => ?)", [table, schema]
        ).fetchall()
    ]


BACKTEST_TABLES = set(TABLES)


def test_s3_lake_holds_exactly_what_the_local_lake_holds(
    built_lake: Settings, built_s3_lake: Settings
) -> None:
    local, remote = connect(built_lake), connect(built_s3_lake)
    try:
        # the dbt models (backtest tables exist empty in the local lake, filled on S3)
        tables = [t for t in _tables(local) if t[1] not in BACKTEST_TABLES]
        assert set(tables) <= set(_tables(remote))
        assert ("silver", "silver_klines") in tables or ("main", "silver_klines") in tables
        for schema, table in tables:
            columns = _comparable_columns(local, schema, table)
            query = f'select {columns} from "{schema}"."{table}" order by all'  # noqa: S608
            assert local.execute(query).fetchall() == remote.execute(query).fetchall(), table
    finally:
        local.close()
        remote.close()


def _comparable_columns(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """Every column but those that record when or where a run wrote (times, file paths)."""
    names = [
        name
        for (name,) in conn.execute(
            "select column_name from duckdb_columns() where database_name = 'lake' "
            "and schema_name = ? and table_name = ? order by column_index",
            [schema, table],
        ).fetchall()
        if not name.endswith("_at") and name not in ("decoded_file", "artifact_path")
    ]
    return ", ".join(f'"{name}"' for name in names)


def test_catalog_of_a_local_lake_is_refused_on_s3(
    local_s3: LocalS3, lake_settings: Settings
) -> None:
    connect(lake_settings).close()  # creates a local lake's catalog in lake_root
    on_s3 = local_s3.settings(lake_settings.lake_root, "elsewhere")
    try:
        connect(on_s3)
    except duckdb.Error as exc:
        assert "does not match existing data path" in str(exc)
        assert str(Path(lake_settings.data_path)) in str(exc)
    else:
        raise AssertionError("a catalog recording a local data path was used for S3")
