"""A track extended bar by bar equals the engine's run over the whole history, to the bit.

Real data: the bundled BTCUSDT and ETHUSDT 4h candles and every live strategy's signals from
the built lake; the last bars are added one at a time (as the live path does) under the
feed's settings, the paper settings, stops, a same-close fill and a drawdown breaker, and
each bar's equity, position and orders are compared with one ``simulate`` of everything.
The paper ledger extended bar by bar over its last 200 bars equals ``compute_series`` over
the same bars, row for row.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from live_helpers import SYMBOLS

from hermes.backtest.config import BacktestConfig
from hermes.backtest.engine import simulate
from hermes.config import Settings
from hermes.lake import pinned
from hermes.live.follow import LedgerTrack
from hermes.live.tracks import Bars, Track
from hermes.paper.activation import activation_of
from hermes.paper.ledger import compute_series
from hermes.paper.series import paper_slice
from hermes.signals.registry import list_strategies
from hermes.signals.source import SeriesSignals, SignalSource

CONFIGS = {  # settings -> bars added one at a time (the engine runs on every held bar
    # with stops set, so fewer there)
    "feed defaults": (BacktestConfig(), 240),
    "paper costs": (BacktestConfig(fees=0.001, slippage=0.0005), 240),
    "stops": (BacktestConfig(sl_stop=0.03, tp_stop=0.06), 90),
    "same close": (BacktestConfig(fill="same_close"), 240),
}
LEDGER_BARS = 200


def _bars(series: SeriesSignals, part: slice) -> Bars:
    prices = {n: v[part] for n, v in series.prices.items()}
    return Bars(series.open_time[part], prices, series.entries[part], series.exits[part])


def _series(settings: Settings) -> dict[tuple[str, str], SeriesSignals]:
    out = {}
    with pinned(settings) as (reader, _):
        for strategy in list_strategies(reader):
            if strategy.strategy_id == "ml_lightgbm":
                continue
            source = SignalSource(reader, strategy, "gold_feature_store")
            for symbol in SYMBOLS:
                params = source.built_parameters or strategy.parameters
                series = source.series(symbol, "4h", end=None, parameters=params)
                out[(strategy.strategy_id, symbol)] = series
    return out


def _extend_each_bar(config: BacktestConfig, series: SeriesSignals, added: int) -> dict:
    bars = len(series.open_time)
    track = Track.start(config, _bars(series, slice(0, bars - added)))
    equity, position, orders = [], [], []
    for i in range(bars - added, bars):
        count = track.extend(_bars(series, slice(i, i + 1)))
        assert count == 1
        equity.append(track.equity[-1])
        position.append(track.position[-1])
        records, ids = track.new_orders(count)
        orders += [(int(j), i, float(r["size"]), float(r["price"]), float(r["fees"]))
                   for r, j in zip(records, ids, strict=True)]  # fmt: skip
    return {"equity": np.array(equity), "position": np.array(position), "orders": orders}


def _whole(config: BacktestConfig, series: SeriesSignals, added: int) -> dict:
    sim = simulate(series.prices, series.entries, series.exits, config)
    assert sim.orders is not None
    first = len(series.open_time) - added
    at = np.flatnonzero(sim.orders["idx"] >= first)
    records = sim.orders
    orders = [(int(j), int(records["idx"][j]), float(records["size"][j]),
               float(records["price"][j]), float(records["fees"][j])) for j in at]  # fmt: skip
    return {"equity": sim.equity[first:], "position": sim.position[first:], "orders": orders}


@pytest.fixture(scope="module")
def signals(built_lake: Settings) -> dict[tuple[str, str], SeriesSignals]:
    return _series(built_lake)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_extended_bar_by_bar_equals_the_whole_run(
    signals: dict[tuple[str, str], SeriesSignals], name: str
) -> None:
    config, added = CONFIGS[name]
    traded = 0
    for (strategy_id, symbol), series in signals.items():
        live = _extend_each_bar(config, series, added)
        whole = _whole(config, series, added)
        where = f"{strategy_id} {symbol} {name}"
        assert np.array_equal(live["equity"].view(np.int64), whole["equity"].view(np.int64)), where
        assert np.array_equal(live["position"], whole["position"]), where
        assert live["orders"] == whole["orders"], where
        traded += len(whole["orders"])
    assert traded >= 6  # the window does trade: entries, exits (and stops) are extended


def test_a_drawdown_breaker_re_runs_from_the_first_bar(
    signals: dict[tuple[str, str], SeriesSignals],
) -> None:
    config = BacktestConfig(max_drawdown_halt=0.05, halt_bars=30)
    series = signals[("smart_momentum", "BTCUSDT")]
    live = _extend_each_bar(config, series, 30)
    whole = _whole(config, series, 30)
    assert np.array_equal(live["equity"].view(np.int64), whole["equity"].view(np.int64))
    assert live["orders"] == whole["orders"]


def test_a_paper_ledger_extended_bar_by_bar_equals_its_recomputation(
    built_lake: Settings,
) -> None:
    with pinned(built_lake) as (reader, snapshot):
        strategy = next(s for s in list_strategies(reader) if s.strategy_id == "smart_momentum")
        source = SignalSource(reader, strategy, "gold_feature_store")
        strategy = strategy.with_parameters(source.built_parameters)
        activation = activation_of(strategy)
        assert activation is not None
        extended = 0
        for symbol in SYMBOLS:
            data = paper_slice(source, strategy, activation, symbol, "4h", end=None)
            first = data.rows - LEDGER_BARS
            cut = data.open_time[first].astype(datetime)
            follow = LedgerTrack.start(
                source, strategy, activation, (symbol, "4h"), snapshot, end=cut
            )
            assert follow.ledger.equity.num_rows == first
            for i in range(first, data.rows):
                part = slice(i, i + 1)
                prices = {n: v[part] for n, v in data.prices.items()}
                bars = Bars(data.open_time[part], prices, data.entries[part], data.exits[part])
                ledger = follow.extend(bars)
            whole = compute_series(source, strategy, activation, symbol, "4h", snapshot=snapshot)
            assert ledger.equity.to_pylist() == whole.equity.to_pylist()
            assert ledger.orders.to_pylist() == whole.orders.to_pylist()
            assert ledger.positions == whole.positions
            assert np.array_equal(ledger.trade_returns, whole.trade_returns)
            filled = ledger.orders.column("filled_at").to_pylist()
            extended += sum(1 for t in filled if t >= cut)
    assert extended >= 2  # the extension did buy and sell
