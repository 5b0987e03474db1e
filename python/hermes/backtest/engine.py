"""Simulate signals with vectorbt (``Portfolio.from_signals`` / ``from_orders``).

Inputs are numpy arrays on one ordered time index. ``entries`` / ``exits`` are the signals as
decided on each closed bar. With ``fill="next_open"`` they are shifted one bar and filled at
that bar's open (a signal on the last bar is not filled); with ``fill="same_close"`` they fill
at the deciding bar's close. Long only; no pyramiding (an entry while in a position is ignored).
Stops are checked on the bars after the fill, against each bar's open/high/low, and exit at
the stop price (or the open if the bar gaps through it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hermes.backtest.config import BacktestConfig


@dataclass(frozen=True)
class Simulation:
    """One or many (columns) simulated portfolios on the same time index."""

    equity: np.ndarray  # (n,) or (n, k): portfolio value at each bar's close
    position: np.ndarray  # same shape: units held after each bar
    trades: np.ndarray  # vectorbt trade records (id, col, size, entry_idx, entry_price, ...)
    fills: int  # orders filled


def _shift(signal: np.ndarray) -> np.ndarray:
    out = np.zeros_like(signal, dtype=bool)
    out[1:] = signal[:-1]
    return out


def simulate(
    prices: dict[str, np.ndarray],
    entries: np.ndarray,
    exits: np.ndarray,
    config: BacktestConfig,
) -> Simulation:
    """Run the signals through vectorbt; ``prices`` holds open/high/low/close arrays (n,)."""
    import vectorbt as vbt

    entries = np.asarray(entries, dtype=bool)
    exits = np.asarray(exits, dtype=bool)
    close = np.asarray(prices["close"], dtype=float)
    if entries.ndim == 2:
        close = np.broadcast_to(close[:, None], entries.shape)
    if config.fill == "next_open":
        entries, exits = _shift(entries), _shift(exits)
        price = np.asarray(prices["open"], dtype=float)
        stop_entry_price = "fillprice"
    else:
        price = close
        stop_entry_price = "close"
    if entries.ndim == 2 and price.ndim == 1:
        price = np.broadcast_to(price[:, None], entries.shape)
    use_stops = config.sl_stop is not None or config.tp_stop is not None
    stops = {}
    if use_stops:
        stops = {
            "sl_stop": np.nan if config.sl_stop is None else config.sl_stop,
            "tp_stop": np.nan if config.tp_stop is None else config.tp_stop,
            "stop_entry_price": stop_entry_price,
            "open": _column_like(prices["open"], entries),
            "high": _column_like(prices["high"], entries),
            "low": _column_like(prices["low"], entries),
        }
    pf = vbt.Portfolio.from_signals(
        close,
        entries,
        exits,
        price=price,
        size=config.size,
        size_type="percent",
        direction="longonly",
        fees=config.fees,
        slippage=config.slippage,
        init_cash=config.init_cash,
        accumulate=False,
        use_stops=use_stops,
        **stops,
    )
    return Simulation(
        equity=np.asarray(pf.value()),
        position=np.asarray(pf.assets()),
        trades=pf.trades.values,
        fills=int(len(pf.orders.values)),
    )


def _column_like(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.broadcast_to(values[:, None], like.shape) if like.ndim == 2 else values
