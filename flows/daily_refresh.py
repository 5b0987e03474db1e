"""The daily refresh of the lake as Prefect flows: download, ingest, build, audit, publish.

Three flows share one pipeline (:func:`refresh_lake`):

* :func:`daily_refresh`: the scheduled job. Downloads the daily archives of the last
  ``lookback_days`` days not landed yet, and last month's monthly archive once Binance
  publishes it (from then on that month's dailies are no longer fetched; silver keeps the
  latest ingest of each candle, so the monthly file's rows win);
* :func:`backfill`: a date range for given symbols/intervals (monthly archives for past
  months, falling back to dailies when a monthly is not published; dailies for this month);
* :func:`bundled_refresh`: the bundled CSV files of ``data/binance-ohlcv`` (``hermes run``).

The pipeline is write-audit-publish: ``dbt build`` (models and data tests) and the Great
Expectations checkpoint must pass before :func:`hermes.publish.publish` records the lake
snapshot readers see as ``published``. Any failure stops the run before publishing, names
what failed and fails the flow. Backtests of the changed (symbol, interval) partitions fan
out on Dask (:mod:`flows.backtests`), then reports are written and the results published.

A refresh with nothing new (same day twice) ingests nothing, builds nothing and publishes
nothing: the partitions to rebuild are those landed since the last publication, so a run
after a failed one rebuilds what the failed run landed.

Run it: ``python -m flows.daily_refresh`` (yesterday's data, no server needed),
``python -m flows.daily_refresh backfill --start 2024-01-01 --end 2024-03-31``,
``python -m flows.daily_refresh serve`` (the daily schedule, and the backfill on demand).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, serve, task
from prefect.cache_policies import NO_CACHE
from prefect.deployments.runner import RunnerDeployment
from prefect.runtime import flow_run as current_flow_run
from prefect.tasks import exponential_backoff

from flows.summary import LAYERS, RefreshFailed, RefreshSummary
from hermes.config import PROJECT_ROOT, Settings
from hermes.dbt_runner import NodeResult, run_dbt
from hermes.ingest import (
    ArchiveName,
    FileResult,
    Outcome,
    RetryPolicy,
    archives_between,
    download_archive,
    ingest_paths,
)
from hermes.lake import connect
from hermes.notify import notify
from hermes.publish import latest_publication, pending_since_publication, publish

DEFAULT_SYMBOLS = ("BTCUSDT", "ETHUSDT")
DEFAULT_INTERVALS = ("4h", "1d")
BACKTEST_INTERVALS = ("4h",)
DEFAULT_CRON = "0 3 * * *"
"""03:00 UTC: Binance publishes the previous day's archives in the first hours of the day."""
BUNDLED_DATA = PROJECT_ROOT / "data" / "binance-ohlcv"


class DownloadFailed(RuntimeError):
    """An archive could not be fetched (network or server error); Prefect retries it."""


# --------------------------------------------------------------------------- tasks


@task(name="download-archive", cache_policy=NO_CACHE)
def download(archive: ArchiveName, settings: Settings, base_url: str | None) -> FileResult:
    """Fetch, verify and land one archive. 404 and checksum problems are outcomes, not errors."""
    result = download_archive(
        archive, settings, base_url=base_url, retry=RetryPolicy(attempts=1, backoff_seconds=0)
    )
    if result.outcome is Outcome.FAILED:
        raise DownloadFailed(result.reason or archive.source_file)
    return result


@task(name="ingest-local-files", cache_policy=NO_CACHE)
def ingest_local(paths: list[str], settings: Settings) -> list[FileResult]:
    return ingest_paths([Path(p) for p in paths], settings).results


@task(name="count-rows", cache_policy=NO_CACHE)
def count_rows(settings: Settings) -> dict[str, int]:
    """Rows per bronze/silver/gold table of the working state."""
    conn = connect(settings)
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


@task(name="pending-partitions", cache_policy=NO_CACHE)
def pending_partitions(settings: Settings) -> list[tuple[str, str]]:
    conn = connect(settings)
    try:
        return pending_since_publication(conn)
    finally:
        conn.close()


@dataclass(frozen=True)
class BuildOutcome:
    success: bool
    nodes: list[NodeResult]
    error: str | None


@task(name="dbt-build", cache_policy=NO_CACHE)
def dbt_build(settings: Settings, target_path: Path, vars: dict[str, Any] | None) -> BuildOutcome:
    """``dbt build`` (seeds, models, data tests); logs each node's result."""
    logger = get_run_logger()
    # dbt's own console output is replaced by the per-node lines below (its log file keeps all)
    result, nodes = run_dbt(
        ["build", "--quiet", "--no-use-colors"],
        settings,
        target_path=target_path,
        vars=vars,
        raise_on_failure=False,
    )
    for node in nodes:
        level = 20 if node.status in ("success", "pass") else 30
        logger.log(
            level,
            "dbt %s %s: %s (%.1f s)%s",
            node.resource_type,
            node.name,
            node.status,
            node.execution_time,
            f": {node.message}" if node.status not in ("success", "pass") and node.message else "",
        )
    error = None if result.exception is None else str(result.exception)
    outcome = BuildOutcome(bool(result.success), nodes, error)
    # dbt-duckdb drops its DuckDB instance without closing it; until it is collected it keeps
    # the lake's catalog attached, and the process's next connection would be refused
    del result
    gc.collect()
    return outcome


@task(name="quality-checkpoint", cache_policy=NO_CACHE)
def quality_checkpoint(settings: Settings) -> tuple[int, list[str]]:
    """Run the Great Expectations checkpoint; returns (expectations passed, failures)."""
    from hermes.quality import run_checkpoint

    logger = get_run_logger()
    result = run_checkpoint(settings)
    for warning in result.warnings:
        logger.warning("gx warning: %s", warning.message)
    failures = [f"gx {failure.message}" for failure in result.errors]
    return result.evaluated - len(failures), failures


@task(name="publish", cache_policy=NO_CACHE)
def publish_state(settings: Settings, flow_run: str, stage: str, summary: dict[str, Any]) -> int:
    conn = connect(settings)
    try:
        return publish(conn, flow_run, stage, summary).snapshot_id
    finally:
        conn.close()


@task(name="write-reports", cache_policy=NO_CACHE)
def write_reports(settings: Settings, run_ids: list[str]) -> list[str]:
    from hermes.report import write_report

    return [str(write_report(settings, run_id)) for run_id in run_ids]


@task(name="record-statistics", cache_policy=NO_CACHE)
def record_statistics(settings: Settings, run_ids: list[str]) -> int:
    """Bootstrap intervals and PSR of each run, next to the runs in the lake."""
    from hermes.stats.lake import record_run_statistics

    return record_run_statistics(settings, run_ids)


@task(name="write-site", cache_policy=NO_CACHE)
def write_site_index(settings: Settings) -> str:
    """The research site's index (and the pages it links that are missing)."""
    from hermes.report.site import write_site

    return str(write_site(settings).index)


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
    target_path = settings.lake_root / "target"
    with _step(summary, "plan"):
        pending = pending_partitions(settings)
    summary.partitions = [f"{s}/{i}" for s, i in pending]
    if not pending and not rebuild:
        summary.status = "no-op"
        _reports_of_last_publication(settings, summary)
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
        gx_passed, gx_failed = quality_checkpoint(settings)
    summary.tests_passed += gx_passed
    summary.tests_failed += gx_failed
    summary.rows_added = _rows_by_layer(before, count_rows(settings))
    if gx_failed:
        raise _fail(summary)

    with _step(summary, "publish"):
        summary.published_snapshot = publish_state(
            settings, summary.flow_run, "data", summary.to_dict()
        )

    from flows.backtests import backtest_partitions

    targets = [(s, i) for s, i in pending if i in backtest_intervals]
    if rebuild and not pending:
        targets = []
    if targets:
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
    summary.status = "published"
    send_notification(summary)
    return summary


def _rows_by_layer(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    out = dict.fromkeys(LAYERS, 0)
    for table in set(before) | set(after):
        layer = table.split("_", 1)[0]
        out[layer] += after.get(table, 0) - before.get(table, 0)
    return out


def _reports_of_last_publication(settings: Settings, summary: RefreshSummary) -> None:
    conn = connect(settings)
    try:
        publication = latest_publication(conn)
    finally:
        conn.close()
    if publication is not None:
        summary.published_snapshot = publication.snapshot_id
        summary.reports = [r for r in publication.summary.get("reports", []) if Path(r).exists()]


def _fetch(
    archives: Sequence[ArchiveName],
    settings: Settings,
    base_url: str | None,
    retries: int,
    backoff_seconds: float,
) -> list[FileResult]:
    """Download archives one by one (the lake takes one writer), each retried with backoff.

    An archive still unreachable after the retries is reported as not yet available.
    """
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
        state = fetch(archive, settings, base_url, return_state=True)
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


def plan_daily(
    settings: Settings,
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
    conn = connect(settings)
    try:
        from hermes.ingest.manifest import load_manifest

        landed = set(load_manifest(conn))
    finally:
        conn.close()
    last_month = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
    monthly = archives_between(list(symbols), list(intervals), last_month, last_month, "monthly")
    daily = archives_between(
        list(symbols), list(intervals), day - timedelta(days=lookback_days - 1), day, "daily"
    )
    covered = {(a.symbol, a.interval, a.start) for a in monthly if a.source_file in landed}
    wanted = [a for a in monthly if a.source_file not in landed] + [
        a
        for a in daily
        if a.source_file not in landed
        and (a.symbol, a.interval, a.start.replace(day=1)) not in covered
    ]
    return wanted


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


def _dailies_of(archive: ArchiveName, start: date, end: date) -> list[ArchiveName]:
    first, last = max(start, archive.start), min(end, archive.end - timedelta(days=1))
    if last < first:
        return []
    return archives_between([archive.symbol], [archive.interval], first, last, "daily")


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
        archives = plan_daily(settings, symbols, intervals, day, lookback_days)
        _record(
            summary, _fetch(archives, settings, base_url, download_retries, retry_backoff_seconds)
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
    today = today or datetime.now(UTC).date()
    summary = RefreshSummary(flow_run=_flow_run_id())
    monthly, daily = plan_backfill(symbols, intervals, start, end, today)
    get_run_logger().info(
        "backfill %s..%s: %d monthly and %d daily archive(s)", start, end, len(monthly), len(daily)
    )
    with _step(summary, "download"):
        results = _fetch(monthly, settings, base_url, download_retries, retry_backoff_seconds)
        for archive, result in zip(monthly, results, strict=True):
            if result.outcome is Outcome.NOT_AVAILABLE:
                daily += _dailies_of(archive, start, end)
            else:
                _record(summary, [result])
        _record(summary, _fetch(daily, settings, base_url, download_retries, retry_backoff_seconds))
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
    files = paths or [str(p) for p in sorted(BUNDLED_DATA.glob("*.csv.gz"))]
    with _step(summary, "ingest"):
        _record(summary, ingest_local(files, settings))
    return refresh_lake(
        settings, summary, backtest_intervals=backtest_intervals, dbt_vars=dbt_vars, rebuild=rebuild
    )


def time_daily_refresh(
    day: date, base_url: str, symbols: Sequence[str], intervals: Sequence[str], **options: Any
) -> tuple[float, RefreshSummary]:
    """Run :func:`daily_refresh` once; returns (wall seconds, summary with per-step seconds).

    For the benchmark: the lake is whatever ``HERMES_LAKE_ROOT`` points at. The first flow of
    a process also starts Prefect's temporary API (~10 s); run one refresh before timing.
    """
    started = time.perf_counter()
    summary = daily_refresh(
        day=day, symbols=list(symbols), intervals=list(intervals), base_url=base_url, **options
    )
    return time.perf_counter() - started, summary


# ---------------------------------------------------------------------------- main


def run_bundled(rebuild: bool = False) -> int:
    """``hermes run``: the whole job on the bundled data, then where to look; exit code."""
    from rich.console import Console

    console = Console(soft_wrap=True)
    try:
        summary = bundled_refresh(rebuild=rebuild)
    except RefreshFailed as exc:
        console.print("\n".join(exc.summary.lines()), style="red", markup=False, highlight=False)
        return 1
    console.print("\n".join(summary.lines()), markup=False, highlight=False)
    if summary.reports:
        console.print(f"Reports ({len(summary.reports)}):", style="bold")
        for report in summary.reports:
            console.print(f"  file://{report}", markup=False, highlight=False)
    if summary.site:
        console.print(f"Research site: file://{summary.site}", markup=False, highlight=False)
    example = "select run_id, symbol, total_return, trades from published.gold_backtest_runs"
    console.print(f"Lake: {Settings.from_env().lake_root}", markup=False, highlight=False)
    console.print(f'Query it: hermes sql "{example}"', markup=False, highlight=False)
    return 0


def _dates(text: str) -> date:
    return date.fromisoformat(text)


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.daily_refresh", description=__doc__)
    parser.add_argument("command", nargs="?", default="run", choices=("run", "serve", "backfill"))
    parser.add_argument("--day", type=_dates, help="last day to fetch (default: yesterday UTC)")
    parser.add_argument("--start", type=_dates, help="backfill: first day")
    parser.add_argument("--end", type=_dates, help="backfill: last day")
    parser.add_argument("--symbols", type=_names, default=list(DEFAULT_SYMBOLS))
    parser.add_argument("--intervals", type=_names, default=list(DEFAULT_INTERVALS))
    parser.add_argument("--cron", default=DEFAULT_CRON, help="serve: schedule (UTC)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        daily = daily_refresh.to_deployment(
            name="hermes-daily",
            cron=args.cron,
            parameters={"symbols": args.symbols, "intervals": args.intervals},
            tags=["hermes"],
        )
        on_demand = backfill.to_deployment(name="hermes-backfill", tags=["hermes"])
        # called outside an event loop, to_deployment returns the deployment itself
        assert isinstance(daily, RunnerDeployment) and isinstance(on_demand, RunnerDeployment)
        serve(daily, on_demand)
        return 0
    run: Callable[[], RefreshSummary]
    if args.command == "backfill":
        if not (args.start and args.end):
            parser.error("backfill needs --start and --end")
        run = lambda: backfill(  # noqa: E731
            start=args.start, end=args.end, symbols=args.symbols, intervals=args.intervals
        )
    else:
        run = lambda: daily_refresh(  # noqa: E731
            day=args.day, symbols=args.symbols, intervals=args.intervals
        )
    try:
        summary = run()
    except RefreshFailed as exc:
        print("\n".join(exc.summary.lines()))
        return 1
    print("\n".join(summary.lines()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
