"""Where fanned-out work runs: a Dask cluster behind Prefect's ``DaskTaskRunner``.

The daily job's heavy stages run as subflows on it: backtests (:mod:`hermes.flows.backtests`),
run statistics (:mod:`hermes.flows.statistics`) and tearsheet pages
(:mod:`hermes.flows.pages`). Each reads its inputs from the lake in the flow, sends the pure
computation to the workers (:func:`bounded_map`) and writes the results back itself.

By default a local cluster in this process with one worker of several threads: vectorbt's
numba functions are compiled (or loaded from numba's cache) once per process, so threads
share one compilation while separate worker processes would each pay it again (measured in
docs/operations.md, "Scale-out"). Users who outgrow one machine set ``HERMES_DASK_ADDRESS`` to a
remote scheduler (``tcp://host:8786``); remote workers receive each task's input data and
return results, and never open the lake themselves.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from prefect_dask import DaskTaskRunner

DASK_ADDRESS_ENV = "HERMES_DASK_ADDRESS"
DASK_WORKERS_ENV = "HERMES_DASK_THREADS"
IN_FLIGHT = 32
"""Tasks a stage keeps submitted at once: enough to keep a cluster busy, few enough that the
inputs read for them (a run's equity and trades) stay a bounded amount of memory."""


def dask_address() -> str | None:
    """The remote scheduler named by ``HERMES_DASK_ADDRESS``, if any."""
    return os.environ.get(DASK_ADDRESS_ENV) or None


def dask_task_runner(address: str | None = None, threads: int | None = None) -> DaskTaskRunner:
    """A ``DaskTaskRunner`` on ``address`` (or ``HERMES_DASK_ADDRESS``), else a local cluster."""
    address = address or dask_address()
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
