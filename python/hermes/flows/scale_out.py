"""Where fanned-out work runs: a Dask cluster behind Prefect's ``DaskTaskRunner``.

The daily job's heavy stages run as subflows on it: backtests (:mod:`hermes.flows.backtests`),
run statistics (:mod:`hermes.flows.statistics`) and tearsheet pages
(:mod:`hermes.flows.pages`). Each reads its inputs from the lake in the flow, sends the pure
computation to the workers (:func:`bounded_map`) and writes the results back itself.

By default a local cluster in this process with one worker of several threads: vectorbt's
numba functions are compiled (or loaded from numba's cache) once per process, so threads
share one compilation while separate worker processes would each pay it again (measured in
the README, "Scale-out"). Users who outgrow one machine set ``HERMES_DASK_ADDRESS`` to a
remote scheduler (``tcp://host:8786``); remote workers receive each task's input data and
return results, and never open the lake themselves.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from prefect_dask import DaskTaskRunner

from hermes.config import Settings

DASK_ADDRESS_ENV = "HERMES_DASK_ADDRESS"
DASK_WORKERS_ENV = "HERMES_DASK_THREADS"
IN_FLIGHT = 32
"""Tasks a stage keeps submitted at once: enough to keep a cluster busy, few enough that the
inputs read for them (a run's equity and trades) stay a bounded amount of memory."""


def dask_task_runner(address: str | None = None, threads: int | None = None) -> DaskTaskRunner:
    """A ``DaskTaskRunner`` on ``address`` (or ``HERMES_DASK_ADDRESS``), else a local cluster."""
    address = address or os.environ.get(DASK_ADDRESS_ENV) or None
    # the scheduler's and workers' INFO chatter would bury the refresh's own log lines
    logging.getLogger("distributed").setLevel(logging.WARNING)
    if address:
        return DaskTaskRunner(address=address)
    threads = threads or int(os.environ.get(DASK_WORKERS_ENV) or max(2, os.cpu_count() or 2))
    return DaskTaskRunner(
        cluster_kwargs={
            "processes": False,
            "n_workers": 1,
            "threads_per_worker": threads,
            "dashboard_address": None,
        }
    )


def bounded_map(task: Any, items: Iterable[Any], window: int = IN_FLIGHT) -> Iterator[Any]:
    """Results of the Prefect ``task`` on each of ``items``, in order, run by the current
    flow's task runner with at most ``window`` tasks submitted at once; ``items`` is consumed
    lazily, so reading the next inputs overlaps with the workers' computing."""
    pending: deque[Any] = deque()
    for item in items:
        pending.append(task.submit(item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def measure_fanout(settings: Settings, mode: str, copies: int = 2) -> dict[str, float]:
    """Seconds to backtest every 4h series ``copies`` times on a fresh local cluster.

    ``mode`` is ``threads`` (one worker process, the default runner) or ``processes`` (one
    single-threaded worker process per CPU). Returns the cluster start, the first batch
    (imports and compilation included) and a second, warm batch.
    """
    from distributed import Client, LocalCluster

    from hermes.backtest.inputs import MarketSlice, load_slice
    from hermes.backtest.request import BacktestRequest, open_request
    from hermes.backtest.runs import execute
    from hermes.lake import connect, current_snapshot

    if mode not in ("threads", "processes"):
        raise ValueError(f"mode must be 'threads' or 'processes', got {mode!r}")
    with connect(settings) as conn:
        snapshot = current_snapshot(conn)
        series = conn.execute(
            "select distinct symbol from gold_feature_store where interval = '4h' order by 1"
        ).fetchall()
    request = BacktestRequest("smart_momentum", [s for (s,) in series], ["4h"])
    with open_request(settings, request, snapshot=snapshot) as opened:
        context = opened.context
        work = [
            load_slice(opened.signals, s, i, start=None, end=None) for s, i in opened.pairs
        ] * copies

    def one(data: MarketSlice) -> float:
        run = execute(context, data)
        return float(run.run["total_return"] or 0.0)

    cpus = os.cpu_count() or 2
    processes = mode == "processes"
    started = time.perf_counter()
    with (
        LocalCluster(
            n_workers=cpus if processes else 1,
            threads_per_worker=1 if processes else cpus,
            processes=processes,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        ready = time.perf_counter()
        client.gather([client.submit(one, d, pure=False) for d in work])
        first = time.perf_counter()
        client.gather([client.submit(one, d, pure=False) for d in work])
        warm = time.perf_counter()
    return {
        "backtests": float(len(work)),
        "cluster_start": ready - started,
        "first_batch": first - ready,
        "warm_batch": warm - first,
    }


if __name__ == "__main__":
    import sys

    for mode in sys.argv[1:] or ["threads"]:
        figures = measure_fanout(Settings.from_env(), mode)
        print(mode, " ".join(f"{k}={v:.2f}" for k, v in figures.items()))
