"""Multi-asset portfolio runs: one strategy over several symbols sharing one cash pool.

The symbols' signals (each computed on its own series) are simulated together by one vectorbt
``Portfolio.from_signals`` with ``group_by=True, cash_sharing=True``, on the bars every symbol
holds (the intersection of their open times).

**Equal weights.** An entry invests ``size / free`` of the available cash, where ``free`` is
the number of symbols without a position at that moment (orders of a bar run in symbol
order). All free symbols thus share the cash equally: with nothing held, each entry gets
``size / k`` of the portfolio, and cash freed by an exit is shared by the symbols still out.
``free`` comes from a first, unshared simulation (a symbol's entries and exits do not
depend on its position size); the shared run is checked to hold positions on exactly the same
bars. With ``max_positions = m`` only ``m`` symbols hold a position at once and an entry
invests ``size / (m - held)`` of the available cash (held = other symbols holding one);
which entries are refused, and the drawdown circuit breaker on the total equity, are
described in :mod:`hermes.backtest.risk`.

The run is stored like any other (``run_kind = 'portfolio'``, ``symbol`` = the symbols joined
by commas). Its equity rows hold the portfolio value; ``close`` is the equal-weight basket
index ``mean_i(close_i / close_i[first bar])``, ``position`` the number of symbols held,
``buy_and_hold_equity`` the initial cash in the basket, and the signals are any symbol's.
Metrics are the usual ones on the total equity; trade statistics pool every symbol's trades;
``buy_and_hold_return`` is the basket's.
"""

from __future__ import annotations

import hashlib
from functools import reduce

import numpy as np
import pyarrow as pa

from hermes.backtest import risk
from hermes.backtest.config import BacktestConfig
from hermes.backtest.engine import Simulation, from_signals, value_and_assets
from hermes.backtest.inputs import MarketSlice, years_of
from hermes.backtest.request import BacktestRequest, RunContext
from hermes.backtest.runs import (
    CLOSED,
    OPEN,
    RunResult,
    new_id,
    run_row,
    save,
    simulate_request,
    trades_table,
)
from hermes.config import Settings
from hermes.intervals import interval_seconds
from hermes.lake import DataError
from hermes.stats import metrics

PRICE_FIELDS = ("open", "high", "low", "close")


class PortfolioError(RuntimeError):
    """The shared-cash simulation did not hold positions where the sizing pass did."""


def align(
    slices: list[MarketSlice],
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """(open times common to all, prices (n, k), entries (n, k), exits (n, k))."""
    common = reduce(np.intersect1d, [s.open_time for s in slices])
    if len(common) == 0:
        names = ", ".join(s.symbol for s in slices)
        raise DataError(f"the series of {names} share no bar in the period")
    rows = [np.searchsorted(s.open_time, common) for s in slices]
    prices = {
        f: np.column_stack([s.prices[f][r] for s, r in zip(slices, rows, strict=True)])
        for f in PRICE_FIELDS
    }
    entries = np.column_stack([s.entries[r] for s, r in zip(slices, rows, strict=True)])
    exits = np.column_stack([s.exits[r] for s, r in zip(slices, rows, strict=True)])
    return common, prices, entries, exits


def equal_weight_sizes(held: np.ndarray, size: float, slots: int | None = None) -> np.ndarray:
    """``size / free`` per (row, symbol): free = ``slots`` (default: one per symbol) minus the
    other symbols holding a position when the symbol's order of that row runs."""
    held = np.asarray(held, dtype=bool)
    free = (held.shape[1] if slots is None else slots) - risk.others_held(held)
    with np.errstate(divide="ignore"):
        return np.where(free > 0, size / np.maximum(free, 0), np.inf)


def simulate_portfolio(
    prices: dict[str, np.ndarray], entries: np.ndarray, exits: np.ndarray, config: BacktestConfig
) -> Simulation:
    """The shared-cash, equal-weight simulation of (n, k) signals (equity (n,): the total).

    Refused entries (``max_positions``) and blocked ones (the breaker) are found by
    re-simulating: a refused entry is the first one filled beyond the slots in the current
    run (the run before it does not change when it is removed); the breaker's blocked entries
    are recomputed from each shared run's equity, and refusals after the first bar where they
    changed are found again.
    """
    entries = np.asarray(entries, dtype=bool)
    k = entries.shape[1]
    slots = k if config.max_positions is None else min(config.max_positions, k)
    lag = 1 if config.fill == "next_open" else 0
    refused = np.zeros_like(entries)
    halted = np.zeros_like(entries)
    for _ in range(4 * entries.size + 4):
        allowed = entries & ~refused & ~halted
        solo = from_signals(prices, allowed, exits, config)
        _, solo_assets = value_and_assets(solo)
        orders = solo.pf.order_records
        buys = orders[orders["side"] == 0]
        excess = risk.first_excess_entry(
            solo_assets > 0, buys["idx"].astype(np.int64), buys["col"].astype(np.int64), slots
        )
        if excess is not None:
            row, col = excess
            refused[row // solo.step - lag, col] = True
            continue
        sizes = equal_weight_sizes(solo_assets > 0, config.size, slots)
        run = from_signals(prices, allowed, exits, config, size=sizes, cash_sharing=True)
        shared = np.asarray(run.pf.assets()).reshape(solo_assets.shape)
        if not np.array_equal(shared > 0, solo_assets > 0):
            raise PortfolioError("the shared-cash run held positions on other bars than planned")
        equity = run.bars(np.asarray(run.pf.value(), dtype=float))
        now = risk.halted_entries(equity, config)[:, None] & np.ones(k, dtype=bool)
        changed = np.flatnonzero((now != halted).any(axis=1))
        if not len(changed):
            return Simulation(
                equity=equity,
                position=run.bars(shared),
                trades=run.trades,
                fills=int(len(run.pf.order_records)),
                orders=run.orders,
            )
        refused[changed[0] :] = False
        halted = now
    raise PortfolioError("the portfolio's risk rules did not settle")  # pragma: no cover


def run_portfolio(
    settings: Settings, request: BacktestRequest, *, show_progress: bool = False
) -> list[str]:
    """One portfolio run per interval over the request's symbols (default: all); run ids.

    Everything is read and checked before any simulation; all runs are written together.
    """
    results = simulate_request(
        settings, request, execute_portfolio, label="portfolios", by_interval=True,
        show_progress=show_progress,
    )  # fmt: skip
    save(settings, results)
    return [r.run_id for r in results]


def _combined(parts: list[str]) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def execute_portfolio(context: RunContext, slices: list[MarketSlice]) -> RunResult:
    """Simulate the symbols together and assemble the run's rows (nothing is written)."""
    run_id = new_id("bt")
    config = context.config
    symbols = [s.symbol for s in slices]
    interval = slices[0].interval
    times, prices, entries, exits = align(slices)
    sim = simulate_portfolio(prices, entries, exits, config)
    equity = sim.equity
    held = (sim.position > 0).sum(axis=1).astype(float)
    basket = (prices["close"] / prices["close"][0]).mean(axis=1)
    records = sim.trades
    bar_seconds = interval_seconds(interval)
    values = metrics.compute(
        equity,
        held,
        [records["pnl"][records["status"] == CLOSED]],
        np.array([int((records["status"] == OPEN).sum())]),
        basket,
        config.init_cash,
        bar_seconds,
        years_of(times, bar_seconds),
    )[0]
    run = run_row(
        context.but(run_kind="portfolio"),
        run_id,
        sim,
        values,
        symbol=",".join(symbols),
        interval=interval,
        open_time=times,
        data_fingerprint=_combined([s.data_fingerprint for s in slices]),
        features_version=_combined([s.features_version for s in slices]),
        signal_source=",".join(sorted({s.signal_source for s in slices})),
    )
    equity_rows = pa.table(
        {
            "run_id": pa.array([run_id] * len(times), pa.string()),
            "open_time": pa.array(times),
            "close": pa.array(basket),
            "equity": pa.array(equity),
            "position": pa.array(held),
            "drawdown": pa.array(metrics.drawdown(equity, config.init_cash)),
            "buy_and_hold_equity": pa.array(config.init_cash * basket),
            "buy_signal": pa.array(entries.any(axis=1)),
            "sell_signal": pa.array(exits.any(axis=1)),
        }
    )
    trades = trades_table(run_id, symbols, times, records)
    return RunResult(run=run, trades=trades, equity=equity_rows)
