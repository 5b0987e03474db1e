"""The ground floor every domain package stands on: open the lake (a DuckDB connection with
the DuckLake catalog attached as ``lake``), name its tables safely and write rows in one
transaction. What was published (the audited state readers see) is read by
:mod:`hermes.publication`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from hermes.config import CATALOG_FILE, LAKE_ALIAS, Settings
from hermes.extensions import create_s3_secret, load_extensions

if TYPE_CHECKING:
    import pyarrow as pa

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


CONNECTION_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_file_cache": False
}
"""Settings of every Hermes connection (and dbt's, in ``profiles.yml``): no cache of the
files read. DuckDB 1.5 keeps what it reads of each file in its buffer; reading a lake's
thousands of small parquet files filled it (1.3 GB for 154 MB of files in the 200 symbols'
new-day build, see docs/new-day-cost.md), where the operating system's page cache already
holds the local files."""


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
    reproduction of an earlier run. The last published (audited) state is not attached here:
    a reader of it calls :func:`hermes.publication.attach_published` on the connection (the
    views cost a catalog read and one view per table, which a writer never needs).

    ``read_only`` never creates anything: a missing lake raises :class:`LakeNotFound`, the
    catalog is attached read-only (no other process is locked out), and
    :func:`restrict_file_access` is left to the caller once it has attached what it needs.
    """
    settings = settings or Settings.from_env()
    conn = duckdb.connect(config=CONNECTION_CONFIG)
    exact_windows(conn)
    if read_only:
        require_lake(settings)
        load_extensions(conn, settings)
        create_s3_secret(conn, settings)
    else:
        prepare_connection(conn, settings)
    _attach(conn, settings, snapshot=snapshot, read_only=read_only)
    return conn


def _attach(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    *,
    snapshot: int | None = None,
    read_only: bool = False,
) -> None:
    """Attach the lake as ``lake`` on ``conn`` (at ``snapshot``, read only, if given) and
    select it."""
    read_only = read_only or snapshot is not None
    options = [] if snapshot is None else [f"snapshot_version {int(snapshot)}"]
    options += data_path_options(settings)
    options += ["read_only"] if read_only else []
    clause = f" ({', '.join(options)})" if options else ""
    conn.execute(f"attach '{_literal(settings.catalog_attach)}' as {LAKE_ALIAS}{clause}")
    conn.execute(f"use {LAKE_ALIAS}")


def _reattach(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    *,
    snapshot: int | None = None,
    read_only: bool = False,
) -> None:
    conn.execute("use memory")
    conn.execute(f"detach database if exists {LAKE_ALIAS}")
    _attach(conn, settings, snapshot=snapshot, read_only=read_only)


@contextmanager
def as_of(
    conn: duckdb.DuckDBPyConnection, settings: Settings, snapshot: int, *, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """``conn`` (a :func:`connect` connection) reading the lake as of ``snapshot`` for the
    block, then the working state again (read only if ``read_only``, as it was opened).

    A step that reads a pinned snapshot between writes moves its one connection back and
    forth instead of opening another: a new connection loads the extensions again (DuckDB
    checks the ducklake extension's signature on every load, most of a connection's cost),
    re-attaching the catalog does not. The catalog is attached once at a time in a process,
    so the working state is detached for the block; objects registered on ``conn`` stay.
    """
    try:
        _reattach(conn, settings, snapshot=snapshot)
    except BaseException:  # e.g. a snapshot expired by maintenance: the working state again
        _reattach(conn, settings, read_only=read_only)
        raise
    try:
        yield conn
    finally:
        _reattach(conn, settings, read_only=read_only)


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


def create_lake_secret(conn: duckdb.DuckDBPyConnection, settings: Settings, name: str) -> None:
    """Name where the local lake lives as a DuckLake secret: ``attach 'ducklake:<name>'``
    then opens this lake's catalog, with its data path beside it (as :func:`connect` does).

    dbt's profile attaches the lake this way (``hermes.dbt_plugin`` creates the secret when
    a connection opens), so no lake path is part of the profile dbt hashes to decide whether
    its saved parse still holds: one parse of the project serves every lake.
    """
    options = {"metadata_path": str(settings.catalog_path), "data_path": settings.data_path}
    body = ", ".join(f"{key} '{_literal(value)}'" for key, value in options.items())
    conn.execute(f"create or replace secret {identifier(name)} (type ducklake, {body})")


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
    """Whether ``schema.table`` exists in the attached lake, as the connection sees it (at its
    snapshot, inside its transaction); a view of that name counts too.

    The name is bound in a query that reads nothing, as :func:`table_types` does: listing
    ``duckdb_tables()`` loads every table of the lake first (7 to 16 ms a call against 1.4 ms,
    measured on a test lake and on one of 200 symbols), and a run asks dozens of times. A
    failed bind leaves an open transaction usable."""
    name = f"{LAKE_ALIAS}.{identifier(schema)}.{identifier(table)}"
    try:
        conn.execute(f"select 1 from {name} limit 0")  # noqa: S608  # validated identifiers
    except duckdb.CatalogException:
        return False
    return True


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
