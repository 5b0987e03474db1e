"""One paper ledger as recomputed, and what it is computed from.

:class:`SeriesLedger` is the whole recomputed ledger of a series or a shared-capital
portfolio; :func:`paper_slice` reads a series' bars and signals since ``paper_since``
(:class:`Waiting` when there is none yet); a candle the exchange never produced is simply
not there, exactly as in a backtest over the same bars (:func:`missing_bars` names them);
:func:`closing_signals` turns a deactivated strategy's slice into its closing order.
Shared by :mod:`hermes.paper.ledger` and :mod:`hermes.paper.portfolio`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from hermes.backtest.inputs import MarketSlice, load_slice
from hermes.lake import DataError
from hermes.paper.activation import Activation, PaperError
from hermes.signals.registry import Strategy
from hermes.signals.source import SignalSource


class Waiting(LookupError):
    """No bar on or after ``paper_since`` yet: the ledger starts with the first one."""


@dataclass
class SeriesLedger:
    """The whole recomputed ledger of one (strategy, symbol, interval) since ``paper_since``."""

    strategy: Strategy
    activation: Activation
    symbol: str
    interval: str
    orders: pa.Table
    equity: pa.Table
    positions: list[dict[str, Any]]  # one row per real symbol
    trade_returns: np.ndarray  # closed trades' returns (for drift)
    symbols: tuple[str, ...] = ()  # a shared-capital portfolio's symbols (``symbol`` joins them)

    def __post_init__(self) -> None:
        if not self.symbols:
            self.symbols = (self.symbol,)

    @property
    def key(self) -> tuple[str, date, str, str]:
        return (self.strategy.strategy_id, self.activation.since, self.symbol, self.interval)

    @property
    def as_of(self) -> datetime:
        return self.positions[0]["as_of"]


def paper_slice(
    signals: SignalSource,
    strategy: Strategy,
    activation: Activation,
    symbol: str,
    interval: str,
    *,
    end: datetime | None,
    portfolio: str | None = None,
) -> MarketSlice:
    """The series' bars and signals from ``paper_since`` to ``end``; :class:`Waiting` when no
    bar is there yet (``portfolio`` names the ledger it is part of).

    Missing candles (an exchange outage: the candle never existed) are not an error: the
    ledger, like the backtest it must equal (``hermes paper --verify``), goes from the bar
    before the gap to the bar after it."""
    try:
        data = load_slice(signals, symbol, interval, start=activation.start, end=end)
    except DataError:
        part = f" (portfolio {portfolio})" if portfolio else ""
        raise Waiting(
            f"{strategy.strategy_id} {symbol} {interval}{part}: no bar on or after "
            f"paper_since {activation.since} yet"
        ) from None
    return data


def closing_signals(data: MarketSlice, last: datetime, fill: str) -> MarketSlice:
    """The slice up to the first bar after ``last``, with no entry filling after ``last`` and a
    market exit filling on that bar; ``Waiting`` when that bar is not in the data yet."""
    times = data.open_time.astype("datetime64[us]")
    at = int(np.searchsorted(times, np.datetime64(last, "us")))
    if at >= len(times) or times[at] != np.datetime64(last, "us"):
        raise PaperError(
            f"paper ledger of {data.symbol} {data.interval}: its last stored bar {last} is no "
            "longer in the data"
        )
    if at + 1 >= len(times):
        raise Waiting(
            f"{data.symbol} {data.interval}: deactivated; its position is closed on the bar "
            f"after {last}, not closed yet"
        )
    decided = at if fill == "next_open" else at + 1  # the exit fills on bar at + 1
    keep = slice(0, at + 2)
    entries = data.entries[keep].copy()
    exits = data.exits[keep].copy()
    entries[decided:] = False
    exits[decided] = True
    return replace(
        data,
        open_time=data.open_time[keep],
        prices={name: values[keep] for name, values in data.prices.items()},
        entries=entries,
        exits=exits,
        flags={},
        values={},
    )


def missing_bars(data: MarketSlice) -> list[np.datetime64]:
    """The first missing open time of each gap inside the slice (none: no gap)."""
    steps = np.diff(data.open_time).astype("timedelta64[s]").astype(np.int64)
    bad = np.flatnonzero(steps != data.bar_seconds)
    return [data.open_time[i] + np.timedelta64(data.bar_seconds, "s") for i in bad]


@dataclass(frozen=True)
class Delisting:
    """A delisted series' slice cut at its last traded bar, closing its position there.

    ``synthetic``: with ``next_open`` the slice ends with one extra bar after the last one
    whose open, high, low and close are the last bar's close, so that the engine fills the
    closing exit at that price (with the usual fees and slippage); the caller folds that
    bar back into the last one (:meth:`fold`)."""

    data: MarketSlice
    synthetic: bool
    cutoff: np.datetime64  # the delisting day's midnight

    @property
    def last(self) -> int:
        """Index of the last traded bar (the closing order's bar) in ``data``."""
        return self.data.rows - (2 if self.synthetic else 1)

    @property
    def last_time(self) -> datetime:
        """Open time of the last traded bar."""
        return self.data.open_time[self.last].astype("datetime64[us]").astype(datetime)

    @property
    def final(self) -> bool:
        """Whether the last bar is known to be the last traded one: the bar after it would
        open after the delisting day's midnight."""
        step = np.timedelta64(self.data.bar_seconds, "s")
        return bool(self.data.open_time[self.last] + step > self.cutoff)

    @property
    def open_time(self) -> np.ndarray:
        """The bars' open times without the synthetic bar."""
        return self.data.open_time[: self.last + 1]

    def fold(self, values: np.ndarray) -> np.ndarray:
        """Per-bar values without the synthetic bar, the last bar holding its (closed) state."""
        if not self.synthetic:
            return values
        return np.delete(values, self.last, axis=0)


def delisting_close(data: MarketSlice, delisted_on: date, fill: str) -> Delisting:
    """The slice up to the last bar at or before ``delisted_on`` (its midnight), no entry
    decided on that bar and a market exit filling at its close.

    The close of the last traded bar, not the next open as for a deactivation: a delisted
    pair has no next bar, and that close is the last price anybody could trade at."""
    cutoff = np.datetime64(datetime(delisted_on.year, delisted_on.month, delisted_on.day), "us")
    times = data.open_time.astype("datetime64[us]")
    keep = int(np.searchsorted(times, cutoff, side="right"))
    if keep == 0:
        raise Waiting(
            f"{data.symbol} {data.interval}: delisted on {delisted_on}, before paper_since"
        )
    last = keep - 1
    entries = data.entries[:keep].copy()
    exits = data.exits[:keep].copy()
    open_time = data.open_time[:keep]
    prices = {name: values[:keep] for name, values in data.prices.items()}
    entries[last] = False
    exits[last] = True  # same_close: fills at this bar's close
    synthetic = fill == "next_open"
    if synthetic:  # next_open: fills at the open of a bar priced at the last close
        step = np.timedelta64(data.bar_seconds, "s")
        open_time = np.append(open_time, open_time[-1] + step)
        close = prices["close"][-1]
        prices = {
            name: np.append(values, 0.0 if name == "volume" else close)
            for name, values in prices.items()
        }
        entries, exits = np.append(entries, False), np.append(exits, False)
    return Delisting(
        replace(data, open_time=open_time, prices=prices, entries=entries, exits=exits,
                flags={}, values={}),
        synthetic,
        cutoff,
    )  # fmt: skip


DELISTED = "delisted"
"""``order_type`` of the order closing a delisted series' position."""


def delisted_orders(orders: pa.Table, closing: Delisting) -> pa.Table:
    """The ledger's orders with the closing one typed ``delisted`` and, after a synthetic
    bar, filled (and decided) on the last traded bar."""
    last = closing.last_time
    filled = orders.column("filled_at").to_pylist()
    at_close = [t is not None and t > last for t in filled]  # the synthetic bar
    if not closing.synthetic:
        at_close = [t == last and s == "sell" for t, s in
                    zip(filled, orders.column("side").to_pylist(), strict=True)]  # fmt: skip
    for name, value in (("filled_at", last), ("decided_at", last)):
        values = [value if c else t for c, t in
                  zip(at_close, orders.column(name).to_pylist(), strict=True)]  # fmt: skip
        i = orders.schema.get_field_index(name)
        orders = orders.set_column(i, name, pa.array(values, pa.timestamp("us")))
    kinds = [DELISTED if c else k for c, k in
             zip(at_close, orders.column("order_type").to_pylist(), strict=True)]  # fmt: skip
    i = orders.schema.get_field_index("order_type")
    return orders.set_column(i, "order_type", pa.array(kinds, pa.string()))
