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
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from hermes.backtest.config import BacktestConfig
from hermes.backtest.inputs import MarketSlice, load_slice
from hermes.backtest.portfolio import align, simulate_portfolio
from hermes.lake import DataError
from hermes.paper.activation import Activation
from hermes.paper.rows import closed_returns, equity_table, order_rows, position_row
from hermes.paper.series import SeriesLedger, Waiting, closing_signals, paper_slice
from hermes.signals.registry import Strategy
from hermes.signals.source import SignalSource


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
