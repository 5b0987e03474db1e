"""Run statistics of new backtests, fanned out on Dask (:mod:`hermes.flows.scale_out`).

The flow reads each run's equity curve and hidden trials from the lake
(:func:`hermes.backtest.statistics.statistics_inputs`), each run's bootstrap intervals and PSR
are computed as a Dask task (:func:`hermes.backtest.statistics.score_run`, no lake access),
and the flow appends every row in one lake transaction (all runs or none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from hermes.backtest.statistics import (
    RunEquity,
    concat_rows,
    score_run,
    statistics_inputs,
    write_statistics,
)
from hermes.config import Settings
from hermes.flows.credentials import with_secrets, without_secrets
from hermes.flows.scale_out import bounded_map, dask_task_runner


@task(name="run-statistics", cache_policy=NO_CACHE)
def score(run: RunEquity) -> pa.Table:
    """One run's statistics row (runs on a Dask worker)."""
    return score_run(run)


@flow(name="hermes-statistics")
def statistics_flow(settings: Settings, run_ids: list[str]) -> int:
    """Compute and append the statistics of ``run_ids``; returns the rows written."""
    settings = with_secrets(settings)  # the flow's parameters carry no credentials
    rows = concat_rows(list(bounded_map(score, statistics_inputs(settings, run_ids))))
    write_statistics(settings, rows)
    return rows.num_rows


def score_runs(
    settings: Settings, run_ids: Sequence[str], *, dask_address: str | None = None
) -> int:
    """Run :func:`statistics_flow` as a subflow on a Dask task runner (local or remote)."""
    if not run_ids:
        return 0
    runner: Any = dask_task_runner(dask_address)  # a TaskRunner; prefect-dask is untyped
    return statistics_flow.with_options(task_runner=runner)(
        without_secrets(settings), list(run_ids)
    )
