"""Technical indicators on float64 numpy arrays, equal to TA-Lib's (numba kernels).

One module per indicator; each documents its formula and seeding. Rows inside an
indicator's warm-up are NaN, and leading NaNs in the input are skipped as TA-Lib does.
The ``*_continue`` functions carry a recursion on from a stored state, so that new bars
computed incrementally equal a full recomputation exactly.
"""

from hermes.indicators.atr import atr, atr_continue, true_range
from hermes.indicators.macd import MacdState, macd, macd_continue, macd_state
from hermes.indicators.moving_average import ema, ema_continue, sma
from hermes.indicators.rsi import rsi, rsi_continue, rsi_wilder
from hermes.indicators.supertrend import (
    SupertrendState,
    supertrend,
    supertrend_continue,
    supertrend_state,
)

__all__ = [
    "MacdState",
    "SupertrendState",
    "atr",
    "atr_continue",
    "ema",
    "ema_continue",
    "macd",
    "macd_continue",
    "macd_state",
    "rsi",
    "rsi_continue",
    "rsi_wilder",
    "sma",
    "supertrend",
    "supertrend_continue",
    "supertrend_state",
    "true_range",
]
