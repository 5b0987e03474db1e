"""Which pages of the reports folder stay: pins, and the pruning ``hermes maintain`` does.

A daily run writes a tearsheet per changed series, so pages pile up. The folder keeps

* the latest tearsheet of each (strategy, series, run kind): what the research site shows;
* the tearsheets of the site's recent runs (so the index never links a deleted page);
* every study page (grid, walk-forward, A/B: written on request, never by the daily job)
  and the tearsheets of the runs a walk-forward or A/B study lists;
* every page in the pin list, ``reports/pins.json`` under the lake's root (a JSON list of
  page ids, read and written through the lake's storage, so it works on S3 lakes too):
  ``hermes report --pin RUN_ID`` adds to it.

Every other ``bt-*.html`` page is deleted (from the local reports folder and, on S3 lakes,
from the bucket's ``reports/`` copy). Nothing is lost: ``hermes report RUN_ID`` writes a
page again from the lake.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import duckdb

from hermes import storage
from hermes.config import Settings
from hermes.lake import connect, table_exists

RECENT = 25
"""Recent runs the research site lists (their pages are kept)."""
PINS = "pins.json"
STUDY_TABLES = ("gold_backtest_walk_forward", "gold_backtest_ab")
"""Studies whose pages link the tearsheets of the runs they list (constant names)."""


def pins_path(settings: Settings) -> str:
    return f"{settings.storage_root}/reports/{PINS}"


def pinned(settings: Settings) -> list[str]:
    """The page ids of the pin list (empty when there is none)."""
    path = pins_path(settings)
    if not storage.exists(settings, path):
        return []
    try:
        value = json.loads(storage.read_bytes(settings, path))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not a JSON list of page ids: {exc}") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{path} is not a JSON list of page ids")
    return list(value)


def pin(settings: Settings, page_ids: Iterable[str]) -> list[str]:
    """Add ``page_ids`` to the pin list; the whole list, sorted."""
    pins = sorted(set(pinned(settings)) | set(page_ids))
    storage.write_bytes_atomic(settings, pins_path(settings), json.dumps(pins).encode())
    return pins


def kept_runs(conn: duckdb.DuckDBPyConnection, recent: int = RECENT) -> set[str]:
    """Run ids whose tearsheet stays: latest per (strategy, series, kind), recent, studied."""
    if not table_exists(conn, "gold_backtest_runs"):
        return set()
    rows = conn.execute(
        "select run_id from gold_backtest_runs qualify row_number() over (partition by "
        "strategy_id, symbol, interval, run_kind order by created_at desc, run_id) = 1 "
        "union select run_id from (select run_id from gold_backtest_runs "
        "order by created_at desc, run_id limit ?)",
        [recent],
    ).fetchall()
    keep = {str(r[0]) for r in rows}
    for study in STUDY_TABLES:
        if table_exists(conn, study):
            rows = conn.execute(f"select distinct run_id from {study}").fetchall()  # noqa: S608
            keep |= {str(r[0]) for r in rows if r[0] is not None}
    return keep


def prune_pages(settings: Settings, recent: int = RECENT) -> list[str]:
    """Delete the tearsheets nothing keeps (``recent``: latest runs kept whatever their
    series); returns the page ids deleted."""
    conn = connect(settings)
    try:
        keep = kept_runs(conn, recent)
    finally:
        conn.close()
    keep |= set(pinned(settings))
    folders = [str(settings.reports_root)]
    if settings.s3 is not None:
        folders.append(f"{settings.storage_root}/reports")
    deleted = set()
    for folder in folders:
        local = settings.s3 is None or folder == str(settings.reports_root)
        paths = (
            [str(p) for p in Path(folder).glob("bt-*.html")]
            if local
            else storage.list_files(settings, folder, suffix=".html")
        )
        for path in paths:
            name = path.rsplit("/", 1)[-1]
            page = name.removesuffix(".html")
            if not page.startswith("bt-") or "/" in path[len(folder) + 1 :] or page in keep:
                continue
            if local:
                Path(path).unlink(missing_ok=True)
            else:
                storage.delete(settings, path)
            deleted.add(page)
    return sorted(deleted)
