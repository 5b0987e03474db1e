"""SuperTrend on Wilder's ATR with carried-forward final bands (TradingView's definition).

With ``hl2 = (high + low) / 2`` and ``atr`` the Wilder ATR of ``period`` bars (``atr.py``):

* basic bands: ``upper = hl2 + multiplier * atr``, ``lower = hl2 - multiplier * atr``;
* final bands carry forward: the final upper band takes the basic upper band when it is lower
  than the previous final upper band or the previous close was above that band, else it
  keeps the previous final upper band; the final lower band mirrors it (basic lower band
  when higher, or when the previous close was below the previous final lower band);
* direction: on the first bar with an ATR (row ``period``) it is -1 (bearish) and the bands
  are the basic bands; then, after a bearish bar it turns +1 when the close is above the
  final upper band, and after a bullish bar it turns -1 when the close is below the final
  lower band, otherwise it stays;
* the line is the final lower band when bullish (+1), the final upper band when bearish (-1).

Rows ``0 .. period - 1`` are NaN. ``supertrend_state`` also returns the ATR and both final
bands, the state an incremental refresh stores; ``supertrend_continue`` carries on from them.
"""

from __future__ import annotations

from typing import NamedTuple

from numba import njit
from numpy.typing import ArrayLike

from hermes.indicators._inputs import Array, as_aligned, check_period, first_valid, nan_like
from hermes.indicators.atr import atr_seed, true_range_at


class SupertrendState(NamedTuple):
    """Per-row SuperTrend outputs and recursion state."""

    line: Array
    direction: Array
    atr: Array
    upper: Array
    lower: Array


@njit(cache=True)
def _supertrend_steps(
    high: Array,
    low: Array,
    close: Array,
    period: int,
    multiplier: float,
    start: int,
    previous_close: float,
    atr: float,
    upper: float,
    lower: float,
    direction: float,
    out: tuple[Array, Array, Array, Array, Array],
) -> None:
    line_out, direction_out, atr_out, upper_out, lower_out = out
    for i in range(start, len(close)):
        atr *= period - 1
        atr += true_range_at(high[i], low[i], previous_close)
        atr /= period
        middle = (high[i] + low[i]) / 2.0
        basic_upper = middle + multiplier * atr
        basic_lower = middle - multiplier * atr
        if basic_lower > lower or previous_close < lower:
            lower = basic_lower
        if basic_upper < upper or previous_close > upper:
            upper = basic_upper
        if direction < 0:
            direction = 1.0 if close[i] > upper else -1.0
        else:
            direction = -1.0 if close[i] < lower else 1.0
        line_out[i] = lower if direction > 0 else upper
        direction_out[i] = direction
        atr_out[i] = atr
        upper_out[i] = upper
        lower_out[i] = lower
        previous_close = close[i]


@njit(cache=True)
def _supertrend_kernel(
    high: Array,
    low: Array,
    close: Array,
    period: int,
    multiplier: float,
    out: tuple[Array, Array, Array, Array, Array],
) -> None:
    if len(close) <= period:
        return
    line_out, direction_out, atr_out, upper_out, lower_out = out
    atr = atr_seed(high, low, close, period)
    middle = (high[period] + low[period]) / 2.0
    upper = middle + multiplier * atr
    lower = middle - multiplier * atr
    line_out[period] = upper
    direction_out[period] = -1.0
    atr_out[period] = atr
    upper_out[period] = upper
    lower_out[period] = lower
    _supertrend_steps(
        high,
        low,
        close,
        period,
        multiplier,
        period + 1,
        close[period],
        atr,
        upper,
        lower,
        -1.0,
        out,
    )


def _empty(n_like: Array) -> tuple[Array, Array, Array, Array, Array]:
    return tuple(nan_like(n_like) for _ in range(5))  # type: ignore[return-value]


def _check_multiplier(multiplier: float) -> float:
    value = float(multiplier)
    if not value > 0:
        raise ValueError(f"multiplier must be > 0, got {multiplier!r}")
    return value


def supertrend_state(
    high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = 10, multiplier: float = 3.0
) -> SupertrendState:
    """SuperTrend line and direction plus the ATR and final bands of every row."""
    h, lo, c = as_aligned(high=high, low=low, close=close)
    period = check_period(period, "period", minimum=1)
    multiplier = _check_multiplier(multiplier)
    out = _empty(c)
    begin = first_valid(h, lo, c)
    line, direction, atr, upper, lower = (a[begin:] for a in out)
    _supertrend_kernel(
        h[begin:], lo[begin:], c[begin:], period, multiplier, (line, direction, atr, upper, lower)
    )
    return SupertrendState(*out)


def supertrend(
    high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = 10, multiplier: float = 3.0
) -> tuple[Array, Array]:
    """``(line, direction)``: the SuperTrend line and its direction (+1 bullish, -1 bearish)."""
    state = supertrend_state(high, low, close, period, multiplier)
    return state.line, state.direction


def supertrend_continue(
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    period: int,
    multiplier: float,
    previous_close: float,
    previous_atr: float,
    previous_upper: float,
    previous_lower: float,
    previous_direction: float,
) -> SupertrendState:
    """SuperTrend of bars following a bar with the given close, ATR, final bands, direction."""
    h, lo, c = as_aligned(high=high, low=low, close=close)
    period = check_period(period, "period", minimum=1)
    multiplier = _check_multiplier(multiplier)
    if previous_direction not in (1.0, -1.0):
        raise ValueError(f"previous_direction must be +1 or -1, got {previous_direction!r}")
    out = _empty(c)
    _supertrend_steps(
        h,
        lo,
        c,
        period,
        multiplier,
        0,
        float(previous_close),
        float(previous_atr),
        float(previous_upper),
        float(previous_lower),
        float(previous_direction),
        out,
    )
    return SupertrendState(*out)
