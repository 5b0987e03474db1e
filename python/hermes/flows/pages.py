"""Tearsheet pages of new backtests, rendered on Dask (:mod:`hermes.flows.scale_out`).

The flow reads the runs' data from the lake in batches
(:func:`hermes.report.tearsheet.runs_data`), each page is rendered to HTML as a Dask task
(:func:`hermes.report.tearsheet.render_tearsheet`, no lake access), and the flow writes the
pages into the lake's reports folder as they come back. The daily job takes this path only
when a remote scheduler is named (``HERMES_DASK_ADDRESS``); locally pages are written in
one batch in the flow's process (:func:`hermes.flows.steps.write_reports`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from hermes.config import Settings
from hermes.flows.credentials import with_secrets, without_secrets
from hermes.flows.scale_out import bounded_map, dask_task_runner
from hermes.report.render import write_html
from hermes.report.tearsheet import render_tearsheet, runs_data
from hermes.report.tearsheet_data import RunData


@task(name="tearsheet", cache_policy=NO_CACHE)
def render_page(data: RunData) -> tuple[str, str]:
    """One run's id and tearsheet HTML (runs on a Dask worker)."""
    return str(data.run["run_id"]), render_tearsheet(data)


@flow(name="hermes-pages")
def pages_flow(settings: Settings, run_ids: list[str]) -> list[str]:
    """Write ``<reports_root>/<run_id>.html`` for each of ``run_ids``; returns the paths."""
    settings = with_secrets(settings)  # the flow's parameters carry no credentials
    pages = bounded_map(render_page, runs_data(settings, run_ids))
    return [
        str(write_html(settings.reports_root / f"{run_id}.html", html)) for run_id, html in pages
    ]


def write_pages(
    settings: Settings, run_ids: Sequence[str], *, dask_address: str | None = None
) -> list[str]:
    """Run :func:`pages_flow` as a subflow on a Dask task runner (local or remote)."""
    if not run_ids:
        return []
    runner: Any = dask_task_runner(dask_address)  # a TaskRunner; prefect-dask is untyped
    return pages_flow.with_options(task_runner=runner)(without_secrets(settings), list(run_ids))
