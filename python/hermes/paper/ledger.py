"""The paper-trading ledger: what following a strategy since ``paper_since`` would have done.

Each refresh recomputes, for every paper-traded (strategy, symbol, interval) with a bar after
its ledger's stored last bar (:mod:`hermes.paper.work`: the others would add nothing), the
backtest of the period ``[paper_since, last bar]`` with the activation's settings, through
the backtest engine's arithmetic (:func:`hermes.backtest.fills.simulate`, equal to the bit to
:func:`hermes.backtest.engine.simulate`'s vectorbt run without importing vectorbt: same fills,
fees, slippage, sizing and stops), then **appends** to ``gold_paper_orders`` /
``gold_paper_equity`` only the rows after the ledger's last stored bar, and replaces the
series' row of ``gold_paper_positions``.

* The engine decides a bar from that bar and earlier ones only (signals are decided on the
  closed bar and filled at the next open), so the recomputed history equals what is stored;
  this is checked on every extension (the equity of the last stored bar to the cent and the
  number of orders up to it) and a difference (bars revised, signals changed, settings
  edited) is an error naming the series: the ledger is never silently rewritten.
* Re-running a day adds nothing; all series are written in one lake transaction, so a
  killed run leaves the ledger as it was; a backfill extends it exactly (the recomputation
  covers every bar since ``paper_since``). A ledger stored beyond the recomputation's last
  bar (``hermes live`` extended it from API candles the build does not hold yet) is left
  as it is.
* A candle the exchange never produced (an outage) is simply not there: the ledger goes from
  the bar before it to the bar after it, exactly as a backtest over the same bars does
  (:func:`hermes.paper.series.missing_bars` names such gaps), so ledger == backtest holds.
* ``paper_since`` after the last bar (activated for a day with no data yet): nothing is
  written and the refresh says the series is waiting; the ledger starts with the first bar on
  or after it. A series whose history starts after ``paper_since`` starts its ledger at its
  first bar. ``paper_since`` changed while a ledger exists (an overlapping second
  activation) is an error: one activation per strategy.
* ``paper_capital`` <= 0, or settings out of range: an error naming the strategy and value.
* **Deactivation.** A paper-traded strategy whose registry ``status`` is no longer
  ``active`` takes no new entry. On the first refresh after it, a series still holding a
  position is closed by a market sell on the first bar after the ledger's last bar, at that
  bar's fill price under the activation's ``fill`` (``next_open``: its open; same fees and
  slippage as any order; a stop the bar's open gaps through exits there first, as always),
  computed through the engine like every other order. The ledger of that series then stops
  (its last row is that bar, flat). A series already flat stops at its last bar. While the
  closing bar has not closed yet, the series waits (reported like a ``paper_since`` in the
  future). A strategy removed from the registry is not touched.
* **Delisting.** A series whose symbol the universe (:mod:`hermes.universe`) lists as
  delisted ends on the last bar at or before its delisting day's midnight, once that bar is
  known to be the last (the next one would open after that midnight, or ``end``, else now,
  is past it): no entry is decided there and a position still held is sold at
  that bar's close (through the engine: same fees and slippage), as an order of type
  ``delisted`` (:func:`hermes.paper.series.delisting_close`). The ledger of that series then
  stops (its last row is that bar, flat).
* **Risk rules** in ``paper_config`` (``sl_stop``, ``tp_stop``, ``max_drawdown_halt``,
  ``halt_bars``) act on each series exactly as in a backtest (the same engine call), the
  breaker watching that series' equity.
* **Shared capital.** An activation with ``portfolio`` (``"portfolio": true`` or
  ``max_positions``) makes one ledger per interval of all the strategy's symbols, computed
  by :func:`hermes.paper.portfolio.compute_portfolio` and extended exactly like a series
  (its ``symbol`` joins the symbols; orders and positions keep the real ones).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from hermes.backtest.fills import simulate
from hermes.features.store import FEATURE_STORE, select_series
from hermes.lake import insert, transaction
from hermes.paper.activation import Activation, PaperError, activation_of
from hermes.paper.portfolio import compute_portfolio
from hermes.paper.rows import closed_returns, equity_table, order_rows, position_row
from hermes.paper.series import (
    SeriesLedger,
    Waiting,
    closing_signals,
    delisted_orders,
    delisting_close,
    paper_slice,
)
from hermes.paper.tables import ensure_paper_tables
from hermes.signals.registry import Strategy, list_strategies
from hermes.signals.source import SignalSource, checked_source
from hermes.universe import delisted_on, delistings

CENT = 0.005


def paper_strategies(
    conn: duckdb.DuckDBPyConnection, *, active: bool = True
) -> list[tuple[Strategy, Activation]]:
    """Registry rows with a paper activation (checked): the active ones, or (``active=False``)
    the deactivated ones."""
    out = []
    for strategy in list_strategies(conn):
        activation = activation_of(strategy)
        if activation is not None and (strategy.status == "active") == active:
            out.append((strategy, activation))
    return out


def compute_series(
    signals: SignalSource,
    strategy: Strategy,
    activation: Activation,
    symbol: str,
    interval: str,
    *,
    snapshot: int,
    end: datetime | None = None,
    close_after: datetime | None = None,
) -> SeriesLedger:
    """Recompute one series' ledger from ``paper_since`` to the last bar before ``end``.

    ``close_after`` (a deactivated strategy's last stored bar): the ledger instead ends on
    the bar after it, its position closed there (:func:`closing_signals`). A delisted symbol
    (:func:`hermes.universe.delisted_on`) ends on its last traded bar, closed at its close
    (:func:`delisting_close`), unless a deactivation closed it earlier."""
    data = paper_slice(signals, strategy, activation, symbol, interval, end=end)
    delisted = delistings().get(symbol)
    closing = None
    if delisted is not None:
        closing = delisting_close(data, delisted, activation.config.fill)
        if not (closing.final or delisted_on(symbol, end)):  # more bars may come
            closing = None
    if close_after is not None and (closing is None or close_after < closing.last_time):
        data = closing_signals(data, close_after, activation.config.fill)
        closing = None
    elif closing is not None:
        data = closing.data
    config = activation.config
    sim = simulate(data.prices, data.entries, data.exits, config)
    times = data.open_time
    sid = strategy.strategy_id
    orders = order_rows(
        sim.orders, times, data.exits[:, None], config.fill, sid, activation.since, interval,
        [symbol],
    )  # fmt: skip
    close = data.prices["close"]
    equity = sim.equity.astype(float)
    position = sim.position.astype(float)
    if closing is not None:
        orders, times = delisted_orders(orders, closing), closing.open_time
        close, equity = closing.fold(close), closing.fold(equity)
        position = closing.fold(position)
    cash = equity - position * close
    base = {"strategy_id": sid, "paper_since": activation.since, "interval": interval}
    rows = equity_table(base, symbol, times, close, position, cash, equity, config.init_cash)
    state = position_row(
        base, symbol, times, sim.trades, 0, position[-1], close[-1], cash[-1], equity[-1]
    )
    state |= {"config": config.as_json, "parameters": strategy.parameters_json}
    return SeriesLedger(
        strategy, activation, symbol, interval, orders, rows, [state], closed_returns(sim.trades)
    )


def compute_ledgers(
    reader: duckdb.DuckDBPyConnection,
    *,
    snapshot: int,
    end: datetime | None = None,
    features_table: str = FEATURE_STORE,
    waiting: list[str] | None = None,
    errors: list[str] | None = None,
    skip: Collection[tuple[str, str]] = (),
    wants: Callable[[str, list[str], str], bool] | None = None,
) -> list[SeriesLedger]:
    """Every paper-traded series' recomputed ledger, read at the reader's snapshot.

    Series with no bar on or after ``paper_since`` yet are skipped (named in ``waiting``).
    With ``errors`` given, a ledger that cannot be computed is named there and skipped, the
    others carry on (otherwise its :class:`PaperError` is raised). ``skip``: (symbol,
    interval) series left out (held back by the audit). ``wants(strategy, symbols, interval)``
    false: that ledger is left out (nothing new for it, :mod:`hermes.paper.work`).
    Deactivated strategies:
    :func:`hermes.paper.deactivation.closing_ledgers`."""
    out = []
    for strategy, activation in paper_strategies(reader):
        checked = checked_source(reader, strategy, features_table)
        if checked is None:
            continue  # refused: named by refresh_paper's alert
        strategy, source = checked
        held = {i for _, i in select_series(reader, None, None, features_table)}
        intervals = [i for i in activation.intervals if i in held]
        by_interval: dict[str, list[str]] = {}
        for symbol, interval in select_series(reader, None, intervals or None, features_table):
            if interval in intervals and (symbol, interval) not in skip:
                by_interval.setdefault(interval, []).append(symbol)
        for interval, symbols in by_interval.items():
            groups = [
                group
                for group in ([symbols] if activation.portfolio else [[s] for s in symbols])
                if wants is None or wants(strategy.strategy_id, group, interval)
            ]
            if not activation.portfolio:  # read together, then taken one by one (load_slice)
                pairs = [(s, interval) for (s,) in groups]
                source.prefetch(pairs, end=end, parameters=source.strategy.parameters)
            for group in groups:
                try:
                    out.append(
                        compute_group(
                            source, strategy, activation, group, interval, snapshot=snapshot,
                            end=end,
                        )
                    )  # fmt: skip
                except Waiting as exc:
                    if waiting is not None:
                        waiting.append(str(exc))
                except PaperError as exc:
                    if errors is None:
                        raise
                    errors.append(str(exc))
    return out


def compute_group(
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
    """One ledger: the shared-capital portfolio of ``symbols`` when the activation says so
    (:mod:`hermes.paper.portfolio`), else the one series ``symbols[0]``."""
    if activation.portfolio:
        return compute_portfolio(
            signals, strategy, activation, symbols, interval, snapshot=snapshot, end=end,
            close_after=close_after,
        )  # fmt: skip
    (symbol,) = symbols
    return compute_series(
        signals, strategy, activation, symbol, interval, snapshot=snapshot, end=end,
        close_after=close_after,
    )  # fmt: skip


@dataclass(frozen=True)
class Extension:
    """What one extension appended: (strategy, symbol, interval) -> (orders, equity rows)."""

    added: dict[tuple[str, str, str], tuple[int, int]]
    new_orders: list[dict[str, Any]]

    @property
    def orders(self) -> int:
        return sum(o for o, _ in self.added.values())

    @property
    def bars(self) -> int:
        return sum(b for _, b in self.added.values())


@dataclass(frozen=True)
class _Stored:
    """What the stored ledgers hold, read once for every ledger an extension checks: each
    ledger's first day, last bar and equity there, and the fill times of the stored orders."""

    ends: dict[tuple[str, str, str], tuple[Any, Any, Any]]
    fills: dict[tuple[str, str, str], list[datetime | None]]
    """(strategy, interval, real symbol) -> the orders' ``filled_at``."""

    @classmethod
    def read(cls, conn: duckdb.DuckDBPyConnection) -> _Stored:
        ends = conn.execute(
            "select strategy_id, symbol, interval, min(paper_since), max(open_time), "
            "arg_max(equity, open_time) from gold_paper_equity group by all"
        ).fetchall()
        fills: dict[tuple[str, str, str], list[datetime | None]] = {}
        for sid, interval, symbol, at in conn.execute(
            "select strategy_id, interval, symbol, filled_at from gold_paper_orders"
        ).fetchall():
            fills.setdefault((sid, interval, symbol), []).append(at)
        return cls({(r[0], r[1], r[2]): (r[3], r[4], r[5]) for r in ends}, fills)

    def end(self, ledger: SeriesLedger) -> tuple[Any, Any, Any]:
        """(first day, last bar, equity there) of the stored ledger; Nones when none is."""
        sid, _, symbol, interval = ledger.key
        return self.ends.get((sid, symbol, interval), (None, None, None))

    def orders_up_to(self, ledger: SeriesLedger, last: datetime | None) -> int:
        """Stored orders of the ledger's symbols filled up to ``last`` (``None``: all)."""
        sid, _, _, interval = ledger.key
        times = [t for s in ledger.symbols for t in self.fills.get((sid, interval, s), [])]
        return sum(last is None or (t is not None and t <= last) for t in times)


def _after(table: pa.Table, column: str, last: datetime | None) -> pa.Table:
    if last is None:
        return table
    return table.filter(
        pa.compute.greater(table.column(column), pa.scalar(last, pa.timestamp("us")))
    )


def _check_extension(stored: _Stored, ledger: SeriesLedger) -> bool:
    """:class:`PaperError` when ``ledger`` cannot extend its stored rows (one line naming it);
    True when the stored rows run past the ledger's data (written by ``hermes live`` from API
    candles this build does not hold yet; the live process checked its own extension)."""
    sid, since, symbol, interval = ledger.key
    stored_since, last, last_equity = stored.end(ledger)
    where = f"paper ledger of {sid} {symbol} {interval}"
    if stored_since is not None and stored_since != since:
        raise PaperError(
            f"{where} started on {stored_since}; the registry now says paper_since {since}: "
            "one activation per strategy (restore paper_since, or give the new activation "
            "its own strategy id)"
        )
    if last is None and stored.orders_up_to(ledger, None):
        raise PaperError(
            f"{where}: its symbols already have paper orders in another ledger (the "
            "portfolio setting changed?): one activation per strategy"
        )
    if last is not None:
        times = ledger.equity.column("open_time").to_pylist()
        if times and last > times[-1]:
            return True
        if last not in times:
            raise PaperError(f"{where}: its last stored bar {last} is no longer in the data")
        at = times.index(last)
        recomputed = ledger.equity.column("equity")[at].as_py()
        count = int(
            pa.compute.sum(
                pa.compute.less_equal(
                    ledger.orders.column("filled_at"), pa.scalar(last, pa.timestamp("us"))
                )
            ).as_py()
            or 0
        )
        if abs(recomputed - last_equity) > CENT or count != stored.orders_up_to(ledger, last):
            raise PaperError(
                f"{where} differs from its recomputation at {last} (equity {last_equity:.2f} "
                f"stored, {recomputed:.2f} now; bars, signals or settings changed): "
                "the ledger is kept as it is"
            )
    return False


def _together(tables: list[pa.Table]) -> list[pa.Table]:
    """The rows of ``tables`` as few tables as their column types allow (empty ones left out)."""
    groups: list[list[pa.Table]] = []
    for table in (t for t in tables if t.num_rows):
        group = next((g for g in groups if g[0].schema.equals(table.schema)), None)
        groups.append([table]) if group is None else group.append(table)
    return [pa.concat_tables(group) for group in groups]


def extend_ledgers(
    conn: duckdb.DuckDBPyConnection,
    ledgers: list[SeriesLedger],
    *,
    snapshot: int,
    errors: list[str] | None = None,
) -> Extension:
    """Append what each ledger holds after its stored last bar, all in one transaction.

    With ``errors`` given, a ledger that cannot be extended is named there and left as it
    is stored, the others are extended; otherwise its :class:`PaperError` is raised."""
    ensure_paper_tables(conn)
    added: dict[tuple[str, str, str], tuple[int, int]] = {}
    new_orders: list[dict[str, Any]] = []
    pending: list[tuple[SeriesLedger, pa.Table, pa.Table]] = []
    stored = _Stored.read(conn)
    for ledger in ledgers:
        try:
            ahead = _check_extension(stored, ledger)
        except PaperError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
            continue
        sid, _, symbol, interval = ledger.key
        if ahead:  # `hermes live` stored bars this build does not hold yet: nothing to add
            added[(sid, symbol, interval)] = (0, 0)
            continue
        _, last, _ = stored.end(ledger)
        orders = _after(ledger.orders, "filled_at", last)
        equity = _after(ledger.equity, "open_time", last)
        pending.append((ledger, orders, equity))
        added[(sid, symbol, interval)] = (orders.num_rows, equity.num_rows)
        new_orders += orders.to_pylist()
    stamp = lambda t: t.append_column(  # noqa: E731
        "snapshot_id", pa.array([snapshot] * t.num_rows, pa.int64())
    )
    replaced = [
        {"strategy_id": ledger.key[0], "interval": ledger.key[3], "symbol": symbol}
        for ledger, _, _ in pending
        for symbol in ledger.symbols
    ]
    positions = [{**p, "snapshot_id": snapshot} for x, _, _ in pending for p in x.positions]
    with transaction(conn):  # every ledger in one statement per table, not four per ledger
        for orders in _together([orders for _, orders, _ in pending]):
            insert(conn, "gold_paper_orders", stamp(orders))
        for equity in _together([equity for _, _, equity in pending]):
            insert(conn, "gold_paper_equity", stamp(equity))
        if replaced:
            conn.register("_hermes_replaced_positions", pa.Table.from_pylist(replaced))
            try:
                conn.execute(
                    "delete from gold_paper_positions where (strategy_id, interval, symbol) in "
                    "(select strategy_id, interval, symbol from _hermes_replaced_positions)"
                )
            finally:
                conn.unregister("_hermes_replaced_positions")
        if positions:
            insert(conn, "gold_paper_positions", pa.Table.from_pylist(positions))
    return Extension(added, new_orders)
