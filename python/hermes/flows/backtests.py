"""Backtests of the changed partitions, fanned out as tasks on Dask when a scheduler is
named (:mod:`hermes.flows.scale_out`), else simulated in the flow's process.

The lake's catalog takes one connection per process at a time, and remote Dask workers
cannot reach a local lake at all, so the work is split in three:

1. the flow reads, for every ``active`` strategy of the registry, each (symbol, interval)
   series and its signals from the strategy's signal model as of the published snapshot
   (:func:`hermes.backtest.request.open_on`, one reader for every strategy;
   :func:`hermes.backtest.inputs.whole_series` reads the series of a strategy together);
   a strategy whose model fails the lookahead check is held back and named, the others
   carry on, and the flow fails at the end;
2. each simulation runs on that data (:func:`hermes.backtest.runs.execute`), needing no
   lake access: as a task on Dask's workers, else in the flow one after another (a task
   run's API calls cost more than a series' simulation);
3. the flow writes every result in one lake transaction (all runs or none).

A series whose inputs' fingerprint matches a stored run (:mod:`hermes.backtest.reuse`) is
not simulated again: the stored run stands, and only new runs go on to statistics and pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from hermes.backtest.config import BacktestConfig
from hermes.backtest.inputs import MarketSlice, whole_series
from hermes.backtest.request import BacktestRequest, RunContext, open_on
from hermes.backtest.reuse import Key, input_key, split_reusable, stored_runs
from hermes.backtest.runs import RunResult, execute, write_results
from hermes.config import Settings
from hermes.flows.credentials import with_secrets, without_secrets
from hermes.flows.scale_out import dask_runner
from hermes.lake import as_of, connect
from hermes.notify import notify
from hermes.signals.registry import active_strategies
from hermes.signals.verdicts import LookaheadError, check_each_on


@task(name="backtest", cache_policy=NO_CACHE)
def simulate_slice(context: RunContext, data: MarketSlice) -> RunResult:
    """One backtest on data already read (runs on a Dask worker, if any)."""
    return execute(context, data)


@flow(name="hermes-backtests")
def backtest_flow(
    settings: Settings,
    partitions: list[tuple[str, str]],
    snapshot: int,
    strategy_ids: list[str] | None = None,
    distributed: bool = False,
) -> list[str]:
    """Backtest every strategy (default: the registry's ``active`` ones at ``snapshot``) on
    every partition as of ``snapshot``; returns the new run ids (series whose inputs a stored
    run already covers are reused, not run again).

    One lake connection serves the whole flow: the lookahead checks and the stored runs on
    the working state, every request's inputs at ``snapshot`` (:func:`hermes.lake.as_of`),
    then the results.

    ``distributed`` (a Dask task runner): each simulation is a task sent to the workers;
    otherwise they run here one after another (a task run costs the API calls of its states,
    more than the simulation of a series)."""
    settings = with_secrets(settings)  # the flow's parameters carry no credentials
    with connect(settings) as conn:
        if strategy_ids is None:
            with as_of(conn, settings, snapshot) as reader:
                strategy_ids = active_strategies(reader)
        checks = check_each_on(conn, strategy_ids)
        stored = stored_runs(conn, strategy_ids)
        with as_of(conn, settings, snapshot) as reader:
            work, refused = _inputs(reader, snapshot, partitions, strategy_ids, checks)
        run_ids = _simulate(conn, work, stored, distributed)
    if refused:
        raise LookaheadError("; ".join(refused))
    return run_ids


def _inputs(
    reader: duckdb.DuckDBPyConnection,
    snapshot: int,
    partitions: list[tuple[str, str]],
    strategy_ids: list[str],
    checks: dict[str, str],
) -> tuple[list[tuple[RunContext, MarketSlice]], list[str]]:
    """Every strategy's series and signals on ``reader`` (pinned at ``snapshot``), and the
    refusal lines of the strategies whose model failed its lookahead check (``checks``:
    held back and named, the other strategies carry on)."""
    config = BacktestConfig()
    wanted = {(symbol, interval) for symbol, interval in partitions}
    work: list[tuple[RunContext, MarketSlice]] = []
    refused: list[str] = []
    for strategy_id in strategy_ids:
        if strategy_id in checks:
            refused.append(checks[strategy_id])
            notify(
                f"hermes backtests: {checks[strategy_id]}",
                {"strategy": strategy_id},
                success=False,
            )
            continue
        request = BacktestRequest(
            strategy_id,
            sorted({s for s, _ in wanted}),
            sorted({i for _, i in wanted}),
            config=config,
        )
        opened = open_on(request, reader, snapshot)
        pairs = [pair for pair in opened.pairs if pair in wanted]
        work.extend((opened.context, data) for data in whole_series(opened.signals, pairs))
    return work, refused


def _simulate(
    conn: duckdb.DuckDBPyConnection,
    work: list[tuple[RunContext, MarketSlice]],
    stored: dict[Key, str],
    distributed: bool,
) -> list[str]:
    """Simulate the ``work`` no stored run covers (as tasks on Dask when ``distributed``),
    write the results on ``conn`` in one transaction; returns the new run ids."""
    keys = [
        input_key(context.strategy, data, context.config, context.signal_model_hash)
        for context, data in work
    ]
    todo, reused = split_reusable(keys, stored)
    logger = get_run_logger()
    for position, run_id in reused.items():
        context, data = work[position]
        logger.info(
            "backtest of %s %s %s: inputs unchanged, stored run %s reused",
            context.strategy.strategy_id,
            data.symbol,
            data.interval,
            run_id,
        )
    if distributed:
        futures = [simulate_slice.submit(*work[p]) for p in todo]
        results = [future.result() for future in futures]
    else:
        results = [execute(*work[p]) for p in todo]
    if results:
        write_results(conn, results)
    for result in results:
        run = result.run
        logger.info(
            "backtest %s %s %s: total return %.4f over %d bars, %s trades",
            run["run_id"],
            run["symbol"],
            run["interval"],
            run.get("total_return") or 0.0,
            run["rows"],
            run["trades"],
        )
    return [result.run_id for result in results]


def backtest_partitions(
    settings: Settings,
    partitions: Sequence[tuple[str, str]],
    snapshot: int,
    strategy_ids: Sequence[str] | None = None,
    *,
    dask_address: str | None = None,
) -> list[str]:
    """Run :func:`backtest_flow` as a subflow, on Dask when a scheduler is named
    (:func:`hermes.flows.scale_out.dask_runner`), else on Prefect's default thread pool.

    ``strategy_ids`` defaults to every ``active`` strategy of the registry at ``snapshot``.
    """
    runner: Any = dask_runner(dask_address)  # a TaskRunner; prefect-dask is untyped
    subflow = backtest_flow if runner is None else backtest_flow.with_options(task_runner=runner)
    return subflow(
        without_secrets(settings),
        [(symbol, interval) for symbol, interval in partitions],
        snapshot,
        None if strategy_ids is None else list(strategy_ids),
        runner is not None,
    )
