"""Deactivation: a paper-traded strategy no longer ``active`` closes what it holds, then stops.

On the first refresh after the registry row's ``status`` left ``active``, each of its series
(of a shared-capital portfolio: the portfolio, all its symbols at once) still holding a
position (as stored in ``gold_paper_positions``) is recomputed through
:func:`hermes.paper.ledger.compute_series` with ``close_after`` = its last stored bar: no
entry fills after that bar and a market exit fills on the next one (``next_open``: at its
open), so the closing order has the fees and slippage of any order and the stored prefix is
checked as on every extension. The series is then flat and is not recomputed again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from hermes.features.store import FEATURE_STORE
from hermes.intervals import interval_seconds
from hermes.paper.ledger import compute_group, paper_strategies
from hermes.paper.series import SeriesLedger, Waiting
from hermes.paper.tables import ensure_paper_tables
from hermes.signals.source import SignalSource

Positions = dict[tuple[str, str, str], tuple[datetime, float]]
"""(strategy, symbol, interval) -> (last stored bar, quantity held)."""


def _earlier(end: datetime | None, other: datetime) -> datetime:
    return other if end is None else min(end, other)


def stored_positions(conn: duckdb.DuckDBPyConnection) -> Positions:
    """``(strategy, symbol, interval) -> (last bar, quantity held)`` of every stored ledger."""
    ensure_paper_tables(conn)
    rows = conn.execute(
        "select strategy_id, symbol, interval, as_of, quantity from gold_paper_positions"
    ).fetchall()
    return {(r[0], r[1], r[2]): (r[3], float(r[4])) for r in rows}


def closing_ledgers(
    reader: duckdb.DuckDBPyConnection,
    positions: Positions,
    *,
    snapshot: int,
    end: datetime | None = None,
    features_table: str = FEATURE_STORE,
    waiting: list[str] | None = None,
) -> list[SeriesLedger]:
    """The closing ledgers of deactivated strategies' series still holding a position."""
    out = []
    for strategy, activation in paper_strategies(reader, active=False):
        open_series = [
            (symbol, interval, as_of)
            for (sid, symbol, interval), (as_of, quantity) in sorted(positions.items())
            if sid == strategy.strategy_id and quantity != 0
        ]
        if not open_series:  # flat: the ledger has stopped (its signal model is not even read)
            continue
        sid = strategy.strategy_id
        source = SignalSource(reader, strategy, features_table)
        if source.built_parameters:
            strategy = strategy.with_parameters(source.built_parameters)
        groups = [([symbol], interval, as_of) for symbol, interval, as_of in open_series]
        if activation.portfolio:  # every symbol of a portfolio holding one, closed together
            stored: dict[str, list[str]] = {}
            for owner, symbol, interval in sorted(positions):
                if owner == sid:
                    stored.setdefault(interval, []).append(symbol)
            held = sorted({(interval, as_of) for _, interval, as_of in open_series})
            groups = [(stored[interval], interval, as_of) for interval, as_of in held]
        for symbols, interval, as_of in groups:
            try:
                out.append(
                    compute_group(
                        source,
                        strategy,
                        activation,
                        symbols,
                        interval,
                        snapshot=snapshot,
                        end=_earlier(
                            end, as_of + 2 * timedelta(seconds=interval_seconds(interval))
                        ),
                        close_after=as_of,
                    )
                )
            except Waiting as exc:
                if waiting is not None:
                    waiting.append(f"{sid} {exc}")
    return out
