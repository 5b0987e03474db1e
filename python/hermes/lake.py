"""Open the lake: a DuckDB connection with the DuckLake catalog attached as ``lake``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from hermes.config import LAKE_ALIAS, Settings
from hermes.extensions import create_s3_secret, load_extensions


def prepare_connection(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Load extensions, register credentials and make sure local folders exist."""
    settings.lake_root.mkdir(parents=True, exist_ok=True)
    if settings.s3 is None:
        Path(settings.data_path).mkdir(parents=True, exist_ok=True)
        Path(settings.landing_root).mkdir(parents=True, exist_ok=True)
    load_extensions(conn, settings)
    create_s3_secret(conn, settings)
    ensure_catalog(conn, settings)


def ensure_catalog(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Create the DuckLake catalog on first use, recording the lake's absolute data path.

    Later attaches (dbt's profile, :func:`connect`) read the data path from the catalog, so
    relative and absolute spellings of the lake root cannot disagree. On S3 or with a shared
    catalog the data path is checked on every connection: DuckLake refuses a catalog that
    records another one (e.g. a local lake's catalog reused with ``HERMES_TARGET=s3``).
    """
    if settings.s3 is None and settings.catalog_url is None and settings.catalog_path.exists():
        return
    conn.execute(
        f"attach '{_literal(settings.catalog_attach)}' as hermes_init "
        f"(data_path '{_literal(settings.data_path)}')"
    )
    # Data inlining would keep small inserts (a daily refresh) inside the catalog database,
    # where doubles read back with their last digit changed (measured with DuckDB 1.5.5):
    # every row goes to parquet on the lake's storage instead (local folder or S3), exact.
    inlining = conn.execute(
        "select value from ducklake_options('hermes_init') where option_name = ?",
        ["data_inlining_row_limit"],
    ).fetchone()
    if inlining is None or inlining[0] != "0":
        conn.execute("call hermes_init.set_option('data_inlining_row_limit', 0)")
    conn.execute("detach hermes_init")


def connect(
    settings: Settings | None = None, *, snapshot: int | None = None
) -> duckdb.DuckDBPyConnection:
    """A connection with the lake attached and selected (``use lake``).

    ``snapshot`` attaches the lake as of that DuckLake snapshot (read only), for exact
    reproduction of an earlier run. Otherwise the last published (audited) state is also
    attached read-only as ``published`` (see :mod:`hermes.publish`).
    """
    settings = settings or Settings.from_env()
    conn = duckdb.connect()
    prepare_connection(conn, settings)
    options = "" if snapshot is None else f" (snapshot_version {int(snapshot)}, read_only)"
    conn.execute(f"attach '{_literal(settings.catalog_attach)}' as {LAKE_ALIAS}{options}")
    conn.execute(f"use {LAKE_ALIAS}")
    if snapshot is None:
        from hermes.publish import attach_published

        attach_published(conn)
    return conn


def table_exists(conn: duckdb.DuckDBPyConnection, table: str, schema: str = "main") -> bool:
    """Whether ``schema.table`` exists in the attached lake."""
    row = conn.execute(
        "select count(*) from duckdb_tables() "
        "where database_name = ? and schema_name = ? and table_name = ?",
        [LAKE_ALIAS, schema, table],
    ).fetchone()
    return bool(row and row[0])


def current_snapshot(conn: duckdb.DuckDBPyConnection) -> int:
    """The id of the lake's latest committed snapshot."""
    row = conn.execute(
        "select max(snapshot_id) from ducklake_snapshots(?)", [LAKE_ALIAS]
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


@contextmanager
def at_snapshot(settings: Settings, snapshot: int) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the lake as of ``snapshot`` (closed on exit)."""
    conn = connect(settings, snapshot=snapshot)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def pinned(settings: Settings) -> Iterator[tuple[duckdb.DuckDBPyConnection, int]]:
    """A read-only connection to the lake as of its current snapshot, and that snapshot id."""
    conn = connect(settings)
    try:
        snapshot = current_snapshot(conn)
    finally:
        conn.close()
    with at_snapshot(settings, snapshot) as reader:
        yield reader, snapshot


def _literal(value: str) -> str:
    return value.replace("'", "''")
