"""Write-audit-publish: readers see the last lake state that passed every test.

The daily refresh writes into the lake (``lake.*``, the working state), then audits it
(``dbt build`` runs every data test, then the Great Expectations checkpoint). Only when the
audit passes does :func:`publish` record the lake's current DuckLake snapshot in
``lake.main.hermes_publications``. Each DuckLake commit is an immutable snapshot, so the
published state needs no copy: :func:`hermes.lake.attach_published` exposes it read-only as the
``published`` database, one view per table, each reading ``lake.<table> at (version => N)``.

``select * from published.silver_klines`` therefore returns the last good state while
``lake.silver_klines`` may hold a build whose tests failed. A failed audit simply never calls
:func:`publish`, so ``published`` stays where it was. ``hermes.maintenance`` never expires
the latest published snapshot.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import duckdb

from hermes.lake import Publication, current_snapshot, latest_publication, table_exists

_DDL = """
create table if not exists lake.main.hermes_publications (
    snapshot_id bigint not null,     -- the DuckLake snapshot readers see as `published`
    published_at timestamp not null, -- UTC
    flow_run varchar not null,       -- the run (or command) that audited it
    stage varchar not null,          -- 'data' (models audited) or 'results' (backtests added)
    summary varchar not null         -- JSON: what the run changed
)
"""


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
