"""Which paper ledgers a daily step recomputes: those whose series have a bar after the
ledger's stored last bar.

A ledger is extended by appending what its recomputation holds after its stored last bar
(:func:`hermes.paper.ledger.extend_ledgers`). When none of its series has a bar after that
one, the recomputation would add nothing, so the daily step leaves it out and a series with
nothing new costs nothing. Always recomputed: a ledger not stored yet (new, or waiting for
its ``paper_since``), and one still holding a delisted pair (its closing order is due once
the delisting day's midnight has passed, with no new bar). Deactivated strategies' closing
ledgers are chosen by their stored positions (:mod:`hermes.paper.deactivation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from hermes.features.store import FEATURE_STORE, list_series
from hermes.lake import identifier
from hermes.paper.portfolio import label
from hermes.paper.tables import ensure_paper_tables
from hermes.universe import delistings

SeriesKey = tuple[str, str]
"""(symbol, interval)."""
LedgerKey = tuple[str, str, str]
"""(strategy, ledger symbol, interval); a portfolio's symbol joins its symbols."""


@dataclass(frozen=True)
class Pending:
    """The data's last bars and the stored ledgers' last bars, to choose the work from."""

    data: dict[SeriesKey, datetime]
    ledgers: dict[LedgerKey, datetime]
    holding_delisted: frozenset[LedgerKey]
    """(strategy, real symbol, interval) of stored positions in a delisted pair."""

    def wants(self, strategy_id: str, symbols: Sequence[str], interval: str) -> bool:
        """Whether the ledger of ``symbols`` (one series, or a portfolio) may grow."""
        last = self.ledgers.get((strategy_id, label(tuple(symbols)), interval))
        if last is None:
            return True
        if any((strategy_id, s, interval) in self.holding_delisted for s in symbols):
            return True
        return any(self.data.get((s, interval), last) > last for s in symbols)


def data_last_bars(
    reader: duckdb.DuckDBPyConnection,
    *,
    end: datetime | None = None,
    features_table: str = FEATURE_STORE,
) -> dict[SeriesKey, datetime]:
    """(symbol, interval) -> the open time of its last bar before ``end`` (all: ``None``)."""
    if end is None:
        return {
            (s.symbol, s.interval): s.last_open_time for s in list_series(reader, features_table)
        }
    rows = reader.execute(  # validated identifier, bound values
        f"select symbol, interval, max(open_time) from {identifier(features_table)} "  # noqa: S608
        "where open_time < ? group by all",
        [end],
    ).fetchall()
    return {(str(s), str(i)): t for s, i, t in rows}


def stored_last_bars(
    conn: duckdb.DuckDBPyConnection,
) -> tuple[dict[LedgerKey, datetime], frozenset[LedgerKey]]:
    """The stored ledgers' last bars, and the stored positions held in a delisted pair
    (:class:`Pending`'s ``ledgers`` and ``holding_delisted``)."""
    ensure_paper_tables(conn)
    ledgers = conn.execute(
        "select strategy_id, symbol, interval, max(open_time) from gold_paper_equity group by all"
    ).fetchall()
    delisted = set(delistings())
    held = conn.execute(
        "select strategy_id, symbol, interval from gold_paper_positions where quantity <> 0"
    ).fetchall()
    return (
        {(str(a), str(s), str(i)): t for a, s, i, t in ledgers},
        frozenset((str(a), str(s), str(i)) for a, s, i in held if str(s) in delisted),
    )
