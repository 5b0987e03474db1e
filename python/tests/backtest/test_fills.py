"""The hand-written fills (:mod:`hermes.backtest.fills`) equal vectorbt's run, to the bit.

Real data: every active strategy of the registry on the built bundled lake (BTCUSDT and
ETHUSDT, 4h and 1d: the 4h series hold the exchange's missing candles), then more real
series of ``data/binance-ohlcv`` and the shared data folder with a rule's signals computed
here. Each is run under the feed's settings, the paper costs (fees and slippage), stops,
a same-close fill, a partial size and a drawdown breaker, through vectorbt
(:func:`hermes.backtest.engine.simulate`) and through the fills; orders (size, price,
fees), trades, equity, position and cash are compared with ``==`` on their bytes. A
delisting's closing order (the synthetic bar at the last close) is compared too.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pytest

from hermes.backtest import engine, fills
from hermes.backtest.config import BacktestConfig
from hermes.backtest.engine import Simulation
from hermes.backtest.inputs import MarketSlice, load_slice
from hermes.config import PROJECT_ROOT, Settings
from hermes.lake import pinned
from hermes.paper.series import delisting_close, missing_bars
from hermes.signals.registry import list_strategies
from hermes.signals.source import SignalSource

CONFIGS = {
    "feed defaults": BacktestConfig(),
    "fees and slippage": BacktestConfig(fees=0.001, slippage=0.0005),
    "stops with costs": BacktestConfig(sl_stop=0.03, tp_stop=0.06, fees=0.001, slippage=0.0005),
    "same close, stop-loss": BacktestConfig(fill="same_close", sl_stop=0.02, fees=0.001),
    "half size, take-profit": BacktestConfig(size=0.5, tp_stop=0.05, slippage=0.001),
    "drawdown breaker": BacktestConfig(max_drawdown_halt=0.1, halt_bars=20, fees=0.001),
}
SERIES = (("BTCUSDT", "4h"), ("ETHUSDT", "4h"), ("BTCUSDT", "1d"), ("ETHUSDT", "1d"))
SHARED = Path("/work/shared/data/binance-ohlcv")
MORE = ("SOLUSDT_4h", "DOGEUSDT_4h", "ADAUSDT_1h", "BNBUSDT_1d", "XRPUSDT_4h")


def assert_same(a: Simulation, b: Simulation, where: str) -> None:
    assert a.orders is not None and b.orders is not None
    assert a.orders.dtype == b.orders.dtype and a.trades.dtype == b.trades.dtype, where
    assert a.orders.tobytes() == b.orders.tobytes(), f"{where}: orders"
    assert a.trades.tobytes() == b.trades.tobytes(), f"{where}: trades"
    for name in ("equity", "position", "cash"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype == np.float64 and x.tobytes() == y.tobytes(), f"{where}: {name}"
    assert a.fills == b.fills == len(a.orders), where


def compare(prices: dict, entries: np.ndarray, exits: np.ndarray, where: str) -> dict[str, int]:
    """Both runs under every config; counts of what was exercised."""
    seen = {"orders": 0, "open at the end": 0, "stops": 0}
    for name, config in CONFIGS.items():
        vbt = engine.simulate(prices, entries, exits, config)
        mine = fills.simulate(prices, entries, exits, config)
        assert_same(vbt, mine, f"{where} {name}")
        assert vbt.orders is not None
        seen["orders"] += len(vbt.orders)
        seen["open at the end"] += int(vbt.position[-1] > 0)
        sells = vbt.orders[vbt.orders["side"] == 1]
        decided = np.maximum(sells["idx"] - (config.fill == "next_open"), 0)
        seen["stops"] += int((~exits[decided]).sum()) if config.has_stops else 0
    return seen


@pytest.fixture(scope="module")
def slices(built_lake: Settings) -> dict[tuple[str, str, str], MarketSlice]:
    """Every active strategy's whole history of the bundled series."""
    out = {}
    with pinned(built_lake) as (reader, _):
        for strategy in list_strategies(reader):
            if strategy.status != "active":
                continue
            source = SignalSource(reader, strategy, "gold_feature_store")
            params = source.built_parameters or strategy.parameters
            for symbol, interval in SERIES:
                data = load_slice(source, symbol, interval, start=None, end=None, parameters=params)
                out[(strategy.strategy_id, symbol, interval)] = data
    return out


def test_every_active_strategy_on_the_bundled_series(
    slices: dict[tuple[str, str, str], MarketSlice],
) -> None:
    assert {k[0] for k in slices} >= {"smart_momentum", "donchian_breakout", "bollinger_reversion"}
    seen = {"orders": 0, "open at the end": 0, "stops": 0}
    for (sid, symbol, interval), data in slices.items():
        counts = compare(data.prices, data.entries, data.exits, f"{sid} {symbol} {interval}")
        seen = {k: seen[k] + counts[k] for k in seen}
    assert seen["orders"] > 5_000 and seen["open at the end"] > 0 and seen["stops"] > 100
    gaps = missing_bars(slices[("smart_momentum", "BTCUSDT", "4h")])
    assert len(gaps) >= 1  # candles the exchange never produced, inside the compared period


def test_a_delisting_close_at_the_last_bar(
    slices: dict[tuple[str, str, str], MarketSlice],
) -> None:
    data = slices[("smart_momentum", "BTCUSDT", "4h")]
    times = data.open_time.astype("datetime64[us]")
    midnight = times == times.astype("datetime64[D]")
    for fill in ("next_open", "same_close"):
        config = BacktestConfig(fill=fill, fees=0.001, slippage=0.0005)
        held = engine.simulate(data.prices, data.entries, data.exits, config).position > 0
        last = np.flatnonzero(midnight[1:] & held[1:] & held[:-1]) + 1  # held into that bar
        when = times[last[len(last) // 2]].astype(datetime)
        closing = delisting_close(data, when.date(), fill)
        c = closing.data
        vbt = engine.simulate(c.prices, c.entries, c.exits, config)
        assert_same(vbt, fills.simulate(c.prices, c.entries, c.exits, config), fill)
        assert vbt.orders is not None and vbt.orders["side"][-1] == 1  # the closing sell
        assert vbt.orders["idx"][-1] == c.rows - 1 and vbt.position[-1] == 0


def _csv(path: Path) -> dict[str, np.ndarray]:
    table = pacsv.read_csv(path)
    return {n: table.column(n).to_numpy().astype(float) for n in ("open", "high", "low", "close")}


def _breakout(close: np.ndarray, n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """A Donchian rule on the closes: enter above the last n closes' high, exit below their
    low (signals on the same bar as each other now and then: vectorbt ignores both)."""
    windows = np.lib.stride_tricks.sliding_window_view(close[:-1], n)
    high = np.r_[np.full(n, np.inf), windows.max(axis=1)]
    low = np.r_[np.full(n, -np.inf), windows.min(axis=1)]
    entries = close > high
    exits = (close < low) | (np.arange(len(close)) % 97 == 0)
    return entries, exits


@pytest.mark.parametrize("name", ["BTCUSDT_4h", "ETHUSDT_1d", *MORE])
def test_more_real_series(name: str) -> None:
    bundled = PROJECT_ROOT / "data" / "binance-ohlcv" / f"{name}.csv.gz"
    path = bundled if bundled.exists() else SHARED / f"{name}.csv"
    if not path.exists():
        pytest.skip(f"{path} is not on this machine")
    prices = _csv(path)
    entries, exits = _breakout(prices["close"])
    seen = compare(prices, entries, exits, name)
    assert seen["orders"] > 100


def test_no_bar_and_several_columns() -> None:
    prices = {n: np.array([], float) for n in ("open", "high", "low", "close")}
    none = np.array([], bool)
    empty = fills.simulate(prices, none, none, BacktestConfig())
    assert empty.fills == len(empty.trades) == len(empty.equity) == 0
    with pytest.raises(ValueError, match="one series"):
        fills.simulate(prices, np.zeros((2, 2), bool), np.zeros((2, 2), bool), BacktestConfig())


def test_a_price_of_zero_is_refused() -> None:
    prices = {n: np.array([1.0, 0.0, 2.0]) for n in ("open", "high", "low", "close")}
    entries = np.array([True, False, False])
    with pytest.raises(ValueError, match="order price 0.0 at row 1"):
        fills.simulate(prices, entries, ~entries, BacktestConfig())


def test_a_buy_below_vectorbt_minimum_size_is_refused_likewise() -> None:
    prices = _csv(PROJECT_ROOT / "data" / "binance-ohlcv" / "BTCUSDT_4h.csv.gz")
    entries, exits = _breakout(prices["close"])
    counts = []
    for cash in (1e-5, 1e-3):  # a BTC buy of 1e-5 USDT is below 1e-8 BTC; of 1e-3 it is not
        config = BacktestConfig(init_cash=cash, fees=0.001)
        vbt = engine.simulate(prices, entries, exits, config)
        assert_same(vbt, fills.simulate(prices, entries, exits, config), f"cash {cash}")
        counts.append(vbt.fills)
    assert counts[0] == 0 < counts[1]
