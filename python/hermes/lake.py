"""The ground floor every domain package stands on: open the lake (a DuckDB connection with
the DuckLake catalog attached as ``lake``), name its tables safely, write rows in one
transaction, and read what was published.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from hermes.config import CATALOG_FILE, LAKE_ALIAS, Settings
from hermes.extensions import create_s3_secret, load_extensions

READ_ONLY_STATEMENTS = (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN)
"""What a read-only connection runs (``show``, ``describe``, ``pragma`` parse as SELECT)."""
WINDOW_MODE = "separate"
"""DuckDB's window mode for every Hermes connection (and dbt's, in ``profiles.yml``).

By default DuckDB sums a moving window through a segment tree built over each group of
partitions it sorts together, so the last bits of a moving average depend on which other
series were computed in the same query and where the series starts (measured with DuckDB
1.5.5: 3717 of 18371 ``sma_20`` values of ETHUSDT 4h differ between a build of that series
alone and a build of all four bundled series). ``separate`` computes each frame from its own
rows only: a bar's value then depends on its look-back alone, so a live step over the last
bars, an incremental build and a full rebuild give the same bits (and it was not slower on
the bundled data)."""


_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class DataError(ValueError):
    """Missing table, symbol, interval or column, or an empty period."""


class LakeNotFound(FileNotFoundError):
    """The lake root has no catalog: a mistyped ``HERMES_LAKE_ROOT`` or nothing ingested yet."""


def require_lake(settings: Settings) -> None:
    """Raise :class:`LakeNotFound` unless the lake's catalog exists (reads never create one).

    A shared PostgreSQL catalog (``HERMES_CATALOG_URL``) is not checked here: attaching it
    fails with libpq's own message when the database is unreachable.
    """
    if settings.catalog_url is None and not settings.catalog_path.is_file():
        raise LakeNotFound(
            f"no lake at {settings.lake_root} (HERMES_LAKE_ROOT): there is no catalog "
            f"{CATALOG_FILE} in it; check the path, or create the lake with "
            "`hermes ingest <files>` (or `hermes run`)"
        )


def prepare_connection(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Load extensions, register credentials and make sure local folders exist (creating the
    lake on first use: only commands that write the lake call this)."""
    settings.lake_root.mkdir(parents=True, exist_ok=True)
    if settings.s3 is None:
        Path(settings.data_path).mkdir(parents=True, exist_ok=True)
        Path(settings.landing_root).mkdir(parents=True, exist_ok=True)
    load_extensions(conn, settings)
    create_s3_secret(conn, settings)
    ensure_catalog(conn, settings)


def ensure_catalog(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Create the DuckLake catalog on first use, recording the lake's absolute data path.

    On the local target later attaches (:func:`connect`, dbt's profile) give the data path
    again from where the lake is now (:func:`data_path_options`), so the folder can move.
    On S3 or with a shared catalog the data path is checked on every connection: DuckLake
    refuses a catalog that records another one (e.g. a local lake's catalog reused with
    ``HERMES_TARGET=s3``).
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
    settings: Settings | None = None, *, snapshot: int | None = None, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """A connection with the lake attached and selected (``use lake``).

    ``snapshot`` attaches the lake as of that DuckLake snapshot (read only), for exact
    reproduction of an earlier run. Otherwise the last published (audited) state is also
    attached read-only as ``published`` (:func:`attach_published`; written by
    :mod:`hermes.publish`).

    ``read_only`` never creates anything: a missing lake raises :class:`LakeNotFound`, the
    catalog is attached read-only (no other process is locked out), and
    :func:`restrict_file_access` is left to the caller once it has attached what it needs.
    """
    settings = settings or Settings.from_env()
    conn = duckdb.connect()
    exact_windows(conn)
    if read_only:
        require_lake(settings)
        load_extensions(conn, settings)
        create_s3_secret(conn, settings)
    else:
        prepare_connection(conn, settings)
    read_only = read_only or snapshot is not None
    options = [] if snapshot is None else [f"snapshot_version {int(snapshot)}"]
    options += data_path_options(settings)
    options += ["read_only"] if read_only else []
    clause = f" ({', '.join(options)})" if options else ""
    conn.execute(f"attach '{_literal(settings.catalog_attach)}' as {LAKE_ALIAS}{clause}")
    conn.execute(f"use {LAKE_ALIAS}")
    if snapshot is None:
        attach_published(conn)
    return conn


def data_path_options(settings: Settings) -> list[str]:
    """Attach options resolving a local lake's data path from where the lake is now.

    A local catalog records the absolute data path it was created with. Attached as it
    stands, a copied or moved lake (``cp -a lake elsewhere``) would read, and write, the
    original's parquet files; so the data path is given again on every attach, as the
    folder beside the catalog, and overrides the recorded one (the record is left as is).
    On S3 or with a shared catalog the recorded path must match (see :func:`ensure_catalog`).
    """
    if settings.s3 is not None or settings.catalog_url is not None:
        return []
    return [f"data_path '{_literal(settings.data_path)}'", "override_data_path true"]


def exact_windows(conn: duckdb.DuckDBPyConnection) -> None:
    """Compute window aggregates frame by frame on ``conn`` (:data:`WINDOW_MODE`)."""
    conn.execute(f"set debug_window_mode = '{WINDOW_MODE}'")


def restrict_file_access(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Limit ``conn`` to the lake's own files (data and landing zone), for good.

    DuckDB's external access is switched off except for those folders (no reading
    ``/etc/passwd``, no ``COPY`` to another folder, no ``ATTACH`` of another database, no
    extension loading), and the configuration is locked so that ``SET`` cannot undo it.
    """
    folders = [settings.data_path, settings.landing_root.rstrip("/") + "/"]
    conn.execute("set allowed_directories = ?", [folders])
    conn.execute("set enable_external_access = false")
    conn.execute("set lock_configuration = true")


def check_read_only(conn: duckdb.DuckDBPyConnection, query: str) -> None:
    """Refuse a query holding a statement other than a query (SELECT, SHOW, EXPLAIN...)."""
    for statement in conn.extract_statements(query):
        if statement.type not in READ_ONLY_STATEMENTS:
            raise PermissionError(
                f"{statement.type.name} statements are refused on a read-only connection "
                "(queries only: select, show, describe, explain)"
            )


def identifier(name: str) -> str:
    """``name`` if it is a plain lower-case SQL identifier, else :class:`DataError`."""
    if not _IDENTIFIER.match(name):
        raise DataError(f"invalid identifier {name!r}")
    return name


def table_types(conn: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column -> DuckDB type of ``table`` (:class:`DataError` if the lake has no such table)."""
    try:
        cursor = conn.execute(f"select * from {identifier(table)} limit 0")  # noqa: S608
    except duckdb.CatalogException as exc:
        raise DataError(f"the lake has no table {table!r} (run `hermes build` first)") from exc
    return {d[0]: str(d[1]) for d in cursor.description or []}


def table_columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Columns of ``table`` (raises :class:`DataError` if the lake has no such table)."""
    return list(table_types(conn, table))


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One DuckLake transaction: committed when the block ends, rolled back if it raises.

    Everything written inside becomes one snapshot, so readers see all of it or none of it.
    """
    conn.execute("begin transaction")
    try:
        yield conn
    except BaseException:
        conn.execute("rollback")
        raise
    conn.execute("commit")


def insert(conn: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    """Append ``rows`` (matched by column name) to ``table``; call inside :func:`transaction`."""
    view = f"_hermes_{identifier(table)}"
    conn.register(view, rows)
    try:
        # table: a validated identifier; view: derived from it
        conn.execute(f"insert into {table} by name select * from {view}")  # noqa: S608
    finally:
        conn.unregister(view)


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
    with connect(settings, snapshot=snapshot) as conn:
        yield conn


@contextmanager
def pinned(settings: Settings) -> Iterator[tuple[duckdb.DuckDBPyConnection, int]]:
    """A read-only connection to the lake as of its current snapshot, and that snapshot id."""
    with connect(settings) as conn:
        snapshot = current_snapshot(conn)
    with at_snapshot(settings, snapshot) as reader:
        yield reader, snapshot


def _literal(value: str) -> str:
    return value.replace("'", "''")


# The published state, as readers see it (recorded by hermes.publish after each audit).

SERIES_PUBLICATIONS = "hermes_series_publications"
"""Per-series rows of each publication (:mod:`hermes.publish`): the snapshot each series is
read at, ``published`` or ``held`` back."""


@dataclass(frozen=True)
class Publication:
    snapshot_id: int
    published_at: datetime
    flow_run: str
    stage: str
    summary: dict[str, Any]


def latest_publication(conn: duckdb.DuckDBPyConnection) -> Publication | None:
    """The publication readers currently see, or ``None`` if nothing was ever published."""
    if not table_exists(conn, "hermes_publications"):
        return None
    row = conn.execute(
        "select snapshot_id, published_at, flow_run, stage, summary "
        "from lake.main.hermes_publications order by published_at desc, snapshot_id desc limit 1"
    ).fetchone()
    if row is None:
        return None
    return Publication(int(row[0]), row[1], row[2], row[3], json.loads(row[4]))


def published_snapshot(conn: duckdb.DuckDBPyConnection) -> int | None:
    """The snapshot id of the latest publication (what ``published`` reads)."""
    publication = latest_publication(conn)
    return None if publication is None else publication.snapshot_id


def published_snapshots(conn: duckdb.DuckDBPyConnection) -> set[int]:
    """Snapshots lake maintenance must keep: those ``published`` reads (if any).

    That is the latest publication's, plus the last published snapshot of each series it
    held back. Earlier publications stay listed in ``hermes_publications`` but expire with
    the retention period like any other snapshot: pinning every daily publication would keep
    a copy of each rebuilt gold table forever.
    """
    snapshot = published_snapshot(conn)
    if snapshot is None:
        return set()
    return {snapshot} | {n for n in series_snapshots(conn, snapshot).values() if n is not None}


def series_snapshots(
    conn: duckdb.DuckDBPyConnection, publication: int
) -> dict[tuple[str, str], int | None]:
    """(symbol, interval) -> the snapshot readers see it at, per the publication at
    ``publication`` (None: held back and never published). Empty for a lake published
    before per-series publication (every series is then read at ``publication``)."""
    if not table_exists(conn, SERIES_PUBLICATIONS):
        return {}
    rows = conn.execute(
        f"select symbol, interval, snapshot_id from lake.main.{SERIES_PUBLICATIONS} "  # noqa: S608
        "where publication_snapshot = ?",
        [publication],
    ).fetchall()
    return {(str(s), str(i)): None if n is None else int(n) for s, i, n in rows}


PUBLISHED_SERIES_VIEW = "published_series"
"""``published.main.published_series``: (symbol, interval, snapshot_id) readers see."""


def attach_published(conn: duckdb.DuckDBPyConnection) -> int | None:
    """Expose the latest published state as the read-only ``published`` database.

    Every table of the lake as it stood at the latest publication's snapshot G gets a view
    ``published.<schema>.<table>``. When every series is published at G (the usual case),
    the view reads ``lake.<schema>.<table> at (version => G)``. When the publication held
    series back, a table with ``symbol`` and ``interval`` columns is read as the union of
    one ``at (version => N)`` read per snapshot N series are published at, each limited to
    those series (``published.main.published_series``): a held-back series shows its last
    published state, a never-published one does not show. Returns G, or ``None`` (and
    attaches nothing) when nothing was published yet.
    """
    snapshot = published_snapshot(conn)
    if snapshot is None:
        return None
    conn.execute("attach if not exists ':memory:' as published")
    series = series_snapshots(conn, snapshot)
    groups = sorted({n for n in series.values() if n is not None})
    isolated = any(n != snapshot for n in series.values())
    if isolated:
        conn.execute(
            f"create or replace view published.main.{PUBLISHED_SERIES_VIEW} as "  # noqa: S608
            f"select symbol, interval, snapshot_id from lake.main.{SERIES_PUBLICATIONS} "
            f"where publication_snapshot = {int(snapshot)} and snapshot_id is not null"
        )
    at_g = _tables_at(conn, snapshot)
    keyed = _series_keyed_tables(conn, snapshot) if isolated else set()
    present = {n: _tables_at(conn, n) for n in groups} if isolated else {}
    for schema, table in at_g:
        # names come from the catalog and are quoted as identifiers; versions are ints
        name = f"{_ident(schema)}.{_ident(table)}"
        if schema != "main":
            conn.execute(f"create schema if not exists published.{_ident(schema)}")
        if (schema, table) in keyed:
            reads = [
                f"select * from lake.{name} at (version => {int(n)}) "  # noqa: S608
                f"where (symbol, interval) in (select symbol, interval "
                f"from published.main.{PUBLISHED_SERIES_VIEW} where snapshot_id = {int(n)})"
                for n in groups
                if (schema, table) in present[n]
            ]
            # no series published yet at all: the table's columns, no rows
            body = " union all by name ".join(reads) or (
                f"select * from lake.{name} at (version => {int(snapshot)}) where false"  # noqa: S608
            )
        else:
            body = f"select * from lake.{name} at (version => {int(snapshot)})"  # noqa: S608
        conn.execute(f"create or replace view published.{name} as {body}")  # noqa: S608
    _publish_views(conn, snapshot)
    return snapshot


def _publish_views(conn: duckdb.DuckDBPyConnection, snapshot: int) -> None:
    """The lake's views at ``snapshot`` (``gold_strategy_scorecard``, ``gold_feature_store``)
    as ``published`` views over the published tables: DuckLake stores a view's SQL with its
    own catalog as ``{DUCKLAKE_CATALOG}``, here ``published``. A view over another view is
    created once that one is."""
    rows = _catalog_at(conn, snapshot, "view")
    todo = [(f"{_ident(str(a))}.{_ident(str(b))}", str(sql)) for a, b, sql in rows]
    while todo:
        failed = []
        for name, sql in todo:
            body = sql.replace("{DUCKLAKE_CATALOG}", "published")
            try:
                conn.execute(f"create or replace view published.{name} as {body}")  # noqa: S608
            except duckdb.Error:  # reads a view not created yet, or what G does not hold
                failed.append((name, sql))
        if len(failed) == len(todo):  # left out: readers of `published` do not see it
            break
        todo = failed


_CATALOG_AT = {
    # kind -> (catalog table, its name column, the columns read after schema and name)
    "table": ("ducklake_table", "table_name", ""),
    "view": ("ducklake_view", "view_name", ", t.sql"),
}


def _catalog_at(conn: duckdb.DuckDBPyConnection, snapshot: int, kind: str) -> list[tuple[Any, ...]]:
    """(schema, name, ...) of the lake's tables or views (``kind``) alive at ``snapshot``."""
    table, name, more = _CATALOG_AT[kind]  # fixed names: nothing from outside reaches the SQL
    return conn.execute(
        f"""
        select s.schema_name, t.{name}{more}
        from __ducklake_metadata_lake.{table} as t
        inner join __ducklake_metadata_lake.ducklake_schema as s on t.schema_id = s.schema_id
        where t.begin_snapshot <= $n and (t.end_snapshot is null or t.end_snapshot > $n)
          and s.begin_snapshot <= $n and (s.end_snapshot is null or s.end_snapshot > $n)
        order by s.schema_name, t.{name}
        """,  # noqa: S608
        {"n": snapshot},
    ).fetchall()


def _tables_at(conn: duckdb.DuckDBPyConnection, snapshot: int) -> list[tuple[str, str]]:
    """(schema, table) of every table of the lake at ``snapshot``."""
    rows = _catalog_at(conn, snapshot, "table")
    return [(str(schema), str(table)) for schema, table in rows]


def _series_keyed_tables(conn: duckdb.DuckDBPyConnection, snapshot: int) -> set[tuple[str, str]]:
    """Tables at ``snapshot`` with both a ``symbol`` and an ``interval`` column."""
    rows = conn.execute(
        """
        select s.schema_name, t.table_name
        from __ducklake_metadata_lake.ducklake_column as c
        inner join __ducklake_metadata_lake.ducklake_table as t on c.table_id = t.table_id
        inner join __ducklake_metadata_lake.ducklake_schema as s on t.schema_id = s.schema_id
        where c.column_name in ('symbol', 'interval') and c.parent_column is null
          and c.begin_snapshot <= $n and (c.end_snapshot is null or c.end_snapshot > $n)
          and t.begin_snapshot <= $n and (t.end_snapshot is null or t.end_snapshot > $n)
        group by all
        having count(distinct c.column_name) = 2
        """,
        {"n": snapshot},
    ).fetchall()
    return {(str(schema), str(table)) for schema, table in rows}


def _ident(name: str) -> str:
    """A catalog name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
