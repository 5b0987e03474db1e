"""Smart Momentum: EMA crossover + neutral RSI + bullish SuperTrend, exit on SuperTrend flip.

Decided on a closed bar ``t`` (every input is known at bar ``t``'s close):

* ``ema_cross[t]``   = ema_fast[t] > ema_slow[t] and ema_fast[t-1] <= ema_slow[t-1]
* ``rsi_neutral[t]`` = rsi_low <= rsi[t] <= rsi_high
* ``st_bullish[t]``  = supertrend direction[t] == +1
* ``st_exit[t]``     = direction[t] == -1 and direction[t-1] == +1
* ``buy_signal``     = ema_cross and rsi_neutral and st_bullish
* ``sell_signal``    = st_exit

A comparison with a missing value (indicator warm-up, first bar) is false. The rule looks
back :data:`LOOKBACK` bar; that is the context a chunked run carries between chunks.

This module is the strategy's accelerator (:mod:`hermes.signals.accelerators`): its dbt
model ``models/gold/signals/gold_signals_smart_momentum.sql`` is the definition, and this
numpy twin, tested equal to it on every bundled bar, serves grids, walk-forward and runs
with EMA, RSI or SuperTrend periods the model does not compile in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hermes.signals.errors import StrategyError

STRATEGY_ID = "smart_momentum"
LOOKBACK = 1
"""Previous bars the rule reads (the crossing and the direction turn look one bar back)."""

FLAGS = ("ema_cross", "rsi_neutral", "st_bullish", "st_exit")
INPUTS = ("ema_fast", "ema_slow", "rsi", "st_dir")


def validate(params: dict[str, Any]) -> dict[str, Any]:
    """The rules tying parameters together (types and ranges are checked by the registry)."""
    if params["ema_fast"] >= params["ema_slow"]:
        raise StrategyError(
            f"{STRATEGY_ID}: ema_fast={params['ema_fast']} must be smaller than "
            f"ema_slow={params['ema_slow']}"
        )
    if params["rsi_low"] > params["rsi_high"]:
        raise StrategyError(
            f"{STRATEGY_ID}: RSI band [{params['rsi_low']}, {params['rsi_high']}] must satisfy "
            "rsi_low <= rsi_high"
        )
    return params


def feature_columns(params: dict[str, Any]) -> dict[str, str]:
    """Feature-store column holding each input for these parameters."""
    from hermes.indicators.recursive_features import suffix

    return {
        "ema_fast": f"ema_{params['ema_fast']}",
        "ema_slow": f"ema_{params['ema_slow']}",
        "rsi": f"rsi_{params['rsi_period']}",
        "st_dir": "supertrend_dir_" + suffix(params["st_period"], params["st_multiplier"]),
    }


def compute_inputs(
    ohlc: dict[str, np.ndarray], params: dict[str, Any], needed: tuple[str, ...] = INPUTS
) -> dict[str, np.ndarray]:
    """Inputs computed from OHLC with ``hermes.indicators`` (for periods the store lacks).

    Recursive indicators depend on the whole history before a bar: pass the full history.
    """
    from hermes import indicators

    high, low, close = ohlc["high"], ohlc["low"], ohlc["close"]
    out: dict[str, np.ndarray] = {}
    if "ema_fast" in needed:
        out["ema_fast"] = np.asarray(indicators.ema(close, params["ema_fast"]), dtype=float)
    if "ema_slow" in needed:
        out["ema_slow"] = np.asarray(indicators.ema(close, params["ema_slow"]), dtype=float)
    if "rsi" in needed:
        out["rsi"] = np.asarray(indicators.rsi(close, params["rsi_period"]), dtype=float)
    if "st_dir" in needed:
        _line, direction = indicators.supertrend(
            high, low, close, params["st_period"], params["st_multiplier"]
        )
        out["st_dir"] = np.asarray(direction, dtype=float)
    return out


def _previous(values: np.ndarray) -> np.ndarray:
    out = np.empty_like(values, dtype=float)
    out[:1] = np.nan
    out[1:] = values[:-1]
    return out


def in_rsi_band(values: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """``rsi_low <= values <= rsi_high`` (a missing value is outside the band)."""
    with np.errstate(invalid="ignore"):
        return (values >= params["rsi_low"]) & (values <= params["rsi_high"])


def generate(inputs: dict[str, np.ndarray], params: dict[str, Any]) -> dict[str, np.ndarray]:
    """Component flags plus ``buy_signal`` / ``sell_signal`` for every row of ``inputs``."""
    fast = np.asarray(inputs["ema_fast"], dtype=float)
    slow = np.asarray(inputs["ema_slow"], dtype=float)
    rsi = np.asarray(inputs["rsi"], dtype=float)
    direction = np.asarray(inputs["st_dir"], dtype=float)
    with np.errstate(invalid="ignore"):
        ema_cross = (fast > slow) & (_previous(fast) <= _previous(slow))
        rsi_neutral = in_rsi_band(rsi, params)
        st_bullish = direction == 1
        st_exit = (direction == -1) & (_previous(direction) == 1)
    return {
        "ema_cross": ema_cross,
        "rsi_neutral": rsi_neutral,
        "st_bullish": st_bullish,
        "st_exit": st_exit,
        "buy_signal": ema_cross & rsi_neutral & st_bullish,
        "sell_signal": st_exit,
    }
