"""Overfitting statistics into the lake: ``gold_backtest_overfitting`` rows for studies and runs.

* :func:`write_statistics` appends rows built by :func:`hermes.stats.study.overfitting_rows`
  (in its own transaction; a study's writer may instead insert them in the transaction that
  writes the study, with :func:`hermes.lake.insert`);
* :func:`record_run_statistics` computes and appends the single-run statistics (bootstrap
  intervals of Sharpe ratio and total return, PSR) of runs already in the lake, from their
  equity curves: :func:`statistics_inputs` reads them, :func:`score_run` computes one run's
  row without the lake (so that the daily job can send it to a Dask worker). A run whose
  signals come from tuned ML models (a signal model with a ``model_version`` column, models
  recorded in ``gold_ml_models`` with ``tuning_trials`` > 0) is deflated for those trials
  (:func:`tuning_trials`, :func:`hermes.stats.study.with_hidden_trials`).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa

from hermes.backtest.equity import equity_query
from hermes.backtest.tables import ensure_tables
from hermes.config import Settings
from hermes.lake import connect, identifier, insert, table_columns, table_exists, transaction
from hermes.signals.registry import signal_model
from hermes.stats.study import equity_statistics, overfitting_rows, with_hidden_trials

ML_MODELS = "gold_ml_models"

TABLE = "gold_backtest_overfitting"


def write_statistics(settings: Settings, rows: pa.Table) -> None:
    with connect(settings) as conn:
        store_statistics(conn, rows)


def store_statistics(conn: duckdb.DuckDBPyConnection, rows: pa.Table) -> None:
    """Append statistics ``rows`` on ``conn`` in one transaction."""
    ensure_tables(conn)
    with transaction(conn):
        insert(conn, TABLE, rows)


@dataclass(frozen=True)
class RunEquity:
    """What one run's statistics are computed from, read from the lake: its equity curve,
    initial cash and the hidden trials behind its signals (no lake access needed after)."""

    run_id: str
    symbol: str
    interval: str
    equity: np.ndarray
    init_cash: float
    trials: int


def statistics_inputs(settings: Settings, run_ids: list[str]) -> list[RunEquity]:
    """The :class:`RunEquity` of ``run_ids`` (``LookupError`` naming a run the lake lacks).

    The equity curves of every run are read by one query (not one per run), and each
    strategy's signal table is looked up once for the hidden trials."""
    with connect(settings) as conn:
        return read_inputs(conn, run_ids)


def read_inputs(conn: duckdb.DuckDBPyConnection, run_ids: list[str]) -> list[RunEquity]:
    """:func:`statistics_inputs` on a connection the caller holds."""
    runs = conn.execute(
        "select run_id, symbol, interval, config, strategy_id, first_open_time, "
        "last_open_time from gold_backtest_runs where list_contains(?, run_id) "
        "order by run_id",
        [run_ids],
    ).fetchall()
    missing = sorted(set(run_ids) - {r[0] for r in runs})
    if missing:
        raise LookupError(f"no backtest run {', '.join(map(repr, missing))} in the lake")
    curves = equity_curves(conn, [r[0] for r in runs])
    tables = _trial_tables(conn, {r[4] for r in runs})
    return [
        RunEquity(
            run_id,
            symbol,
            interval,
            curves.get(run_id, np.array([], float)),
            float(json.loads(config)["init_cash"]),
            _run_tuning_trials(conn, tables[strategy_id], symbol, interval, first, last),
        )
        for run_id, symbol, interval, config, strategy_id, first, last in runs
    ]


def equity_curves(conn: duckdb.DuckDBPyConnection, run_ids: list[str]) -> dict[str, np.ndarray]:
    """run id -> its equity in bar order, for every run of ``run_ids`` read at once."""
    sql, params = equity_query(conn, run_ids)
    read = conn.execute(
        f"select run_id, equity from ({sql}) as e order by run_id, open_time",  # noqa: S608
        params,
    ).fetchnumpy()
    ids, equity = np.asarray(read["run_id"]), np.asarray(read["equity"], dtype=float)
    if not len(ids):
        return {}
    starts = np.r_[0, np.flatnonzero(ids[1:] != ids[:-1]) + 1]
    return {
        str(ids[first]): part
        for first, part in zip(starts, np.split(equity, starts[1:]), strict=True)
    }


def score_run(run: RunEquity) -> pa.Table:
    """The ``run`` row of one run: bootstrap intervals and PSR, deflated for its hidden trials
    (pure computation: it runs wherever the work is sent, :mod:`hermes.flows.statistics`)."""
    stats = equity_statistics(run.equity, run.init_cash, 0, run.interval)
    stats = with_hidden_trials(stats, run.trials)
    return overfitting_rows("run", run.run_id, run.symbol, run.interval, [(None, stats)])


def concat_rows(tables: list[pa.Table]) -> pa.Table:
    """Rows of several runs as one table (an empty one with the right columns for none)."""
    return pa.concat_tables(tables) if tables else overfitting_rows("run", "", "", "", [])


def run_statistics(settings: Settings, run_ids: list[str]) -> pa.Table:
    """The ``run`` rows of ``run_ids`` (``LookupError`` naming a run the lake lacks), scored on
    one thread per core (numpy's resampling releases the GIL; each run has its own seeded
    generator, so the rows do not depend on the threads)."""
    return score_all(statistics_inputs(settings, run_ids))


def score_all(runs: list[RunEquity]) -> pa.Table:
    """The statistics rows of ``runs``, on one thread per core."""
    threads = min(os.cpu_count() or 1, len(runs))
    if threads < 2:
        return concat_rows([score_run(run) for run in runs])
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="statistics") as pool:
        return concat_rows(list(pool.map(score_run, runs)))


def record_run_statistics(settings: Settings, run_ids: list[str]) -> int:
    """Compute and append the statistics of ``run_ids``; returns the rows written."""
    if not run_ids:
        return 0
    with connect(settings) as conn:  # one connection reads the inputs and writes the rows
        rows = score_all(read_inputs(conn, run_ids))
        store_statistics(conn, rows)
    return rows.num_rows


def tuning_trials(
    conn: duckdb.DuckDBPyConnection,
    signal_table: str,
    symbol: str,
    interval: str,
    first: datetime,
    last: datetime,
) -> int:
    """Hyperparameter trials behind the signals of ``signal_table`` on the series' bars
    ``first..last``: the most ``tuning_trials`` of the models (``gold_ml_models``) whose
    ``model_version`` the signal rows name; 0 for a signal model without ML models."""
    if not table_exists(conn, ML_MODELS):
        return 0
    if "model_version" not in table_columns(conn, signal_table):
        return 0
    return _most_trials(conn, signal_table, symbol, interval, first, last)


def _most_trials(
    conn: duckdb.DuckDBPyConnection,
    signal_table: str,
    symbol: str,
    interval: str,
    first: datetime,
    last: datetime,
) -> int:
    """:func:`tuning_trials` once the tables are known to hold what it reads."""
    row = conn.execute(
        f"""
        select coalesce(max(models.tuning_trials), 0)
        from {identifier(signal_table)} as signals
        inner join {ML_MODELS} as models
            on models.model_version = signals.model_version
            and models.symbol = signals.symbol and models.interval = signals.interval
        where signals.symbol = ? and signals.interval = ?
            and signals.open_time between ? and ?
        """,  # noqa: S608 (validated identifier, constant)
        [symbol, interval, first, last],
    ).fetchone()
    return int(row[0]) if row else 0


def _trial_tables(conn: duckdb.DuckDBPyConnection, strategy_ids: set[str]) -> dict[str, str | None]:
    """Strategy -> its signal table when its runs may be deflated for tuning trials (the
    table holds ``model_version`` and the lake holds ML models), else None."""
    models = table_exists(conn, ML_MODELS)
    out: dict[str, str | None] = {}
    for strategy_id in strategy_ids:
        table = signal_model(strategy_id)
        tuned = (
            models and table_exists(conn, table) and "model_version" in table_columns(conn, table)
        )
        out[strategy_id] = table if tuned else None
    return out


def _run_tuning_trials(
    conn: duckdb.DuckDBPyConnection,
    table: str | None,
    symbol: str,
    interval: str,
    first: datetime,
    last: datetime,
) -> int:
    """:func:`tuning_trials` of a single-series run whose strategy's signal ``table`` may hold
    tuned models (0 for a portfolio run or a strategy without them, :func:`_trial_tables`)."""
    if table is None or "," in symbol:
        return 0
    return _most_trials(conn, table, symbol, interval, first, last)
