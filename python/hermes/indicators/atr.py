"""True range and Wilder's Average True Range, exactly as TA-Lib computes them.

* ``true_range[t] = max(high - low, |high - close[t-1]|, |low - close[t-1]|)``, NaN at row 0.
* ``atr``: seeded at row ``period`` with the mean of the first ``period`` true ranges
  (rows ``1 .. period``), then ``atr[t] = (atr[t-1] * (period - 1) + true_range[t]) / period``.
  Rows ``0 .. period - 1`` are NaN. ``atr_continue`` carries the recursion on from a stored
  value and the previous close.
"""

from __future__ import annotations

from numba import njit
from numpy.typing import ArrayLike

from hermes.indicators._inputs import Array, as_aligned, check_period, first_valid, nan_like


@njit(cache=True)
def true_range_at(high: float, low: float, previous_close: float) -> float:
    greatest = high - low
    up = abs(previous_close - high)
    if up > greatest:
        greatest = up
    down = abs(previous_close - low)
    if down > greatest:
        greatest = down
    return greatest


@njit(cache=True)
def atr_steps(
    high: Array,
    low: Array,
    close: Array,
    period: int,
    start: int,
    previous_close: float,
    previous: float,
    out: Array,
) -> float:
    """Wilder-smooth the true ranges of rows ``start..``; returns the last ATR."""
    for i in range(start, len(close)):
        previous *= period - 1
        previous += true_range_at(high[i], low[i], previous_close)
        previous /= period
        previous_close = close[i]
        out[i] = previous
    return previous


@njit(cache=True)
def atr_seed(high: Array, low: Array, close: Array, period: int) -> float:
    """Mean of the true ranges of rows ``1 .. period`` (TA-Lib's ATR seed)."""
    total = 0.0
    for i in range(1, period + 1):
        total += true_range_at(high[i], low[i], close[i - 1])
    return total / period


@njit(cache=True)
def _atr_kernel(high: Array, low: Array, close: Array, period: int, out: Array) -> None:
    if len(close) <= period:
        return
    seed = atr_seed(high, low, close, period)
    out[period] = seed
    atr_steps(high, low, close, period, period + 1, close[period], seed, out)


@njit(cache=True)
def _true_range_kernel(high: Array, low: Array, close: Array, out: Array) -> None:
    for i in range(1, len(close)):
        out[i] = true_range_at(high[i], low[i], close[i - 1])


def true_range(high: ArrayLike, low: ArrayLike, close: ArrayLike) -> Array:
    """True range (TA-Lib ``TRANGE``)."""
    h, lo, c = as_aligned(high=high, low=low, close=close)
    out = nan_like(c)
    begin = first_valid(h, lo, c)
    _true_range_kernel(h[begin:], lo[begin:], c[begin:], out[begin:])
    return out


def atr(high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = 14) -> Array:
    """Wilder Average True Range (TA-Lib ``ATR``)."""
    h, lo, c = as_aligned(high=high, low=low, close=close)
    period = check_period(period, "period", minimum=1)
    out = nan_like(c)
    begin = first_valid(h, lo, c)
    _atr_kernel(h[begin:], lo[begin:], c[begin:], period, out[begin:])
    return out


def atr_continue(
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    period: int,
    previous_close: float,
    previous_atr: float,
) -> Array:
    """ATR of bars following a bar with close ``previous_close`` and ATR ``previous_atr``."""
    h, lo, c = as_aligned(high=high, low=low, close=close)
    period = check_period(period, "period", minimum=1)
    out = nan_like(c)
    atr_steps(h, lo, c, period, 0, float(previous_close), float(previous_atr), out)
    return out
