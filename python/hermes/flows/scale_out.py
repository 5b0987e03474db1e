"""Where the daily job's heavy stages run: one rule for backtests, statistics and pages.

Each stage (:mod:`hermes.flows.backtests`, :mod:`hermes.flows.statistics`,
:mod:`hermes.flows.pages`) asks :func:`dask_runner`. When a Dask scheduler is named
(``HERMES_DASK_ADDRESS``, e.g. ``tcp://host:8786``, or an address passed by the caller), the
stage runs as a subflow on Prefect's ``DaskTaskRunner`` there: the flow reads its inputs from
the lake, sends the pure computation to the workers (:func:`bounded_map`) and writes the
results back itself; remote workers receive each task's input data, return results and never
open the lake. Without a scheduler every stage runs in the flow's own process, with no task
per run (a task run's API calls cost more than a series' simulation): backtests one after
another, statistics on one thread per core, pages one batch after another. A local cluster
of one in-process worker (the previous default for backtests and statistics) computed the
same threads after paying its own start (measured in docs/operations.md, "Scale-out").
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prefect_dask import DaskTaskRunner

DASK_ADDRESS_ENV = "HERMES_DASK_ADDRESS"
IN_FLIGHT = 32
"""Tasks a stage keeps submitted at once: enough to keep a cluster busy, few enough that the
inputs read for them (a run's equity and trades) stay a bounded amount of memory."""


def dask_address() -> str | None:
    """The remote scheduler named by ``HERMES_DASK_ADDRESS``, if any."""
    return os.environ.get(DASK_ADDRESS_ENV) or None


def dask_runner(address: str | None = None) -> DaskTaskRunner | None:
    """The task runner a heavy stage runs on: Dask on the scheduler at ``address`` (default
    ``HERMES_DASK_ADDRESS``), or ``None`` when no scheduler is named: the stage then runs in
    the flow's own process."""
    address = address or dask_address()
    if not address:
        return None
    from prefect_dask import DaskTaskRunner  # Dask and distributed: only with a scheduler

    # the scheduler's and workers' INFO chatter would bury the refresh's own log lines
    logging.getLogger("distributed").setLevel(logging.WARNING)
    return DaskTaskRunner(address=address)


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
