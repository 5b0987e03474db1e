"""The paper ledger built refresh by refresh equals one backtest of the same period.

Signals and prices are read from the session's built lake (read only, at one snapshot); each
simulated daily refresh sees only the bars before the end of its day (``end``), exactly what a
refresh on that day would have landed, and extends a ledger kept in a lake of its own.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from fixtures.paper_ledger import (
    SERIES,
    SINCE,
    daily_refreshes,
    hermes_cli,
    midnight,
    read,
    refresh_until_held,
)

from hermes.backtest.engine import simulate
from hermes.backtest.inputs import load_slice
from hermes.backtest.request import RunContext
from hermes.backtest.runs import execute
from hermes.config import Settings
from hermes.lake import connect
from hermes.paper import deactivation
from hermes.paper import ledger as ledger_module
from hermes.paper.activation import Activation, PaperError, activation_of
from hermes.paper.broker import schema
from hermes.paper.feed import compute_feed, replace_feed
from hermes.paper.ledger import compute_series, extend_ledgers
from hermes.paper.series import SeriesLedger, Waiting, missing_bars
from hermes.paper.verify import backtest_orders
from hermes.signals.registry import load_strategy
from hermes.signals.source import SignalSource


def ledgers(
    source: tuple[SignalSource, int], activation: Activation, end: datetime | None
) -> list[SeriesLedger]:
    signals, snapshot = source
    return [
        compute_series(signals, signals.strategy, activation, s, i, snapshot=snapshot, end=end)
        for s, i in SERIES
    ]


def extend(settings: Settings, rows: list[SeriesLedger], snapshot: int) -> tuple[int, int]:
    conn = connect(settings)
    try:
        done = extend_ledgers(conn, rows, snapshot=snapshot)
    finally:
        conn.close()
    return done.orders, done.bars


RULES = {"sl_stop": 0.02, "tp_stop": 0.04, "max_drawdown_halt": 0.02, "halt_bars": 180}


@pytest.mark.parametrize("rules", [{}, RULES], ids=["plain", "stops_and_breaker"])
def test_daily_refreshes_build_the_backtest_order_for_order(
    source: tuple[SignalSource, int],
    activation: Activation,
    lake_settings: Settings,
    rules: dict[str, Any],
) -> None:
    signals, snapshot = source
    activation = replace(activation, config=replace(activation.config, **rules))
    conn = connect(lake_settings)
    try:
        refreshes = daily_refreshes(conn, lambda end: ledgers(source, activation, end), snapshot)
    finally:
        conn.close()
    assert refreshes >= 50

    for symbol, interval in SERIES:
        data = load_slice(signals, symbol, interval, start=activation.start, end=None)
        context = RunContext(
            signals.strategy, activation.config, snapshot, period_start=activation.start
        )
        run = execute(context, data)
        where = f"symbol = '{symbol}' and interval = '{interval}'"
        equity = read(
            lake_settings,
            f"select open_time, equity, position from gold_paper_equity where {where} "  # noqa: S608
            "order by open_time",
        )
        times = [t for t, _, _ in equity]
        assert times == run.equity.column("open_time").to_pylist()
        backtest_equity = np.array(run.equity.column("equity").to_pylist())
        ledger_equity = np.array([e for _, e, _ in equity])
        assert np.abs(ledger_equity - backtest_equity).max() < 0.005  # to the cent
        assert [p for _, _, p in equity] == run.equity.column("position").to_pylist()

        orders = read(
            lake_settings,
            "select filled_at, side, quantity, fill_price, fees from gold_paper_orders "  # noqa: S608
            f"where {where} order by order_id",
        )
        expected = [order[:1] + order[2:] for order in backtest_orders(run.trades)]
        assert len(orders) == len(expected) >= 2
        for got, want in zip(orders, expected, strict=True):
            assert got[:2] == want[:2]
            assert got[2:] == pytest.approx(want[2:], rel=1e-12)

    if rules:  # the rules acted: stop exits (on the entry bar), entries the breaker blocked
        same_bar = read(
            lake_settings,
            "select count(*) from gold_paper_orders b join gold_paper_orders s using "
            "(symbol, filled_at) where b.side = 'buy' and s.order_type = 'stop'",
        )
        assert same_bar[0][0] > 0
        stops = read(
            lake_settings, "select count(*) from gold_paper_orders where order_type = 'stop'"
        )
        assert stops[0][0] > 0
        changed = []
        for symbol, interval in SERIES:
            data = load_slice(signals, symbol, interval, start=activation.start, end=None)
            config = activation.config
            free = replace(config, max_drawdown_halt=None, halt_bars=None)
            entered = [
                list(simulate(data.prices, data.entries, data.exits, c).trades["entry_idx"])
                for c in (config, free)
            ]
            changed.append(entered[0] != entered[1])
        assert any(changed)

    positions = read(
        lake_settings,
        "select symbol, equity, quantity from gold_paper_positions order by symbol",
    )
    last = read(
        lake_settings,
        "select symbol, arg_max(equity, open_time), arg_max(position, open_time) "
        "from gold_paper_equity group by symbol order by symbol",
    )
    assert positions == last


def test_a_killed_extension_leaves_the_ledger_as_it_was(
    source: tuple[SignalSource, int],
    activation: Activation,
    lake_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, snapshot = source
    first = ledgers(source, activation, midnight(date(2025, 11, 10)))
    extend(lake_settings, first, snapshot)
    counts = (
        "select (select count(*) from gold_paper_orders), (select count(*) from gold_paper_equity)"
    )
    before = read(lake_settings, counts)

    calls = []
    real_insert = ledger_module.insert

    def dying_insert(conn, table, rows):  # type: ignore[no-untyped-def]
        calls.append(table)
        if len(calls) == 3:  # after the first series' orders and equity
            raise KeyboardInterrupt("killed")
        real_insert(conn, table, rows)

    monkeypatch.setattr(ledger_module, "insert", dying_insert)
    with pytest.raises(KeyboardInterrupt):
        extend(lake_settings, ledgers(source, activation, None), snapshot)
    assert read(lake_settings, counts) == before
    monkeypatch.setattr(ledger_module, "insert", real_insert)
    added = extend(lake_settings, ledgers(source, activation, None), snapshot)
    assert added[1] > 0 and read(lake_settings, counts) != before


def test_a_second_activation_of_a_strategy_is_refused(
    source: tuple[SignalSource, int], activation: Activation, lake_settings: Settings
) -> None:
    _, snapshot = source
    extend(lake_settings, ledgers(source, activation, midnight(date(2025, 11, 5))), snapshot)
    moved = replace(activation, since=date(2025, 11, 2))
    with pytest.raises(
        PaperError,
        match=(
            "paper ledger of smart_momentum BTCUSDT 4h started on 2025-11-01; the registry now "
            "says paper_since 2025-11-02: one activation per strategy"
        ),
    ):
        extend(lake_settings, ledgers(source, moved, None), snapshot)


def test_changed_settings_do_not_rewrite_the_ledger(
    source: tuple[SignalSource, int], activation: Activation, lake_settings: Settings
) -> None:
    _, snapshot = source
    extend(lake_settings, ledgers(source, activation, midnight(date(2025, 12, 1))), snapshot)
    dearer = replace(activation, config=replace(activation.config, fees=0.01))
    with pytest.raises(PaperError, match="differs from its recomputation at 2025-11-30 20:00"):
        extend(lake_settings, ledgers(source, dearer, None), snapshot)


def test_a_candle_the_exchange_never_produced_is_handled_as_the_backtest_does(
    source: tuple[SignalSource, int], activation: Activation
) -> None:
    # the real outage of 2018-02-08/09: seven 4h candles Binance never produced
    signals, snapshot = source
    early = replace(activation, since=date(2018, 2, 1))
    end = datetime(2018, 3, 1)
    ledger = compute_series(
        signals, signals.strategy, early, "BTCUSDT", "4h", snapshot=snapshot, end=end
    )
    data = load_slice(signals, "BTCUSDT", "4h", start=early.start, end=end)
    assert [str(t) for t in missing_bars(data)] == ["2018-02-08T04:00:00.000000"]
    assert data.rows == 28 * 6 - 7
    sim = simulate(data.prices, data.entries, data.exits, early.config)
    # the ledger goes over the gap exactly as the backtest over the same bars
    assert ledger.equity.num_rows == data.rows
    assert ledger.equity.column("equity").to_pylist() == sim.equity.astype(float).tolist()
    assert ledger.orders.num_rows == sim.fills


def test_one_ledger_in_error_is_named_and_the_others_are_extended(
    source: tuple[SignalSource, int], activation: Activation, tmp_path: Path
) -> None:
    _, snapshot = source
    settings = Settings(lake_root=tmp_path / "lake")
    extend(settings, ledgers(source, activation, midnight(date(2025, 11, 5))), snapshot)
    equity = "select symbol, count(*) from gold_paper_equity group by all order by symbol"
    before = dict(read(settings, equity))
    moved = replace(activation, since=date(2025, 11, 2))
    btc = ledgers(source, moved, None)[0]  # a second activation: refused
    eth = ledgers(source, activation, None)[1]
    errors: list[str] = []
    conn = connect(settings)
    try:
        done = extend_ledgers(conn, [btc, eth], snapshot=snapshot, errors=errors)
    finally:
        conn.close()
    assert errors == [
        "paper ledger of smart_momentum BTCUSDT 4h started on 2025-11-01; the registry now "
        "says paper_since 2025-11-02: one activation per strategy (restore paper_since, or "
        "give the new activation its own strategy id)"
    ]
    assert list(done.added) == [("smart_momentum", "ETHUSDT", "4h")]
    after = dict(read(settings, equity))
    assert after["BTCUSDT"] == before["BTCUSDT"]  # kept as stored
    assert after["ETHUSDT"] == before["ETHUSDT"] + done.bars and done.bars > 0


def test_paper_since_after_the_data_waits(
    source: tuple[SignalSource, int], activation: Activation
) -> None:
    signals, snapshot = source
    later = replace(activation, since=date(2026, 2, 1))
    with pytest.raises(Waiting, match="no bar on or after paper_since 2026-02-01"):
        compute_series(signals, signals.strategy, later, "BTCUSDT", "4h", snapshot=snapshot)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("paper_capital", "0", "strategy smart_momentum: paper_capital=0.0 is out of range"),
        ("paper_capital", "-5", "strategy smart_momentum: paper_capital=-5.0 is out of range"),
        ("paper_capital", "lots", "paper_capital='lots' is not a number"),
        ("paper_since", "2025-13-01", "paper_since='2025-13-01' is not a date (YYYY-MM-DD)"),
        ("paper_config", "{", "paper_config is not valid JSON"),
        ("paper_config", '{"leverage": 3}', "paper_config: "),
        ("paper_config", '{"fees": 2}', "backtest option fees=2 is out of range"),
        ("paper_config", '{"halt_bars": 3}', "backtest option halt_bars=3 needs max_drawdown_halt"),
        (
            "paper_config",
            '{"portfolio": "yes"}',
            "strategy smart_momentum: paper_config portfolio='yes' must be true/false",
        ),
        (
            "paper_config",
            '{"portfolio": false, "max_positions": 2}',
            "strategy smart_momentum: paper_config max_positions needs the symbols to share one "
            'capital (drop "portfolio": false)',
        ),
    ],
)
def test_bad_activations_say_which_value(column: str, value: str, message: str) -> None:
    changes: dict[str, Any] = {column: value}
    strategy = replace(load_strategy("smart_momentum"), **changes)
    with pytest.raises(PaperError, match=message.replace("(", r"\(").replace(")", r"\)")):
        activation_of(strategy)


def test_the_registry_activation() -> None:
    activation = activation_of(load_strategy("smart_momentum"))
    assert activation is not None
    assert (activation.since, activation.intervals) == (date(2025, 7, 1), ("4h",))
    assert activation.config.init_cash == 10_000.0
    assert activation_of(load_strategy("donchian_breakout")) is None


def test_the_command_line_prints_feed_ledger_and_orders(
    source: tuple[SignalSource, int],
    activation: Activation,
    lake_settings: Settings,
) -> None:
    connect(lake_settings).close()
    missing = hermes_cli(["signals", "latest"], lake_settings)
    assert missing.returncode == 2
    assert "has no gold_signal_feed yet: run `hermes run`" in missing.stderr
    unverified = hermes_cli(["paper", "--verify"], lake_settings)
    assert unverified.returncode == 2
    assert "has no gold_paper_equity yet: run `hermes run`" in unverified.stderr
    signals, snapshot = source
    rows = compute_feed(signals.conn, snapshot=snapshot)  # the module's reader of the built lake
    conn = connect(lake_settings)
    try:
        replace_feed(conn, rows)
        extend_ledgers(conn, ledgers(source, activation, None), snapshot=snapshot)
    finally:
        conn.close()
    feed = hermes_cli(["signals", "latest"], lake_settings)
    assert feed.returncode == 0, feed.stderr
    assert f"signal feed, snapshot {snapshot}" in feed.stdout
    assert feed.stdout.count("smart_momentum") == 4 and "(stale)" in feed.stdout
    paper = hermes_cli(["paper", "--orders", "3"], lake_settings)
    assert paper.returncode == 0, paper.stderr
    assert "paper positions" in paper.stdout and "last 3 paper orders" in paper.stdout
    document = json.loads(hermes_cli(["paper", "--orders-json"], lake_settings).stdout)
    jsonschema.validate(document, schema())
    assert (
        len(document["orders"])
        == read(lake_settings, "select count(*) from gold_paper_orders")[0][0]
    )


def test_a_deactivated_strategy_closes_its_position_at_the_next_open(
    source: tuple[SignalSource, int],
    activation: Activation,
    lake_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signals, snapshot = source
    row = replace(signals.strategy, paper_since=SINCE.isoformat(), status="active")
    registry = [row]
    monkeypatch.setattr(ledger_module, "list_strategies", lambda conn: registry)
    conn = connect(lake_settings)
    try:
        stored = refresh_until_held(conn, signals.conn, snapshot)
        held = {key: value for key, value in stored.items() if value[1] > 0}
        ((key, (last, quantity)),) = held.items()
        registry[0] = replace(row, status="retired")
        bar = timedelta(hours=4)

        waiting: list[str] = []  # the bar after the last one has not closed yet
        early = deactivation.closing_ledgers(
            signals.conn, stored, snapshot=snapshot, end=last + bar, waiting=waiting
        )
        assert early == []
        assert ledger_module.compute_ledgers(signals.conn, snapshot=snapshot) == []  # no entry
        assert waiting == [
            f"smart_momentum {key[1]} 4h: deactivated; its position is closed on the bar "
            f"after {last}, not closed yet"
        ]

        closing = deactivation.closing_ledgers(signals.conn, stored, snapshot=snapshot, end=None)
        assert [ledger.key[2:] for ledger in closing] == [key[1:]]  # flat series: not touched
        cash = conn.execute(
            "select cash from gold_paper_positions where symbol = ?", [key[1]]
        ).fetchall()[0][0]
        done = extend_ledgers(conn, closing, snapshot=snapshot)
        assert done.added == {key: (1, 1)}
        (order,) = done.new_orders
        next_open = load_slice(signals, key[1], "4h", start=last + bar, end=last + 2 * bar)
        price = float(next_open.prices["open"][0]) * (1 - 0.0005)
        assert (order["side"], order["order_type"], order["filled_at"]) == (
            "sell",
            "market",
            last + bar,
        )
        assert order["decided_at"] == last
        assert order["quantity"] == pytest.approx(quantity, rel=1e-12)
        assert order["fill_price"] == pytest.approx(price, rel=1e-12)
        assert order["fees"] == pytest.approx(quantity * price * 0.001, rel=1e-12)
        final = deactivation.stored_positions(conn)
        assert final[key] == (last + bar, 0.0)
        (equity,) = conn.execute(
            "select equity, cash, position from gold_paper_equity "
            "where symbol = ? and open_time = ?",
            [key[1], last + bar],
        ).fetchall()
        proceeds = quantity * price * (1 - 0.001)
        assert equity == pytest.approx((cash + proceeds, cash + proceeds, 0.0), rel=1e-12)

        # the ledger has stopped: later refreshes add nothing
        after = deactivation.closing_ledgers(signals.conn, final, snapshot=snapshot, end=None)
        assert after == []
    finally:
        conn.close()
