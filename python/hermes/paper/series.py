"""One paper ledger as recomputed, and what it is computed from.

:class:`SeriesLedger` is the whole recomputed ledger of a series or a shared-capital
portfolio; :func:`paper_slice` reads a series' bars and signals since ``paper_since``
(:class:`Waiting` when there is none yet, :class:`~hermes.paper.activation.PaperError` on a
gap); :func:`closing_signals` turns a deactivated strategy's slice into its closing order.
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
    """The series' bars and signals from ``paper_since`` to ``end``, checked for gaps;
    :class:`Waiting` when no bar is there yet (``portfolio`` names the ledger it is part of)."""
    try:
        data = load_slice(signals, symbol, interval, start=activation.start, end=end)
    except DataError:
        part = f" (portfolio {portfolio})" if portfolio else ""
        raise Waiting(
            f"{strategy.strategy_id} {symbol} {interval}{part}: no bar on or after "
            f"paper_since {activation.since} yet"
        ) from None
    check_gaps(data)
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


def check_gaps(data: MarketSlice) -> None:
    steps = np.diff(data.open_time).astype("timedelta64[s]").astype(np.int64)
    bad = np.flatnonzero(steps != data.bar_seconds)
    if len(bad):
        missing = data.open_time[bad[0]] + np.timedelta64(data.bar_seconds, "s")
        raise PaperError(
            f"paper ledger: {data.symbol} {data.interval} has a gap inside the paper period: "
            f"no bar at {missing} (backfill it first: `hermes backfill`)"
        )
