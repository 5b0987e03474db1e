"""Which page an id gets: ``bt-`` a tearsheet, ``grid-``, ``wf-`` and ``ab-`` a study page."""

from __future__ import annotations

from pathlib import Path

from hermes.config import Settings
from hermes.report.ab_page import write_ab_page
from hermes.report.grid_page import write_grid_page
from hermes.report.tearsheet import write_tearsheet
from hermes.report.walk_forward_page import write_walk_forward_page

KINDS = {"bt": "run", "grid": "grid", "wf": "walk-forward", "ab": "A/B comparison"}


def write_any(
    settings: Settings,
    page_id: str,
    *,
    x: str | None = None,
    y: str | None = None,
    metric: str = "sharpe",
    top: int = 20,
) -> Path:
    """Write the page of a run or study id; ``LookupError`` / ``ValueError`` naming the id."""
    prefix = page_id.split("-", 1)[0]
    if prefix == "bt":
        return write_tearsheet(settings, page_id)
    if prefix == "grid":
        return write_grid_page(settings, page_id, x=x, y=y, value=metric, top=top)
    if prefix == "wf":
        return write_walk_forward_page(settings, page_id)
    if prefix == "ab":
        return write_ab_page(settings, page_id)
    known = ", ".join(f"{p}-... ({k})" for p, k in KINDS.items())
    raise LookupError(f"{page_id!r} is not a run or study id: expected {known}")
