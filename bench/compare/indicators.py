"""Side by side: ``hermes.indicators`` against TA-Lib on the same float64 arrays (one
synthetic 1-minute series): each call timed warm as the best of a few, outputs compared
value by value."""

from __future__ import annotations

import importlib
from functools import partial
from typing import Any

import numpy as np

from bench.measure import warm_calls

# (name, hermes module, function, TA-Lib function, inputs, keyword arguments); Bollinger bands
# are a SQL macro (macros/indicators), compared with TA-Lib in python/tests/features
CASES: list[tuple[str, str, str, str, tuple[str, ...], dict[str, Any]]] = [
    ("sma_20", "hermes.indicators.moving_average", "sma", "SMA", ("close",), {"period": 20}),
    ("ema_12", "hermes.indicators.moving_average", "ema", "EMA", ("close",), {"period": 12}),
    ("ema_200", "hermes.indicators.moving_average", "ema", "EMA", ("close",), {"period": 200}),
    ("rsi_14", "hermes.indicators.rsi", "rsi", "RSI", ("close",), {"period": 14}),
    ("atr_14", "hermes.indicators.atr", "atr", "ATR", ("high", "low", "close"), {"period": 14}),
    ("true_range", "hermes.indicators.atr", "true_range", "TRANGE", ("high", "low", "close"), {}),
    ("macd_12_26_9", "hermes.indicators.macd", "macd", "MACD", ("close",), {}),
]


def _first(result: Any) -> np.ndarray:
    """The first output array of an indicator (a dict, tuple or list of them, or one)."""
    result = next(iter(result.values())) if isinstance(result, dict) else result
    return np.asarray(result[0] if isinstance(result, tuple | list) else result, np.float64)


def max_relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Largest ``|a - b| / max(|b|, 1e-12)`` over rows where both are defined."""
    both = ~np.isnan(a) & ~np.isnan(b)
    if not both.any():
        return float("nan")
    return float(np.max(np.abs(a[both] - b[both]) / np.maximum(np.abs(b[both]), 1e-12)))


def run(arrays_file: str, calls: int = 5) -> dict[str, Any]:
    """Time every case on the arrays saved in ``arrays_file`` (``.npz``: open/high/low/close)."""
    import talib

    data = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in np.load(arrays_file).items()}
    cases: dict[str, Any] = {}
    for name, module_name, function_name, talib_name, inputs, kwargs in CASES:
        try:
            function = getattr(importlib.import_module(module_name), function_name)
        except (ImportError, AttributeError):
            cases[name] = {
                "status": "not available",
                "reason": f"{module_name}.{function_name} not found",
            }
            continue
        args, talib_kwargs = [data[i] for i in inputs], {f"time{k}": v for k, v in kwargs.items()}
        ours, hermes_out = warm_calls(partial(function, *args, **kwargs), calls)
        theirs, talib_out = warm_calls(
            partial(getattr(talib, talib_name), *args, **talib_kwargs), calls
        )
        cases[name] = {"status": "ok", "hermes_seconds": min(ours), "talib_seconds": min(theirs),
                       "speed_ratio": min(theirs) / min(ours),
                       "max_relative_difference": max_relative_difference(
                           _first(hermes_out), _first(talib_out))}  # fmt: skip
    seconds = sum(c.get("hermes_seconds", 0.0) for c in cases.values())
    return {"seconds": seconds, "rows": len(data["close"]), "cases": cases}
