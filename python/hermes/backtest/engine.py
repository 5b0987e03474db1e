"""Simulate signals with vectorbt (``Portfolio.from_signals`` / ``from_orders``).

Inputs are numpy arrays on one ordered time index. ``entries`` / ``exits`` are the signals as
decided on each closed bar. With ``fill="next_open"`` they are shifted one bar and filled at
that bar's open (a signal on the last bar is not filled); with ``fill="same_close"`` they fill
at the deciding bar's close. Long only; no pyramiding (an entry while in a position is ignored).

**Stops** (``sl_stop`` / ``tp_stop``, fractions of the entry fill price) are checked on every
bar a position is held, *including its entry bar*:

* With ``next_open`` each bar is simulated as two steps: its open (where signals fill; a
  stop of a position held from before exits there when the bar gaps through it) and then the
  rest of the bar (open, high, low, close), where a stop inside the bar's range exits at the
  stop price. A position bought at a bar's open can therefore be stopped out on that same
  bar. A signal exit at the open comes before a stop reached later in the bar.
* A stop-loss below the open on the bar is hit when the low reaches it, a take-profit when
  the high does; when both are inside one bar's range the **stop-loss wins** (the order of
  prices inside a bar is unknown: the conservative choice). A bar opening beyond a stop
  exits at the open (for an entry at the open this can only happen when slippage puts the
  entry price above the open by more than ``sl_stop``).
* With ``same_close`` the entry fills at the deciding bar's close, after that bar's range,
  so stops start on the next bar (checked the same way).

The drawdown circuit breaker (``max_drawdown_halt``) is applied by
:func:`simulate` (see :mod:`hermes.backtest.risk`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hermes.backtest import risk
from hermes.backtest.config import BacktestConfig


@dataclass(frozen=True)
class Simulation:
    """One or many (columns) simulated portfolios on the same time index."""

    equity: np.ndarray  # (n,) or (n, k): portfolio value at each bar's close
    position: np.ndarray  # same shape: units held after each bar
    trades: np.ndarray  # vectorbt trade records (id, col, size, entry_idx, entry_price, ...)
    fills: int  # orders filled
    orders: np.ndarray | None = None  # vectorbt order records (id, col, idx, size, price, ...)
    cash: np.ndarray | None = None  # same shape as equity: the engine's cash after each bar


def _shift(signal: np.ndarray) -> np.ndarray:
    out = np.zeros_like(signal, dtype=bool)
    out[1:] = signal[:-1]
    return out


@dataclass(frozen=True)
class Run:
    """A vectorbt portfolio and how its rows map onto bars (``step`` rows per bar)."""

    pf: Any
    close: np.ndarray  # the close of each of the run's rows
    step: int
    init_cash: float

    def bars(self, rows: np.ndarray) -> np.ndarray:
        """The rows that end a bar (its close), one per bar."""
        return np.asarray(rows)[self.step - 1 :: self.step]

    def records(self, records: np.ndarray, fields: tuple[str, ...]) -> np.ndarray:
        """Order or trade records with their row indices ``fields`` turned into bar indices."""
        out = np.array(records, copy=True)
        for name in fields:
            out[name] = out[name] // self.step
        return out

    @property
    def trades(self) -> np.ndarray:
        return self.records(self.pf.trades.values, ("entry_idx", "exit_idx"))

    @property
    def orders(self) -> np.ndarray:
        return self.records(self.pf.order_records, ("idx",))


def simulate(
    prices: dict[str, np.ndarray],
    entries: np.ndarray,
    exits: np.ndarray,
    config: BacktestConfig,
) -> Simulation:
    """Run the signals through vectorbt; ``prices`` holds open/high/low/close arrays (n,).

    Each column is its own portfolio; the drawdown breaker as :func:`settle` applies it.
    (:mod:`hermes.backtest.fills` gives the same numbers for one series without vectorbt.)
    """

    def once(allowed: np.ndarray) -> Simulation:
        run = from_signals(prices, allowed, exits, config)
        equity, position, cash = value_assets_cash(run)
        shape = allowed.shape
        return Simulation(
            equity=run.bars(equity).reshape(shape),
            position=run.bars(position).reshape(shape),
            trades=run.trades,
            fills=int(len(run.pf.order_records)),
            orders=run.orders,
            cash=run.bars(cash).reshape(shape),
        )

    return settle(once, entries, config)


def settle(
    once: Callable[[np.ndarray], Simulation], entries: np.ndarray, config: BacktestConfig
) -> Simulation:
    """``once(allowed entries)`` with the entries the drawdown breaker blocks removed.

    With ``max_drawdown_halt`` set, entries are blocked where
    :func:`hermes.backtest.risk.halted_entries` says, found by re-simulating until the
    blocked entries are those the simulated equity trips (the bars before a trip never
    change, so each round settles at least one more trip).
    """
    entries = np.asarray(entries, dtype=bool)
    blocked = np.zeros_like(entries)
    for _ in range(len(entries) + 2):
        sim = once(entries & ~blocked)
        if config.max_drawdown_halt is None:
            return sim
        halted = risk.halted_entries(sim.equity, config)
        if np.array_equal(halted, blocked):
            return sim
        blocked = halted
    raise RuntimeError("the drawdown circuit breaker did not settle")  # pragma: no cover


def _split_bars(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each bar as two rows: its open alone, then the whole bar."""
    out = {}
    for name, array in values.items():
        rows = np.repeat(np.asarray(array, dtype=float), 2, axis=0)
        if name != "open":
            rows[0::2] = values["open"]
        out[name] = rows
    return out


def _at_opens(signal: np.ndarray) -> np.ndarray:
    """A (fill-bar) signal on the open row of each split bar."""
    out = np.zeros((2 * len(signal), *signal.shape[1:]), dtype=bool)
    out[0::2] = signal
    return out


def from_signals(
    prices: dict[str, np.ndarray],
    entries: np.ndarray,
    exits: np.ndarray,
    config: BacktestConfig,
    *,
    size: float | np.ndarray | None = None,
    cash_sharing: bool = False,
) -> Run:
    """The vectorbt ``Portfolio`` of the signals under ``config`` (no drawdown breaker).

    Prices are (n,) arrays, or (n, k) with one column per signal column (several assets).
    ``size`` (fraction of available cash per entry; a scalar or one value per row of the
    run, see :func:`run_rows`) defaults to ``config.size``; with ``cash_sharing`` all columns
    form one group that shares one cash pool, orders of a row being processed in column
    order.
    """
    import vectorbt as vbt

    rows = signal_rows(prices, entries, exits, config)
    use_stops = config.has_stops
    close = rows.close
    stops = {}
    if use_stops:
        stops = {
            "sl_stop": np.nan if config.sl_stop is None else config.sl_stop,
            "tp_stop": np.nan if config.tp_stop is None else config.tp_stop,
            "stop_entry_price": rows.stop_entry_price,
            "open": rows.open,
            "high": rows.high,
            "low": rows.low,
        }
    grouping = {"group_by": True, "cash_sharing": True} if cash_sharing else {}
    pf = vbt.Portfolio.from_signals(
        close,
        rows.entries,
        rows.exits,
        price=rows.price,
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
    return Run(pf, close, rows.step, config.init_cash)


@dataclass(frozen=True)
class SignalRows:
    """A run's rows as the engine takes them: prices, the order price and the signals of each
    row (shifted to their fill bar; with ``step`` 2 each bar split into its open and the
    whole bar), and what a stop is measured from (``fillprice`` or ``close``)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    price: np.ndarray
    entries: np.ndarray
    exits: np.ndarray
    step: int
    stop_entry_price: str


def signal_rows(
    prices: dict[str, np.ndarray], entries: np.ndarray, exits: np.ndarray, config: BacktestConfig
) -> SignalRows:
    """The rows of a run of ``config`` over these bars (see the module's docstring)."""
    entries = np.asarray(entries, dtype=bool)
    exits = np.asarray(exits, dtype=bool)
    columns = {f: _column_like(prices[f], entries) for f in ("open", "high", "low", "close")}
    step = run_rows(config)
    if config.fill == "next_open":
        entries, exits = _shift(entries), _shift(exits)
        stop_entry_price = "fillprice"
        if step == 2:
            columns = _split_bars(columns)
            entries, exits = _at_opens(entries), _at_opens(exits)
        price = columns["open"]
    else:
        price = columns["close"]
        stop_entry_price = "close"
    return SignalRows(
        columns["open"], columns["high"], columns["low"], columns["close"], price,
        entries, exits, step, stop_entry_price,
    )  # fmt: skip


def run_rows(config: BacktestConfig) -> int:
    """Rows of a vectorbt run per bar: 2 when stops are checked on ``next_open`` entry bars."""
    return 2 if config.has_stops and config.fill == "next_open" else 1


def value_and_assets(run: Run) -> tuple[np.ndarray, np.ndarray]:
    """``(pf.value(), pf.assets())`` of an ungrouped run (see :func:`value_assets_cash`)."""
    value, assets, _ = value_assets_cash(run)
    return value, assets


def value_assets_cash(run: Run) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(pf.value(), pf.assets(), pf.cash())`` of an ungrouped run as 2-D numpy arrays (one
    per row).

    The same vectorbt kernels ``Portfolio.value`` / ``Portfolio.assets`` call, in the same
    order, so the numbers are identical; it skips wrapping every intermediate (n, k) array in
    a pandas frame, which dominates the time of a large parameter grid. ``close`` has no NaN
    (prices come from complete candles), so vectorbt's NaN filling is a no-op here.
    """
    from vectorbt.portfolio import dispatch
    from vectorbt.portfolio.enums import Direction

    pf, close, init_cash = run.pf, run.close, run.init_cash
    shape = pf.wrapper.shape_2d
    records = pf.order_records
    col_map = pf.orders.col_mapper.col_map
    assets = dispatch.assets(dispatch.asset_flow(shape, records, col_map, Direction.Both))
    cash_flow = dispatch.cash_flow(shape, records, col_map, False)
    cash = dispatch.cash(cash_flow, np.full(shape[1], float(init_cash)))
    valued_close = np.array(np.broadcast_to(close.reshape(shape[0], -1), shape), dtype=float)
    valued_close[assets == 0] = 0.0
    value = dispatch.value(cash, dispatch.asset_value(valued_close, assets))
    return np.asarray(value), np.asarray(assets), np.asarray(cash)


def _column_like(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``values`` (n,) repeated for each column of a 2-D ``like`` (a view, no copy)."""
    values = np.asarray(values, dtype=float)
    if like.ndim == 2 and values.ndim == 1:
        return np.broadcast_to(values[:, None], like.shape)
    return values
