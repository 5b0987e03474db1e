"""Single-series backtests: validate, read, simulate, measure, and write to the lake.

Entry point for other modules and the Prefect flow: :func:`run_backtests`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from rich.progress import Progress

from hermes.backtest.config import BacktestConfig, run_hash
from hermes.backtest.engine import Simulation, simulate
from hermes.backtest.equity import as_changes
from hermes.backtest.inputs import MarketSlice, load_slice
from hermes.backtest.provenance import git_commit, package_versions_json
from hermes.backtest.request import BacktestRequest, RunContext, open_request
from hermes.backtest.tables import ensure_tables
from hermes.config import Settings
from hermes.lake import DataError, connect, insert, table_columns, transaction
from hermes.stats import metrics

OPEN, CLOSED = 0, 1  # vectorbt trade status codes


@dataclass
class RunResult:
    """A run's three outputs, ready to write: one runs row, its trades and its equity."""

    run: dict[str, Any]
    trades: pa.Table
    equity: pa.Table

    @property
    def run_id(self) -> str:
        return str(self.run["run_id"])


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def trades_table(
    run_id: str, symbols: list[str], times: np.ndarray, records: np.ndarray
) -> pa.Table:
    """Trade records as rows; an open trade has no exit time/price and an unrealised pnl."""
    closed = records["status"] == CLOSED
    return pa.table(
        {
            "run_id": pa.array([run_id] * len(records), pa.string()),
            "trade_id": pa.array(records["id"].astype(np.int64)),
            "symbol": pa.array([symbols[int(c)] for c in records["col"]], pa.string()),
            "entry_time": pa.array(times[records["entry_idx"]]),
            "entry_price": pa.array(records["entry_price"].astype(float)),
            "exit_time": pa.array(times[records["exit_idx"]], mask=~closed),
            "exit_price": pa.array(records["exit_price"].astype(float), mask=~closed),
            "size": pa.array(records["size"].astype(float)),
            "entry_fees": pa.array(records["entry_fees"].astype(float)),
            "exit_fees": pa.array(records["exit_fees"].astype(float)),
            "pnl": pa.array(records["pnl"].astype(float)),
            "return": pa.array(records["return"].astype(float)),
            "status": pa.array(np.where(closed, "closed", "open").tolist(), pa.string()),
        }
    )


def measure(
    sim: Simulation, close: np.ndarray, config: BacktestConfig, bar_seconds: int, years: float
) -> dict[str, Any]:
    """The metrics of a one-column simulation (see :mod:`hermes.stats.metrics`)."""
    return measure_columns(sim, close, config, bar_seconds, years)[0]


def measure_columns(
    sim: Simulation, close: np.ndarray, config: BacktestConfig, bar_seconds: int, years: float
) -> list[dict[str, Any]]:
    """The metrics of each column of a simulation (one dict per column, in column order)."""
    records = sim.trades
    columns = 1 if sim.equity.ndim == 1 else sim.equity.shape[1]
    order = np.argsort(records["col"], kind="stable")
    by_column = np.split(records[order], np.searchsorted(records["col"][order], range(1, columns)))
    closed_pnl = [r["pnl"][r["status"] == CLOSED] for r in by_column]
    open_trades = np.array([int((r["status"] == OPEN).sum()) for r in by_column])
    return metrics.compute(
        sim.equity,
        sim.position,
        closed_pnl,
        open_trades,
        close,
        config.init_cash,
        bar_seconds,
        years,
    )


def run_row(
    context: RunContext,
    run_id: str,
    sim: Simulation,
    values: dict[str, Any],
    *,
    symbol: str,
    interval: str,
    open_time: np.ndarray,
    data_fingerprint: str,
    features_version: str,
    signal_source: str,
) -> dict[str, Any]:
    """The ``gold_backtest_runs`` row of a simulation: its context, data, provenance, metrics."""
    commit, dirty = git_commit()
    strategy, config = context.strategy, context.config
    return {
        "run_id": run_id,
        "created_at": now(),
        "run_kind": context.run_kind,
        "strategy_id": strategy.strategy_id,
        "strategy_version": strategy.version,
        "parameters": strategy.parameters_json,
        "parameters_hash": strategy.parameters_hash,
        "config": config.as_json,
        "run_hash": run_hash(strategy.parameters_json, config),
        "symbol": symbol,
        "interval": interval,
        "period_start": context.period_start,
        "period_end": context.period_end,
        "first_open_time": open_time[0].astype(datetime),
        "last_open_time": open_time[-1].astype(datetime),
        "rows": len(open_time),
        "features_table": context.features_table,
        "snapshot_id": context.snapshot,
        "data_fingerprint": data_fingerprint,
        "features_version": features_version,
        "signal_source": signal_source,
        "signal_model_hash": context.signal_model_hash,
        "git_commit": commit,
        "git_dirty": dirty,
        "package_versions": package_versions_json(),
        "final_equity": float(sim.equity[-1]),
        **values,
    }


def execute(context: RunContext, data: MarketSlice, *, run_id: str | None = None) -> RunResult:
    """Simulate one slice and assemble its rows (nothing is written)."""
    run_id = run_id or new_id("bt")
    config = context.config
    sim = simulate(data.prices, data.entries, data.exits, config)
    close = data.prices["close"]
    values = measure(sim, close, config, data.bar_seconds, data.years)
    run = run_row(
        context,
        run_id,
        sim,
        values,
        symbol=data.symbol,
        interval=data.interval,
        open_time=data.open_time,
        data_fingerprint=data.data_fingerprint,
        features_version=data.features_version,
        signal_source=data.signal_source,
    )
    equity = pa.table(
        {
            "run_id": pa.array([run_id] * data.rows, pa.string()),
            "open_time": pa.array(data.open_time),
            "close": pa.array(close),
            "equity": pa.array(sim.equity.astype(float)),
            "position": pa.array(sim.position.astype(float)),
            "drawdown": pa.array(metrics.drawdown(sim.equity, config.init_cash)),
            "buy_and_hold_equity": pa.array(config.init_cash * close / close[0]),
            "buy_signal": pa.array(data.entries),
            "sell_signal": pa.array(data.exits),
        }
    )
    trades = trades_table(run_id, [data.symbol], data.open_time, sim.trades)
    return RunResult(run=run, trades=trades, equity=equity)


def write_results(
    conn: duckdb.DuckDBPyConnection,
    results: list[RunResult],
    extra: Sequence[tuple[str, pa.Table]] = (),
) -> None:
    """Append runs, trades and equity, and ``extra`` (table name, rows) in one transaction,
    each table's rows of every run in one insert (not three inserts per run). A run
    extending an earlier one stores only the equity rows that differ from it
    (:func:`hermes.backtest.equity.as_changes`)."""
    ensure_tables(conn)
    stored = as_changes(conn, [(r.run, r.equity) for r in results])
    with transaction(conn):
        if results:
            runs = [run for run, _ in stored]
            names = dict.fromkeys(name for run in runs for name in run)  # every run's columns
            rows = pa.table({name: [run.get(name) for run in runs] for name in names})
            insert(conn, "gold_backtest_runs", rows)
            for table, parts in (
                ("gold_backtest_trades", [r.trades for r in results]),
                ("gold_backtest_equity", [equity for _, equity in stored]),
            ):
                insert(conn, table, pa.concat_tables(parts, promote_options="default"))
        for table, rows in extra:
            insert(conn, table, rows)


def run_backtests(
    settings: Settings,
    strategy_id: str,
    symbols: list[str] | None = None,
    intervals: list[str] | None = None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    overrides: dict[str, Any] | None = None,
    config: BacktestConfig | None = None,
    features_table: str | None = None,
    show_progress: bool = False,
) -> list[str]:
    """Backtest ``strategy_id`` on each (symbol, interval) and write the results; returns run ids.

    Signals are the strategy's signal model's (:mod:`hermes.signals.source`). Strategy,
    parameters, symbols, intervals and periods are all checked before anything is simulated,
    and nothing is written unless every run succeeds.
    """
    request = BacktestRequest(
        strategy_id,
        symbols,
        intervals,
        start,
        end,
        overrides or {},
        config or BacktestConfig(),
        **({"features_table": features_table} if features_table else {}),
    )
    return run_request(settings, request, show_progress=show_progress)


def run_request(
    settings: Settings, request: BacktestRequest, *, show_progress: bool = False
) -> list[str]:
    """Backtest an opened request, one run per (symbol, interval); returns the run ids."""
    results = simulate_request(
        settings, request, single_series, label=f"backtests of {request.strategy_id}",
        show_progress=show_progress,
    )  # fmt: skip
    save(settings, results)
    return [r.run_id for r in results]


Group = Callable[[RunContext, list[MarketSlice]], RunResult]
"""How one run simulates its slices: :func:`single_series`, or a portfolio of several."""


def single_series(context: RunContext, slices: list[MarketSlice]) -> RunResult:
    """The run of one series (a group of one slice)."""
    (data,) = slices
    return execute(context, data)


def simulate_request(
    settings: Settings,
    request: BacktestRequest,
    simulate_group: Group,
    *,
    label: str,
    by_interval: bool = False,
    snapshot: int | None = None,
    show_progress: bool = False,
) -> list[RunResult]:
    """The one run loop: open ``request`` (at ``snapshot``, default the current one), read
    every series, then simulate each group (one series, or with ``by_interval`` the symbols
    of each interval together). Everything is read and checked first; nothing is written."""
    groups: dict[tuple[str, ...], list[MarketSlice]] = {}
    with open_request(settings, request, snapshot=snapshot) as opened:
        context = opened.context
        for symbol, interval in opened.pairs:
            data = load_slice(
                opened.signals, symbol, interval, start=request.start, end=request.end
            )
            key = (interval,) if by_interval else (symbol, interval)
            groups.setdefault(key, []).append(data)
    results = []
    with Progress(disable=not show_progress) as progress:
        task = progress.add_task(label, total=len(groups))
        for slices in groups.values():
            results.append(simulate_group(context, slices))
            progress.advance(task)
    return results


def save(
    settings: Settings,
    results: list[RunResult],
    extra: Sequence[tuple[str, pa.Table]] = (),
) -> None:
    with connect(settings) as conn:
        write_results(conn, results, extra)


def load_run(conn: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """The runs row of ``run_id`` as a dict; ``LookupError`` if there is none."""
    try:
        table_columns(conn, "gold_backtest_runs")
    except DataError as exc:
        raise LookupError(f"no backtest run {run_id!r}: the lake holds no backtest yet") from exc
    cursor = conn.execute("select * from gold_backtest_runs where run_id = ?", [run_id])
    row = cursor.fetchone()
    if row is None:
        raise LookupError(f"no backtest run {run_id!r} in the lake")
    columns = [d[0] for d in cursor.description or []]
    return dict(zip(columns, row, strict=True))


def parse_overrides(text: str | None) -> dict[str, Any]:
    """``--params`` JSON object (``None`` -> ``{}``); ``ValueError`` naming the problem."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--params is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError("--params must be a JSON object, e.g. '{\"rsi_low\": 40}'")
    return value
