"""Write-audit-publish: readers see the last lake state that passed every test.

The daily refresh writes into the lake (``lake.*``, the working state), then audits it
(``dbt build`` runs every data test, then the Great Expectations checkpoint). Only when the
audit passes does :func:`publish` record the lake's current DuckLake snapshot in
``lake.main.hermes_publications``. Each DuckLake commit is an immutable snapshot, so the
published state needs no copy: :func:`hermes.publication.attach_published` exposes it
read-only as the ``published`` database, one view per table, each reading
``lake.<table> at (version => N)``.

``select * from published.silver_klines`` therefore returns the last good state while
``lake.silver_klines`` may hold a build whose tests failed. A failed audit simply never calls
:func:`publish`, so ``published`` stays where it was. ``hermes.maintenance`` never expires
the snapshots ``published`` reads.

Publication is per series (write-audit-publish per (symbol, interval) partition). Every
publication also writes one row per series of ``silver_klines`` into
``lake.main.hermes_series_publications``: a healthy series is ``published`` at the new
snapshot; a series the audit ``held`` back (a data test or an expectation failed on its rows)
keeps the snapshot of its last publication (none if it was never published) and the reason.
:func:`hermes.publication.attach_published` builds each ``published`` view over a table with
``symbol`` and ``interval`` columns as the union of ``at (version => N)`` reads, one per
snapshot group, each limited to the series published at N: readers see a held-back series
exactly as it was last published, never a partial series. A series stays pending (rebuilt
and audited by every run) until a publication publishes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import duckdb

from hermes.lake import current_snapshot, table_exists
from hermes.publication import (
    LATEST,
    PUBLICATIONS,
    SERIES_PUBLICATIONS,
    Publication,
)

EPOCH = "timestamp '1970-01-01'"
"""Before any publication: every landed file is pending."""

_DDL = """
create table if not exists lake.main.hermes_publications (
    snapshot_id bigint not null,     -- the DuckLake snapshot readers see as `published`
    published_at timestamp not null, -- UTC
    flow_run varchar not null,       -- the run (or command) that audited it
    stage varchar not null,          -- 'data' (models audited) or 'results' (backtests added)
    summary varchar not null         -- JSON: what the run changed
)
"""

_SERIES_DDL = f"""
create table if not exists lake.main.{SERIES_PUBLICATIONS} (
    publication_snapshot bigint not null, -- the publication (hermes_publications.snapshot_id)
    symbol varchar not null,
    interval varchar not null,
    snapshot_id bigint,                   -- the snapshot readers see this series at (null: none)
    status varchar not null,              -- 'published' or 'held'
    reason varchar,                       -- why it was held back
    flow_run varchar not null,
    published_at timestamp not null       -- UTC
)
"""


def publish(
    conn: duckdb.DuckDBPyConnection,
    flow_run: str,
    stage: str,
    summary: dict[str, Any] | None = None,
    held: Mapping[tuple[str, str], str] | None = None,
) -> Publication:
    """Record the lake's current snapshot as the published state (call only after the audit).

    ``held`` maps each (symbol, interval) series the audit held back to the reason: those
    keep their last published snapshot; every other series of ``silver_klines`` is published
    at this one. One transaction: the publication and its series rows commit together.
    """
    if stage not in ("data", "results"):
        raise ValueError(f"unknown publication stage {stage!r}: expected 'data' or 'results'")
    snapshot = current_snapshot(conn)  # the audited state, before this bookkeeping commits
    conn.execute(_DDL)
    conn.execute(_SERIES_DDL)
    published_at = datetime.now(UTC).replace(tzinfo=None)
    body = summary or {}
    series = _series_rows(conn, snapshot, held or {})
    conn.execute("begin")
    try:
        conn.execute(
            "insert into lake.main.hermes_publications "
            "(snapshot_id, published_at, flow_run, stage, summary) values (?, ?, ?, ?, ?)",
            [
                snapshot,
                published_at,
                flow_run,
                stage,
                json.dumps(body, default=str, sort_keys=True),
            ],
        )
        if series:  # one statement, so one data file (a statement per row wrote a file each)
            columns = [list(column) for column in zip(*series, strict=True)]
            symbols, intervals, snapshots, statuses, reasons = columns
            conn.execute(
                f"insert into lake.main.{SERIES_PUBLICATIONS} "  # noqa: S608 (a constant name)
                "(publication_snapshot, symbol, interval, snapshot_id, status, reason, "
                "flow_run, published_at) "
                "select ?, unnest(?::varchar[]), unnest(?::varchar[]), unnest(?::bigint[]), "
                "unnest(?::varchar[]), unnest(?::varchar[]), ?, ?",
                [
                    snapshot,
                    symbols,
                    intervals,
                    snapshots,
                    statuses,
                    reasons,
                    flow_run,
                    published_at,
                ],
            )
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return Publication(snapshot, published_at, flow_run, stage, body)


def _series_rows(
    conn: duckdb.DuckDBPyConnection, snapshot: int, held: Mapping[tuple[str, str], str]
) -> list[tuple[str, str, int | None, str, str | None]]:
    """(symbol, interval, snapshot readers see it at, status, reason) of every series."""
    series: set[tuple[str, str]] = set(held)
    if table_exists(conn, "silver_klines"):
        series |= {
            (str(s), str(i))
            for s, i in conn.execute(
                "select distinct symbol, interval from lake.main.silver_klines"
            ).fetchall()
        }
    last = last_published_series(conn)
    rows: list[tuple[str, str, int | None, str, str | None]] = []
    for key in sorted(series):
        if key in held:
            rows.append((*key, last.get(key), "held", held[key]))
        else:
            rows.append((*key, snapshot, "published", None))
    return rows


def last_published_series(conn: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], int]:
    """(symbol, interval) -> the snapshot of its latest publication (series ever published)."""
    if not table_exists(conn, SERIES_PUBLICATIONS):
        return {}
    rows = conn.execute(
        f"select symbol, interval, max(snapshot_id) from lake.main.{SERIES_PUBLICATIONS} "  # noqa: S608
        "where status = 'published' group by all"
    ).fetchall()
    return {(str(s), str(i)): int(n) for s, i, n in rows}


def held_series(conn: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """Series the latest publication held back, with the reason (empty if none)."""
    if not table_exists(conn, PUBLICATIONS) or not table_exists(conn, SERIES_PUBLICATIONS):
        return {}
    rows = conn.execute(  # the latest publication's rows (no bound value: see table_exists)
        f"select symbol, interval, reason from lake.main.{SERIES_PUBLICATIONS} "  # noqa: S608
        f"where publication_snapshot = (select snapshot_id from ({LATEST})) "
        "and status = 'held' order by symbol, interval"
    ).fetchall()
    return {(str(s), str(i)): str(r or "") for s, i, r in rows}


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
    """(symbol, interval) partitions landed since their last publication (all, if none yet).

    A run whose audit failed leaves its files here, so the next run rebuilds them even if it
    ingests nothing new; a series held back stays here until a run publishes it.
    """
    if not table_exists(conn, "files", schema="landing"):
        return []
    # Constant SQL only (no bound value: see table_exists): the latest publication's time,
    # or the epoch before the first one.
    since = (
        f"coalesce((select published_at from ({LATEST})), {EPOCH})"  # noqa: S608 (constants)
        if table_exists(conn, PUBLICATIONS)
        else EPOCH
    )
    if not table_exists(conn, SERIES_PUBLICATIONS):  # a lake published before series rows
        rows = conn.execute(
            "select distinct symbol, interval from lake.landing.files "  # noqa: S608
            f"where ingested_at > {since} order by symbol, interval"
        ).fetchall()
        return [(str(s), str(i)) for s, i in rows]
    rows = conn.execute(
        f"""
        with last as (
            -- null: held back by every publication that named it
            select symbol, interval, max(published_at) filter (status = 'published') as at
            from lake.main.{SERIES_PUBLICATIONS}
            group by all
        )
        select distinct files.symbol, files.interval
        from lake.landing.files as files
        left join last using (symbol, interval)
        where files.ingested_at > case
            when last.symbol is null then {since}  -- no series row: the publication's time
            else coalesce(last.at, {EPOCH})
        end
        order by files.symbol, files.interval
        """  # noqa: S608 (constant table names and subqueries)
    ).fetchall()
    return [(str(s), str(i)) for s, i in rows]
