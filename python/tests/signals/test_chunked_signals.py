"""Chunked signal generation equals one pass, for any chunk size (property test)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hermes.signals import smart_momentum
from hermes.signals.chunked import generate_in_chunks
from hermes.signals.registry import load_strategy

STRATEGY = load_strategy("smart_momentum")


def _inputs(seed: int, n: int) -> dict[str, np.ndarray]:
    """Crossing EMAs, an RSI crossing the band, a flipping SuperTrend, warm-up NaNs."""
    rng = np.random.default_rng(seed)
    fast = np.cumsum(rng.normal(0, 1, n))
    slow = fast + rng.normal(0, 1.5, n)
    rsi = rng.uniform(30, 70, n)
    direction = rng.choice([-1.0, 1.0], n, p=[0.3, 0.7])
    for values, warmup in ((fast, 3), (slow, 5), (rsi, 4), (direction, 2)):
        values[: min(warmup, n)] = np.nan
    times = np.datetime64("2020-01-01T00:00", "us") + np.arange(n) * np.timedelta64(4, "h")
    return {"open_time": times, "ema_fast": fast, "ema_slow": slow, "rsi": rsi, "st_dir": direction}


def _split(inputs: dict[str, np.ndarray], size: int) -> list[dict[str, np.ndarray]]:
    n = len(inputs["open_time"])
    return [{k: v[i : i + size] for k, v in inputs.items()} for i in range(0, n, size)]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 300), chunk=st.integers(1, 320))
def test_chunked_equals_one_pass(seed: int, n: int, chunk: int) -> None:
    inputs = _inputs(seed, n)
    one_pass = smart_momentum.generate(inputs, STRATEGY.parameters)
    parts = list(generate_in_chunks(_split(inputs, chunk), STRATEGY))
    assert sum(len(p["open_time"]) for p in parts) == n
    for name, expected in one_pass.items():
        np.testing.assert_array_equal(
            np.concatenate([p[name] for p in parts]), expected, err_msg=name
        )


def test_the_buffer_matters() -> None:
    """Without the look-back buffer a crossing on a chunk's first row would be lost."""
    inputs = _inputs(7, 200)
    one_pass = smart_momentum.generate(inputs, STRATEGY.parameters)
    starts = np.flatnonzero(one_pass["ema_cross"][1:]) + 1
    cut = int(starts[0])
    alone = smart_momentum.generate({k: v[cut:] for k, v in inputs.items()}, STRATEGY.parameters)
    assert one_pass["ema_cross"][cut] and not alone["ema_cross"][0]
    assert smart_momentum.LOOKBACK == 1
