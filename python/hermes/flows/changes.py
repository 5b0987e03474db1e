"""What a run has to do, decided before anything heavy is imported or started.

A run with nothing new must cost nearly nothing, so this module imports neither Prefect nor
dbt, Great Expectations or vectorbt, and starts no server. It answers three questions from
the lake's manifest (``landing.files``), the latest publication and the data site:

* which archives a daily refresh or a backfill still needs (:func:`plan_daily`,
  :func:`plan_backfill`);
* which of them the data site has at all (:func:`probe_archives`: concurrent ``HEAD``
  requests on their ``.CHECKSUM`` files over a bounded pool of connections, so a backfill
  over months the exchange never published learns it in seconds, not one retried download
  at a time);
* whether local files differ from what landed (:func:`changed_files`) and which partitions
  landed since the last publication (:func:`pending_partitions`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from hermes.config import PROJECT_ROOT, Settings
from hermes.flows.summary import RefreshSummary
from hermes.ingest.layout import ArchiveName, CsvName, InvalidName, archives_between
from hermes.ingest.manifest import load_manifest
from hermes.lake import connect
from hermes.publication import Publication, latest_publication
from hermes.publish import held_series, pending_since_publication

BUNDLED_DATA = PROJECT_ROOT / "data" / "binance-ohlcv"
DEFAULT_CRON = "0 3 * * *"
"""03:00 UTC: Binance publishes the previous day's archives in the first hours of the day."""
PROBE_CONNECTIONS = 16
"""Concurrent connections to the data site while finding which archives exist."""
PROBE_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class LakeState:
    """What landed (source file -> SHA-256), what is pending since its last publication,
    the latest publication (None before the first one) and the series it held back."""

    landed: dict[str, str]
    pending: list[tuple[str, str]]
    publication: Publication | None
    held: dict[tuple[str, str], str]
    """Series the latest publication held back, with the reason."""


def lake_state(settings: Settings) -> LakeState:
    """The manifest, the latest publication and what landed since then (one connection)."""
    with connect(settings) as conn:
        return LakeState(
            load_manifest(conn),
            pending_since_publication(conn),
            latest_publication(conn),
            held_series(conn),
        )


def bundled_files() -> list[Path]:
    """The bundled OHLCV CSV files ``hermes run`` ingests."""
    return sorted(BUNDLED_DATA.glob("*.csv.gz"))


def show_last_publication(publication: Publication | None, summary: RefreshSummary) -> None:
    """Point a no-op summary at what readers see: the published snapshot and its reports."""
    if publication is not None:
        summary.published_snapshot = publication.snapshot_id
        summary.reports = [r for r in publication.summary.get("reports", []) if Path(r).exists()]


def changed_files(paths: Sequence[Path], landed: dict[str, str]) -> list[Path]:
    """Local files whose content is not what the manifest holds for them (new or changed).

    A file whose name ingest would reject counts as changed: the run must report it.
    """
    changed = []
    for path in paths:
        try:
            name: ArchiveName | CsvName = (
                ArchiveName.parse(path.name)
                if path.name.endswith(".zip")
                else CsvName.parse(path.name)
            )
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except (InvalidName, OSError):
            changed.append(path)
            continue
        if landed.get(name.source_file) != digest:
            changed.append(path)
    return changed


def plan_daily(
    landed: dict[str, str] | set[str],
    symbols: Sequence[str],
    intervals: Sequence[str],
    day: date,
    lookback_days: int,
) -> list[ArchiveName]:
    """Archives a daily refresh for ``day`` still needs: not landed yet, newest month first.

    Last month's monthly archive, then the daily archives of the ``lookback_days`` days up
    to ``day``, except days of a month whose monthly archive has landed.
    """
    if lookback_days < 1:
        raise ValueError(f"lookback_days must be >= 1, got {lookback_days}")
    last_month = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
    monthly = archives_between(list(symbols), list(intervals), last_month, last_month, "monthly")
    daily = archives_between(
        list(symbols), list(intervals), day - timedelta(days=lookback_days - 1), day, "daily"
    )
    covered = {(a.symbol, a.interval, a.start) for a in monthly if a.source_file in landed}
    return [a for a in monthly if a.source_file not in landed] + [
        a
        for a in daily
        if a.source_file not in landed
        and (a.symbol, a.interval, a.start.replace(day=1)) not in covered
    ]


def plan_backfill(
    symbols: Sequence[str], intervals: Sequence[str], start: date, end: date, today: date
) -> tuple[list[ArchiveName], list[ArchiveName]]:
    """(monthly archives of past months, daily archives of this month) covering the range."""
    if end < start:
        raise ValueError(f"end date {end} is before start date {start}")
    this_month = today.replace(day=1)
    end = min(end, today - timedelta(days=1))
    monthly = [
        a
        for a in archives_between(list(symbols), list(intervals), start, end, "monthly")
        if a.start < this_month
    ]
    daily = (
        archives_between(list(symbols), list(intervals), max(start, this_month), end, "daily")
        if end >= this_month
        else []
    )
    return monthly, daily


def dailies_of(archive: ArchiveName, start: date, end: date) -> list[ArchiveName]:
    """The daily archives of a monthly archive's month, clipped to ``start``..``end``."""
    first, last = max(start, archive.start), min(end, archive.end - timedelta(days=1))
    if last < first:
        return []
    return archives_between([archive.symbol], [archive.interval], first, last, "daily")


def probe_archives(
    archives: Sequence[ArchiveName], base_url: str, *, connections: int = PROBE_CONNECTIONS
) -> dict[str, bool]:
    """Which archives the site may have: source file -> False only when it answered 404.

    One ``HEAD`` per archive's ``.CHECKSUM`` (the small file a download fetches first), at
    most ``connections`` at a time over pooled keep-alive connections. Any answer other than
    404 (a 5xx, a timeout, a refused connection) counts as "may exist": the download, with
    its retries, decides.
    """
    if not archives:
        return {}
    import requests  # here: ``hermes run`` and a run with nothing new never probe the site
    from requests.adapters import HTTPAdapter

    workers = max(1, min(connections, len(archives)))
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=workers, max_retries=0)
    with requests.Session() as session:
        session.mount("http://", adapter)
        session.mount("https://", adapter)

        def exists(archive: ArchiveName) -> bool:
            try:
                response = session.head(
                    f"{archive.url(base_url)}.CHECKSUM",
                    timeout=PROBE_TIMEOUT_SECONDS,
                    allow_redirects=True,
                )
            except requests.RequestException:
                return True
            return response.status_code != 404

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool:
            found = list(pool.map(exists, archives))
    return {a.source_file: ok for a, ok in zip(archives, found, strict=True)}
