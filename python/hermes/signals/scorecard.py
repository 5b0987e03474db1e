"""``hermes strategies``: the strategy scorecard (``gold_strategy_scorecard``) as published.

Read as published (what the daily flow audited: ``published.gold_strategy_scorecard``, where
each series reads at its own last published snapshot, so a series the audit held back shows
its last published runs, :func:`hermes.publication.attach_published`), or at the lake's current
snapshot when nothing was published yet; without a built lake, the registry alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hermes.config import Settings
from hermes.lake import connect, current_snapshot
from hermes.publication import attach_published
from hermes.signals.registry import STATUSES, list_strategies

SCORECARD = "gold_strategy_scorecard"
COLUMNS = (
    "strategy_id",
    "name",
    "version",
    "status",
    "tags",
    "symbol",
    "interval",
    "total_return",
    "cagr",
    "sharpe",
    "max_drawdown",
    "trades",
    "exposure",
    "buy_and_hold_return",
    "run_id",
    "snapshot_id",
    "verdict",
)


@dataclass(frozen=True)
class Scorecard:
    snapshot: int | None
    rows: list[dict[str, Any]]


def read_scorecard(
    settings: Settings, *, tag: str | None = None, status: str | None = None
) -> Scorecard:
    """Scorecard rows (one per strategy and backtested series), filtered by tag and status."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"--status {status!r} must be one of {', '.join(STATUSES)}")
    with connect(settings) as conn:
        snapshot = attach_published(conn)
        database = "lake" if snapshot is None else "published"
        if snapshot is None:
            snapshot = current_snapshot(conn)
        if _has_scorecard(conn, database):
            cursor = conn.execute(
                f"select {', '.join(COLUMNS)} from {database}.main.{SCORECARD} "  # noqa: S608 constants
                "where (? is null or list_contains(string_split(tags, '|'), ?)) "
                "and (? is null or status = ?) "
                "order by strategy_id, symbol, interval",
                [tag, tag, status, status],
            )
            rows = [dict(zip(COLUMNS, r, strict=True)) for r in cursor.fetchall()]
            return Scorecard(snapshot, rows)
    rows = [
        {
            **dict.fromkeys(COLUMNS),
            **{k: getattr(s, k) for k in ("strategy_id", "name", "version", "status")},
            "tags": "|".join(s.tags),
        }
        for s in list_strategies()
        if (tag is None or tag in s.tags) and (status is None or s.status == status)
    ]
    return Scorecard(None, rows)


def _has_scorecard(conn: Any, database: str) -> bool:
    """Whether ``database`` (``lake`` or ``published``) holds the scorecard (a view)."""
    row = conn.execute(
        "select count(*) from (select database_name, table_name as name from duckdb_tables() "
        "union all select database_name, view_name from duckdb_views()) "
        "where database_name = ? and name = ?",
        [database, SCORECARD],
    ).fetchone()
    return bool(row and row[0])
