"""Real inputs for the backtest figures: the bundled BTCUSDT 4h candles, last 8 years.

Signals are Smart Momentum with the registry's default parameters, computed with
``hermes.indicators`` and the rule in ``hermes.signals.smart_momentum``. Saved once as
``.npz`` so every backtest process starts from the same arrays without recomputing them.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import polars as pl

from bench.synthetic import BUNDLED

BARS_PER_YEAR_4H = 6 * 365.25
YEARS = 8


def load_btc_4h(years: int = YEARS) -> dict[str, np.ndarray]:
    """Open/high/low/close of the last ``years`` years of real BTCUSDT 4h candles."""
    with gzip.open(BUNDLED / "BTCUSDT_4h.csv.gz", "rb") as handle:
        frame = pl.read_csv(handle.read())
    frame = frame.tail(int(years * BARS_PER_YEAR_4H))
    out = {c: frame[c].to_numpy().astype(np.float64) for c in ("open", "high", "low", "close")}
    out["open_time"] = frame["timestamp"].str.to_datetime().dt.epoch("ms").to_numpy()
    return out


def default_parameters() -> dict[str, float]:
    from hermes.signals.registry import load_strategy

    return dict(load_strategy("smart_momentum").parameters)


def signals_file(work: Path) -> Path:
    """``work/btc-4h-8y-signals.npz``: OHLC, open_time, entries and exits.

    Entries and exits are Smart Momentum's buy and sell signals with default parameters.
    """
    path = work / "btc-4h-8y-signals.npz"
    if path.exists():
        return path
    from hermes.signals import smart_momentum

    ohlc = load_btc_4h()
    params = default_parameters()
    flags = smart_momentum.generate(smart_momentum.compute_inputs(ohlc, params), params)
    work.mkdir(parents=True, exist_ok=True)
    np.savez(path, **ohlc, entries=flags["buy_signal"], exits=flags["sell_signal"])
    return path
