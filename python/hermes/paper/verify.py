"""``hermes paper --verify``: each stored paper ledger against the backtest of its period.

For every ledger series in ``gold_paper_equity`` (a portfolio: ``symbol`` holds its symbols
joined by commas), the backtest of the same period, ``[paper_since, last stored bar]``, with
the settings and parameters the ledger recorded (``gold_paper_positions.config`` /
``parameters``), is run through the normal backtest code (:func:`hermes.backtest.runs.execute`,
or :func:`hermes.backtest.portfolio.execute_portfolio` for a portfolio), storing nothing. The
ledger equals it when both hold the same bars with the same equity to the cent and the same
orders (time, symbol, side, quantity, fill price, fees). A deactivated strategy's closing
bar is its own order, not a backtest's: its series is compared up to the bar before it; so
is a delisted series' last bar when its position was closed there (an order ``delisted``),
and a portfolio is compared up to the bar its first delisting order was decided on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb
import pyarrow as pa

from hermes.backtest.config import BacktestConfig
from hermes.backtest.inputs import load_slice
from hermes.backtest.portfolio import execute_portfolio
from hermes.backtest.request import RunContext
from hermes.backtest.runs import RunResult, execute
from hermes.features.store import FEATURE_STORE
from hermes.intervals import interval_seconds
from hermes.lake import DataError
from hermes.paper.ledger import CENT
from hermes.paper.series import DELISTED
from hermes.signals.registry import Strategy, list_strategies
from hermes.signals.source import SignalSource

Order = tuple[datetime, str, str, float, float, float]
"""(filled at, symbol, side, quantity, fill price, fees)."""


@dataclass(frozen=True)
class Verdict:
    """One ledger series against its backtest (``difference``: the first one, or ``None``)."""

    strategy_id: str
    symbol: str
    interval: str
    orders: int
    final_equity: float
    backtest_equity: float
    difference: str | None

    @property
    def line(self) -> str:
        where = f"{self.strategy_id} {self.symbol} {self.interval}"
        if self.difference is not None:
            return f"{where}: ledger != backtest: {self.difference}"
        return (
            f"{where}: ledger == backtest: {self.orders} orders, final equity "
            f"{self.final_equity:.2f} (backtest {self.backtest_equity:.2f})"
        )


def backtest_orders(trades: pa.Table) -> list[Order]:
    """A backtest's trades as orders: each trade's buy, and its sell when closed."""
    out: list[Order] = []
    for t in trades.to_pylist():
        out.append(
            (t["entry_time"], t["symbol"], "buy", t["size"], t["entry_price"], t["entry_fees"])
        )
        if t["status"] == "closed":
            out.append(
                (t["exit_time"], t["symbol"], "sell", t["size"], t["exit_price"], t["exit_fees"])
            )
    return out


def canonical(orders: list[Order]) -> list[Order]:
    """Orders in one order (time, symbol, side, price, quantity): the engine's order of a
    bar's orders across symbols is not the trades'."""
    return sorted(orders, key=lambda o: (o[0], o[1], o[2], o[4], o[3]))


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def first_difference(
    ledger_equity: list[tuple[datetime, float]],
    ledger_orders: list[Order],
    run: RunResult,
) -> str | None:
    """The first way the ledger rows differ from the backtest run's, or ``None``."""
    times = run.equity.column("open_time").to_pylist()
    values = run.equity.column("equity").to_pylist()
    mine = [t for t, _ in ledger_equity]
    if mine != times:
        return (
            f"bars: ledger {len(mine)} from {mine[0] if mine else '-'}, backtest {len(times)} "
            f"from {times[0] if times else '-'}"
        )
    for (at, stored), computed in zip(ledger_equity, values, strict=True):
        if abs(stored - computed) > CENT:
            return f"equity at {at}: ledger {stored:.2f}, backtest {computed:.2f}"
    want = canonical(backtest_orders(run.trades))
    got = canonical(ledger_orders)
    for a, b in zip(got, want, strict=False):
        if a[:3] != b[:3] or not all(_same(x, y) for x, y in zip(a[3:], b[3:], strict=True)):
            return (
                f"order {a[2]} {a[1]} filled {a[0]}: ledger quantity {a[3]:.8g} price "
                f"{a[4]:.8g} fees {a[5]:.8g}; backtest {b[2]} {b[1]} filled {b[0]} quantity "
                f"{b[3]:.8g} price {b[4]:.8g} fees {b[5]:.8g}"
            )
    if len(got) != len(want):
        return f"orders: ledger {len(got)}, backtest {len(want)}"
    return None


def _recorded(ledgers: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], tuple[str, str]]:
    rows = ledgers.execute(
        "select strategy_id, symbol, interval, config, parameters from gold_paper_positions"
    ).fetchall()
    return {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows}


def _backtest(
    signals: SignalSource,
    symbols: list[str],
    interval: str,
    config: BacktestConfig,
    start: datetime,
    end: datetime,
    snapshot: int,
    features_table: str,
) -> RunResult:
    slices = [load_slice(signals, s, interval, start=start, end=end) for s in symbols]
    context = RunContext(signals.strategy, config, snapshot, features_table, start, end)
    if len(symbols) > 1:
        return execute_portfolio(context, slices)
    return execute(context, slices[0])


@dataclass(frozen=True)
class _Stored:
    """The stored rows a check compares, for the ledgers checked: equity by (strategy, ledger
    symbol, interval), orders and the first delisting order's bar by (strategy, interval,
    real symbol). :meth:`read` reads them once for every ledger (three queries, not three per
    ledger: each scanned the whole table); :meth:`one` reads one ledger's, as the check of a
    single ledger did."""

    equity: dict[tuple[str, str, str], list[tuple[datetime, float]]]
    orders: dict[tuple[str, str, str], list[Order]]
    delisted: dict[tuple[str, str, str], datetime]

    @classmethod
    def read(cls, ledgers: duckdb.DuckDBPyConnection) -> _Stored:
        equity: dict[tuple[str, str, str], list[tuple[datetime, float]]] = {}
        for sid, symbol, interval, at, value in ledgers.execute(
            "select strategy_id, symbol, interval, open_time, equity from gold_paper_equity "
            "order by strategy_id, symbol, interval, open_time"
        ).fetchall():
            equity.setdefault((sid, symbol, interval), []).append((at, value))
        orders: dict[tuple[str, str, str], list[Order]] = {}
        for sid, interval, at, symbol, side, quantity, price, fees in ledgers.execute(
            "select strategy_id, interval, filled_at, symbol, side, quantity, fill_price, fees "
            "from gold_paper_orders"
        ).fetchall():
            orders.setdefault((sid, interval, symbol), []).append(
                (at, symbol, side, quantity, price, fees)
            )
        delisted = ledgers.execute(
            "select strategy_id, interval, symbol, min(decided_at) from gold_paper_orders "
            "where order_type = ? group by all",
            [DELISTED],
        ).fetchall()
        return cls(equity, orders, {(r[0], r[1], r[2]): r[3] for r in delisted})

    @classmethod
    def one(cls, ledgers: duckdb.DuckDBPyConnection, key: tuple[str, str, str]) -> _Stored:
        """The stored rows of the one ledger ``key`` (strategy, ledger symbol, interval)."""
        sid, symbol, interval = key
        symbols = symbol.split(",")
        equity = ledgers.execute(
            "select open_time, equity from gold_paper_equity where strategy_id = ? "
            "and symbol = ? and interval = ? order by open_time",
            [sid, symbol, interval],
        ).fetchall()
        orders: dict[tuple[str, str, str], list[Order]] = {}
        for order in ledgers.execute(
            "select filled_at, symbol, side, quantity, fill_price, fees from gold_paper_orders "
            "where strategy_id = ? and interval = ? and list_contains(?, symbol)",
            [sid, interval, symbols],
        ).fetchall():
            orders.setdefault((sid, interval, order[1]), []).append(order)
        delisted = ledgers.execute(
            "select symbol, min(decided_at) from gold_paper_orders where strategy_id = ? "
            "and interval = ? and list_contains(?, symbol) and order_type = ? group by all",
            [sid, interval, symbols, DELISTED],
        ).fetchall()
        return cls(
            {key: [(t, e) for t, e in equity]}, orders,
            {(sid, interval, s): at for s, at in delisted},
        )  # fmt: skip

    def delisted_close(self, sid: str, interval: str, symbols: list[str]) -> datetime | None:
        """The bar the ledger's first delisting order was decided on (its closing order is
        not a backtest's; in a portfolio, the portfolio goes on without the pair), or None."""
        found = [self.delisted[k] for s in symbols if (k := (sid, interval, s)) in self.delisted]
        return min(found, default=None)

    def ledger(self, period: _Period) -> tuple[list[tuple[datetime, float]], list[Order]]:
        """The ledger's equity rows (by time) and orders filled before the period's end."""
        (sid, symbol, interval), end = period.key, period.end
        equity = [(t, e) for t, e in self.equity.get((sid, symbol, interval), []) if t < end]
        orders = [
            order
            for s in period.symbols
            for order in self.orders.get((sid, interval, s), [])
            if order[0] is not None and order[0] < end
        ]
        return equity, orders


@dataclass(frozen=True)
class _Period:
    """What one ledger is checked against: its strategy with the recorded parameters and
    settings, its symbols and the period ``[start, end)`` of the backtest."""

    key: tuple[str, str, str]
    strategy: Strategy
    config: BacktestConfig
    symbols: list[str]
    start: datetime
    end: datetime


def _period(
    stored: _Stored,
    strategy: Strategy,
    key: tuple[str, date, str, str, datetime],
    recorded: tuple[str, str],
) -> _Period:
    sid, since, symbol, interval, last = key
    symbols = symbol.split(",")
    strategy = strategy.with_parameters(json.loads(recorded[1]))
    start = datetime(since.year, since.month, since.day)
    end = last + timedelta(seconds=interval_seconds(interval))
    if strategy.status != "active":
        end = last  # its closing bar is the deactivation's order
    delisted = stored.delisted_close(sid, interval, symbols)
    if delisted is not None:  # compared up to the bar before the delisting's order
        end = min(end, delisted)
    config = BacktestConfig.from_json(recorded[0])
    return _Period((sid, symbol, interval), strategy, config, symbols, start, end)


def _verify(
    stored: _Stored,
    signals: SignalSource,
    period: _Period,
    *,
    snapshot: int,
    features_table: str,
) -> Verdict:
    (sid, symbol, interval), symbols, end = period.key, period.symbols, period.end
    equity, orders = stored.ledger(period)
    final = float(equity[-1][1]) if equity else math.nan
    try:
        run = _backtest(
            signals, symbols, interval, period.config, period.start, end, snapshot,
            features_table,
        )  # fmt: skip
    except DataError as exc:
        return Verdict(sid, symbol, interval, len(orders), final, math.nan, f"backtest: {exc}")
    difference = first_difference([(t, float(e)) for t, e in equity], orders, run)
    backtest_final = float(run.run["final_equity"])
    return Verdict(sid, symbol, interval, len(orders), final, backtest_final, difference)


def verify_series(
    ledgers: duckdb.DuckDBPyConnection,
    reader: duckdb.DuckDBPyConnection,
    strategy: Strategy,
    key: tuple[str, date, str, str, datetime],
    recorded: tuple[str, str],
    *,
    snapshot: int,
    features_table: str = FEATURE_STORE,
) -> Verdict:
    """One ledger series (``key``: strategy, ``paper_since``, ledger symbol, interval, last
    bar) against the backtest of its period."""
    stored = _Stored.one(ledgers, (key[0], key[2], key[3]))
    period = _period(stored, strategy, key, recorded)
    signals = SignalSource(reader, period.strategy, features_table)
    return _verify(stored, signals, period, snapshot=snapshot, features_table=features_table)


def verify_ledgers(
    ledgers: duckdb.DuckDBPyConnection,
    reader: duckdb.DuckDBPyConnection,
    *,
    snapshot: int,
    features_table: str = FEATURE_STORE,
    only: Collection[tuple[str, str, str]] | None = None,
) -> list[Verdict]:
    """Every stored ledger series (``ledgers``) against the backtest on ``reader``'s data;
    ``only``: those (strategy, ledger symbol, interval) alone (a refresh checks the ledgers
    it extended).

    The signals of one strategy (same recorded parameters) are opened once, and the
    single-series ledgers that end on the same bar are read together
    (:meth:`hermes.signals.source.SignalSource.prefetch`), not one query pair per series."""
    strategies = {s.strategy_id: s for s in list_strategies(reader)}
    recorded = _recorded(ledgers)
    series = ledgers.execute(
        "select strategy_id, min(paper_since), symbol, interval, max(open_time) "
        "from gold_paper_equity group by strategy_id, symbol, interval order by all"
    ).fetchall()
    stored = _Stored.read(ledgers)
    out: list[Verdict | _Period] = []
    for sid, since, symbol, interval, last in series:
        if only is not None and (sid, symbol, interval) not in only:
            continue
        first = symbol.split(",")[0]
        if sid not in strategies or (sid, first, interval) not in recorded:
            what = "not in the registry" if sid not in strategies else "no stored position row"
            out.append(Verdict(sid, symbol, interval, 0, math.nan, math.nan, what))
            continue
        key = (sid, since, symbol, interval, last)
        out.append(_period(stored, strategies[sid], key, recorded[(sid, first, interval)]))
    sources: dict[tuple[str, str], SignalSource] = {}
    together: dict[tuple[str, str, datetime], list[tuple[str, str]]] = {}
    for period in out:
        if isinstance(period, _Period):
            strategy = period.strategy
            opened = (strategy.strategy_id, strategy.parameters_json)
            if opened not in sources:
                sources[opened] = SignalSource(reader, strategy, features_table)
            if len(period.symbols) == 1:
                group = (strategy.strategy_id, strategy.parameters_json, period.end)
                together.setdefault(group, []).append((period.symbols[0], period.key[2]))
    for (sid, parameters, end), pairs in together.items():
        signals = sources[(sid, parameters)]
        signals.prefetch(pairs, end=end, parameters=signals.strategy.parameters)
    return [
        _verify(
            stored,
            sources[(period.strategy.strategy_id, period.strategy.parameters_json)],
            period,
            snapshot=snapshot,
            features_table=features_table,
        )
        if isinstance(period, _Period)
        else period
        for period in out
    ]
