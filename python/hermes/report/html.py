"""Backtest pages: the tearsheet of a run (:mod:`hermes.report.tearsheet`) and the study
pages (:mod:`hermes.report.study_pages`), all under the lake's reports folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hermes.config import Settings
from hermes.report.labels import format_metric
from hermes.report.tearsheet import write_tearsheet, write_tearsheets

__all__ = ["format_metric", "write_report", "write_reports"]


def write_report(settings: Settings, run_id: str) -> Path:
    """Write ``<reports_root>/<run_id>.html`` (the run's tearsheet) and return its path."""
    return write_tearsheet(settings, run_id)


def write_reports(settings: Settings, run_ids: Sequence[str]) -> list[Path]:
    """The tearsheets of ``run_ids``, written as one batch sharing its lake connections."""
    return write_tearsheets(settings, run_ids)
