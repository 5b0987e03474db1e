"""Engine fills and metric definitions against hand computations on a tiny made-up series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hermes.backtest.config import BacktestConfig, BacktestConfigError
from hermes.backtest.engine import simulate
from hermes.stats import metrics

OPEN = np.array([10.0, 11.0, 12.0, 13.0, 12.0, 14.0, 15.0, 13.0])
CLOSE = np.array([11.0, 12.0, 13.0, 12.0, 14.0, 15.0, 13.0, 12.0])
HIGH = np.maximum(OPEN, CLOSE) + 0.5
LOW = np.minimum(OPEN, CLOSE) - 0.5
PRICES = {"open": OPEN, "high": HIGH, "low": LOW, "close": CLOSE}
ENTRIES = np.array([1, 0, 0, 0, 1, 0, 0, 0], dtype=bool)
EXITS = np.array([0, 0, 1, 0, 0, 0, 1, 0], dtype=bool)
FEES, SLIP, CASH = 0.01, 0.02, 1000.0


def hand_equity_next_open() -> tuple[list[float], list[float]]:
    """Equity by hand: decide on bar t's close, fill at bar t+1's open with slippage and fees."""
    cash, units, equity, pnl = CASH, 0.0, [], []
    for t in range(len(CLOSE)):
        if t > 0 and ENTRIES[t - 1] and units == 0:
            fill = OPEN[t] * (1 + SLIP)
            units = cash / (fill * (1 + FEES))
            cost = units * fill * (1 + FEES)
            cash -= cost
        elif t > 0 and EXITS[t - 1] and units > 0:
            fill = OPEN[t] * (1 - SLIP)
            proceeds = units * fill * (1 - FEES)
            pnl.append(proceeds - cost)
            cash += proceeds
            units = 0.0
        equity.append(cash + units * CLOSE[t])
    return equity, pnl


def test_next_open_fills_match_hand_computation() -> None:
    sim = simulate(PRICES, ENTRIES, EXITS, BacktestConfig(init_cash=CASH, fees=FEES, slippage=SLIP))
    equity, pnl = hand_equity_next_open()
    np.testing.assert_allclose(sim.equity, equity, rtol=1e-12)
    closed = sim.trades[sim.trades["status"] == 1]
    np.testing.assert_allclose(closed["pnl"], pnl, rtol=1e-12)
    assert list(closed["entry_idx"]) == [1, 5]
    assert list(closed["exit_idx"]) == [3, 7]


def test_same_close_fills_at_the_deciding_bar() -> None:
    config = BacktestConfig(init_cash=CASH, fees=0.0, slippage=0.0, fill="same_close")
    sim = simulate(PRICES, ENTRIES, EXITS, config)
    # bought at close 11, sold at close 13; bought at 14, sold at 13
    units1 = CASH / 11.0
    cash = units1 * 13.0
    units2 = cash / 14.0
    assert sim.equity[-1] == pytest.approx(units2 * 13.0, rel=1e-12)


def test_stop_loss_and_take_profit_exit_at_their_prices() -> None:
    entries = np.array([1, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
    exits = np.zeros(8, dtype=bool)
    low = LOW.copy()
    low[4] = 10.0  # only bar 4 reaches the stop-loss (11 * 0.95 = 10.45)
    prices = {**PRICES, "low": low}
    config = BacktestConfig(init_cash=CASH, fees=0.0, slippage=0.0, sl_stop=0.05)
    trade = simulate(prices, entries, exits, config).trades[0]
    assert (trade["entry_idx"], trade["exit_idx"]) == (1, 4)
    assert trade["exit_price"] == pytest.approx(11.0 * 0.95, rel=1e-12)
    # take-profit at 11 * 1.2 = 13.2: bar 2's high (13.5) is the first to reach it
    config = BacktestConfig(init_cash=CASH, fees=0.0, slippage=0.0, tp_stop=0.2)
    trade = simulate(PRICES, entries, exits, config).trades[0]
    assert trade["exit_idx"] == 2
    assert trade["exit_price"] == pytest.approx(13.2, rel=1e-12)


def test_metrics_match_independent_computation() -> None:
    equity = np.array([1000.0, 1100.0, 990.0, 1050.0, 1200.0, 1150.0])
    position = np.array([0.0, 1.0, 1.0, 0.0, 2.0, 2.0])
    close = np.array([50.0, 55.0, 49.5, 52.5, 60.0, 57.5])
    pnl = np.array([50.0, -40.0, 120.0])
    years = 2.0
    bar_seconds = 86_400
    got = metrics.compute(
        equity, position, [pnl], np.array([1]), close, 1000.0, bar_seconds, years
    )[0]

    # by hand, element by element
    prev = [1000.0, 1000.0, 1100.0, 990.0, 1050.0, 1200.0]
    r = [e / p - 1 for e, p in zip(equity, prev, strict=True)]
    n = len(r)
    mean = sum(r) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in r) / (n - 1))
    downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in r) / n)
    dd = []
    peak = 1000.0
    for e in equity:
        peak = max(peak, e)
        dd.append(1 - e / peak)
    assert got["total_return"] == pytest.approx(0.15, rel=1e-12)
    assert got["cagr"] == pytest.approx(1.15**0.5 - 1, rel=1e-12)
    assert got["sharpe"] == pytest.approx(mean / std * math.sqrt(365), rel=1e-12)
    assert got["sortino"] == pytest.approx(mean / downside * math.sqrt(365), rel=1e-12)
    assert got["max_drawdown"] == pytest.approx(0.1, rel=1e-12)  # 1100 -> 990
    assert got["max_drawdown_duration_bars"] == 2  # bars 2 and 3 are below 1100
    assert got["max_drawdown_duration_days"] == 2
    assert got["calmar"] == pytest.approx((1.15**0.5 - 1) / 0.1, rel=1e-12)
    assert got["win_rate"] == pytest.approx(2 / 3, rel=1e-12)
    assert got["profit_factor"] == pytest.approx(170 / 40, rel=1e-12)
    assert got["trades"] == 3 and got["open_trades"] == 1
    assert got["exposure"] == pytest.approx(4 / 6, rel=1e-12)
    ordered = sorted(r)
    position_5 = 0.05 * (n - 1)  # linear interpolation between order statistics
    low = int(position_5)
    var = ordered[low] + (ordered[low + 1] - ordered[low]) * (position_5 - low)
    assert got["var_95"] == pytest.approx(var, rel=1e-12)
    assert got["cvar_95"] == pytest.approx(np.mean([x for x in r if x <= var]), rel=1e-12)
    assert got["buy_and_hold_return"] == pytest.approx(57.5 / 50 - 1, rel=1e-12)


def test_metrics_without_losses_are_null_not_infinite() -> None:
    equity = np.array([1000.0, 1010.0, 1020.0])
    got = metrics.compute(
        equity, np.ones(3), [np.array([20.0])], np.array([0]), np.ones(3), 1000.0, 3600, 1.0
    )[0]
    assert got["profit_factor"] is None
    assert got["sortino"] is None
    assert got["calmar"] is None
    assert got["max_drawdown"] == 0


@pytest.mark.parametrize(
    "options",
    [{"fees": -0.1}, {"size": 1.5}, {"size": 0}, {"sl_stop": 1.2}, {"init_cash": 0}, {"fill": "x"}],
)
def test_bad_backtest_options_are_rejected(options: dict[str, object]) -> None:
    with pytest.raises(BacktestConfigError, match=next(iter(options))):
        BacktestConfig(**options)  # type: ignore[arg-type]
