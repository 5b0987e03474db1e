"""The daily refresh of the lake as Prefect flows: download, ingest, build, audit, publish.

Three flows share one pipeline (:func:`refresh_lake`):

* :func:`daily_refresh`: the scheduled job (``prefect.yaml``). Downloads the daily archives
  of the last ``lookback_days`` days not landed yet, and last month's monthly archive once
  Binance publishes it (from then on that month's dailies are no longer fetched; silver
  keeps the latest ingest of each candle, so the monthly file's rows win);
* :func:`backfill`: a date range for given symbols/intervals (monthly archives for past
  months, falling back to dailies when a monthly is not published; dailies for this month);
* :func:`bundled_refresh`: the bundled CSV files of ``data/binance-ohlcv`` (``hermes run``).

The pipeline is write-audit-publish: ``dbt build`` (models and data tests) and the Great
Expectations checkpoint on the changed partitions must pass before
:func:`hermes.publish.publish` records the lake snapshot readers see as ``published``. Any
failure stops the run before publishing, names what failed and fails the flow. Backtests of
the changed (symbol, interval) partitions fan out on Dask (:mod:`flows.backtests`), then
reports are written and the results published.

What to fetch and whether anything changed is decided by :mod:`flows.changes` (no dbt,
Great Expectations or vectorbt import): archives the site answers 404 for are reported as
not yet available without a download task, and a refresh with nothing new builds, audits
and publishes nothing. The partitions to rebuild are those landed since the last
publication, so a run after a failed one rebuilds what the failed run landed.

Run them from the ``hermes`` command line (``hermes refresh``, ``hermes backfill``,
``hermes run``, ``hermes serve``) or as the Prefect deployment of ``prefect.yaml``.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run as current_flow_run
from prefect.tasks import exponential_backoff

from flows.changes import (
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
from flows.credentials import with_secrets, without_secrets
from flows.summary import LAYERS, RefreshFailed, RefreshSummary
from hermes.config import Settings
from hermes.dbt_runner import NodeResult
from hermes.ingest import (
    ArchiveName,
    FileResult,
    Outcome,
    RetryPolicy,
    base_url_from_env,
    download_archive,
    ingest_paths,
)
from hermes.lake import connect
from hermes.notify import notify
from hermes.publish import finish_publications, publish

BACKTEST_INTERVALS = ("4h",)


class DownloadFailed(RuntimeError):
    """An archive could not be fetched (network or server error); Prefect retries it."""


# --------------------------------------------------------------------------- tasks
# Every task and flow receives settings without credentials (Prefect records parameters);
# each resolves the S3 keys from the environment where it opens the lake.


@task(name="download-archive", cache_policy=NO_CACHE)
def download(archive: ArchiveName, settings: Settings, base_url: str | None) -> FileResult:
    """Fetch, verify and land one archive. 404 and checksum problems are outcomes, not errors.

    Prefect's task retries are the only retry layer: the download itself tries once.
    """
    result = download_archive(
        archive,
        with_secrets(settings),
        base_url=base_url,
        retry=RetryPolicy(attempts=1, backoff_seconds=0),
    )
    if result.outcome is Outcome.FAILED:
        raise DownloadFailed(result.reason or archive.source_file)
    return result


@task(name="ingest-local-files", cache_policy=NO_CACHE)
def ingest_local(paths: list[str], settings: Settings) -> list[FileResult]:
    logger = get_run_logger()

    def progress(result: FileResult) -> None:
        logger.info("ingest %s: %s", result.source, result.outcome.value)

    return ingest_paths(
        [Path(p) for p in paths], with_secrets(settings), on_result=progress
    ).results


@task(name="count-rows", cache_policy=NO_CACHE)
def count_rows(settings: Settings) -> dict[str, int]:
    """Rows per bronze/silver/gold table of the working state."""
    conn = connect(with_secrets(settings))
    try:
        tables = [
            row[0]
            for row in conn.execute(
                "select table_name from duckdb_tables() "
                "where database_name = 'lake' and schema_name = 'main' order by table_name"
            ).fetchall()
            if row[0].split("_", 1)[0] in LAYERS
        ]
        counts = {}
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'  # a catalog name, quoted
            row = conn.execute(f"select count(*) from lake.main.{quoted}").fetchone()  # noqa: S608
            counts[table] = int(row[0]) if row else 0
        return counts
    finally:
        conn.close()


@dataclass(frozen=True)
class BuildOutcome:
    success: bool
    nodes: list[NodeResult]
    error: str | None


def _log_node(logger: Any, node: NodeResult) -> None:
    ok = node.status in ("success", "pass")
    logger.log(
        20 if ok else 30,
        "dbt %s %s: %s (%.1f s)%s",
        node.resource_type,
        node.name,
        node.status,
        node.execution_time,
        f": {node.message}" if not ok and node.message else "",
    )


@task(name="dbt-build", cache_policy=NO_CACHE)
def dbt_build(settings: Settings, target_path: Path, vars: dict[str, Any] | None) -> BuildOutcome:
    """``dbt build`` (seeds, models, data tests); logs each node as soon as it finishes."""
    from hermes.dbt_runner import run_dbt

    logger = get_run_logger()
    logger.info("dbt build: parsing the project (partial parse kept in %s)", target_path)
    # dbt's own console output is replaced by the per-node lines (its log file keeps all)
    result, nodes = run_dbt(
        ["build", "--quiet", "--no-use-colors"],
        with_secrets(settings),
        target_path=target_path,
        vars=vars,
        raise_on_failure=False,
        on_node=lambda node: _log_node(logger, node),
    )
    error = None if result.exception is None else str(result.exception)
    outcome = BuildOutcome(bool(result.success), nodes, error)
    # dbt-duckdb drops its DuckDB instance without closing it; until it is collected it keeps
    # the lake's catalog attached, and the process's next connection would be refused
    del result
    gc.collect()
    return outcome


@task(name="quality-checkpoint", cache_policy=NO_CACHE)
def quality_checkpoint(
    settings: Settings, partitions: list[tuple[str, str]] | None
) -> tuple[int, list[str]]:
    """The Great Expectations checkpoint on ``partitions`` (None: all); (passed, failures)."""
    from hermes.quality import run_checkpoint

    logger = get_run_logger()
    result = run_checkpoint(
        with_secrets(settings),
        partitions=partitions,
        on_suite=lambda line: logger.info("quality %s", line),
    )
    for warning in result.warnings:
        logger.warning("gx warning: %s", warning.message)
    failures = [f"gx {failure.message}" for failure in result.errors]
    return result.evaluated - len(failures), failures


@task(name="publish", cache_policy=NO_CACHE)
def publish_state(settings: Settings, flow_run: str, stage: str, summary: dict[str, Any]) -> int:
    conn = connect(with_secrets(settings))
    try:
        return publish(conn, flow_run, stage, summary).snapshot_id
    finally:
        conn.close()


@task(name="finish-publications", cache_policy=NO_CACHE)
def finish_state(settings: Settings, flow_run: str, summary: dict[str, Any]) -> None:
    """Every publication row of this run gets the run's final summary (and status)."""
    conn = connect(with_secrets(settings))
    try:
        finish_publications(conn, flow_run, summary)
    finally:
        conn.close()


@task(name="write-reports", cache_policy=NO_CACHE)
def write_reports(settings: Settings, run_ids: list[str]) -> list[str]:
    from hermes.report import write_report

    settings = with_secrets(settings)
    return [str(write_report(settings, run_id)) for run_id in run_ids]


@task(name="record-statistics", cache_policy=NO_CACHE)
def record_statistics(settings: Settings, run_ids: list[str]) -> int:
    """Bootstrap intervals and PSR of each run, next to the runs in the lake."""
    from hermes.stats.lake import record_run_statistics

    return record_run_statistics(with_secrets(settings), run_ids)


@task(name="write-site", cache_policy=NO_CACHE)
def write_site_index(settings: Settings) -> str:
    """The research site's index (and the pages it links that are missing)."""
    from hermes.report.site import write_site

    return str(write_site(with_secrets(settings)).index)


@task(name="paper-trading", cache_policy=NO_CACHE)
def paper_trading(settings: Settings, snapshot: int) -> tuple[list[str], list[str]]:
    """Signal feed, paper ledger and drift as of the published snapshot (hermes.paper).

    Returns (new entries/exits of the feed, one line per ledger and drift result)."""
    from hermes.paper.run import refresh_paper

    try:
        result = refresh_paper(with_secrets(settings), snapshot)
    except ValueError as exc:  # a paper activation or ledger in error: named, ledger untouched
        get_run_logger().error("paper trading: %s", exc)
        return [], [f"error: {exc}"]
    lines = [
        f"ledger of {result.series} series: +{result.ledger_orders} order(s), "
        f"+{result.ledger_bars} bar(s)",
        *(f"waiting: {line}" for line in result.waiting),
        *(f"drift {line}" for line in result.drift),
        *(f"verify {line}" for line in result.verify),
        *result.alerts,
        *(f"feed file: {f}" for f in result.files),
    ]
    return result.decisions, lines


@task(name="notify", cache_policy=NO_CACHE)
def send_notification(summary: RefreshSummary) -> None:
    logger = get_run_logger()
    for line in summary.lines()[1:]:
        logger.info("%s", line)
    notify(summary.headline, summary.to_dict(), success=summary.status != "failed", logger=logger)


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

    Raises :class:`RefreshFailed` (after notifying) when a model, data test or expectation
    fails; nothing is published then.
    """
    settings = without_secrets(settings)
    target_path = settings.lake_root / "target"
    with _step(summary, "plan"):
        state = lake_state(with_secrets(settings))
    pending = state.pending
    summary.partitions = [f"{s}/{i}" for s, i in pending]
    if not pending and not rebuild:
        summary.status = "no-op"
        show_last_publication(state.publication, summary)
        send_notification(summary)
        return summary

    before = count_rows(settings)
    with _step(summary, "dbt build"):
        build = dbt_build(settings, target_path, dbt_vars)
    tests = [n for n in build.nodes if n.resource_type == "test"]
    summary.tests_passed = sum(n.status in ("pass", "warn") for n in tests)
    summary.tests_failed = [
        f"{n.name}: {n.message}" for n in tests if n.status in ("fail", "error")
    ]
    summary.models_failed = [
        f"{n.name}: {n.message}"
        for n in build.nodes
        if n.resource_type != "test" and n.status == "error"
    ]
    if not build.success:
        after = count_rows(settings)
        summary.rows_added = _rows_by_layer(before, after)
        raise _fail(summary, build.error)

    with _step(summary, "quality"):
        # a rebuild with nothing landed checks every partition
        gx_passed, gx_failed = quality_checkpoint(settings, list(pending) or None)
    summary.tests_passed += gx_passed
    summary.tests_failed += gx_failed
    summary.rows_added = _rows_by_layer(before, count_rows(settings))
    if gx_failed:
        raise _fail(summary)

    targets = [(s, i) for s, i in pending if i in backtest_intervals]
    summary.status = "published"
    with _step(summary, "publish"):
        summary.published_snapshot = publish_state(
            settings, summary.flow_run, "data", summary.to_dict()
        )
    with _step(summary, "paper"):  # feed and ledger at the audited data (published by results)
        summary.signals, summary.paper = paper_trading(settings, summary.published_snapshot)
    if targets:
        from flows.backtests import backtest_partitions

        with _step(summary, "backtests"):
            summary.runs = backtest_partitions(settings, targets, summary.published_snapshot)
        with _step(summary, "statistics"):
            record_statistics(settings, summary.runs)
        with _step(summary, "reports"):
            summary.reports = write_reports(settings, summary.runs)
        with _step(summary, "publish"):
            summary.published_snapshot = publish_state(
                settings, summary.flow_run, "results", summary.to_dict()
            )
        with _step(summary, "site"):
            summary.site = write_site_index(settings)
    finish_state(settings, summary.flow_run, summary.to_dict())
    send_notification(summary)
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

    Which archives exist is asked first, concurrently (:func:`flows.changes.probe_archives`):
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
