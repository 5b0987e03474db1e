"""Backtest pages: the tearsheet of a run (:mod:`hermes.report.tearsheet`) and the study
pages (:mod:`hermes.report.study_pages`), all under the lake's reports folder."""

from __future__ import annotations

from pathlib import Path

from hermes.config import Settings
from hermes.report.labels import format_metric
from hermes.report.tearsheet import write_tearsheet

__all__ = ["format_metric", "write_report"]


def write_report(settings: Settings, run_id: str) -> Path:
    """Write ``<reports_root>/<run_id>.html`` (the run's tearsheet) and return its path."""
    return write_tearsheet(settings, run_id)
