"""The closing signals of a deactivated strategy's series, on hand-built bars."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from hermes.backtest.config import BacktestConfig
from hermes.backtest.engine import simulate
from hermes.backtest.inputs import MarketSlice
from hermes.paper.activation import PaperError
from hermes.paper.series import Waiting, closing_signals

START = datetime(2026, 1, 1)
BAR = timedelta(hours=4)


def market() -> MarketSlice:
    times = np.array([START + i * BAR for i in range(5)], dtype="datetime64[us]")
    opens = np.array([10.0, 11.0, 12.0, 13.0, 14.0])
    closes = opens + 0.5
    prices = {"open": opens, "high": closes + 0.1, "low": opens - 0.1, "close": closes}
    entries = np.array([1, 0, 1, 1, 0], dtype=bool)  # bought on bar 1; entry signals later
    exits = np.zeros(5, dtype=bool)
    return MarketSlice("BTCUSDT", "4h", times, prices, entries, exits)


def test_next_open_closes_at_the_open_of_the_bar_after_the_last() -> None:
    data = closing_signals(market(), START + BAR, "next_open")
    assert len(data.open_time) == 3  # the bars up to the one after the last stored bar
    assert list(data.entries) == [True, False, False] and list(data.exits) == [False, True, False]
    config = BacktestConfig(init_cash=1000.0, fees=0.001, slippage=0.0005)
    sim = simulate(data.prices, data.entries, data.exits, config)
    assert sim.orders is not None
    assert [int(i) for i in sim.orders["idx"]] == [1, 2] and int(sim.orders["side"][1]) == 1
    units = 1000.0 / (11 * (1 + 0.0005) * (1 + 0.001))
    assert sim.orders["price"][1] == pytest.approx(12 * (1 - 0.0005), rel=1e-12)
    assert sim.equity[-1] == pytest.approx(units * 12 * (1 - 0.0005) * (1 - 0.001), rel=1e-12)


def test_same_close_closes_at_the_close_of_the_bar_after_the_last() -> None:
    data = closing_signals(market(), START + BAR, "same_close")
    assert list(data.entries) == [True, False, False] and list(data.exits) == [False, False, True]


def test_no_bar_after_the_last_yet_waits_and_a_lost_bar_is_an_error() -> None:
    with pytest.raises(Waiting, match="deactivated; its position is closed on the bar after"):
        closing_signals(market(), START + 4 * BAR, "next_open")
    with pytest.raises(PaperError, match="its last stored bar 2026-01-01 01:00:00 is no longer"):
        closing_signals(market(), START + timedelta(hours=1), "next_open")
