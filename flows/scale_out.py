"""Where fanned-out work runs: a Dask cluster behind Prefect's ``DaskTaskRunner``.

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

from prefect_dask import DaskTaskRunner

DASK_ADDRESS_ENV = "HERMES_DASK_ADDRESS"
DASK_WORKERS_ENV = "HERMES_DASK_THREADS"


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
