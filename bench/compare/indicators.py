"""Side by side: ``hermes.indicators`` against TA-Lib on the same arrays.

Both libraries get the same float64 arrays (one synthetic 1-minute series); each call is
timed warm (after one untimed call, so numba compilation is excluded) as the best of a few
calls, and the outputs are compared value by value.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np

# (name, hermes module, function, TA-Lib function, inputs, keyword arguments)
CASES: list[tuple[str, str, str, str, tuple[str, ...], dict[str, Any]]] = [
    ("sma_20", "hermes.indicators.moving_average", "sma", "SMA", ("close",), {"period": 20}),
    ("ema_12", "hermes.indicators.moving_average", "ema", "EMA", ("close",), {"period": 12}),
    ("ema_200", "hermes.indicators.moving_average", "ema", "EMA", ("close",), {"period": 200}),
    ("rsi_14", "hermes.indicators.rsi", "rsi", "RSI", ("close",), {"period": 14}),
    ("atr_14", "hermes.indicators.atr", "atr", "ATR", ("high", "low", "close"), {"period": 14}),
    ("true_range", "hermes.indicators.atr", "true_range", "TRANGE", ("high", "low", "close"), {}),
    ("macd_12_26_9", "hermes.indicators.macd", "macd", "MACD", ("close",), {}),
    ("bbands_20_2", "hermes.indicators.bollinger", "bollinger", "BBANDS", ("close",), {}),
]


def _best_of(function: Callable[[], Any], calls: int) -> tuple[float, np.ndarray]:
    """Best seconds of ``calls`` warm calls (after one: numba compilation, caches) and the
    first output array of the last."""
    function()
    best, result = float("inf"), None
    for _ in range(calls):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    if isinstance(result, dict):
        result = next(iter(result.values()))
    return best, np.asarray(result[0] if isinstance(result, tuple | list) else result, np.float64)


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
            reason = f"{module_name}.{function_name} not found"
            cases[name] = {"status": "not available", "reason": reason}
            continue
        args, talib_kwargs = [data[i] for i in inputs], {f"time{k}": v for k, v in kwargs.items()}
        talib_fn = getattr(talib, talib_name)
        hermes_s, hermes_out = _best_of(lambda f=function, a=args, k=kwargs: f(*a, **k), calls)
        talib_s, talib_out = _best_of(lambda f=talib_fn, a=args, k=talib_kwargs: f(*a, **k), calls)
        difference = max_relative_difference(hermes_out, talib_out)
        cases[name] = {"status": "ok", "hermes_seconds": hermes_s, "talib_seconds": talib_s} | {
            "speed_ratio": talib_s / hermes_s, "max_relative_difference": difference
        }  # fmt: skip
    seconds = sum(c.get("hermes_seconds", 0.0) for c in cases.values())
    return {"seconds": seconds, "rows": len(data["close"]), "cases": cases}
