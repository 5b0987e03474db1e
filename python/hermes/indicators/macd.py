"""MACD (line, signal, histogram), exactly as TA-Lib computes it.

* slow EMA: the ``slow``-period EMA seeded with the SMA of the first ``slow`` values;
* fast EMA: TA-Lib seeds it so that it starts on the same row as the slow EMA, with the SMA
  of the ``fast`` values ending on row ``slow - 1`` (so it differs slightly from a plain
  ``ema(close, fast)`` until the seed has decayed);
* line = fast EMA - slow EMA; signal = EMA of the line over ``signal`` bars, seeded with the
  SMA of the first ``signal`` line values; histogram = line - signal.

All three outputs are NaN on rows ``0 .. slow + signal - 3``. ``fast`` and ``slow`` are
swapped when given in the wrong order, as TA-Lib does. ``macd_state`` also returns the fast
and slow EMAs (with the signal, the state an incremental refresh stores); ``macd_continue``
carries the recursion on from them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from hermes.indicators._inputs import Array, as_series, check_period, first_valid, nan_like
from hermes.indicators.moving_average import ema_k, ema_seed, ema_steps


class MacdState(NamedTuple):
    """Per-row MACD outputs and recursion state."""

    line: Array
    signal: Array
    hist: Array
    fast_ema: Array
    slow_ema: Array


def _periods(fast: int, slow: int, signal: int) -> tuple[int, int, int]:
    fast = check_period(fast, "fast")
    slow = check_period(slow, "slow")
    signal = check_period(signal, "signal", minimum=1)
    if slow < fast:
        fast, slow = slow, fast
    return fast, slow, signal


def macd_state(close: ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9) -> MacdState:
    """MACD line, signal and histogram plus the fast and slow EMAs of every row."""
    x = as_series(close, "close")
    fast, slow, signal = _periods(fast, slow, signal)
    begin = first_valid(x)
    out = MacdState(*(nan_like(x) for _ in range(5)))
    values = x[begin:]
    lookback = slow + signal - 2
    if len(values) <= lookback:
        return out
    first = slow - 1
    fast_ema = np.full(len(values), np.nan)
    slow_ema = np.full(len(values), np.nan)
    fast_ema[first] = ema_seed(values, fast, slow - fast)
    slow_ema[first] = ema_seed(values, slow, 0)
    ema_steps(values, ema_k(fast), fast_ema[first], fast_ema, first + 1)
    ema_steps(values, ema_k(slow), slow_ema[first], slow_ema, first + 1)
    line = fast_ema - slow_ema
    signal_line = np.full(len(values), np.nan)
    signal_line[lookback] = ema_seed(line, signal, first)
    ema_steps(line, ema_k(signal), signal_line[lookback], signal_line, lookback + 1)
    rows = slice(begin + lookback, None)
    out.line[rows] = line[lookback:]
    out.signal[rows] = signal_line[lookback:]
    out.hist[rows] = line[lookback:] - signal_line[lookback:]
    out.fast_ema[rows] = fast_ema[lookback:]
    out.slow_ema[rows] = slow_ema[lookback:]
    return out


def macd(
    close: ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[Array, Array, Array]:
    """``(line, signal, hist)`` (TA-Lib ``MACD``)."""
    state = macd_state(close, fast, slow, signal)
    return state.line, state.signal, state.hist


def macd_continue(
    close: ArrayLike,
    fast: int,
    slow: int,
    signal: int,
    previous_fast_ema: float,
    previous_slow_ema: float,
    previous_signal: float,
) -> MacdState:
    """MACD of bars following a bar with the given fast EMA, slow EMA and signal."""
    x = as_series(close, "close")
    fast, slow, signal = _periods(fast, slow, signal)
    fast_ema, slow_ema, signal_line = nan_like(x), nan_like(x), nan_like(x)
    ema_steps(x, ema_k(fast), float(previous_fast_ema), fast_ema, 0)
    ema_steps(x, ema_k(slow), float(previous_slow_ema), slow_ema, 0)
    line = fast_ema - slow_ema
    ema_steps(line, ema_k(signal), float(previous_signal), signal_line, 0)
    return MacdState(line, signal_line, line - signal_line, fast_ema, slow_ema)
