"""The shared-capital paper ledger built refresh by refresh equals one portfolio backtest;
``hermes paper --verify`` says so, and names the first difference of an edited ledger."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fixtures.paper_ledger import (
    LAST_DAY,
    SERIES,
    SINCE,
    daily_refreshes,
    read,
    refresh_until_held,
    verified_together,
)

from hermes.backtest.inputs import load_slice
from hermes.backtest.portfolio import execute_portfolio
from hermes.backtest.request import RunContext
from hermes.config import Settings
from hermes.lake import connect
from hermes.paper import deactivation
from hermes.paper import ledger as ledger_module
from hermes.paper.activation import Activation, activation_of
from hermes.paper.ledger import compute_series, extend_ledgers
from hermes.paper.portfolio import compute_portfolio
from hermes.paper.series import SeriesLedger
from hermes.paper.verify import backtest_orders, canonical
from hermes.signals.registry import load_strategy
from hermes.signals.source import SignalSource

SYMBOLS = [s for s, _ in SERIES]
NAME = ",".join(SYMBOLS)
RULES = {"sl_stop": 0.02, "tp_stop": 0.04, "max_drawdown_halt": 0.02, "halt_bars": 180}


def shared(activation: Activation, **rules: Any) -> Activation:
    config = replace(activation.config, **rules)
    return replace(activation, config=config, portfolio=True)


def portfolio(
    source: tuple[SignalSource, int], activation: Activation, end: datetime | None
) -> list[SeriesLedger]:
    signals, snapshot = source
    return [
        compute_portfolio(
            signals, signals.strategy, activation, SYMBOLS, "4h", snapshot=snapshot, end=end
        )
    ]


def backtest(source: tuple[SignalSource, int], activation: Activation) -> Any:
    signals, snapshot = source
    slices = [load_slice(signals, s, "4h", start=activation.start, end=None) for s in SYMBOLS]
    context = RunContext(
        signals.strategy, activation.config, snapshot, period_start=activation.start
    )
    return execute_portfolio(context, slices)


def test_the_registry_portfolio_settings() -> None:
    strategy = replace(load_strategy("smart_momentum"), paper_config='{"max_positions": 1}')
    found = activation_of(strategy)
    assert found is not None and found.portfolio and found.config.max_positions == 1
    strategy = replace(strategy, paper_config='{"portfolio": true}')
    found = activation_of(strategy)
    assert found is not None and found.portfolio and found.config.max_positions is None


@pytest.mark.parametrize(
    "rules",
    [{}, {"max_positions": 1}, RULES],
    ids=["shared_cash", "one_slot", "shared_cash_stops_and_breaker"],
)
def test_daily_refreshes_build_the_portfolio_backtest_order_for_order(
    source: tuple[SignalSource, int],
    activation: Activation,
    lake_settings: Settings,
    rules: dict[str, Any],
) -> None:
    signals, snapshot = source
    activation = shared(activation, **rules)
    conn = connect(lake_settings)
    try:
        refreshes = daily_refreshes(conn, lambda end: portfolio(source, activation, end), snapshot)
    finally:
        conn.close()
    assert refreshes >= 50
    run = backtest(source, activation)

    equity = read(
        lake_settings,
        "select symbol, open_time, equity, position, close from gold_paper_equity "
        "order by open_time",
    )
    assert {row[0] for row in equity} == {NAME}  # one equity series: the portfolio's
    assert [row[1] for row in equity] == run.equity.column("open_time").to_pylist()
    ledger_equity = np.array([row[2] for row in equity])
    backtest_equity = np.array(run.equity.column("equity").to_pylist())
    assert np.abs(ledger_equity - backtest_equity).max() < 0.005  # to the cent
    assert [row[3] for row in equity] == run.equity.column("position").to_pylist()
    assert [row[4] for row in equity] == pytest.approx(run.equity.column("close").to_pylist())
    slots = rules.get("max_positions", len(SYMBOLS))
    most = max(row[3] for row in equity)  # symbols held at once (at a bar's close)
    assert most == slots if "sl_stop" not in rules else most <= slots

    orders = canonical(
        read(
            lake_settings,
            "select filled_at, symbol, side, quantity, fill_price, fees from gold_paper_orders",
        )
    )
    expected = canonical(backtest_orders(run.trades))
    assert len(orders) == len(expected) >= 4
    traded = {o[1] for o in orders}  # each order under its real symbol
    assert traded == (set(SYMBOLS) if slots > 1 else {"BTCUSDT"})  # the first symbol's slot
    if "sl_stop" in rules:  # the rules acted: stop exits
        assert any(o[2] == "sell" for o in orders)
        stops = read(
            lake_settings, "select count(*) from gold_paper_orders where order_type = 'stop'"
        )
        assert stops[0][0] > 0
    for got, want in zip(orders, expected, strict=True):
        assert got[:3] == want[:3]
        assert got[3:] == pytest.approx(want[3:], rel=1e-12)

    if slots == 1:  # the slot refused entries: unlimited shared cash trades otherwise
        free = replace(activation.config, max_positions=None)
        unlimited = backtest(source, replace(activation, config=free))
        assert {t["symbol"] for t in unlimited.trades.to_pylist()} == set(SYMBOLS)

    positions = read(
        lake_settings,
        "select symbol, quantity, equity from gold_paper_positions order by symbol",
    )
    assert [p[0] for p in positions] == SYMBOLS  # one row per real symbol
    assert [p[2] for p in positions] == pytest.approx([ledger_equity[-1]] * 2, abs=1e-9)
    held = {t["symbol"]: t["size"] for t in run.trades.to_pylist() if t["status"] == "open"}
    assert [p[1] for p in positions] == pytest.approx([held.get(s, 0.0) for s in SYMBOLS])

    conn = connect(lake_settings)  # the ledger equals the backtest: `hermes paper --verify`
    try:
        (verdict,) = verified_together(conn, signals.conn, snapshot)
    finally:
        conn.close()
    assert verdict.difference is None
    assert verdict.line == (
        f"smart_momentum {NAME} 4h: ledger == backtest: {len(orders)} orders, final equity "
        f"{ledger_equity[-1]:.2f} (backtest {backtest_equity[-1]:.2f})"
    )


def test_verify_names_the_first_difference_of_an_edited_order(
    source: tuple[SignalSource, int], activation: Activation, lake_settings: Settings
) -> None:
    signals, snapshot = source
    conn = connect(lake_settings)
    try:
        for symbol, interval in SERIES:  # a ledger per series (portfolios: above)
            extend_ledgers(
                conn,
                [
                    compute_series(
                        signals, signals.strategy, activation, symbol, interval, snapshot=snapshot
                    )
                ],
                snapshot=snapshot,
            )
        verdicts = verified_together(conn, signals.conn, snapshot)
        assert [(v.symbol, v.difference) for v in verdicts] == [(s, None) for s in SYMBOLS]
        assert all(v.orders >= 2 for v in verdicts)
        assert all(abs(v.final_equity - v.backtest_equity) < 0.005 for v in verdicts)

        ((filled,),) = conn.execute(
            "select filled_at from gold_paper_orders where symbol = 'ETHUSDT' and order_id = 1"
        ).fetchall()
        conn.execute(
            "update gold_paper_orders set fill_price = fill_price + 1 "
            "where symbol = 'ETHUSDT' and order_id = 1"
        )
        eth = verified_together(conn, signals.conn, snapshot)[1]
    finally:
        conn.close()
    assert eth.difference is not None
    assert eth.difference.startswith(f"order sell ETHUSDT filled {filled}: ledger quantity")
    assert eth.line.startswith("smart_momentum ETHUSDT 4h: ledger != backtest: order sell")


def test_a_deactivated_portfolio_closes_every_symbol_it_holds_at_the_next_open(
    source: tuple[SignalSource, int],
    activation: Activation,
    lake_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signals, snapshot = source
    config = '{"portfolio": true}'
    row = replace(
        signals.strategy, paper_since=SINCE.isoformat(), paper_config=config, status="active"
    )
    registry = [row]
    monkeypatch.setattr(ledger_module, "list_strategies", lambda conn: registry)
    conn = connect(lake_settings)
    try:

        def one_portfolio(found: list[SeriesLedger]) -> None:
            assert [ledger.symbol for ledger in found] == [NAME]

        stored = refresh_until_held(conn, signals.conn, snapshot, one_portfolio)
        held = sorted(key[1] for key, (_, quantity) in stored.items() if quantity > 0)
        (last,) = {as_of for as_of, _ in stored.values()}
        registry[0] = replace(row, status="retired")
        closing = deactivation.closing_ledgers(signals.conn, stored, snapshot=snapshot)
        assert [ledger.symbol for ledger in closing] == [NAME]
        done = extend_ledgers(conn, closing, snapshot=snapshot)
        assert done.added == {("smart_momentum", NAME, "4h"): (len(held), 1)}
        bar = timedelta(hours=4)
        for order in done.new_orders:
            assert (order["side"], order["order_type"], order["filled_at"]) == (
                "sell",
                "market",
                last + bar,
            )
            next_open = load_slice(
                signals, order["symbol"], "4h", start=last + bar, end=last + 2 * bar
            )
            price = float(next_open.prices["open"][0]) * (1 - 0.0005)
            assert order["fill_price"] == pytest.approx(price, rel=1e-12)
        assert sorted(o["symbol"] for o in done.new_orders) == held
        final = deactivation.stored_positions(conn)
        assert set(final.values()) == {(last + bar, 0.0)}
        assert deactivation.closing_ledgers(signals.conn, final, snapshot=snapshot) == []
    finally:
        conn.close()
    assert date(2025, 11, 1) <= last.date() <= LAST_DAY
