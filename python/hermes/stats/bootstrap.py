"""Bootstrap confidence intervals for a run's Sharpe ratio and total return (pure functions).

Circular block bootstrap (Politis & Romano 1992): a resample of the ``T`` bar returns is made
of blocks of ``L`` consecutive bars, each starting at a uniformly drawn bar and wrapping
around the end of the series, until ``T`` bars are drawn; blocks keep the short-range
dependence (volatility clusters, multi-bar positions) that resampling single bars would
destroy. ``L`` defaults to ``ceil(T ** (1/3))``, the usual rate for block bootstraps.

For each of ``B`` resamples ``r*``:

* Sharpe ratio = ``mean(r*) / std(r*, ddof=1) * sqrt(P)`` (annualised as in
  :mod:`hermes.stats.metrics`; a resample with ``std = 0`` counts as Sharpe 0)
* total return = ``prod(1 + r*) - 1``

The interval at level ``c`` is the percentile interval: the ``(1 - c) / 2`` and
``(1 + c) / 2`` quantiles of the ``B`` resampled values (numpy's linear interpolation).
The generator is seeded, so the same returns give the same interval.

Checks: with ``L = T`` every resample is a rotation of the series, whose product and
moments are those of the series, so both intervals collapse to the point estimate; for
i.i.d. normal returns the bootstrap standard error of the Sharpe ratio matches Lo's (2002)
``sqrt((1 + SR^2 / 2) / T)`` per bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_SAMPLES = 1000
DEFAULT_LEVEL = 0.95
DEFAULT_SEED = 20140101


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class BootstrapResult:
    sharpe: Interval
    total_return: Interval
    level: float
    samples: int
    block: int
    seed: int
    note: str | None = None
    """Why the intervals are missing, when they are."""


def default_block(observations: int) -> int:
    return max(1, math.ceil(observations ** (1 / 3)))


def block_starts(
    observations: int, block: int, samples: int, rng: np.random.Generator
) -> np.ndarray:
    """``samples x blocks`` first bars of the circular blocks of each resample (the draws
    :func:`resample_indices` makes, in the same order)."""
    blocks = -(-observations // block)
    return rng.integers(0, observations, size=(samples, blocks))


def resample_indices(
    observations: int, block: int, samples: int, rng: np.random.Generator
) -> np.ndarray:
    """``samples x observations`` bar indices: circular blocks of ``block`` bars."""
    starts = block_starts(observations, block, samples, rng)
    steps = np.arange(block)
    indices = (starts[:, :, None] + steps) % observations
    return indices.reshape(samples, starts.shape[1] * block)[:, :observations]


def draw_blocks(values: np.ndarray, block: int, starts: np.ndarray, bars: int) -> np.ndarray:
    """``values[resample_indices(...)[:, :bars]]`` for the block ``starts`` of
    :func:`block_starts`, without the index matrix: each block is copied whole from the
    series followed by ``block`` more bars wrapping around it, and only the
    blocks that reach into the first ``bars`` bars are copied. Same values, a fraction of the
    work: no modulo per bar, one copy per block."""
    wrapped = np.concatenate([values, np.resize(values, block)])  # bar i is bar i % T
    windows = np.lib.stride_tricks.sliding_window_view(wrapped, block)
    needed = -(-bars // block)
    return windows[starts[:, :needed]].reshape(len(starts), needed * block)[:, :bars]


def _checked(values: np.ndarray, level: float, samples: int) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    if not np.isfinite(values).all():
        raise ValueError("returns hold NaN or infinite values")


def _resampled(
    values: np.ndarray, samples: int, block: int, seed: int, chunk: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-bar Sharpe ratios and total returns of each column (``T x k``) on each resample
    (``samples x k`` each); all columns are resampled with the same bars (paired)."""
    rng = np.random.default_rng(seed)
    growth = np.log1p(values)
    if values.shape[1] == 1:
        return _resampled_series(values[:, 0], growth[:, 0], samples, block, rng, chunk)
    sharpes, totals = [], []
    for start in range(0, samples, chunk):
        indices = resample_indices(len(values), block, min(chunk, samples - start), rng)
        drawn = values[indices]  # samples x T x k
        std = drawn.std(axis=1, ddof=1)
        mean = drawn.mean(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            sharpes.append(np.where(std > 0, mean / np.where(std > 0, std, 1.0), 0.0))
        totals.append(np.expm1(growth[indices].sum(axis=1)))
    return np.concatenate(sharpes), np.concatenate(totals)


def _resampled_series(
    values: np.ndarray,
    growth: np.ndarray,
    samples: int,
    block: int,
    rng: np.random.Generator,
    chunk: int,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_resampled` of one series (``samples x 1`` each), bit for bit: the resamples
    are copied block by block (:func:`draw_blocks`), and each one's mean is summed once and
    reused by its standard deviation, with the sums numpy's ``mean`` and ``std`` make."""
    bars = len(values)
    sharpes, totals = [], []
    for start in range(0, samples, chunk):
        starts = block_starts(bars, block, min(chunk, samples - start), rng)
        drawn = draw_blocks(values, block, starts, bars)
        mean = drawn.sum(axis=1, keepdims=True) / bars
        deviation = drawn - mean
        np.multiply(deviation, deviation, out=deviation)
        std = np.sqrt(deviation.sum(axis=1) / (bars - 1))
        mean = mean[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            sharpes.append(np.where(std > 0, mean / np.where(std > 0, std, 1.0), 0.0))
        totals.append(np.expm1(draw_blocks(growth, block, starts, bars).sum(axis=1)))
    return np.concatenate(sharpes)[:, None], np.concatenate(totals)[:, None]


def _interval(values: np.ndarray, level: float, scale: float = 1.0) -> Interval:
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2]) * scale
    return Interval(float(low), float(high))


def bootstrap_intervals(
    returns: np.ndarray,
    periods_per_year: float,
    *,
    samples: int = DEFAULT_SAMPLES,
    level: float = DEFAULT_LEVEL,
    block: int | None = None,
    seed: int = DEFAULT_SEED,
    chunk: int = 100,
) -> BootstrapResult:
    """Percentile intervals of the annualised Sharpe ratio and the total return of ``returns``."""
    values = np.asarray(returns, dtype=float)
    length = block or default_block(len(values))
    nan = Interval(math.nan, math.nan)
    note = _nothing_to_resample(values)
    if note:
        _checked(values[:0], level, samples)
        return BootstrapResult(nan, nan, level, samples, length, seed, note)
    _checked(values, level, samples)
    sharpe, total = _resampled(values[:, None], samples, length, seed, chunk)
    return BootstrapResult(
        _interval(sharpe[:, 0], level, math.sqrt(periods_per_year)),
        _interval(total[:, 0], level),
        level,
        samples,
        length,
        seed,
    )


def _nothing_to_resample(values: np.ndarray) -> str | None:
    if len(values) < 2:
        return f"{len(values)} bar returns: too few to resample"
    if np.isfinite(values).all() and not (values != 0).any():
        return "no return on any bar (no trade): nothing to resample"
    return None


def paired_difference(
    base: np.ndarray,
    test: np.ndarray,
    periods_per_year: float,
    *,
    samples: int = DEFAULT_SAMPLES,
    level: float = DEFAULT_LEVEL,
    block: int | None = None,
    seed: int = DEFAULT_SEED,
    chunk: int = 100,
) -> BootstrapResult:
    """Intervals of ``test - base`` (annualised Sharpe ratio, total return) on the same bars.

    Both series are resampled with the same blocks, so what they share (the market) cancels
    out of the difference: the interval measures the variants' difference, not the market's
    noise. Intervals that hold 0 mean the data cannot tell the variants apart.
    """
    a, b = np.asarray(base, dtype=float), np.asarray(test, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"base and test must be series on the same bars: {a.shape}, {b.shape}")
    values = np.column_stack([a, b])
    length = block or default_block(len(a))
    nan = Interval(math.nan, math.nan)
    if len(a) < 2:
        note = f"{len(a)} bar returns: too few to resample"
        return BootstrapResult(nan, nan, level, samples, length, seed, note)
    _checked(values, level, samples)
    sharpe, total = _resampled(values, samples, length, seed, chunk)
    return BootstrapResult(
        _interval(sharpe[:, 1] - sharpe[:, 0], level, math.sqrt(periods_per_year)),
        _interval(total[:, 1] - total[:, 0], level),
        level,
        samples,
        length,
        seed,
    )
