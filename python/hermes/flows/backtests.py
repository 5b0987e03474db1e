"""Backtests of the changed partitions, fanned out as tasks on Dask when a scheduler is
named (:mod:`hermes.flows.scale_out`), else simulated in the flow's process.

The lake's catalog takes one connection per process at a time, and remote Dask workers
cannot reach a local lake at all, so the work is split in three:

1. the flow reads, for every ``active`` strategy of the registry, each (symbol, interval)
   series and its signals from the strategy's signal model as of the published snapshot
   (:func:`hermes.backtest.request.open_on`, every strategy on one reader;
   :func:`hermes.backtest.inputs.whole_series` reads the series of a strategy together);
   a strategy whose model fails the lookahead check is held back and named, the others
   carry on, and the flow fails at the end;
2. each simulation runs on that data (:func:`hermes.backtest.runs.execute`), needing no
   lake access: as a task on Dask's workers, else in the flow one after another (a
   task run's API calls cost more than a series' simulation);
3. the flow writes every result in one lake transaction (all runs or none).

A series whose inputs' fingerprint matches a stored run (:mod:`hermes.backtest.reuse`) is
not simulated again: the stored run stands, and only new runs go on to statistics and pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from hermes.backtest.config import BacktestConfig
from hermes.backtest.inputs import MarketSlice, whole_series
from hermes.backtest.request import BacktestRequest, RunContext, open_on
from hermes.backtest.reuse import input_key, split_reusable, stored_runs
from hermes.backtest.runs import RunResult, execute, save
from hermes.config import Settings
from hermes.flows.credentials import with_secrets, without_secrets
from hermes.flows.scale_out import dask_runner
from hermes.lake import at_snapshot, connect
from hermes.notify import notify
from hermes.signals.registry import active_strategies
from hermes.signals.verdicts import LookaheadError, check_each


@task(name="backtest", cache_policy=NO_CACHE)
def simulate_slice(context: RunContext, data: MarketSlice) -> RunResult:
    """One backtest on data already read (runs on a Dask worker, if any)."""
    return execute(context, data)


def read_work(
    settings: Settings,
    partitions: list[tuple[str, str]],
    snapshot: int,
    strategy_ids: list[str],
    refused: list[str],
) -> list[tuple[RunContext, MarketSlice]]:
    """Each strategy's (context, series) of ``partitions`` as of ``snapshot``. Every
    strategy's model is checked for lookahead on one connection, and every request is opened
    on one reader at the snapshot (a connection costs more than a strategy's reads); a
    strategy refused by the check is named in ``refused`` (and notified), the others go on."""
    config = BacktestConfig()
    wanted = {(symbol, interval) for symbol, interval in partitions}
    refusals = check_each(settings, strategy_ids)
    for strategy_id, line in refusals.items():  # held back, named; the others carry on
        refused.append(line)
        notify(f"hermes backtests: {line}", {"strategy": strategy_id}, success=False)
    work: list[tuple[RunContext, MarketSlice]] = []
    with at_snapshot(settings, snapshot) as reader:
        for strategy_id in [s for s in strategy_ids if s not in refusals]:
            request = BacktestRequest(
                strategy_id,
                sorted({s for s, _ in wanted}),
                sorted({i for _, i in wanted}),
                config=config,
            )
            opened = open_on(request, reader, snapshot)
            pairs = [pair for pair in opened.pairs if pair in wanted]
            work.extend((opened.context, data) for data in whole_series(opened.signals, pairs))
    return work


@flow(name="hermes-backtests")
def backtest_flow(
    settings: Settings,
    partitions: list[tuple[str, str]],
    snapshot: int,
    strategy_ids: list[str],
    distributed: bool = False,
) -> list[str]:
    """Backtest every strategy on every partition as of ``snapshot``; returns the new run ids
    (series whose inputs a stored run already covers are reused, not run again).

    ``distributed`` (a Dask task runner): each simulation is a task sent to the workers;
    otherwise they run here one after another (a task run costs the API calls of its states,
    more than the simulation of a series)."""
    settings = with_secrets(settings)  # the flow's parameters carry no credentials
    refused: list[str] = []
    work = read_work(settings, partitions, snapshot, strategy_ids, refused)
    with connect(settings) as conn:
        stored = stored_runs(conn, strategy_ids)
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
        save(settings, results)
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
    if refused:
        raise LookaheadError("; ".join(refused))
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
    (:func:`hermes.flows.scale_out.dask_runner`), else here, one after another.

    ``strategy_ids`` defaults to every ``active`` strategy of the registry at ``snapshot``.
    """
    if strategy_ids is None:
        with at_snapshot(with_secrets(settings), snapshot) as reader:
            strategy_ids = active_strategies(reader)
    runner: Any = dask_runner(dask_address)  # a TaskRunner; prefect-dask is untyped
    subflow = backtest_flow if runner is None else backtest_flow.with_options(task_runner=runner)
    return subflow(
        without_secrets(settings),
        [(symbol, interval) for symbol, interval in partitions],
        snapshot,
        list(strategy_ids),
        runner is not None,
    )
