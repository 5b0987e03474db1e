"""Tearsheet pages of new backtests, rendered on Dask (:mod:`hermes.flows.scale_out`).

The flow reads each run's data from the lake (:func:`hermes.report.tearsheet.page_data`), each page
is rendered to HTML as a Dask task (:func:`hermes.report.tearsheet.render_tearsheet`, no lake
access), and the flow writes the pages into the lake's reports folder as they come back.
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
from hermes.report.tearsheet import TearsheetData, page_data, render_tearsheet


@task(name="tearsheet", cache_policy=NO_CACHE)
def render_page(data: TearsheetData) -> str:
    """One run's tearsheet HTML (runs on a Dask worker)."""
    return render_tearsheet(data)


@flow(name="hermes-pages")
def pages_flow(settings: Settings, run_ids: list[str]) -> list[str]:
    """Write ``<reports_root>/<run_id>.html`` for each of ``run_ids``; returns the paths."""
    settings = with_secrets(settings)  # the flow's parameters carry no credentials
    pages = bounded_map(render_page, (page_data(settings, run_id) for run_id in run_ids))
    return [
        str(write_html(settings.reports_root / f"{run_id}.html", html))
        for run_id, html in zip(run_ids, pages, strict=True)
    ]


def write_pages(
    settings: Settings, run_ids: Sequence[str], *, dask_address: str | None = None
) -> list[str]:
    """Run :func:`pages_flow` as a subflow on a Dask task runner (local or remote)."""
    if not run_ids:
        return []
    runner: Any = dask_task_runner(dask_address)  # a TaskRunner; prefect-dask is untyped
    return pages_flow.with_options(task_runner=runner)(without_secrets(settings), list(run_ids))
