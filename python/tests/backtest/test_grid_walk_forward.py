"""Parameter grids and walk-forward on the bundled BTCUSDT 4h candles (arrays, no lake).

A grid column must equal the single backtest with the same parameters bit for bit, and a
walk-forward choice must not move when the bars after its in-sample window change.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hermes.backtest.config import BacktestConfig
from hermes.backtest.engine import from_signals, simulate, value_and_assets
from hermes.backtest.grid import grid_metrics, parameter_sets, parse_axis
from hermes.backtest.inputs import years_of
from hermes.backtest.runs import measure
from hermes.backtest.walk_forward import choose, make_folds, walk_forward_series
from hermes.config import PROJECT_ROOT
from hermes.lake import DataError
from hermes.signals import smart_momentum
from hermes.signals.errors import StrategyError
from hermes.signals.registry import load_strategy
from hermes.signals.source import SeriesSignals, accelerate
from hermes.stats.metrics import METRIC_NAMES

BAR = 14_400
GRID = ("ema_fast=8,12,30", "ema_slow=26,40", "rsi_low:rsi_high=45:55,30:70")
PRICES = ("open", "high", "low", "close")


@pytest.fixture(scope="module")
def btc() -> dict[str, np.ndarray]:
    """The last 6,000 bundled BTCUSDT 4h bars."""
    frame = pd.read_csv(PROJECT_ROOT / "data" / "binance-ohlcv" / "BTCUSDT_4h.csv.gz").tail(6000)
    out = {k: frame[k].to_numpy(dtype=float) for k in (*PRICES, "volume")}
    out["open_time"] = pd.to_datetime(frame["timestamp"]).to_numpy().astype("datetime64[us]")
    return out


def sets(*texts: str) -> list[dict[str, Any]]:
    return parameter_sets(load_strategy("smart_momentum"), [parse_axis(t) for t in texts])


def grid_series(data: dict[str, np.ndarray], params: list[dict[str, Any]]) -> SeriesSignals:
    """The accelerator's (n, k) signals over the whole arrays (every input computed)."""
    flags = accelerate(smart_momentum, data, {}, params)
    return SeriesSignals(
        "BTCUSDT",
        "4h",
        data["open_time"],
        {k: data[k] for k in (*PRICES, "volume")},
        np.column_stack([f["buy_signal"] for f in flags]),
        np.column_stack([f["sell_signal"] for f in flags]),
        "accelerator",
    )


def single_backtest(
    data: dict[str, np.ndarray], params: dict[str, Any], config: BacktestConfig, first: int
) -> dict[str, Any]:
    """The one-column path: the strategy's own rule on full-history inputs, cut, simulated."""
    inputs = smart_momentum.compute_inputs(data, params)
    flags = smart_momentum.generate(inputs, params)
    prices = {k: data[k][first:] for k in PRICES}
    sim = simulate(prices, flags["buy_signal"][first:], flags["sell_signal"][first:], config)
    years = years_of(data["open_time"][first:], BAR)
    return {**measure(sim, prices["close"], config, BAR, years), "final_equity": sim.equity[-1]}


def same(a: Any, b: Any) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return bool(a == b)


@pytest.mark.parametrize(
    "config",
    [BacktestConfig(), BacktestConfig(fill="same_close", sl_stop=0.04, tp_stop=0.12, size=0.5)],
    ids=["next_open", "same_close_stops"],
)
def test_every_grid_column_equals_the_single_backtest(
    btc: dict[str, np.ndarray], config: BacktestConfig
) -> None:
    first = 700
    params = sets(*GRID)
    series = grid_series(btc, params)
    part = slice(first, None)
    grid, equity = grid_metrics(
        {k: v[part] for k, v in series.prices.items()},
        series.entries[part],
        series.exits[part],
        config,
        bar_seconds=BAR,
        years=years_of(btc["open_time"][part], BAR),
    )
    # 30 >= 26: those sets are left out
    assert len(params) == len(grid) == 10 and equity.shape == (6000 - first, 10)
    assert not any(p["ema_fast"] == 30 and p["ema_slow"] == 26 for p in params)
    assert grid.trades.sum() > 50
    for p, row in zip(params, grid.to_dict("records"), strict=True):
        single = single_backtest(btc, p, config, first)
        for name in (*METRIC_NAMES, "final_equity"):
            assert same(row[name], single[name]), (p, name, row[name], single[name])


def test_grid_parameters_are_checked() -> None:
    with pytest.raises(StrategyError, match="no valid parameter set"):
        sets("ema_fast=50", "ema_slow=20")
    with pytest.raises(StrategyError, match="no valid parameter set"):
        sets("rsi_low:rsi_high=60:40")
    with pytest.raises(StrategyError, match=r"ema_fast=1 is outside its range \[2, 500\]"):
        sets("ema_fast=1,5")
    with pytest.raises(StrategyError, match="ema_fast=2.5 must be an integer"):
        sets("ema_fast=2.5")
    with pytest.raises(StrategyError, match="unknown parameter colour"):
        sets("colour=1")
    with pytest.raises(StrategyError, match="on two axes"):
        sets("ema_fast=5", "ema_fast=8")
    with pytest.raises(StrategyError, match="needs 2 value"):
        sets("rsi_low:rsi_high=40")
    assert len(sets("ema_fast=5,5,8", "rsi_low:rsi_high=40:60,40:60")) == 2


def test_engine_equity_is_vectorbt_value_bit_for_bit(btc: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(7)
    entries = rng.random((2000, 6)) < 0.02
    exits = rng.random((2000, 6)) < 0.02
    prices = {k: btc[k][-2000:] for k in ("open", "high", "low", "close")}
    config = BacktestConfig(sl_stop=0.03, tp_stop=0.08)
    run = from_signals(prices, entries, exits, config)
    value, assets = value_and_assets(run)
    assert run.step == 2  # stops on next_open: each bar is its open, then the whole bar
    assert np.array_equal(value, np.asarray(run.pf.value()))
    assert np.array_equal(assets, np.asarray(run.pf.assets()))


def test_folds_roll_without_overlap(btc: dict[str, np.ndarray]) -> None:
    folds = make_folds(btc["open_time"], 100, 365, 90, BAR)
    assert len(folds) == 6  # (6000 - 100 bars) * 4h = 983 days: 365 + 6 * 90 fit, not 7 * 90
    assert folds[0].in_sample == slice(100, 100 + 365 * 6)  # no missing bar in those days
    for fold, nxt in zip(folds, folds[1:], strict=False):
        assert fold.in_sample.stop == fold.out_of_sample.start
        assert nxt.out_of_sample.start == fold.out_of_sample.stop
        assert fold.out_of_sample_end - fold.in_sample_end == pd.Timedelta(days=90)
    with pytest.raises(DataError, match="needs 3000"):
        make_folds(btc["open_time"], 0, 3000, 90, BAR)


def test_walk_forward_choice_ignores_bars_after_the_in_sample_window(
    btc: dict[str, np.ndarray],
) -> None:
    params = sets(*GRID)
    config = BacktestConfig()
    fold = make_folds(btc["open_time"], 100, 365, 180, BAR)[1]
    before = choose(grid_series(btc, params), fold.in_sample, params, config, "sharpe")
    # a different future: every price after the in-sample window scaled by a random walk
    rng = np.random.default_rng(11)
    future = dict(btc)
    scale = np.exp(np.cumsum(rng.normal(0, 0.02, len(btc["close"]) - fold.in_sample.stop)))
    for key in PRICES:
        future[key] = btc[key].copy()
        future[key][fold.in_sample.stop :] *= scale
    after = choose(grid_series(future, params), fold.in_sample, params, config, "sharpe")
    assert after.parameters == before.parameters
    assert all(same(after.in_sample[k], before.in_sample[k]) for k in METRIC_NAMES)
    # ... while the out-of-sample results do see the new future
    old = walk_forward_series(grid_series(btc, params), [fold], params, config, "sharpe")
    new = walk_forward_series(grid_series(future, params), [fold], params, config, "sharpe")
    assert old.iloc[0].ema_fast == new.iloc[0].ema_fast
    assert old.iloc[0].final_equity != new.iloc[0].final_equity


def test_out_of_sample_row_is_the_single_backtest_of_the_choice(
    btc: dict[str, np.ndarray],
) -> None:
    params = sets(*GRID)
    folds = make_folds(btc["open_time"], 100, 365, 180, BAR)[:3]
    series = grid_series(btc, params)
    table = walk_forward_series(series, folds, params, BacktestConfig(), "total_return")
    for fold, row in zip(folds, table.to_dict("records"), strict=True):
        # the choice is the in-sample grid's best total return
        cut = {k: v[: fold.in_sample.stop] for k, v in btc.items()}
        in_sample = [
            single_backtest(cut, p, BacktestConfig(), fold.in_sample.start) for p in params
        ]
        best = int(np.argmax([r["total_return"] for r in in_sample]))
        assert row["combination"] == best
        assert {k: row[k] for k in params[best]} == params[best]
        cut = {k: v[: fold.out_of_sample.stop] for k, v in btc.items()}
        single = single_backtest(cut, params[best], BacktestConfig(), fold.out_of_sample.start)
        assert all(same(row[k], single[k]) for k in METRIC_NAMES)
