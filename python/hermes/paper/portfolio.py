"""The shared-capital paper ledger: a strategy's symbols of one interval as one portfolio.

With ``"portfolio": true`` (or ``max_positions``) in ``paper_config``, the symbols of each
paper-traded interval are recomputed together through
:func:`hermes.backtest.portfolio.simulate_portfolio` (the simulation of
``hermes backtest --portfolio``: one cash pool, equal weights, ``max_positions``, the breaker
on the total equity), on the bars all of them hold. Storage follows the portfolio backtest
runs: orders keep their real symbol; the equity (and drift) rows are the portfolio's, with
``symbol`` = the symbols joined by commas, ``close`` the equal-weight basket index since the
first bar and ``position`` the number of symbols held; ``gold_paper_positions`` holds one row
per real symbol, whose ``cash`` and ``equity`` are the portfolio's (shared). The ledger's
guarantees are those of :mod:`hermes.paper.ledger` (the same extension); a deactivated
strategy closes every symbol it holds at the next open.

A symbol the universe lists as delisted (:func:`hermes.universe.delistings`) is closed as a
single series is (:func:`hermes.paper.series.delisting_close`): once its last traded bar is
known, no entry is decided there and the position still held is sold at that bar's close,
as an order of type ``delisted`` (with ``next_open``: decided on that bar, filled on the
portfolio's next bar, at the last close); the symbol then stays in the portfolio, flat,
priced at that close (its slot stays in cash), and the other symbols carry on.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import reduce

import numpy as np
import pyarrow as pa

from hermes.backtest.config import BacktestConfig
from hermes.backtest.inputs import MarketSlice, load_slice
from hermes.backtest.portfolio import align, simulate_portfolio
from hermes.lake import DataError
from hermes.paper.activation import Activation
from hermes.paper.rows import closed_returns, equity_table, order_rows, position_row
from hermes.paper.series import (
    DELISTED,
    SeriesLedger,
    Waiting,
    closing_signals,
    delisting_close,
    paper_slice,
)
from hermes.signals.registry import Strategy
from hermes.signals.source import SignalSource
from hermes.universe import delisted_on, delistings


def label(symbols: list[str] | tuple[str, ...]) -> str:
    """The portfolio's ``symbol`` in the equity and drift rows (as in portfolio runs)."""
    return ",".join(symbols)


def portfolio_equity(
    signals: SignalSource,
    symbols: list[str],
    interval: str,
    config: BacktestConfig,
    *,
    start: datetime | None,
    end: datetime | None,
) -> np.ndarray:
    """The shared-cash equity over ``[start, end)`` (empty when a symbol has no bar there)."""
    try:
        slices = [load_slice(signals, s, interval, start=start, end=end) for s in symbols]
        times, prices, entries, exits = align(slices)
    except DataError:
        return np.array([], float)
    return np.asarray(simulate_portfolio(prices, entries, exits, config).equity, dtype=float)


def compute_portfolio(
    signals: SignalSource,
    strategy: Strategy,
    activation: Activation,
    symbols: list[str],
    interval: str,
    *,
    snapshot: int,
    end: datetime | None = None,
    close_after: datetime | None = None,
) -> SeriesLedger:
    """Recompute one portfolio's ledger from ``paper_since`` to the last bar before ``end``
    (``close_after``: every symbol closed on the bar after it, as for one series)."""
    name = label(symbols)
    slices = [
        paper_slice(signals, strategy, activation, s, interval, end=end, portfolio=name)
        for s in symbols
    ]
    slices, delisted = close_delisted(slices, end)
    try:
        times, prices, entries, exits = align(slices)
    except DataError:
        raise Waiting(f"{strategy.strategy_id} {name} {interval}: no common bar yet") from None
    if close_after is not None:
        closing = [
            closing_signals(
                MarketSlice(s, interval, times, {f: prices[f][:, j] for f in prices},
                            entries[:, j], exits[:, j]),
                close_after,
                activation.config.fill,
            )
            for j, s in enumerate(symbols)
        ]  # fmt: skip
        times, prices, entries, exits = align(closing)
    config = activation.config
    sim = simulate_portfolio(prices, entries, exits, config)
    sid = strategy.strategy_id
    base = {"strategy_id": sid, "paper_since": activation.since, "interval": interval}
    orders = order_rows(
        sim.orders, times, exits, config.fill, sid, activation.since, interval, list(symbols)
    )
    orders = delisted_orders(orders, delisted)
    close = prices["close"]
    position = np.asarray(sim.position, dtype=float)
    equity = np.asarray(sim.equity, dtype=float)
    cash = equity - (position * close).sum(axis=1)
    basket = (close / close[0]).mean(axis=1)
    held = (position > 0).sum(axis=1)
    rows = equity_table(base, name, times, basket, held, cash, equity, config.init_cash)
    states = []
    for j, symbol in enumerate(symbols):
        state = position_row(
            base, symbol, times, sim.trades, j, position[-1, j], close[-1, j], cash[-1],
            equity[-1],
        )  # fmt: skip
        states.append(state | {"config": config.as_json, "parameters": strategy.parameters_json})
    return SeriesLedger(
        strategy,
        activation,
        name,
        interval,
        orders,
        rows,
        states,
        closed_returns(sim.trades),
        tuple(symbols),
    )


def close_delisted(
    slices: list[MarketSlice], end: datetime | None
) -> tuple[list[MarketSlice], dict[str, datetime]]:
    """The slices with each delisted symbol closed at its last traded bar (once known to be
    the last: as for one series) and carried flat at that bar's close over the other
    symbols' later bars; and symbol -> that last bar."""
    later = reduce(np.union1d, [s.open_time for s in slices])
    out, closed = [], {}
    for data in slices:
        day = delistings().get(data.symbol)
        if day is None:
            out.append(data)
            continue
        closing = delisting_close(data, day, "same_close")  # the exit, on the last bar
        if not (closing.final or delisted_on(data.symbol, end)):  # more bars may come
            out.append(data)
            continue
        cut = closing.data
        pad = later[later > cut.open_time[-1]]
        last_close = cut.prices["close"][-1]
        flat = np.zeros(len(pad), dtype=bool)
        out.append(
            replace(
                cut,
                open_time=np.append(cut.open_time, pad),
                prices={
                    f: np.append(v, np.full(len(pad), 0.0 if f == "volume" else last_close))
                    for f, v in cut.prices.items()
                },
                entries=np.append(cut.entries, flat),
                exits=np.append(cut.exits, flat),
            )
        )
        closed[data.symbol] = closing.last_time
    return out, closed


def delisted_orders(orders: pa.Table, delisted: dict[str, datetime]) -> pa.Table:
    """The portfolio's orders with each delisted symbol's closing sell (decided on its last
    traded bar or later: no entry follows it) typed ``delisted``."""
    if not delisted or not orders.num_rows:
        return orders
    kinds = [
        DELISTED if side == "sell" and symbol in delisted and decided >= delisted[symbol] else kind
        for symbol, side, decided, kind in zip(
            orders.column("symbol").to_pylist(),
            orders.column("side").to_pylist(),
            orders.column("decided_at").to_pylist(),
            orders.column("order_type").to_pylist(),
            strict=True,
        )
    ]
    i = orders.schema.get_field_index("order_type")
    return orders.set_column(i, "order_type", pa.array(kinds, pa.string()))
