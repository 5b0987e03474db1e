"""A delisted pair's paper ledger closes at its last traded bar, and verify still holds.

Real data: MATICUSDT 4h (retired 2024-09-10, `data/universe/`), its last 400 candles ingested
into a lake of the module's own (only the models donchian_breakout's signals need are built).
donchian_breakout buys MATICUSDT at the 2024-09-09 20:00 open and still holds it when the
pair is delisted: the ledger sells at the close of the 2024-09-10 00:00 bar (0.3794).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime

import pytest
from fixtures.paper_ledger import donchian_lake, donchian_paper_row, refresh_on, use_registry

from hermes.backtest.engine import simulate
from hermes.backtest.inputs import load_slice
from hermes.config import PROJECT_ROOT, Settings
from hermes.lake import connect, pinned
from hermes.paper import deactivation, feed, verify
from hermes.paper import ledger as ledger_module
from hermes.paper.activation import activation_of
from hermes.paper.rows import order_rows
from hermes.paper.series import DELISTED, Waiting, delisted_orders, delisting_close
from hermes.signals.registry import Strategy
from hermes.signals.source import SignalSource
from hermes.universe import delisted_on, lists

MATIC = PROJECT_ROOT / "data" / "universe" / "MATICUSDT_4h.csv.gz"
LAST_BAR = datetime(2024, 9, 10)  # the last candle (open time) of the pair
LAST_CLOSE = 0.3794  # its close
BOUGHT_AT = datetime(2024, 9, 9, 20)  # the buy's bar (decided on 16:00), open 0.3833
FEES, SLIPPAGE, CAPITAL = 0.001, 0.0005, 10_000.0


@pytest.fixture(scope="module")
def matic_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The last 400 MATICUSDT 4h candles ingested, donchian_breakout's signals built."""
    base = tmp_path_factory.mktemp("delisted")
    header, *lines = gzip.decompress(MATIC.read_bytes()).decode().splitlines()
    yield donchian_lake(base, {"MATICUSDT": (header, lines[-400:])})


def paper_row(reader: object) -> Strategy:
    config = {"intervals": ["4h"], "fees": FEES, "slippage": SLIPPAGE}
    return donchian_paper_row(reader, config, CAPITAL)


def test_an_open_position_is_sold_at_the_close_of_the_last_bar_and_verify_holds(
    matic_lake: Settings, lake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pinned(matic_lake) as (reader, snapshot):
        registry = [paper_row(reader)]
        use_registry(monkeypatch, registry)
        conn = connect(lake_settings)
        try:
            refresh_on(conn, reader, snapshot, (date(2024, 9, 5), date(2024, 9, 10)))
            key = ("donchian_breakout", "MATICUSDT", "4h")
            (last, held) = deactivation.stored_positions(conn)[key]
            assert last == BOUGHT_AT and held > 0  # bought at the 20:00 open, not closed yet
            cash = conn.execute("select cash from gold_paper_positions").fetchall()[0][0]

            # the refresh after the delisting day's midnight closes the position
            found = ledger_module.compute_ledgers(reader, snapshot=snapshot, end=None)
            done = ledger_module.extend_ledgers(conn, found, snapshot=snapshot)
            assert done.added == {key: (1, 1)}
            (order,) = done.new_orders
            price = LAST_CLOSE * (1 - SLIPPAGE)
            assert (order["side"], order["order_type"]) == ("sell", DELISTED)
            assert (order["decided_at"], order["filled_at"]) == (LAST_BAR, LAST_BAR)
            assert order["quantity"] == pytest.approx(held, rel=1e-12)
            assert order["fill_price"] == pytest.approx(0.37921030, abs=1e-12)
            assert order["fill_price"] == pytest.approx(price, rel=1e-12)
            assert order["fees"] == pytest.approx(held * price * FEES, rel=1e-12)
            bought = CAPITAL / (0.3833 * (1 + SLIPPAGE) * (1 + FEES))  # all cash at the open
            assert held == pytest.approx(bought, rel=1e-9)
            proceeds = held * price * (1 - FEES)
            rows = conn.execute(
                "select open_time, position, cash, equity from gold_paper_equity "
                "where open_time >= ? order by open_time",
                [BOUGHT_AT],
            ).fetchall()
            assert rows == [
                (BOUGHT_AT, pytest.approx(held), pytest.approx(cash), pytest.approx(held * 0.3822)),
                (LAST_BAR, 0.0, pytest.approx(cash + proceeds), pytest.approx(cash + proceeds)),
            ]
            assert deactivation.stored_positions(conn)[key] == (LAST_BAR, 0.0)

            # the ledger has stopped; the backtest of its period ends the same way
            again = ledger_module.compute_ledgers(reader, snapshot=snapshot, end=None)
            assert ledger_module.extend_ledgers(conn, again, snapshot=snapshot).added == {
                key: (0, 0)
            }
            (verdict,) = verify.verify_ledgers(conn, reader, snapshot=snapshot)
            assert verdict.difference is None and verdict.orders == 1
            # compared up to the bar before the closing one (the delisting's own order)
            before = cash + held * 0.3822  # equity at the 2024-09-09 20:00 close
            assert (verdict.final_equity, verdict.backtest_equity) == pytest.approx((before,) * 2)
        finally:
            conn.close()


def test_same_close_fills_on_the_last_bar_and_nothing_trades_after_it(
    matic_lake: Settings,
) -> None:
    with pinned(matic_lake) as (reader, _):
        row = paper_row(reader)
        source = SignalSource(reader, row, "gold_feature_store")
        data = load_slice(source, "MATICUSDT", "4h", start=datetime(2024, 9, 1), end=None)
    closing = delisting_close(data, date(2024, 9, 10), "same_close")
    assert not closing.synthetic and closing.last_time == LAST_BAR
    assert bool(closing.data.exits[-1]) and not closing.data.entries[-1]
    activation = activation_of(row)
    assert activation is not None
    config = replace(activation.config, fill="same_close")
    sim = simulate(closing.data.prices, closing.data.entries, closing.data.exits, config)
    assert sim.orders is not None and float(sim.position[-1]) == 0.0
    assert float(sim.orders["price"][-1]) == pytest.approx(LAST_CLOSE * (1 - SLIPPAGE), rel=1e-12)
    cut = closing.data
    rows = order_rows(
        sim.orders, cut.open_time, cut.exits[:, None], "same_close", "donchian_breakout",
        date(2024, 9, 1), "4h", ["MATICUSDT"],
    )  # fmt: skip
    typed = delisted_orders(rows, closing).to_pylist()
    assert [(o["side"], o["order_type"], o["filled_at"]) for o in typed] == [
        ("buy", "market", datetime(2024, 9, 9, 16)),  # same_close: at the deciding bar's close
        ("sell", DELISTED, LAST_BAR),
    ]
    assert closing.final  # the next 4h bar would open after the delisting day's midnight
    unsure = delisting_close(replace(data, open_time=data.open_time[:-1], prices={
        k: v[:-1] for k, v in data.prices.items()}, entries=data.entries[:-1],
        exits=data.exits[:-1]), date(2024, 9, 10), "next_open")  # fmt: skip
    assert unsure.last_time == BOUGHT_AT and not unsure.final  # a 00:00 bar may still come
    earlier = delisting_close(data, date(2024, 9, 5), "next_open")  # cut at 2024-09-05 00:00
    assert earlier.last_time == datetime(2024, 9, 5) and earlier.synthetic
    assert earlier.data.prices["open"][-1] == earlier.data.prices["close"][-2]
    with pytest.raises(Waiting, match="MATICUSDT 4h: delisted on 2024-08-01, before paper_since"):
        delisting_close(data, date(2024, 8, 1), "next_open")


def test_the_feed_marks_a_delisted_series_and_the_universe_lists_its_intervals(
    matic_lake: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pinned(matic_lake) as (reader, snapshot):
        registry = [paper_row(reader)]
        monkeypatch.setattr(feed, "list_strategies", lambda conn: registry)
        before = feed.compute_feed(reader, snapshot=snapshot, now=datetime(2024, 9, 9, 23))
        after = feed.compute_feed(reader, snapshot=snapshot, now=datetime(2024, 9, 12))
    ((old,), (row,)) = before, after
    assert old["open_time"] == LAST_BAR and old["decision"] != DELISTED
    assert (row["decision"], row["position_before"], row["position"]) == (DELISTED, 1.0, 0.0)
    assert (row["price"], row["stale"]) == (LAST_CLOSE, False)  # two days old, yet not stale
    assert row["bar_age_intervals"] == pytest.approx(11.0)
    key = ("donchian_breakout", "MATICUSDT", "4h")
    assert feed.new_decisions({key: old}, after) == [
        "delisted donchian_breakout MATICUSDT 4h: last bar 2024-09-10 00:00 (close 0.3794)"
    ]
    assert feed.new_decisions({key: row}, after) == []  # said once
    assert delisted_on("MATICUSDT", datetime(2024, 9, 10)) is None  # its last day not begun
    assert delisted_on("MATICUSDT", datetime(2024, 9, 10, 0, 1)) == date(2024, 9, 10)
    assert delisted_on("BTCUSDT") is None
    assert (lists("BCHUSDT", "1d"), lists("BCHUSDT", "4h"), lists("NOTLISTED", "1h")) == (
        True,
        False,
        False,  # a pair outside the universe is not traded either
    )


def test_a_reused_feed_row_turns_delisted_when_the_delisting_day_begins(
    matic_lake: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pinned(matic_lake) as (reader, snapshot):
        registry = [paper_row(reader)]
        monkeypatch.setattr(feed, "list_strategies", lambda conn: registry)
        stored: dict = {}
        recomputed = []
        for now in (datetime(2024, 9, 9, 23), datetime(2024, 9, 9, 23, 30),
                    datetime(2024, 9, 12), datetime(2024, 9, 20)):  # fmt: skip
            done: list = []
            rows = feed.compute_feed(reader, snapshot=snapshot, now=now, stored=stored,
                                     computed=done)  # fmt: skip
            assert rows == feed.compute_feed(reader, snapshot=snapshot, now=now)  # a full one
            stored = {(r["strategy_id"], r["symbol"], r["interval"]): r for r in rows}
            recomputed.append(len(done))
    assert recomputed == [1, 0, 1, 0]  # no new bar; recomputed once as the pair is delisted
    (row,) = stored.values()
    assert (row["decision"], row["stale"], row["bar_age_intervals"]) == (DELISTED, False, 59.0)
