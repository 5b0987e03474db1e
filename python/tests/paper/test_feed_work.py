"""A refresh recomputes only the feed rows whose inputs changed, and its feed is a full
recompute's, row for row.

Real bundled data (the session's built lake: BTCUSDT/ETHUSDT, 4h and 1d, the registry's
smart_momentum, paper traded, and donchian_breakout, read at one snapshot). Each simulated
refresh sees the bars before its midnight (``end``) and is computed an hour later. Two feeds
live through the same refreshes: one recomputed in full every time, the other reusing its
previous rows whose inputs' fingerprint is unchanged. Along the way a day is refreshed
twice, ETHUSDT 4h is held back by the audit for a day and caught up, a stored row lacks its
fingerprint (as the live engine writes them), and a strategy's paper settings change.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pytest

from hermes.config import Settings
from hermes.lake import pinned
from hermes.paper import feed
from hermes.paper.feed import FINGERPRINT, FeedKey, compute_feed
from hermes.signals import source as source_module
from hermes.signals.models import read_prices_many
from hermes.signals.registry import list_strategies

STRATEGIES = ("smart_momentum", "donchian_breakout")
HELD = datetime(2025, 12, 5)
"""The refresh at which ETHUSDT 4h is held back (both feeds keep its previous row)."""


def keyed(rows: list[dict]) -> dict[FeedKey, dict]:
    return {(r["strategy_id"], r["symbol"], r["interval"]): r for r in rows}


def test_only_changed_feed_rows_are_recomputed_and_the_feed_is_a_full_recompute(
    built_lake: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two of the registry's active strategies (the paper-traded one first) keep it short
    registry = [s for s in list_strategies() if s.strategy_id in STRATEGIES]
    monkeypatch.setattr(feed, "list_strategies", lambda conn: registry)
    strategies = [s.strategy_id for s in registry]
    assert strategies == list(STRATEGIES) and all(s.status == "active" for s in registry)
    every = sorted((s, sym, i) for s in strategies for sym in ("BTCUSDT", "ETHUSDT")
                   for i in ("1d", "4h"))  # fmt: skip
    eth_4h = sorted(k for k in every if k[1:] == ("ETHUSDT", "4h"))
    full: dict[FeedKey, dict] = {}
    reusing: dict[FeedKey, dict] = {}
    with pinned(built_lake) as (reader, snapshot):

        def both(end: datetime, hours: int = 1) -> tuple[list[dict], list[FeedKey]]:
            """One refresh of both feeds: (the reusing feed's rows, the keys it recomputed)."""
            nonlocal full, reusing
            now, skip = end + timedelta(hours=hours), {("ETHUSDT", "4h")} if end == HELD else set()
            done: list[FeedKey] = []
            fresh = keyed(compute_feed(reader, snapshot=snapshot, now=now, end=end, skip=skip))
            reused = keyed(
                compute_feed(
                    reader,
                    snapshot=snapshot,
                    now=now,
                    end=end,
                    skip=skip,
                    stored=reusing,
                    computed=done,
                )  # fmt: skip
            )
            for key in eth_4h if skip else []:  # held back: the previous rows stay
                fresh[key], reused[key] = full[key], reusing[key]
            assert {
                k: {c: v for c, v in r.items() if c != FINGERPRINT} for k, r in fresh.items()
            } == {k: {c: v for c, v in r.items() if c != FINGERPRINT} for k, r in reused.items()}
            assert fresh == reused  # the fingerprints too
            full, reusing = fresh, reused
            return list(reused.values()), sorted(done)

        rows, done = both(datetime(2025, 12, 1))
        assert done == every and len(rows) == len(every)  # nothing stored: all computed
        # the same bars, later: reused, but for a row without its fingerprint (the live
        # engine writes them so)
        reusing[every[0]] = reusing[every[0]] | {FINGERPRINT: None}
        rows, done = both(datetime(2025, 12, 1), hours=5)
        assert done == [every[0]]
        assert {r["bar_age_seconds"] for r in rows if r["interval"] == "4h"} == {5 * 3600.0}
        rows, done = both(HELD)  # new days: every series has new bars, one is held back
        assert done == sorted(set(every) - set(eth_4h))
        assert {r["open_time"] for r in rows if r["symbol"] == "ETHUSDT" and r["interval"] == "4h"}\
            == {datetime(2025, 11, 30, 20)}  # fmt: skip
        rows, done = both(datetime(2025, 12, 6))  # caught up the next day
        assert done == every

        # new paper settings for one strategy: its rows, and only they, are recomputed
        changed = strategies[0]
        registry = [
            replace(s, paper_config=json.dumps({"intervals": ["4h"], "fees": 0.002}))
            if s.strategy_id == changed
            else s
            for s in registry
        ]
        rows, done = both(datetime(2025, 12, 6), hours=2)
        assert done == [k for k in every if k[0] == changed]


def test_series_read_together_are_the_series_read_one_by_one(built_lake: Settings) -> None:
    """What the feed reads in one query per table equals :meth:`SignalSource.series`."""
    with pinned(built_lake) as (reader, _):
        pairs = [("BTCUSDT", "1d"), ("BTCUSDT", "4h"), ("ETHUSDT", "4h"), ("NOSUCHUSDT", "4h")]
        for strategy, source, _ in feed.feed_strategies(reader):
            for end in (None, datetime(2024, 3, 1, 2)):
                many = source.many(pairs, end=end, parameters=strategy.parameters)
                assert sorted(many) == pairs[:3]
                for (symbol, interval), got in many.items():
                    one = source.series(symbol, interval, end=end, parameters=strategy.parameters)
                    assert got.source == one.source == "table"
                    assert len(got.open_time) > 700
                    assert got.open_time.dtype == one.open_time.dtype
                    for name in ("open_time", "entries", "exits"):
                        np.testing.assert_array_equal(getattr(got, name), getattr(one, name))
                    for mine, theirs in ((got.prices, one.prices), (got.flags, one.flags),
                                         (got.values, one.values)):  # fmt: skip
                        assert list(mine) == list(theirs)
                        for name in mine:
                            np.testing.assert_array_equal(mine[name], theirs[name])


def test_the_feed_reads_the_prices_once_for_every_strategy(
    built_lake: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The prices of the series recomputed are read in one query and handed to each active
    strategy's read of its signals, not read again per strategy; the rows are those of each
    strategy reading its own prices."""
    calls: list[list[tuple[str, str]]] = []

    def counted(conn, table, pairs, *, end):  # type: ignore[no-untyped-def]
        calls.append(sorted(pairs))
        return read_prices_many(conn, table, pairs, end=end)

    end, now = datetime(2025, 12, 1), datetime(2025, 12, 1, 1)
    with pinned(built_lake) as (reader, snapshot):
        strategies = [s.strategy_id for s, _, _ in feed.feed_strategies(reader)]
        assert len(strategies) >= 3
        alone = {}  # each strategy reading its own prices, as one by one
        for strategy, source, _ in feed.feed_strategies(reader):
            pairs = [("BTCUSDT", "1d"), ("BTCUSDT", "4h"), ("ETHUSDT", "1d"), ("ETHUSDT", "4h")]
            alone[strategy.strategy_id] = source.many(
                pairs, end=end, parameters=strategy.parameters
            )
        monkeypatch.setattr(source_module, "read_prices_many", counted)
        monkeypatch.setattr(feed, "read_prices_many", counted)
        rows = compute_feed(reader, snapshot=snapshot, now=now, end=end)
    assert calls == [sorted(alone[strategies[0]])]  # one read, of every series
    assert sorted({r["strategy_id"] for r in rows}) == sorted(strategies)
    assert len(rows) == 4 * len(strategies)
    for row in rows:
        series = alone[row["strategy_id"]][(row["symbol"], row["interval"])]
        assert row["open_time"] == series.open_time[-1].astype(datetime)
        assert row["price"] == series.prices["close"][-1]
        flags = {name: bool(values[-1]) for name, values in series.flags.items()}
        assert json.loads(row["flags"]) == flags
