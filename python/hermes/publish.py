"""Write-audit-publish: readers see the last lake state that passed every test.

The daily refresh writes into the lake (``lake.*``, the working state), then audits it
(``dbt build`` runs every data test, then the Great Expectations checkpoint). Only when the
audit passes does :func:`publish` record the lake's current DuckLake snapshot in
``lake.main.hermes_publications``. Each DuckLake commit is an immutable snapshot, so the
published state needs no copy: :func:`attach_published` exposes it read-only as the
``published`` database, one view per table, each reading ``lake.<table> at (version => N)``.

``select * from published.silver_klines`` therefore returns the last good state while
``lake.silver_klines`` may hold a build whose tests failed. A failed audit simply never calls
:func:`publish`, so ``published`` stays where it was. ``hermes.maintenance`` never expires
the latest published snapshot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from hermes.lake import current_snapshot, table_exists

PUBLICATIONS = "lake.main.hermes_publications"
PUBLISHED_ALIAS = "published"

_DDL = """
create table if not exists lake.main.hermes_publications (
    snapshot_id bigint not null,     -- the DuckLake snapshot readers see as `published`
    published_at timestamp not null, -- UTC
    flow_run varchar not null,       -- the run (or command) that audited it
    stage varchar not null,          -- 'data' (models audited) or 'results' (backtests added)
    summary varchar not null         -- JSON: what the run changed
)
"""


@dataclass(frozen=True)
class Publication:
    snapshot_id: int
    published_at: datetime
    flow_run: str
    stage: str
    summary: dict[str, Any]


def publish(
    conn: duckdb.DuckDBPyConnection,
    flow_run: str,
    stage: str,
    summary: dict[str, Any] | None = None,
) -> Publication:
    """Record the lake's current snapshot as the published state (call only after the audit)."""
    if stage not in ("data", "results"):
        raise ValueError(f"unknown publication stage {stage!r}: expected 'data' or 'results'")
    snapshot = current_snapshot(conn)  # the audited state, before this bookkeeping commits
    conn.execute(_DDL)
    published_at = datetime.now(UTC).replace(tzinfo=None)
    body = summary or {}
    conn.execute(
        "insert into lake.main.hermes_publications "
        "(snapshot_id, published_at, flow_run, stage, summary) values (?, ?, ?, ?, ?)",
        [snapshot, published_at, flow_run, stage, json.dumps(body, default=str, sort_keys=True)],
    )
    return Publication(snapshot, published_at, flow_run, stage, body)


def finish_publications(
    conn: duckdb.DuckDBPyConnection, flow_run: str, summary: dict[str, Any]
) -> int:
    """Give every publication row of ``flow_run`` the run's final summary; returns the rows.

    A run publishes its data, then its backtest results: the rows written on the way carry
    the summary as it stood then. Once the run has finished, each row says how it ended.
    """
    if not table_exists(conn, "hermes_publications"):
        return 0
    body = json.dumps(summary, default=str, sort_keys=True)
    rows = conn.execute(
        "update lake.main.hermes_publications set summary = ? where flow_run = ?",
        [body, flow_run],
    ).fetchone()
    return int(rows[0]) if rows else 0


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
    """Snapshots lake maintenance must keep: the one ``published`` reads (if any).

    Earlier publications stay listed in ``hermes_publications`` but expire with the retention
    period like any other snapshot: pinning every daily publication would keep a copy of each
    rebuilt gold table forever.
    """
    snapshot = published_snapshot(conn)
    return set() if snapshot is None else {snapshot}


def attach_published(conn: duckdb.DuckDBPyConnection) -> int | None:
    """Expose the latest published snapshot as the read-only ``published`` database.

    Every table of the lake as it stood at that snapshot gets a view
    ``published.<schema>.<table>`` over ``lake.<schema>.<table> at (version => N)``. Returns
    the snapshot id, or ``None`` (and attaches nothing) when nothing was published yet.
    """
    snapshot = published_snapshot(conn)
    if snapshot is None:
        return None
    conn.execute("attach if not exists ':memory:' as published")
    tables = conn.execute(
        """
        select s.schema_name, t.table_name
        from __ducklake_metadata_lake.ducklake_table as t
        inner join __ducklake_metadata_lake.ducklake_schema as s on t.schema_id = s.schema_id
        where t.begin_snapshot <= $n and (t.end_snapshot is null or t.end_snapshot > $n)
          and s.begin_snapshot <= $n and (s.end_snapshot is null or s.end_snapshot > $n)
        order by s.schema_name, t.table_name
        """,
        {"n": snapshot},
    ).fetchall()
    for schema, table in tables:
        # names come from the catalog and are quoted as identifiers; the version is an int
        name = f"{_ident(schema)}.{_ident(table)}"
        if schema != "main":
            conn.execute(f"create schema if not exists published.{_ident(schema)}")
        conn.execute(
            f"create or replace view published.{name} as "  # noqa: S608
            f"select * from lake.{name} at (version => {int(snapshot)})"
        )
    return snapshot


def pending_since_publication(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(symbol, interval) partitions landed since the last publication (all, if none yet).

    A run whose audit failed leaves its files here, so the next run rebuilds them even if it
    ingests nothing new.
    """
    if not table_exists(conn, "files", schema="landing"):
        return []
    publication = latest_publication(conn)
    since = datetime(1970, 1, 1) if publication is None else publication.published_at
    rows = conn.execute(
        "select distinct symbol, interval from lake.landing.files "
        "where ingested_at > ? order by symbol, interval",
        [since],
    ).fetchall()
    return [(str(s), str(i)) for s, i in rows]


def _ident(name: str) -> str:
    """A catalog name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
