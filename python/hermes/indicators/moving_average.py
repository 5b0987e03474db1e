"""Simple and exponential moving averages, exactly as TA-Lib computes them.

* ``sma``: mean of the last ``period`` values, a running sum like TA-Lib's; the first
  ``period - 1`` rows are NaN.
* ``ema``: ``ema[t] = ema[t-1] + k * (x[t] - ema[t-1])`` with ``k = 2 / (period + 1)``, seeded
  with the SMA of the first ``period`` values (TA-Lib's default seeding); the first
  ``period - 1`` rows are NaN. ``ema_continue`` carries the recursion on from a stored value,
  which is how an incremental refresh reproduces a full rebuild exactly.
"""

from __future__ import annotations

from numba import njit
from numpy.typing import ArrayLike

from hermes.indicators._inputs import Array, as_series, check_period, first_valid, nan_like


@njit(cache=True)
def _sma_kernel(x: Array, period: int, out: Array) -> None:
    n = len(x)
    if n < period:
        return
    total = 0.0
    for i in range(period - 1):
        total += x[i]
    trailing = 0
    for i in range(period - 1, n):
        total += x[i]
        value = total
        total -= x[trailing]
        trailing += 1
        out[i] = value / period


@njit(cache=True)
def ema_steps(x: Array, k: float, previous: float, out: Array, start: int) -> float:
    """Apply the EMA recursion to ``x[start:]`` from ``previous``; returns the last value."""
    for i in range(start, len(x)):
        previous = (x[i] - previous) * k + previous
        out[i] = previous
    return previous


@njit(cache=True)
def ema_seed(x: Array, period: int, first: int) -> float:
    """TA-Lib's EMA seed: the SMA of ``x[first : first + period]``."""
    total = 0.0
    for i in range(first, first + period):
        total += x[i]
    return total / period


@njit(cache=True)
def _ema_kernel(x: Array, period: int, k: float, out: Array) -> None:
    if len(x) < period:
        return
    seed = ema_seed(x, period, 0)
    out[period - 1] = seed
    ema_steps(x, k, seed, out, period)


def ema_k(period: int) -> float:
    """The EMA smoothing factor TA-Lib uses: ``2 / (period + 1)``."""
    return 2.0 / (period + 1)


def sma(close: ArrayLike, period: int) -> Array:
    """Simple moving average (TA-Lib ``SMA``)."""
    x = as_series(close, "close")
    period = check_period(period, "period")
    out = nan_like(x)
    begin = first_valid(x)
    _sma_kernel(x[begin:], period, out[begin:])
    return out


def ema(close: ArrayLike, period: int) -> Array:
    """Exponential moving average seeded with an SMA (TA-Lib ``EMA``)."""
    x = as_series(close, "close")
    period = check_period(period, "period")
    out = nan_like(x)
    begin = first_valid(x)
    _ema_kernel(x[begin:], period, ema_k(period), out[begin:])
    return out


def ema_continue(close: ArrayLike, period: int, previous: float) -> Array:
    """EMA of bars that follow a bar whose EMA was ``previous`` (every row is defined)."""
    x = as_series(close, "close")
    period = check_period(period, "period")
    out = nan_like(x)
    ema_steps(x, ema_k(period), float(previous), out, 0)
    return out
