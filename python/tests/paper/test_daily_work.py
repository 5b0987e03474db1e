"""A daily paper step recomputes only the ledgers with new bars, and ends where a full
recompute ends.

Real bundled data (the session's built lake, BTCUSDT/ETHUSDT 4h, read at one snapshot).
Two ledger lakes live through the same daily refreshes from ``SINCE`` to the data's last
day: one recomputes every ledger each day (the step as it was), the other only those
:class:`hermes.paper.work.Pending` wants. Along the way a day is refreshed twice, ETHUSDT is
held back by the audit for a few days in the second lake only, and days are skipped then
caught up. The stored orders, equity and positions of both lakes are equal, row for row.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import duckdb
import pytest
from fixtures.bundled_lake import make_settings
from fixtures.paper_ledger import LAST_DAY, SINCE, midnight, use_registry

from hermes.config import Settings
from hermes.lake import connect, pinned
from hermes.paper import verify
from hermes.paper.ledger import compute_ledgers, extend_ledgers
from hermes.paper.work import Pending, data_last_bars, stored_last_bars
from hermes.signals.registry import load_strategy

TABLES = {
    "gold_paper_orders": "strategy_id, symbol, interval, order_id",
    "gold_paper_equity": "strategy_id, symbol, interval, open_time",
    "gold_paper_positions": "strategy_id, symbol, interval",
}
HELD = (datetime(2025, 12, 3), datetime(2025, 12, 7))  # ETHUSDT held back by the audit
REFRESHES = [  # each at midnight: the bars of the days before; gaps are caught up (backfills)
    *(datetime(2025, 11, d) for d in (2, 3, 8, 20, 27)),
    *(datetime(2025, 12, d) for d in (3, 5, 8, 9, 20)),
    midnight(LAST_DAY + timedelta(days=1)),  # the data's last day
]


def step(
    conn: duckdb.DuckDBPyConnection,
    reader: duckdb.DuckDBPyConnection,
    snapshot: int,
    end: datetime,
    *,
    selective: bool,
) -> list[tuple[str, str, str]]:
    """One daily step on the ledger lake ``conn``; the ledgers it recomputed."""
    wants = None
    skip: set[tuple[str, str]] = set()
    if selective:
        wants = Pending(data_last_bars(reader, end=end), *stored_last_bars(conn)).wants
        if HELD[0] <= end <= HELD[1]:
            skip = {("ETHUSDT", "4h")}
    found = compute_ledgers(reader, snapshot=snapshot, end=end, wants=wants, skip=skip)
    extend_ledgers(conn, found, snapshot=snapshot)
    return [(x.strategy.strategy_id, x.symbol, x.interval) for x in found]


def rows(settings: Settings) -> dict[str, list[tuple]]:
    with connect(settings) as conn:
        return {
            table: conn.execute(f"select * from {table} order by {keys}").fetchall()  # noqa: S608
            for table, keys in TABLES.items()
        }


def test_only_ledgers_with_new_bars_are_recomputed_and_the_result_is_a_full_recompute(
    built_lake: Settings, lake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    full_lake = lake_settings
    selective_lake = make_settings(lake_settings.lake_root.parent / "selective")
    with pinned(built_lake) as (reader, snapshot):
        strategy = load_strategy("smart_momentum", conn=reader)
        registry = [replace(strategy, paper_since=SINCE.isoformat())]
        use_registry(monkeypatch, registry)
        full, selective = connect(full_lake), connect(selective_lake)
        recomputed: dict[datetime, list[tuple[str, str, str]]] = {}
        try:
            for end in REFRESHES:
                step(full, reader, snapshot, end, selective=False)
                recomputed[end] = step(selective, reader, snapshot, end, selective=True)
                if end == datetime(2025, 11, 20):  # the same day again: nothing recomputed
                    assert step(selective, reader, snapshot, end, selective=True) == []
                    step(full, reader, snapshot, end, selective=False)
            # the data's last bar is stored: a step after it (no new bar) recomputes nothing
            later = REFRESHES[-1] + timedelta(days=1)
            assert step(selective, reader, snapshot, later, selective=True) == []
            verdicts = verify.verify_ledgers(selective, reader, snapshot=snapshot)
        finally:
            full.close()
            selective.close()
    both = [("smart_momentum", "BTCUSDT", "4h"), ("smart_momentum", "ETHUSDT", "4h")]
    assert recomputed[datetime(2025, 11, 2)] == both
    assert recomputed[datetime(2025, 12, 5)] == both[:1]  # ETHUSDT held back
    assert recomputed[datetime(2025, 12, 8)] == both  # and caught up the next day
    assert [v.line.split(":")[1].strip() for v in verdicts] == ["ledger == backtest"] * 2
    expected, got = rows(full_lake), rows(selective_lake)
    assert len(expected["gold_paper_equity"]) > 300 and len(expected["gold_paper_orders"]) >= 4
    assert got == expected


def test_a_ledger_holding_a_delisted_pair_is_recomputed_until_it_closes() -> None:
    last = datetime(2024, 9, 10)
    key = ("donchian_breakout", "MATICUSDT", "4h")
    work = Pending({("MATICUSDT", "4h"): last}, {key: last}, frozenset({key}))
    assert work.wants("donchian_breakout", ["MATICUSDT"], "4h")  # no new bar, still held
    flat = Pending({("MATICUSDT", "4h"): last}, {key: last}, frozenset())
    assert not flat.wants("donchian_breakout", ["MATICUSDT"], "4h")
    assert flat.wants("donchian_breakout", ["BTCUSDT"], "4h")  # never stored: computed
    portfolio = ("s", "BTCUSDT,ETHUSDT", "4h")
    work = Pending({("BTCUSDT", "4h"): last, ("ETHUSDT", "4h"): last + timedelta(hours=4)},
                   {portfolio: last}, frozenset())  # fmt: skip
    assert work.wants("s", ["BTCUSDT", "ETHUSDT"], "4h")  # one of its symbols has a new bar
    caught_up = Pending(work.data, {portfolio: last + timedelta(hours=4)}, frozenset())
    assert not caught_up.wants("s", ["BTCUSDT", "ETHUSDT"], "4h")
