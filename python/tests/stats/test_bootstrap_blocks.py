"""The block bootstrap copies whole blocks instead of indexing bar by bar, and gives the same
numbers bit for bit as its definition: the ``samples x T`` index matrix of
:func:`hermes.stats.bootstrap.resample_indices` and numpy's ``mean`` / ``std`` on the values it
picks. Real data: a trend-following position on the bundled BTCUSDT 4h closes (flat bars
included, as in a backtest's equity curve)."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pytest
from fixtures.bundled_lake import BUNDLED_DATA

from hermes.paper.drift import LEVEL, bar_returns, drift, max_drawdown
from hermes.stats.bootstrap import (
    _resampled,
    block_starts,
    bootstrap_intervals,
    default_block,
    draw_blocks,
    resample_indices,
)


def strategy_returns() -> np.ndarray:
    """Bar returns of holding BTCUSDT 4h while its close is above the mean of its last 50
    closes (decided on the bar before each return)."""
    with gzip.open(BUNDLED_DATA / "BTCUSDT_4h.csv.gz", "rt") as file:
        close = np.loadtxt(file, delimiter=",", skiprows=1, usecols=4)
    change = close[1:] / close[:-1] - 1.0
    mean = np.convolve(close, np.ones(50) / 50, mode="full")[: len(close)]
    held = (close > mean)[:-1]
    held[:50] = False
    return np.where(held, change, 0.0)


def defined(values: np.ndarray, samples: int, block: int, seed: int, chunk: int) -> tuple:
    """The definition: every resample indexed bar by bar, numpy's mean and std on it."""
    rng = np.random.default_rng(seed)
    growth = np.log1p(values)
    sharpes, totals = [], []
    for start in range(0, samples, chunk):
        indices = resample_indices(len(values), block, min(chunk, samples - start), rng)
        drawn = values[indices]
        std, mean = drawn.std(axis=1, ddof=1), drawn.mean(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            sharpes.append(np.where(std > 0, mean / np.where(std > 0, std, 1.0), 0.0))
        totals.append(np.expm1(growth[indices].sum(axis=1)))
    return np.concatenate(sharpes), np.concatenate(totals)


def test_block_copies_are_the_index_matrix_bit_for_bit() -> None:
    returns = strategy_returns()
    assert len(returns) == 18_370 and (returns == 0).sum() == 8_651
    for bars in (2, 3, 9, 129, 1_000, len(returns)):
        values = returns[-bars:, None]
        for block in sorted({1, 2, default_block(bars), bars, 2 * bars + 1}):
            samples = 150 if bars > 1_000 else 1_000
            got = _resampled(values, samples, block, 11, 100)
            want = defined(values, samples, block, 11, 100)
            assert np.array_equal(got[0], want[0]), (bars, block)
            assert np.array_equal(got[1], want[1]), (bars, block)
            starts = block_starts(bars, block, 7, np.random.default_rng(5))
            indices = resample_indices(bars, block, 7, np.random.default_rng(5))
            for first in (1, bars // 2 + 1, bars):
                copied = draw_blocks(returns[-bars:], block, starts, first)
                assert np.array_equal(copied, returns[-bars:][indices[:, :first]])


def test_intervals_of_a_real_curve_are_their_definition_exactly() -> None:
    returns = strategy_returns()[-4_000:]
    result = bootstrap_intervals(returns, 2190.0)
    sharpe, total = defined(returns[:, None], 1000, default_block(4000), 20140101, 100)
    low, high = np.quantile(sharpe[:, 0], [0.025, 0.975]) * math.sqrt(2190.0)
    assert (result.sharpe.low, result.sharpe.high) == (float(low), float(high))
    low, high = np.quantile(total[:, 0], [0.025, 0.975])
    assert (result.total_return.low, result.total_return.high) == (float(low), float(high))
    assert result.block == 16 and result.sharpe.low < 0.9 < result.sharpe.high


@pytest.mark.parametrize("live_bars", [3, 17, 120])
def test_drift_band_of_a_real_record_is_its_definition_exactly(live_bars: int) -> None:
    equity = 10_000.0 * np.cumprod(np.r_[1.0, 1.0 + strategy_returns()])
    reference, live = equity[:-live_bars], equity[-live_bars - 1 :]
    result = drift(reference, live)
    returns = bar_returns(reference)
    rng = np.random.default_rng(20140101)
    indices = resample_indices(len(returns), default_block(len(returns)), 1000, rng)
    paths = np.cumprod(np.c_[np.ones(1000), 1.0 + returns[indices[:, :live_bars]]], axis=1)
    low, high = np.quantile(paths[:, -1] - 1.0, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    assert (result.band_low, result.band_high) == (float(low), float(high))
    assert result.drawdown_band == float(np.quantile(max_drawdown(paths), (1 + LEVEL) / 2))
    assert (result.live_bars, result.reference_bars) == (live_bars, len(returns))
