"""The daily refresh of the lake as Prefect flows: download, ingest, build, audit, publish.

Three flows land files, then share one pipeline (:func:`hermes.flows.refresh.refresh_lake`):

* :func:`daily_refresh`: the scheduled job (``prefect.yaml``). Downloads the daily archives
  of the last ``lookback_days`` days not landed yet, and last month's monthly archive once
  Binance publishes it (from then on that month's dailies are no longer fetched; silver
  keeps the latest ingest of each candle, so the monthly file's rows win);
* :func:`backfill`: a date range for given symbols/intervals (monthly archives for past
  months, falling back to dailies when a monthly is not published; dailies for this month);
* :func:`bundled_refresh`: the bundled CSV files of ``data/binance-ohlcv`` (``hermes run``).

The pipeline (:mod:`hermes.flows.refresh`) is write-audit-publish per (symbol, interval)
series: a series whose rows fail a data test or an expectation is held back and named, every
other series is published, and the held ones stay pending for the next run; backtests,
statistics, reports, paper trading and the site follow for the universe's healthy series.

What to fetch and whether anything changed is decided by :mod:`hermes.flows.changes` (no dbt,
Great Expectations or vectorbt import): archives the site answers 404 for are reported as
not yet available without a download task, and a refresh with nothing new builds, audits
and publishes nothing. The partitions to rebuild are those landed since the last
publication, so a run after a failed one rebuilds what the failed run landed.

Run them from the ``hermes`` command line (``hermes refresh``, ``hermes backfill``,
``hermes run``, ``hermes serve``) or as the Prefect deployment of ``prefect.yaml``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run as current_flow_run
from prefect.tasks import exponential_backoff

from hermes.config import Settings
from hermes.flows.changes import (
    bundled_files,
    dailies_of,
    lake_state,
    plan_backfill,
    plan_daily,
    probe_archives,
)
from hermes.flows.credentials import without_secrets
from hermes.flows.refresh import BACKTEST_INTERVALS, record_results, refresh_lake, timed_step
from hermes.flows.steps import (
    download,
    ingest_local,
)
from hermes.flows.summary import RefreshSummary
from hermes.ingest import (
    ArchiveName,
    FileResult,
    Outcome,
    base_url_from_env,
)
from hermes.universe import active_symbols, universe_intervals


def _flow_run_id() -> str:
    return str(current_flow_run.id or f"local-{datetime.now(UTC):%Y%m%dT%H%M%S}")


def _fetch(
    archives: Sequence[ArchiveName],
    settings: Settings,
    base_url: str | None,
    retries: int,
    backoff_seconds: float,
) -> list[FileResult]:
    """Download archives one by one (the lake takes one writer), each retried with backoff.

    Which archives exist is asked first, concurrently (:func:`hermes.flows.changes.probe_archives`):
    one the site answers 404 for is not yet available, with no download task. An archive
    still unreachable after the retries is reported as not yet available too.
    """
    url = (base_url or base_url_from_env()).rstrip("/")
    exists = probe_archives(archives, url)
    fetch = (
        download.with_options(
            retries=retries,
            retry_delay_seconds=exponential_backoff(backoff_factor=backoff_seconds),
            retry_jitter_factor=0.5,
        )
        if retries
        else download.with_options(retries=0)
    )
    results = []
    for archive in archives:
        if not exists[archive.source_file]:
            results.append(
                FileResult(
                    archive.source_file,
                    Outcome.NOT_AVAILABLE,
                    reason=f"not published: {archive.url(url)}",
                )
            )
            continue
        state = fetch(archive, settings, url, return_state=True)
        if state.is_completed():
            results.append(state.result())
        else:
            try:
                state.result()
                why = "failed"
            except Exception as exc:  # the download's own error, after every retry
                # "<url>: <problem> (after n attempt(s))" -> the problem, kept short
                why = str(exc).split(": ", 1)[-1].split(" (after ")[0][:120]
            results.append(
                FileResult(
                    archive.source_file,
                    Outcome.NOT_AVAILABLE,
                    reason=f"unreachable after {retries + 1} attempt(s): {why}",
                )
            )
    return results


# --------------------------------------------------------------------------- flows


@flow(name="hermes-daily-refresh")
def daily_refresh(
    day: date | None = None,
    symbols: list[str] | None = None,
    intervals: list[str] | None = None,
    lookback_days: int = 3,
    base_url: str | None = None,
    download_retries: int = 3,
    retry_backoff_seconds: float = 10.0,
    backtest_intervals: list[str] = list(BACKTEST_INTERVALS),  # noqa: B006
    dbt_vars: dict[str, Any] | None = None,
) -> RefreshSummary:
    """Refresh the lake with the archives published up to ``day`` (default: yesterday, UTC);
    ``symbols`` and ``intervals`` default to the universe's active pairs and their intervals
    (read when the flow runs: :mod:`hermes.universe`)."""
    settings = Settings.from_env()
    symbols = symbols or active_symbols()
    intervals = intervals or universe_intervals()
    day = day or datetime.now(UTC).date() - timedelta(days=1)
    summary = RefreshSummary(flow_run=_flow_run_id())
    get_run_logger().info(
        "daily refresh up to %s for %s x %s", day, ",".join(symbols), ",".join(intervals)
    )
    with timed_step(summary, "download"):
        landed = lake_state(settings).landed
        archives = plan_daily(landed, symbols, intervals, day, lookback_days)
        record_results(
            summary,
            _fetch(
                archives,
                without_secrets(settings),
                base_url,
                download_retries,
                retry_backoff_seconds,
            ),
        )
    return refresh_lake(settings, summary, backtest_intervals=backtest_intervals, dbt_vars=dbt_vars)


@flow(name="hermes-backfill")
def backfill(
    start: date,
    end: date,
    symbols: list[str] | None = None,
    intervals: list[str] | None = None,
    base_url: str | None = None,
    download_retries: int = 3,
    retry_backoff_seconds: float = 10.0,
    backtest_intervals: list[str] = list(BACKTEST_INTERVALS),  # noqa: B006
    dbt_vars: dict[str, Any] | None = None,
    today: date | None = None,
) -> RefreshSummary:
    """Re-fetch ``start``..``end`` (inclusive) and refresh what changed.

    Archives already landed with the same checksum are skipped (``unchanged``); a monthly
    archive not published yet is replaced by that month's daily archives. ``symbols`` and
    ``intervals`` default as :func:`daily_refresh`'s.
    """
    settings = Settings.from_env()
    symbols = symbols or active_symbols()
    intervals = intervals or universe_intervals()
    public = without_secrets(settings)
    today = today or datetime.now(UTC).date()
    summary = RefreshSummary(flow_run=_flow_run_id())
    monthly, daily = plan_backfill(symbols, intervals, start, end, today)
    get_run_logger().info(
        "backfill %s..%s: %d monthly and %d daily archive(s)", start, end, len(monthly), len(daily)
    )
    with timed_step(summary, "download"):
        results = _fetch(monthly, public, base_url, download_retries, retry_backoff_seconds)
        for archive, result in zip(monthly, results, strict=True):
            if result.outcome is Outcome.NOT_AVAILABLE:
                daily += dailies_of(archive, start, end)
            else:
                record_results(summary, [result])
        fetched = _fetch(daily, public, base_url, download_retries, retry_backoff_seconds)
        record_results(summary, fetched)
    return refresh_lake(settings, summary, backtest_intervals=backtest_intervals, dbt_vars=dbt_vars)


@flow(name="hermes-bundled-refresh")
def bundled_refresh(
    paths: list[str] | None = None,
    backtest_intervals: list[str] = list(BACKTEST_INTERVALS),  # noqa: B006
    dbt_vars: dict[str, Any] | None = None,
    rebuild: bool = False,
) -> RefreshSummary:
    """The whole job on local files (default: the bundled CSVs), no network needed."""
    settings = Settings.from_env()
    summary = RefreshSummary(flow_run=_flow_run_id())
    files = paths or [str(p) for p in bundled_files()]
    with timed_step(summary, "ingest"):
        record_results(summary, ingest_local(files, without_secrets(settings)))
    return refresh_lake(
        settings, summary, backtest_intervals=backtest_intervals, dbt_vars=dbt_vars, rebuild=rebuild
    )
