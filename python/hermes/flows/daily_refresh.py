"""The daily refresh of the lake as Prefect flows: download, ingest, build, audit, publish.

Three flows share one pipeline (:func:`refresh_lake`):

* :func:`daily_refresh`: the scheduled job (``prefect.yaml``). Downloads the daily archives
  of the last ``lookback_days`` days not landed yet, and last month's monthly archive once
  Binance publishes it (from then on that month's dailies are no longer fetched; silver
  keeps the latest ingest of each candle, so the monthly file's rows win);
* :func:`backfill`: a date range for given symbols/intervals (monthly archives for past
  months, falling back to dailies when a monthly is not published; dailies for this month);
* :func:`bundled_refresh`: the bundled CSV files of ``data/binance-ohlcv`` (``hermes run``).

The pipeline is write-audit-publish per (symbol, interval) series: ``dbt build`` of the
models, then ``dbt test`` and the Great Expectations checkpoint on the changed partitions
(:mod:`hermes.flows.audit`). A series whose rows fail a data test or an expectation is held
back, named with the reason; :func:`hermes.publish.publish` publishes every other series at
the new snapshot while readers keep seeing a held series as it was last published, and the
held series stay pending for the next run. A failing model, or a test or expectation naming
no series, stops the run before publishing. Backtests of the changed healthy partitions fan
out on Dask (:mod:`hermes.flows.backtests`), then reports are written and the results
published. A run with series held back or a step failed after publishing (paper trading)
ends ``partial``: it notifies and exits non-zero.

What to fetch and whether anything changed is decided by :mod:`hermes.flows.changes` (no dbt,
Great Expectations or vectorbt import): archives the site answers 404 for are reported as
not yet available without a download task, and a refresh with nothing new builds, audits
and publishes nothing. The partitions to rebuild are those landed since the last
publication, so a run after a failed one rebuilds what the failed run landed.

Run them from the ``hermes`` command line (``hermes refresh``, ``hermes backfill``,
``hermes run``, ``hermes serve``) or as the Prefect deployment of ``prefect.yaml``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run as current_flow_run
from prefect.tasks import exponential_backoff

from hermes import universe
from hermes.config import Settings
from hermes.flows.audit import Audit, audit_quality, audit_tests
from hermes.flows.changes import (
    DEFAULT_INTERVALS,
    DEFAULT_SYMBOLS,
    bundled_files,
    dailies_of,
    lake_state,
    plan_backfill,
    plan_daily,
    probe_archives,
    show_last_publication,
)
from hermes.flows.credentials import with_secrets, without_secrets
from hermes.flows.resume import stranded_targets
from hermes.flows.steps import (
    count_rows,
    dbt_build,
    download,
    finish_state,
    ingest_local,
    paper_trading,
    publish_state,
    record_statistics,
    recorded_backtests,
    send_notification,
    write_reports,
    write_site_index,
)
from hermes.flows.summary import LAYERS, RefreshFailed, RefreshSummary
from hermes.ingest import (
    ArchiveName,
    FileResult,
    Outcome,
    base_url_from_env,
)

BACKTEST_INTERVALS = ("4h",)
MODELS_ONLY = ("--exclude", "resource_type:test", "resource_type:unit_test")
"""``dbt build`` without data tests (they run after every model, ``dbt test``) and without
dbt's unit tests of the strategy rules: those check the SQL, not the data, and run in CI."""
DATA_TESTS = ("test", "--exclude", "resource_type:unit_test")


# Every task and flow receives settings without credentials (Prefect records parameters);
# each resolves the S3 keys from the environment where it opens the lake (flows.steps).


# ------------------------------------------------------------------------ pipeline


def _flow_run_id() -> str:
    return str(current_flow_run.id or f"local-{datetime.now(UTC):%Y%m%dT%H%M%S}")


@contextmanager
def _step(summary: RefreshSummary, name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        summary.step_seconds[name] = round(
            summary.step_seconds.get(name, 0.0) + time.perf_counter() - started, 3
        )


def _record(summary: RefreshSummary, results: Sequence[FileResult]) -> None:
    for result in results:
        if result.outcome is Outcome.INGESTED:
            summary.ingested.append(f"{result.source} ({result.rows} rows)")
        elif result.outcome is Outcome.UNCHANGED:
            summary.unchanged += 1
        elif result.outcome is Outcome.NOT_AVAILABLE:
            summary.not_available.append(f"{result.source}: {result.reason or 'HTTP 404'}")
        else:  # quarantined, or failed to read
            summary.quarantined.append(f"{result.source}: {result.reason}")


def _fail(summary: RefreshSummary, error: str | None = None) -> RefreshFailed:
    summary.status = "failed"
    summary.error = error or summary.error
    send_notification(summary)
    return RefreshFailed(summary)


def refresh_lake(
    settings: Settings,
    summary: RefreshSummary,
    *,
    backtest_intervals: Sequence[str] = BACKTEST_INTERVALS,
    dbt_vars: dict[str, Any] | None = None,
    rebuild: bool = False,
) -> RefreshSummary:
    """Build, audit, publish, backtest and report what landed since the last publication.

    Raises :class:`RefreshFailed` (after notifying) when a model fails or a data test or
    expectation that names no series fails: nothing is published then. Series whose rows
    fail a test are held back and the healthy ones published; the run then ends ``partial``
    and raises :class:`RefreshFailed` too (non-zero exit), as when a step after publishing
    fails.
    """
    settings = without_secrets(settings)
    target_path = settings.lake_root / "target"
    with _step(summary, "plan"):
        state = lake_state(with_secrets(settings))
    pending = state.pending
    summary.partitions = [f"{s}/{i}" for s, i in pending]
    stranded = stranded_targets(state.publication, backtest_intervals)
    stranded = [key for key in stranded if universe.lists(*key)]  # the universe decides
    if stranded and state.publication is not None:  # a killed run's results: complete them
        summary.published_snapshot = state.publication.snapshot_id
        _publish_results(settings, summary, stranded, state.held)
        if not pending and not rebuild:
            summary.partitions = [f"{s}/{i}" for s, i in stranded]
            summary.status = "partial" if state.held else "published"
            summary.held = [f"{s}/{i}: {why}" for (s, i), why in state.held.items()]
            return _finish(settings, summary)
    if not pending and not rebuild:
        summary.status = "no-op"
        show_last_publication(state.publication, summary)
        send_notification(summary)
        return summary

    before = count_rows(settings)
    with _step(summary, "dbt build"):  # models first: a failing test skips no healthy model
        build = dbt_build(settings, target_path, dbt_vars, ("build", *MODELS_ONLY))
    summary.models_failed = [
        f"{n.name}: {n.message}"
        for n in build.nodes
        if n.resource_type != "test" and n.status == "error"
    ]
    if not build.success:
        summary.rows_added = _rows_by_layer(before, count_rows(settings))
        raise _fail(summary, build.error)
    with _step(summary, "dbt test"):
        tested = dbt_build(settings, target_path, dbt_vars, DATA_TESTS)
        tests = [n for n in tested.nodes if n.resource_type == "test"]
        audit = audit_tests(settings, tests, Audit())
    if not tested.nodes and tested.error:  # dbt itself failed (no test ran)
        audit.blocking.append(tested.error)
    if not audit.blocking:
        with _step(summary, "quality"):
            # a rebuild with nothing landed checks every partition
            audit = audit_quality(settings, list(pending) or None, audit)
    summary.tests_passed, summary.tests_failed = audit.passed, audit.failed
    summary.rows_added = _rows_by_layer(before, count_rows(settings))
    if audit.blocking:
        summary.tests_failed += [line for line in audit.blocking if line not in audit.failed]
        raise _fail(summary, tested.error)
    held = audit.reasons()
    summary.held = [f"{s}/{i}: {why}" for (s, i), why in held.items()]

    targets, outside = backtest_targets(pending, backtest_intervals, held)
    summary.unlisted = [f"{s}/{i}" for s, i in outside]
    summary.status = "partial" if held else "published"
    with _step(summary, "publish"):
        summary.published_snapshot = publish_state(
            settings, summary.flow_run, "data", summary.to_dict(), held
        )
    return _results(settings, summary, targets, held)


def backtest_targets(
    series: Sequence[tuple[str, str]],
    intervals: Sequence[str],
    held: Mapping[tuple[str, str], str],
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The ``series`` to backtest (of ``intervals``, not held back, listed by the universe:
    :func:`hermes.universe.lists`), and those the universe does not list (named in the run's
    summary; their rows stay in the lake)."""
    wanted = [(s, i) for s, i in series if i in intervals and (s, i) not in held]
    outside = universe.unlisted(wanted)
    return [key for key in wanted if key not in outside], outside


def _results(
    settings: Settings,
    summary: RefreshSummary,
    targets: Sequence[tuple[str, str]],
    held: dict[tuple[str, str], str],
) -> RefreshSummary:
    """After the data publication: paper trading, then the results of ``targets``."""
    assert summary.published_snapshot is not None
    with _step(summary, "paper"):  # feed and ledger at the audited data (published by results)
        summary.signals, summary.paper = paper_trading(
            settings, summary.published_snapshot, list(held)
        )
    summary.steps_failed += [
        f"paper: {line.removeprefix('error: ')}"
        for line in summary.paper
        if line.startswith("error: ")
    ]
    if targets:
        _publish_results(settings, summary, targets, held)
    return _finish(settings, summary)


def _publish_results(
    settings: Settings,
    summary: RefreshSummary,
    targets: Sequence[tuple[str, str]],
    held: dict[tuple[str, str], str],
) -> None:
    """Backtests of ``targets`` at the published snapshot (those a killed run recorded are
    reused), statistics, reports, and the results publication (``held`` series kept back)."""
    from hermes.flows.backtests import backtest_partitions

    assert summary.published_snapshot is not None
    with _step(summary, "backtests"):
        runs, unscored = recorded_backtests(settings, summary.published_snapshot, list(targets))
        if not runs:
            runs = unscored = backtest_partitions(settings, targets, summary.published_snapshot)
        summary.runs += runs
    with _step(summary, "statistics"):
        record_statistics(settings, unscored)
    with _step(summary, "reports"):
        summary.reports += write_reports(settings, runs)
    with _step(summary, "publish"):
        summary.published_snapshot = publish_state(
            settings, summary.flow_run, "results", summary.to_dict(), held
        )


def _finish(settings: Settings, summary: RefreshSummary) -> RefreshSummary:
    """The site (when results changed), the run's final summary, the notification; raises
    :class:`RefreshFailed` when the run ends partial (series held back, a step failed)."""
    if summary.runs:
        with _step(summary, "site"):
            summary.site = write_site_index(settings)
    if summary.steps_failed:
        summary.status = "partial"
    finish_state(settings, summary.flow_run, summary.to_dict())
    send_notification(summary)
    if summary.status == "partial":
        raise RefreshFailed(summary)
    return summary


def _rows_by_layer(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    out = dict.fromkeys(LAYERS, 0)
    for table in set(before) | set(after):
        layer = table.split("_", 1)[0]
        out[layer] += after.get(table, 0) - before.get(table, 0)
    return out


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
    symbols: list[str] = list(DEFAULT_SYMBOLS),  # noqa: B006 (Prefect parameters are copied)
    intervals: list[str] = list(DEFAULT_INTERVALS),  # noqa: B006
    lookback_days: int = 3,
    base_url: str | None = None,
    download_retries: int = 3,
    retry_backoff_seconds: float = 10.0,
    backtest_intervals: list[str] = list(BACKTEST_INTERVALS),  # noqa: B006
    dbt_vars: dict[str, Any] | None = None,
) -> RefreshSummary:
    """Refresh the lake with the archives published up to ``day`` (default: yesterday, UTC)."""
    settings = Settings.from_env()
    day = day or datetime.now(UTC).date() - timedelta(days=1)
    summary = RefreshSummary(flow_run=_flow_run_id())
    get_run_logger().info(
        "daily refresh up to %s for %s x %s", day, ",".join(symbols), ",".join(intervals)
    )
    with _step(summary, "download"):
        landed = lake_state(settings).landed
        archives = plan_daily(landed, symbols, intervals, day, lookback_days)
        _record(
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
    symbols: list[str] = list(DEFAULT_SYMBOLS),  # noqa: B006
    intervals: list[str] = list(DEFAULT_INTERVALS),  # noqa: B006
    base_url: str | None = None,
    download_retries: int = 3,
    retry_backoff_seconds: float = 10.0,
    backtest_intervals: list[str] = list(BACKTEST_INTERVALS),  # noqa: B006
    dbt_vars: dict[str, Any] | None = None,
    today: date | None = None,
) -> RefreshSummary:
    """Re-fetch ``start``..``end`` (inclusive) and refresh what changed.

    Archives already landed with the same checksum are skipped (``unchanged``); a monthly
    archive not published yet is replaced by that month's daily archives.
    """
    settings = Settings.from_env()
    public = without_secrets(settings)
    today = today or datetime.now(UTC).date()
    summary = RefreshSummary(flow_run=_flow_run_id())
    monthly, daily = plan_backfill(symbols, intervals, start, end, today)
    get_run_logger().info(
        "backfill %s..%s: %d monthly and %d daily archive(s)", start, end, len(monthly), len(daily)
    )
    with _step(summary, "download"):
        results = _fetch(monthly, public, base_url, download_retries, retry_backoff_seconds)
        for archive, result in zip(monthly, results, strict=True):
            if result.outcome is Outcome.NOT_AVAILABLE:
                daily += dailies_of(archive, start, end)
            else:
                _record(summary, [result])
        _record(summary, _fetch(daily, public, base_url, download_retries, retry_backoff_seconds))
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
    with _step(summary, "ingest"):
        _record(summary, ingest_local(files, without_secrets(settings)))
    return refresh_lake(
        settings, summary, backtest_intervals=backtest_intervals, dbt_vars=dbt_vars, rebuild=rebuild
    )
