"""Overfitting statistics into the lake: ``gold_backtest_overfitting`` rows for studies and runs.

* :func:`write_statistics` appends rows built by :func:`hermes.stats.study.overfitting_rows`
  (in its own transaction; a study's writer may instead insert them in the transaction that
  writes the study, with :func:`hermes.backtest.tables.insert`);
* :func:`record_run_statistics` computes and appends the single-run statistics (bootstrap
  intervals of Sharpe ratio and total return, PSR) of runs already in the lake, from their
  equity curves.
"""

from __future__ import annotations

import json

import pyarrow as pa

from hermes.backtest.tables import ensure_tables, insert
from hermes.config import Settings
from hermes.lake import connect
from hermes.stats.study import equity_statistics, overfitting_rows

TABLE = "gold_backtest_overfitting"


def write_statistics(settings: Settings, rows: pa.Table) -> None:
    conn = connect(settings)
    try:
        ensure_tables(conn)
        conn.execute("begin")
        try:
            insert(conn, TABLE, rows)
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise
    finally:
        conn.close()


def run_statistics(settings: Settings, run_ids: list[str]) -> pa.Table:
    """The ``run`` rows of ``run_ids`` (``LookupError`` naming a run the lake lacks)."""
    conn = connect(settings)
    try:
        runs = conn.execute(
            "select run_id, symbol, interval, config from gold_backtest_runs "
            "where list_contains(?, run_id)",
            [run_ids],
        ).fetchall()
        missing = sorted(set(run_ids) - {r[0] for r in runs})
        if missing:
            raise LookupError(f"no backtest run {', '.join(map(repr, missing))} in the lake")
        tables = []
        for run_id, symbol, interval, config in runs:
            equity = conn.execute(
                "select equity from gold_backtest_equity where run_id = ? order by open_time",
                [run_id],
            ).fetchnumpy()["equity"]
            init_cash = float(json.loads(config)["init_cash"])
            stats = equity_statistics(equity, init_cash, 0, interval)
            tables.append(overfitting_rows("run", run_id, symbol, interval, [(None, stats)]))
    finally:
        conn.close()
    return pa.concat_tables(tables) if tables else overfitting_rows("run", "", "", "", [])


def record_run_statistics(settings: Settings, run_ids: list[str]) -> int:
    """Compute and append the statistics of ``run_ids``; returns the rows written."""
    if not run_ids:
        return 0
    rows = run_statistics(settings, run_ids)
    write_statistics(settings, rows)
    return rows.num_rows
