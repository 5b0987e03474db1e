"""The published state as readers see it: the publication records written by
:mod:`hermes.publish` after each audit, and the read-only ``published`` database over them.

A plain :func:`hermes.lake.connect` does not attach ``published``: building it reads the
catalog and creates one view per table and lake view, work that writers (ingest, backtests,
paper trading, the flow's steps) never need. A reader of the audited state (the research
site, the scorecard, ``hermes sql``) calls :func:`attach_published` on its connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from hermes.lake import table_exists

PUBLICATIONS = "hermes_publications"
"""One row per publication (:class:`Publication`)."""
SERIES_PUBLICATIONS = "hermes_series_publications"
"""Per-series rows of each publication (:mod:`hermes.publish`): the snapshot each series is
read at, ``published`` or ``held`` back."""


@dataclass(frozen=True)
class Publication:
    """One row of ``hermes_publications``: the snapshot readers see, when and by which run."""

    snapshot_id: int
    published_at: datetime
    flow_run: str
    stage: str
    summary: dict[str, Any]


def latest_publication(conn: duckdb.DuckDBPyConnection) -> Publication | None:
    """The publication readers currently see, or ``None`` if nothing was ever published."""
    if not table_exists(conn, PUBLICATIONS):
        return None
    return _latest(conn)


LATEST = (
    "select snapshot_id, published_at, flow_run, stage, summary "
    "from lake.main.hermes_publications order by published_at desc, snapshot_id desc limit 1"
)
"""The latest publication's row (a query without parameters: it also serves as a subquery)."""


def _latest(conn: duckdb.DuckDBPyConnection) -> Publication | None:
    """:func:`latest_publication`, its table known to exist."""
    row = conn.execute(LATEST).fetchone()
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
    return _series(conn, publication)


def _series(conn: duckdb.DuckDBPyConnection, publication: int) -> dict[tuple[str, str], int | None]:
    """:func:`series_snapshots`, its table known to exist."""
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
    tables = _live_tables(conn, (PUBLICATIONS, SERIES_PUBLICATIONS))
    publication = _latest(conn) if PUBLICATIONS in tables else None
    if publication is None:
        return None
    snapshot = publication.snapshot_id
    conn.execute("attach if not exists ':memory:' as published")
    series = _series(conn, snapshot) if SERIES_PUBLICATIONS in tables else {}
    # one transaction for every view: DuckLake then reads its catalog once, not per view
    conn.execute("begin")
    try:
        _table_views(conn, snapshot, series)
    except BaseException:
        conn.execute("rollback")
        raise
    conn.execute("commit")
    _publish_views(conn, snapshot)
    return snapshot


def _table_views(
    conn: duckdb.DuckDBPyConnection, snapshot: int, series: dict[tuple[str, str], int | None]
) -> None:
    """One ``published`` view per table of the lake at ``snapshot`` (see
    :func:`attach_published`); ``series``: where each series is published."""
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


def _live_tables(conn: duckdb.DuckDBPyConnection, names: tuple[str, ...]) -> set[str]:
    """Which of ``names`` are tables of the lake's ``main`` schema in its latest committed
    snapshot: one query on the DuckLake catalog (``duckdb_tables()``, which
    :func:`hermes.lake.table_exists` reads, loads every table of the lake first). Readers of
    the published state open the lake unpinned, so the latest snapshot is theirs."""
    rows = conn.execute(
        """
        select t.table_name
        from __ducklake_metadata_lake.ducklake_table as t
        inner join __ducklake_metadata_lake.ducklake_schema as s on t.schema_id = s.schema_id
        where s.schema_name = 'main' and t.end_snapshot is null and s.end_snapshot is null
          and list_contains($names, t.table_name)
        """,
        {"names": list(names)},
    ).fetchall()
    return {str(row[0]) for row in rows}


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
