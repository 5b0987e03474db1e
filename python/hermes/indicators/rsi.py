"""Relative Strength Index with Wilder smoothing, exactly as TA-Lib computes it.

With ``d[t] = close[t] - close[t-1]``, gains ``max(d, 0)`` and losses ``max(-d, 0)``:

* seed (row ``period``): the plain means of the first ``period`` gains and losses;
* then Wilder smoothing: ``avg[t] = (avg[t-1] * (period - 1) + value[t]) / period``;
* ``rsi = 100 * avg_gain / (avg_gain + avg_loss)``, and 0 when that sum is below 1e-8
  (TA-Lib's zero test).

Rows ``0 .. period - 1`` are NaN. ``rsi_wilder`` also returns the two Wilder averages, the
state an incremental refresh stores; ``rsi_continue`` carries the recursion on from them.
"""

from __future__ import annotations

from numba import njit
from numpy.typing import ArrayLike

from hermes.indicators._inputs import Array, as_series, check_period, first_valid, nan_like


@njit(cache=True)
def _rsi_value(gain: float, loss: float) -> float:
    total = gain + loss
    if -1e-8 < total < 1e-8:
        return 0.0
    return 100.0 * (gain / total)


@njit(cache=True)
def _rsi_steps(
    x: Array,
    period: int,
    start: int,
    previous: float,
    gain: float,
    loss: float,
    out: Array,
    avg_gain: Array,
    avg_loss: Array,
) -> None:
    for i in range(start, len(x)):
        diff = x[i] - previous
        previous = x[i]
        loss *= period - 1
        gain *= period - 1
        if diff < 0:
            loss -= diff
        else:
            gain += diff
        loss /= period
        gain /= period
        out[i] = _rsi_value(gain, loss)
        avg_gain[i] = gain
        avg_loss[i] = loss


@njit(cache=True)
def _rsi_kernel(x: Array, period: int, out: Array, avg_gain: Array, avg_loss: Array) -> None:
    if len(x) <= period:
        return
    previous = x[0]
    gain = 0.0
    loss = 0.0
    for i in range(1, period + 1):
        diff = x[i] - previous
        previous = x[i]
        if diff < 0:
            loss -= diff
        else:
            gain += diff
    loss /= period
    gain /= period
    out[period] = _rsi_value(gain, loss)
    avg_gain[period] = gain
    avg_loss[period] = loss
    _rsi_steps(x, period, period + 1, previous, gain, loss, out, avg_gain, avg_loss)


def rsi_wilder(close: ArrayLike, period: int) -> tuple[Array, Array, Array]:
    """``(rsi, avg_gain, avg_loss)``: RSI and its Wilder averages (NaN in the warm-up)."""
    x = as_series(close, "close")
    period = check_period(period, "period")
    out, avg_gain, avg_loss = nan_like(x), nan_like(x), nan_like(x)
    begin = first_valid(x)
    _rsi_kernel(x[begin:], period, out[begin:], avg_gain[begin:], avg_loss[begin:])
    return out, avg_gain, avg_loss


def rsi(close: ArrayLike, period: int = 14) -> Array:
    """Wilder RSI (TA-Lib ``RSI``)."""
    return rsi_wilder(close, period)[0]


def rsi_continue(
    close: ArrayLike, period: int, previous_close: float, avg_gain: float, avg_loss: float
) -> tuple[Array, Array, Array]:
    """``(rsi, avg_gain, avg_loss)`` of bars following a bar with the given close and state."""
    x = as_series(close, "close")
    period = check_period(period, "period")
    out, gains, losses = nan_like(x), nan_like(x), nan_like(x)
    _rsi_steps(
        x, period, 0, float(previous_close), float(avg_gain), float(avg_loss), out, gains, losses
    )
    return out, gains, losses


__all__ = ["rsi", "rsi_continue", "rsi_wilder"]
