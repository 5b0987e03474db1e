"""Tearsheet pages of new backtests, on Dask when a scheduler is named
(:mod:`hermes.flows.scale_out`), else in the flow's process.

On Dask, the flow reads the runs' data from the lake in batches
(:func:`hermes.report.tearsheet.runs_data`), each page is rendered to HTML as a Dask task
(:func:`hermes.report.tearsheet.render_tearsheet`, no lake access), and the flow writes the
pages into the lake's reports folder as they come back. Without a scheduler the pages are
written here in batches sharing their lake connections (:func:`hermes.report.write_reports`;
a page costs tens of milliseconds, which a task per page would only add to).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from hermes.config import Settings
from hermes.flows.credentials import with_secrets, without_secrets
from hermes.flows.scale_out import bounded_map, dask_runner
from hermes.report import write_reports
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
    """Run :func:`pages_flow` as a subflow on Dask when a scheduler is named
    (:func:`hermes.flows.scale_out.dask_runner`), else write the pages here."""
    if not run_ids:
        return []
    runner: Any = dask_runner(dask_address)  # a TaskRunner; prefect-dask is untyped
    if runner is None:
        return [str(path) for path in write_reports(with_secrets(settings), list(run_ids))]
    return pages_flow.with_options(task_runner=runner)(without_secrets(settings), list(run_ids))
