"""Run statistics of new backtests, on Dask when a scheduler is named
(:mod:`hermes.flows.scale_out`), else in the flow's process.

On Dask, the flow reads each run's equity curve and hidden trials from the lake
(:func:`hermes.backtest.statistics.statistics_inputs`), each run's bootstrap intervals and PSR
are computed as a Dask task (:func:`hermes.backtest.statistics.score_run`, no lake access),
and the flow appends every row in one lake transaction (all runs or none). Without a
scheduler the same functions run one after another here
(:func:`hermes.backtest.statistics.record_run_statistics`).
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
    record_run_statistics,
    score_run,
    statistics_inputs,
    write_statistics,
)
from hermes.config import Settings
from hermes.flows.credentials import with_secrets, without_secrets
from hermes.flows.scale_out import bounded_map, dask_runner


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
    """Run :func:`statistics_flow` as a subflow on Dask when a scheduler is named
    (:func:`hermes.flows.scale_out.dask_runner`), else compute the rows here."""
    if not run_ids:
        return 0
    runner: Any = dask_runner(dask_address)  # a TaskRunner; prefect-dask is untyped
    if runner is None:
        return record_run_statistics(with_secrets(settings), list(run_ids))
    return statistics_flow.with_options(task_runner=runner)(
        without_secrets(settings), list(run_ids)
    )
