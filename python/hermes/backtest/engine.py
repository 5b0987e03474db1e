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
from typing import Any

import numpy as np

from hermes.backtest.config import BacktestConfig


@dataclass(frozen=True)
class Simulation:
    """One or many (columns) simulated portfolios on the same time index."""

    equity: np.ndarray  # (n,) or (n, k): portfolio value at each bar's close
    position: np.ndarray  # same shape: units held after each bar
    trades: np.ndarray  # vectorbt trade records (id, col, size, entry_idx, entry_price, ...)
    fills: int  # orders filled
    orders: np.ndarray | None = None  # vectorbt order records (id, col, idx, size, price, ...)


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
    entries = np.asarray(entries, dtype=bool)
    pf = from_signals(prices, entries, exits, config)
    close = _column_like(prices["close"], entries)
    equity, position = value_and_assets(pf, close, config.init_cash)
    return Simulation(
        equity=equity.reshape(entries.shape),
        position=position.reshape(entries.shape),
        trades=pf.trades.values,
        fills=int(len(pf.order_records)),
        orders=pf.order_records,
    )


def from_signals(
    prices: dict[str, np.ndarray],
    entries: np.ndarray,
    exits: np.ndarray,
    config: BacktestConfig,
    *,
    size: float | np.ndarray | None = None,
    cash_sharing: bool = False,
) -> Any:
    """The vectorbt ``Portfolio`` of the signals under ``config``.

    Prices are (n,) arrays, or (n, k) with one column per signal column (several assets).
    ``size`` (fraction of available cash per entry) defaults to ``config.size``; with
    ``cash_sharing`` all columns form one group that shares one cash pool, orders of a bar
    being processed in column order.
    """
    import vectorbt as vbt

    entries = np.asarray(entries, dtype=bool)
    exits = np.asarray(exits, dtype=bool)
    close = _column_like(prices["close"], entries)
    if config.fill == "next_open":
        entries, exits = _shift(entries), _shift(exits)
        price = _column_like(prices["open"], entries)
        stop_entry_price = "fillprice"
    else:
        price = close
        stop_entry_price = "close"
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
    grouping = {"group_by": True, "cash_sharing": True} if cash_sharing else {}
    return vbt.Portfolio.from_signals(
        close,
        entries,
        exits,
        price=price,
        size=config.size if size is None else size,
        size_type="percent",
        direction="longonly",
        fees=config.fees,
        slippage=config.slippage,
        init_cash=config.init_cash,
        accumulate=False,
        use_stops=use_stops,
        **grouping,
        **stops,
    )


def value_and_assets(pf: Any, close: np.ndarray, init_cash: float) -> tuple[np.ndarray, np.ndarray]:
    """``(pf.value(), pf.assets())`` of an ungrouped portfolio as 2-D numpy arrays.

    The same vectorbt kernels ``Portfolio.value`` / ``Portfolio.assets`` call, in the same
    order, so the numbers are identical; it skips wrapping every intermediate (n, k) array in
    a pandas frame, which dominates the time of a large parameter grid. ``close`` has no NaN
    (prices come from complete candles), so vectorbt's NaN filling is a no-op here.
    """
    from vectorbt.portfolio import dispatch
    from vectorbt.portfolio.enums import Direction

    shape = pf.wrapper.shape_2d
    records = pf.order_records
    col_map = pf.orders.col_mapper.col_map
    assets = dispatch.assets(dispatch.asset_flow(shape, records, col_map, Direction.Both))
    cash_flow = dispatch.cash_flow(shape, records, col_map, False)
    cash = dispatch.cash(cash_flow, np.full(shape[1], float(init_cash)))
    valued_close = np.array(np.broadcast_to(close.reshape(shape[0], -1), shape), dtype=float)
    valued_close[assets == 0] = 0.0
    value = dispatch.value(cash, dispatch.asset_value(valued_close, assets))
    return np.asarray(value), np.asarray(assets)


def _column_like(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``values`` (n,) repeated for each column of a 2-D ``like`` (a view, no copy)."""
    values = np.asarray(values, dtype=float)
    if like.ndim == 2 and values.ndim == 1:
        return np.broadcast_to(values[:, None], like.shape)
    return values
