"""Side-by-side baselines: what users would otherwise write. They use no Hermes indicator or
backtest code (Smart Momentum's parameters come from the registry, as a user reads them)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def warm_calls(function: Callable[[], Any], calls: int) -> tuple[list[float], Any]:
    """Seconds of ``calls`` calls after one untimed (compilation, caches) and the last result."""
    result, seconds = function(), []
    for _ in range(calls):
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def supertrend_column(params: dict[str, Any]) -> str:
    """The feature store's SuperTrend direction column for Smart Momentum's parameters."""
    return f"supertrend_dir_{params['st_period']}_{params['st_multiplier']:g}".replace(".", "_")
