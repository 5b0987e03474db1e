"""The daily backtests equal each series backtested on its own, run for run.

The daily flow (:func:`hermes.flows.backtests.backtest_partitions`, no Dask scheduler) checks
every strategy on one connection, opens every strategy's request on one reader, reads a
strategy's series together and simulates them in the flow (no task per run). ``hermes
backtest``'s path (:func:`hermes.backtest.runs.run_backtests`) opens one request per
strategy and series and reads it alone. Real bundled data (BTCUSDT and ETHUSDT, 4h and 1d):
the runs, trades and equity curves both write are equal row for row (``except all`` both
ways), all but what names a run (its id, when it was made, the snapshot it was read at, the
run its equity extends: the second runs store no equity row, their curves are their bases');
each
series' stored equity and positions equal vectorbt's run of it
(:func:`hermes.backtest.engine.simulate`) to the bit.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from hermes.backtest import engine
from hermes.backtest.config import BacktestConfig
from hermes.backtest.equity import equity_query
from hermes.backtest.inputs import whole_series
from hermes.backtest.request import BacktestRequest, open_request
from hermes.backtest.runs import run_backtests
from hermes.config import Settings
from hermes.flows.backtests import backtest_partitions
from hermes.flows.scale_out import DASK_ADDRESS_ENV
from hermes.lake import connect, pinned
from hermes.signals.registry import active_strategies

pytestmark = pytest.mark.untraced  # every line it runs, other files measure (fixtures/children.py)

PARTITIONS = [("BTCUSDT", "4h"), ("ETHUSDT", "4h"), ("ETHUSDT", "1d")]
NAMING = "run_id, created_at, snapshot_id, equity_base_run_id, equity_from"
"""What names a run (and the run its equity extends) rather than its result."""


def _difference(
    conn: duckdb.DuckDBPyConnection, table: str, first: list[str], second: list[str]
) -> int:
    """Rows of ``table`` for the runs ``first`` not matched by those of ``second`` (each run
    keyed by its strategy, symbol and interval instead of its id)."""
    # fixed table names; the run ids are bound
    runs = f"select * exclude ({NAMING}) from gold_backtest_runs where list_contains(?, run_id)"  # noqa: S608
    sources: list[tuple[str, list]] = [(table, []), (table, [])]
    if table == "gold_backtest_equity":  # each run's whole curve, however it is stored
        sources = [equity_query(conn, first), equity_query(conn, second)]
    if table != "gold_backtest_runs":
        runs = (
            "select r.strategy_id, r.symbol as run_symbol, r.interval as run_interval, "  # noqa: S608
            "t.* exclude (run_id) from {} as t join gold_backtest_runs as r "
            "using (run_id) where list_contains(?, t.run_id)"
        )
    (one, one_params), (two, two_params) = (
        (f"({sql})" if params else sql, params) for sql, params in sources
    )
    query = f"select count(*) from (({runs.format(one)}) except all ({runs.format(two)}))"  # noqa: S608
    row = conn.execute(query, [*one_params, first, *two_params, second]).fetchone()
    return int(row[0]) if row else -1


def test_daily_backtests_equal_each_series_backtested_alone(
    built_lake_copy: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DASK_ADDRESS_ENV, raising=False)
    settings = built_lake_copy
    with pinned(settings) as (reader, snapshot):
        strategies = active_strategies(reader)
    assert len(strategies) == 3
    daily = backtest_partitions(settings, PARTITIONS, snapshot)
    alone = [
        run_id
        for strategy_id in strategies
        for symbol, interval in PARTITIONS
        for run_id in run_backtests(settings, strategy_id, [symbol], [interval])
    ]
    assert len(daily) == len(alone) == 3 * len(PARTITIONS)
    with connect(settings) as conn:
        counts = {
            table: conn.execute(
                f"select count(*) from {table} where list_contains(?, run_id)",  # noqa: S608
                [daily],
            ).fetchall()[0][0]
            for table in ("gold_backtest_runs", "gold_backtest_trades", "gold_backtest_equity")
        }
        for table in counts:
            assert _difference(conn, table, daily, alone) == 0, table
            assert _difference(conn, table, alone, daily) == 0, table
        stored = {
            (strategy, symbol, interval): (equity, position)
            for strategy, symbol, interval, equity, position in conn.execute(
                "select strategy_id, symbol, interval, list(equity order by open_time), "
                "list(position order by open_time) from gold_backtest_equity "
                "join gold_backtest_runs using (run_id) where list_contains(?, run_id) "
                "group by all",
                [daily],
            ).fetchall()
        }
    for strategy_id in strategies:
        with open_request(settings, BacktestRequest(strategy_id), snapshot=snapshot) as opened:
            for data in whole_series(opened.signals, PARTITIONS):
                sim = engine.simulate(data.prices, data.entries, data.exits, BacktestConfig())
                equity, position = stored[(strategy_id, data.symbol, data.interval)]
                assert np.array_equal(np.array(equity), sim.equity)
                assert np.array_equal(np.array(position), sim.position)
    assert counts["gold_backtest_runs"] == 9
    assert counts["gold_backtest_trades"] > 50
    assert counts["gold_backtest_equity"] == 2 * 3 * 18_371 + 3 * 3_065
    with connect(settings) as conn:  # the same curves again: stored as their base's, no row
        row = conn.execute(
            "select count(*) from gold_backtest_equity where list_contains(?, run_id)", [alone]
        ).fetchone()
    assert row == (0,)
