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

from hermes import indicators
from hermes.backtest.config import BacktestConfig
from hermes.backtest.engine import from_signals, simulate, value_and_assets
from hermes.backtest.grid import combinations, run_grid, years_of
from hermes.backtest.metrics import METRIC_NAMES
from hermes.backtest.runs import measure
from hermes.backtest.walk_forward import choose, make_folds, walk_forward_arrays
from hermes.config import PROJECT_ROOT
from hermes.signals import smart_momentum
from hermes.signals.registry import StrategyError
from hermes.signals.store import DataError

BAR = 14_400
DEFAULTS = {"rsi_period": 14, "st_period": 10, "st_multiplier": 3.0}
FAST, SLOW, BANDS = (8, 12, 30), (26, 40), ((45.0, 55.0), (30.0, 70.0))


@pytest.fixture(scope="module")
def btc() -> dict[str, np.ndarray]:
    """The last 6,000 bundled BTCUSDT 4h bars with the strategy's RSI and SuperTrend."""
    frame = pd.read_csv(PROJECT_ROOT / "data" / "binance-ohlcv" / "BTCUSDT_4h.csv.gz").tail(6000)
    out = {k: frame[k].to_numpy(dtype=float) for k in ("open", "high", "low", "close")}
    out["open_time"] = pd.to_datetime(frame["timestamp"]).to_numpy().astype("datetime64[us]")
    out["rsi"] = np.asarray(indicators.rsi(out["close"], 14))
    out["st_dir"] = np.asarray(
        indicators.supertrend(out["high"], out["low"], out["close"], 10, 3.0)[1]
    )
    return out


def single_backtest(
    data: dict[str, np.ndarray], params: dict[str, Any], config: BacktestConfig, first: int
) -> dict[str, Any]:
    """The one-column path: the strategy's own rule on full-history inputs, cut, simulated."""
    params = {**DEFAULTS, **params}
    inputs = smart_momentum.compute_inputs(data, params)
    flags = smart_momentum.generate(inputs, params)
    prices = {k: data[k][first:] for k in ("open", "high", "low", "close")}
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
    grid = run_grid(
        btc["open"],
        btc["high"],
        btc["low"],
        btc["close"],
        fast_periods=FAST,
        slow_periods=SLOW,
        rsi_bands=BANDS,
        config=config,
        years=years_of(btc["open_time"][first:], BAR),
        first=first,
    )
    # 30 >= 26: those combinations are left out
    assert len(grid) == 10 and not ((grid.ema_fast == 30) & (grid.ema_slow == 26)).any()
    assert grid.trades.sum() > 50
    for row in grid.to_dict("records"):
        params = {k: row[k] for k in ("ema_fast", "ema_slow", "rsi_low", "rsi_high")}
        single = single_backtest(btc, params, config, first)
        for name in (*METRIC_NAMES, "final_equity"):
            assert same(row[name], single[name]), (params, name, row[name], single[name])


def test_grid_parameters_are_checked() -> None:
    with pytest.raises(StrategyError, match="ema_fast >= ema_slow"):
        combinations([50], [20], [(40, 60)])
    with pytest.raises(StrategyError, match=r"RSI band \[60.0, 40.0\]"):
        combinations([5], [20], [(60.0, 40.0)])
    with pytest.raises(StrategyError, match="period 1"):
        combinations([1], [20], [(40, 60)])
    assert len(combinations([5, 5, 8], [20], [(40, 60), (40, 60)])) == 2


def test_engine_equity_is_vectorbt_value_bit_for_bit(btc: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(7)
    entries = rng.random((2000, 6)) < 0.02
    exits = rng.random((2000, 6)) < 0.02
    prices = {k: btc[k][-2000:] for k in ("open", "high", "low", "close")}
    config = BacktestConfig(sl_stop=0.03, tp_stop=0.08)
    pf = from_signals(prices, entries, exits, config)
    value, assets = value_and_assets(pf, prices["close"], config.init_cash)
    assert np.array_equal(value, np.asarray(pf.value()))
    assert np.array_equal(assets, np.asarray(pf.assets()))


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
    combos = combinations(FAST, SLOW, BANDS)
    config = BacktestConfig()
    fold = make_folds(btc["open_time"], 100, 365, 180, BAR)[1]
    before = choose(btc, fold.in_sample, combos, config, "sharpe", BAR)
    # a different future: every price after the in-sample window scaled by a random walk
    rng = np.random.default_rng(11)
    future = dict(btc)
    scale = np.exp(np.cumsum(rng.normal(0, 0.02, len(btc["close"]) - fold.in_sample.stop)))
    for key in ("open", "high", "low", "close"):
        future[key] = btc[key].copy()
        future[key][fold.in_sample.stop :] *= scale
    future["rsi"] = np.asarray(indicators.rsi(future["close"], 14))
    future["st_dir"] = np.asarray(
        indicators.supertrend(future["high"], future["low"], future["close"], 10, 3.0)[1]
    )
    after = choose(future, fold.in_sample, combos, config, "sharpe", BAR)
    assert after.combination == before.combination
    assert all(same(after.in_sample[k], before.in_sample[k]) for k in METRIC_NAMES)
    # ... while the out-of-sample results do see the new future
    old = walk_forward_arrays(btc, [fold], combos, config, "sharpe", BAR).iloc[0]
    new = walk_forward_arrays(future, [fold], combos, config, "sharpe", BAR).iloc[0]
    assert old.ema_fast == new.ema_fast and old.final_equity != new.final_equity


def test_out_of_sample_row_is_the_single_backtest_of_the_choice(
    btc: dict[str, np.ndarray],
) -> None:
    combos = combinations(FAST, SLOW, BANDS)
    folds = make_folds(btc["open_time"], 100, 365, 180, BAR)[:3]
    table = walk_forward_arrays(btc, folds, combos, BacktestConfig(), "total_return", BAR)
    for fold, row in zip(folds, table.to_dict("records"), strict=True):
        # the choice is the in-sample grid's best total return
        in_sample = run_grid(
            *(btc[k][: fold.in_sample.stop] for k in ("open", "high", "low", "close")),
            fast_periods=FAST,
            slow_periods=SLOW,
            rsi_bands=BANDS,
            years=years_of(btc["open_time"][fold.in_sample], BAR),
            first=fold.in_sample.start,
        )
        best = in_sample.loc[in_sample.total_return.idxmax()]
        assert (row["ema_fast"], row["ema_slow"], row["rsi_low"]) == (
            best.ema_fast,
            best.ema_slow,
            best.rsi_low,
        )
        cut = {k: v[: fold.out_of_sample.stop] for k, v in btc.items()}
        params = {k: row[k] for k in ("ema_fast", "ema_slow", "rsi_low", "rsi_high")}
        single = single_backtest(cut, params, BacktestConfig(), fold.out_of_sample.start)
        assert all(same(row[k], single[k]) for k in METRIC_NAMES)
