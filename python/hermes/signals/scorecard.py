"""``hermes strategies``: the strategy scorecard (``gold_strategy_scorecard``) as published.

Read at the last published snapshot (what the daily flow audited), or at the lake's current
one when nothing was published yet; without a built lake, the registry alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hermes.config import Settings
from hermes.lake import at_snapshot, connect, current_snapshot, published_snapshot, table_exists
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
        snapshot = published_snapshot(conn) or current_snapshot(conn)
    with at_snapshot(settings, snapshot) as reader:
        if table_exists(reader, SCORECARD) or _is_view(reader):
            cursor = reader.execute(
                f"select {', '.join(COLUMNS)} from {SCORECARD} "  # noqa: S608 constants
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


def _is_view(conn: Any) -> bool:
    row = conn.execute(
        "select count(*) from duckdb_views() where database_name = 'lake' and view_name = ?",
        [SCORECARD],
    ).fetchone()
    return bool(row and row[0])
