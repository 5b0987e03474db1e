"""Risk rules on hand-built bars: stops on the entry bar, the drawdown circuit breaker and the
most positions held at once, each against fills and equity computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from hermes.backtest.config import BacktestConfig, BacktestConfigError, run_hash
from hermes.backtest.engine import simulate
from hermes.backtest.portfolio import simulate_portfolio

CASH = 1000.0
FEES, SLIP = 0.001, 0.0005


def bars(rows: list[tuple[float, float, float, float]]) -> dict[str, np.ndarray]:
    """open, high, low, close per bar."""
    o, h, lo, c = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
    return {"open": o, "high": h, "low": lo, "close": c}


def signal(n: int, *at: int) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[list(at)] = True
    return out


# bar 0 decides the entry; bar 1 (the entry bar) opens at 10 and trades down to 9 and up to 11
ENTRY_BAR = bars(
    [(10, 10.2, 9.9, 10), (10, 11, 9, 9.6), (9.6, 9.8, 9.4, 9.5), (9.5, 9.6, 9.4, 9.5)]
)


def test_a_stop_loss_inside_the_entry_bar_exits_on_it() -> None:
    config = BacktestConfig(init_cash=CASH, fees=FEES, slippage=SLIP, sl_stop=0.05)
    sim = simulate(ENTRY_BAR, signal(4, 0), signal(4), config)
    fill = 10 * (1 + SLIP)
    units = CASH / (fill * (1 + FEES))
    stop = fill * 0.95  # 9.50475, inside bar 1's range [9, 11]
    proceeds = units * stop * (1 - FEES)  # a stop exits at its price, fees but no slippage
    (trade,) = sim.trades
    assert (trade["entry_idx"], trade["exit_idx"], trade["status"]) == (1, 1, 1)
    assert trade["entry_price"] == pytest.approx(fill, rel=1e-12)
    assert trade["exit_price"] == pytest.approx(stop, rel=1e-12)
    assert trade["pnl"] == pytest.approx(proceeds - CASH, rel=1e-12)
    np.testing.assert_allclose(sim.equity, [CASH, proceeds, proceeds, proceeds], rtol=1e-12)
    assert list(sim.position) == [0, 0, 0, 0]
    assert sim.orders is not None
    assert [int(i) for i in sim.orders["idx"]] == [1, 1]


def test_a_take_profit_inside_the_entry_bar_exits_on_it() -> None:
    config = BacktestConfig(init_cash=CASH, fees=0.0, slippage=0.0, tp_stop=0.08)
    (trade,) = simulate(ENTRY_BAR, signal(4, 0), signal(4), config).trades
    assert (trade["entry_idx"], trade["exit_idx"]) == (1, 1)
    assert trade["exit_price"] == pytest.approx(10.8, rel=1e-12)  # high 11 reaches 10.8
    assert trade["pnl"] == pytest.approx(CASH / 10 * 0.8, rel=1e-12)


def test_when_both_stops_are_inside_one_bar_the_stop_loss_wins() -> None:
    config = BacktestConfig(init_cash=CASH, fees=0.0, slippage=0.0, sl_stop=0.05, tp_stop=0.08)
    (trade,) = simulate(ENTRY_BAR, signal(4, 0), signal(4), config).trades
    assert trade["exit_idx"] == 1
    assert trade["exit_price"] == pytest.approx(9.5, rel=1e-12)
    assert trade["pnl"] == pytest.approx(-50.0, rel=1e-12)


def test_a_bar_gapping_through_a_held_stop_exits_at_its_open() -> None:
    prices = bars([(10, 10, 10, 10), (10, 10.2, 9.8, 10), (9, 9.3, 8.5, 9.2), (9.2, 9.2, 9.2, 9.2)])
    config = BacktestConfig(init_cash=CASH, fees=0.0, slippage=0.0, sl_stop=0.05)
    (trade,) = simulate(prices, signal(4, 0), signal(4), config).trades
    assert (trade["entry_idx"], trade["exit_idx"]) == (1, 2)
    assert trade["exit_price"] == 9.0  # opened below the 9.5 stop


def test_a_signal_exit_at_the_open_comes_before_a_stop_later_in_the_bar() -> None:
    prices = bars(
        [(10, 10, 10, 10), (10, 10.2, 9.8, 10), (9.8, 9.9, 9.0, 9.2), (9.2, 9.2, 9.2, 9.2)]
    )
    config = BacktestConfig(init_cash=CASH, fees=0.0, slippage=SLIP, sl_stop=0.05)
    sim = simulate(prices, signal(4, 0), signal(4, 1), config)
    (trade,) = sim.trades
    assert trade["exit_idx"] == 2
    assert trade["exit_price"] == pytest.approx(9.8 * (1 - SLIP), rel=1e-12)  # not the stop 9.5


def test_same_close_stops_start_on_the_bar_after_the_fill() -> None:
    # bought at bar 0's close (10); bar 0's own low 9.0 is before the fill and does not count
    prices = bars([(10, 10, 9.0, 10), (10, 10.1, 9.9, 10), (10, 10, 9.4, 9.6)])
    config = BacktestConfig(init_cash=CASH, fees=0.0, slippage=0.0, sl_stop=0.05, fill="same_close")
    (trade,) = simulate(prices, signal(3, 0), signal(3), config).trades
    assert (trade["entry_idx"], trade["exit_idx"]) == (0, 2)
    assert trade["exit_price"] == pytest.approx(9.5, rel=1e-12)


def moves(closes: list[float]) -> dict[str, np.ndarray]:
    """Bars opening at the previous close (the first at its close)."""
    opens = [closes[0], *closes[:-1]]
    return bars([(o, max(o, c), min(o, c), c) for o, c in zip(opens, closes, strict=True)])


# bar 1 falls 20% (10 -> 8), the position is sold at bar 2's open
BREAKER = moves([10, 8, 8, 8, 8, 9])
BREAKER_ENTRIES = signal(6, 0, 2, 3, 4)
BREAKER_EXITS = signal(6, 1)


def breaker(**options: object) -> np.ndarray:
    config = BacktestConfig(init_cash=CASH, fees=0.0, slippage=0.0, **options)  # type: ignore[arg-type]
    return simulate(BREAKER, BREAKER_ENTRIES, BREAKER_EXITS, config).trades


def test_without_a_breaker_the_next_entry_fills_right_away() -> None:
    assert [int(t["entry_idx"]) for t in breaker()] == [1, 3]


def test_the_breaker_blocks_entries_for_halt_bars_then_resets() -> None:
    # equity 800 at bar 1's close is 20% below the 1000 peak: entries cannot fill on bars 2
    # and 3; the breaker re-arms at bar 3's close (peak 800) and bar 3's entry fills on bar 4
    first, second = breaker(max_drawdown_halt=0.1, halt_bars=2)
    assert (first["entry_idx"], first["exit_idx"]) == (1, 2)  # the exit is not blocked
    assert first["pnl"] == pytest.approx(-200.0, rel=1e-12)
    assert (second["entry_idx"], second["status"]) == (4, 0)
    assert second["entry_price"] == 8.0
    # one bar fewer: bar 2's entry fills on bar 3, as without the breaker
    assert [int(t["entry_idx"]) for t in breaker(max_drawdown_halt=0.1, halt_bars=1)] == [1, 3]


def test_a_breaker_without_reset_blocks_every_later_entry() -> None:
    (trade,) = breaker(max_drawdown_halt=0.1)
    assert trade["exit_idx"] == 2
    # a deeper limit than the 20% fall never trips
    assert [int(t["entry_idx"]) for t in breaker(max_drawdown_halt=0.25)] == [1, 3]


def test_the_breaker_re_arms_from_the_reset_equity() -> None:
    # after the reset at bar 3 (peak 800) the bar-4 entry falls 12.5% on bar 5: tripped again
    prices = moves([10, 8, 8, 8, 8, 7, 7, 7])
    config = BacktestConfig(
        init_cash=CASH, fees=0.0, slippage=0.0, max_drawdown_halt=0.1, halt_bars=2
    )
    entries = signal(8, 0, 2, 3, 6)
    sim = simulate(prices, entries, signal(8, 1, 5), config)
    assert [(int(t["entry_idx"]), int(t["exit_idx"])) for t in sim.trades] == [(1, 2), (4, 6)]
    # bar 6's entry would fill on bar 7, blocked (bars 6 and 7 after the bar-5 trip)
    assert sim.equity[-1] == pytest.approx(700.0, rel=1e-12)


# three symbols (columns in symbol order) on flat bars; all signal on bar 0
SLOTS = {
    f: np.array([[10, 20, 5], [10, 20, 5], [12, 20, 5], [12, 22, 5], [12, 22, 6]], dtype=float)
    for f in ("open", "high", "low", "close")
}
SLOT_ENTRIES = np.array([[1, 1, 1], [0, 0, 1], [0, 0, 1], [0, 0, 0], [0, 0, 0]], dtype=bool)
SLOT_EXITS = np.array([[0, 0, 0], [0, 0, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]], dtype=bool)


def test_max_positions_gives_the_slots_in_symbol_order() -> None:
    config = BacktestConfig(init_cash=CASH, fees=0.0, slippage=0.0, max_positions=2)
    sim = simulate_portfolio(SLOTS, SLOT_ENTRIES, SLOT_EXITS, config)
    # bar 1: A and B take the two slots (500 each), C is refused on bars 1 and 2; bar 3's
    # open: A's exit (50 x 12 = 600) frees a slot that C takes on the same bar (120 at 5)
    got = sorted((int(t["col"]), int(t["entry_idx"]), float(t["size"])) for t in sim.trades)
    assert got == [(0, 1, 50.0), (1, 1, 25.0), (2, 3, 120.0)]
    np.testing.assert_allclose(sim.equity, [CASH, CASH, 1100.0, 1150.0, 1270.0], rtol=1e-12)
    assert (sim.position > 0).sum(axis=1).max() == 2


def test_without_max_positions_every_symbol_gets_an_equal_share() -> None:
    config = BacktestConfig(init_cash=CASH, fees=0.0, slippage=0.0)
    sim = simulate_portfolio(SLOTS, SLOT_ENTRIES, SLOT_EXITS, config)
    got = sorted((int(t["col"]), int(t["entry_idx"])) for t in sim.trades)
    assert got == [(0, 1), (1, 1), (2, 1)]
    third = CASH / 3
    assert sim.equity[-1] == pytest.approx(third * 1.2 + third * 1.1 + third * 1.2, rel=1e-12)


def test_the_breaker_watches_the_total_equity_of_a_portfolio() -> None:
    a_open, a_close = [10, 10, 5, 5], [10, 5, 5, 5]
    prices = {
        "open": np.array([[a, 10] for a in a_open], dtype=float),
        "close": np.array([[c, 10] for c in a_close], dtype=float),
    }
    prices["high"] = np.maximum(prices["open"], prices["close"])
    prices["low"] = np.minimum(prices["open"], prices["close"])
    entries = np.array([[1, 0], [0, 0], [0, 1], [0, 0]], dtype=bool)
    exits = np.zeros((4, 2), dtype=bool)
    flat = BacktestConfig(init_cash=CASH, fees=0.0, slippage=0.0)
    free = simulate_portfolio(prices, entries, exits, flat)
    assert sorted((int(t["col"]), int(t["entry_idx"])) for t in free.trades) == [(0, 1), (1, 3)]
    # A buys with half the cash (500 at 10) and halves on bar 1: total 750, 25% below the
    # peak, tripped; B's entry (decided on bar 2) is blocked although B lost nothing
    config = BacktestConfig(init_cash=CASH, fees=0.0, slippage=0.0, max_drawdown_halt=0.2)
    sim = simulate_portfolio(prices, entries, exits, config)
    assert [(int(t["col"]), int(t["entry_idx"])) for t in sim.trades] == [(0, 1)]
    np.testing.assert_allclose(sim.equity, [CASH, 750.0, 750.0, 750.0], rtol=1e-12)


def test_unset_risk_options_keep_the_recorded_config_and_hash() -> None:
    config = BacktestConfig(sl_stop=0.05, fill="same_close")
    assert config.as_json == (
        '{"fees":0.001,"fill":"same_close","init_cash":10000.0,"size":1.0,"sl_stop":0.05,'
        '"slippage":0.0005,"tp_stop":null}'
    )
    assert run_hash('{"a":1}', config) == "8a50c0f148f3b6a6"  # the hash before these options
    risky = BacktestConfig(max_positions=2, max_drawdown_halt=0.2, halt_bars=6)
    assert BacktestConfig.from_json(risky.as_json) == risky
    assert run_hash('{"a":1}', risky) != run_hash('{"a":1}', BacktestConfig())


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"max_positions": 0}, "max_positions"),
        ({"max_positions": 1.5}, "max_positions"),
        ({"max_positions": "2"}, "max_positions"),
        ({"max_drawdown_halt": 1.0}, "max_drawdown_halt"),
        ({"max_drawdown_halt": 0.1, "halt_bars": 0}, "halt_bars"),
        ({"halt_bars": 3}, "halt_bars=3 needs max_drawdown_halt"),
    ],
)
def test_bad_risk_options_are_named(options: dict[str, object], name: str) -> None:
    with pytest.raises(BacktestConfigError, match=name):
        BacktestConfig(**options)  # type: ignore[arg-type]
