"""Backtest reports: a self-contained HTML page per run (see :func:`write_report`)."""

from hermes.report.html import write_report, write_reports

__all__ = ["write_report", "write_reports"]
