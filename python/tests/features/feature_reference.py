"""Shared helpers of the feature tests: bundled real data, TA-Lib comparisons."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import talib

from hermes.config import PROJECT_ROOT

BUNDLED = PROJECT_ROOT / "data" / "binance-ohlcv"
SERIES = ("BTCUSDT_4h", "BTCUSDT_1d", "ETHUSDT_4h", "ETHUSDT_1d")
RELATIVE = 1e-9


def load(name: str) -> pd.DataFrame:
    """One bundled real series (timestamp, open, high, low, close, volume)."""
    path: Path = BUNDLED / f"{name}.csv.gz"
    with gzip.open(path, "rt") as handle:
        frame = pd.read_csv(handle, parse_dates=["timestamp"])
    return frame.sort_values("timestamp", ignore_index=True)


def assert_matches(actual: np.ndarray, expected: np.ndarray, label: str) -> None:
    """Same NaN rows, and values within 1e-9 relative of the reference, with an absolute
    floor of 1e-9 times the largest reference value (for values crossing zero)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, label
    missing = np.isnan(actual) != np.isnan(expected)
    assert not missing.any(), f"{label}: NaN rows differ at {np.flatnonzero(missing)[:10]}"
    assert (~np.isnan(expected)).any(), f"{label}: the reference is all NaN"
    scale = np.nanmax(np.abs(expected))
    np.testing.assert_allclose(
        actual[~np.isnan(expected)],
        expected[~np.isnan(expected)],
        rtol=RELATIVE,
        atol=RELATIVE * scale,
        err_msg=label,
    )


def supertrend_reference(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, multiplier: float
) -> tuple[np.ndarray, np.ndarray]:
    """SuperTrend written out bar by bar on TA-Lib's ATR (TradingView's definition)."""
    atr = talib.ATR(high, low, close, period)
    n = len(close)
    line = np.full(n, np.nan)
    direction = np.full(n, np.nan)
    final_upper = final_lower = np.nan
    for t in range(n):
        if np.isnan(atr[t]):
            continue
        basic_upper = (high[t] + low[t]) / 2 + multiplier * atr[t]
        basic_lower = (high[t] + low[t]) / 2 - multiplier * atr[t]
        if np.isnan(final_upper):
            final_upper, final_lower, direction[t] = basic_upper, basic_lower, -1.0
        else:
            if basic_upper < final_upper or close[t - 1] > final_upper:
                final_upper = basic_upper
            if basic_lower > final_lower or close[t - 1] < final_lower:
                final_lower = basic_lower
            if direction[t - 1] == -1.0:
                direction[t] = 1.0 if close[t] > final_upper else -1.0
            else:
                direction[t] = -1.0 if close[t] < final_lower else 1.0
        line[t] = final_lower if direction[t] == 1.0 else final_upper
    return line, direction
