"""The steps of the refresh as Prefect tasks: download, ingest, count, build, audit, publish,
paper trading, statistics, reports, notification (:mod:`hermes.flows.daily_refresh` chains them).
Statistics and reports are subflows whose work fans out on Dask (:mod:`hermes.flows.scale_out`).

Every task receives settings without credentials (Prefect records parameters); each resolves
the S3 keys from the environment where it opens the lake.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from hermes.config import Settings
from hermes.dbt_runner import NodeResult
from hermes.flows.credentials import with_secrets
from hermes.flows.summary import LAYERS, RefreshSummary
from hermes.ingest import (
    ArchiveName,
    FileResult,
    Outcome,
    RetryPolicy,
    download_archive,
    ingest_paths,
)
from hermes.lake import connect
from hermes.notify import notify
from hermes.publish import finish_publications, publish

if TYPE_CHECKING:
    from dbt.contracts.graph.manifest import Manifest


class DownloadFailed(RuntimeError):
    """An archive could not be fetched (network or server error); Prefect retries it."""


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
    with connect(with_secrets(settings)) as conn:
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


@task(name="dbt-parse", cache_policy=NO_CACHE)
def dbt_parse(
    settings: Settings, target_path: Path, vars: dict[str, Any] | None
) -> Manifest | None:
    """The project parsed once for the run's dbt commands (partially when the parse saved in
    ``target_path`` still holds); None when it does not parse (the build then parses it
    again and reports why). Pass it on to :func:`dbt_build` as ``quote(manifest)``: Prefect
    then does not walk its thousands of objects looking for upstream results."""
    from hermes.dbt_runner import DbtError, parse_project

    logger = get_run_logger()
    logger.info("dbt: parsing the project (partial parse kept in %s)", target_path)
    try:
        manifest = parse_project(with_secrets(settings), target_path=target_path, vars=vars)
    except DbtError as exc:
        logger.warning("%s", exc)
        return None
    return manifest


@task(name="dbt-build", cache_policy=NO_CACHE)
def dbt_build(
    settings: Settings,
    target_path: Path,
    vars: dict[str, Any] | None,
    args: tuple[str, ...] = ("build",),
    manifest: Manifest | None = None,
) -> BuildOutcome:
    """``dbt build`` (seeds, models, data tests), or ``dbt <args>``; logs each node as soon as
    it finishes. ``manifest``: the project as :func:`dbt_parse` parsed it with ``vars``."""
    from hermes.dbt_runner import run_dbt

    logger = get_run_logger()
    if manifest is None:
        logger.info("dbt %s: parsing the project (partial parse kept in %s)", args[0], target_path)
    # dbt's own console output is replaced by the per-node lines (its log file keeps all)
    result, nodes = run_dbt(
        [*args, "--quiet", "--no-use-colors"],
        with_secrets(settings),
        target_path=target_path,
        vars=vars,
        raise_on_failure=False,
        on_node=lambda node: _log_node(logger, node),
        manifest=manifest,
    )
    error = None if result.exception is None else str(result.exception)
    outcome = BuildOutcome(bool(result.success), nodes, error)
    # dbt-duckdb drops its DuckDB instance without closing it; until it is collected it keeps
    # the lake's catalog attached, and the process's next connection would be refused
    del result
    gc.collect()
    return outcome


@task(name="publish", cache_policy=NO_CACHE)
def publish_state(
    settings: Settings,
    flow_run: str,
    stage: str,
    summary: dict[str, Any],
    held: dict[tuple[str, str], str] | None = None,
) -> int:
    """Publish the lake's current snapshot; ``held`` series keep their last published state."""
    with connect(with_secrets(settings)) as conn:
        return publish(conn, flow_run, stage, summary, held).snapshot_id


@task(name="finish-publications", cache_policy=NO_CACHE)
def finish_state(settings: Settings, flow_run: str, summary: dict[str, Any]) -> None:
    """Every publication row of this run gets the run's final summary (and status)."""
    with connect(with_secrets(settings)) as conn:
        finish_publications(conn, flow_run, summary)


@task(name="recorded-backtests", cache_policy=NO_CACHE)
def recorded_backtests(
    settings: Settings, snapshot: int, targets: list[tuple[str, str]]
) -> tuple[list[str], list[str]]:
    """Backtests a killed run recorded at ``snapshot`` (reused), and those without statistics."""
    from hermes.flows.resume import recorded_runs

    with connect(with_secrets(settings), read_only=True) as conn:
        return recorded_runs(conn, snapshot, targets)


def write_reports(settings: Settings, run_ids: list[str]) -> list[str]:
    """The tearsheets of the runs (:mod:`hermes.flows.pages`: on Dask when a scheduler is
    named, else here)."""
    from hermes.flows.pages import write_pages

    return write_pages(settings, run_ids)


def record_statistics(settings: Settings, run_ids: list[str]) -> int:
    """Bootstrap intervals and PSR of each run, next to the runs in the lake
    (:mod:`hermes.flows.statistics`: on Dask when a scheduler is named, else here)."""
    from hermes.flows.statistics import score_runs

    return score_runs(settings, run_ids)


@task(name="write-site", cache_policy=NO_CACHE)
def write_site_index(settings: Settings) -> str:
    """The research site's index (and the pages it links that are missing)."""
    from hermes.report.site import write_site

    return str(write_site(with_secrets(settings)).index)


@task(name="paper-trading", cache_policy=NO_CACHE)
def paper_trading(
    settings: Settings, snapshot: int, skip: list[tuple[str, str]] | None = None
) -> tuple[list[str], list[str]]:
    """Signal feed, paper ledger and drift as of the published snapshot (hermes.paper);
    ``skip``: series held back by the audit (their feed rows and ledgers stay as they were).

    Returns (new entries/exits of the feed, one line per ledger and drift result; a ledger in
    error is an ``error: `` line, the others carry on)."""
    from hermes.paper.run import refresh_paper

    try:
        result = refresh_paper(with_secrets(settings), snapshot, skip=set(skip or ()))
    except ValueError as exc:  # a paper activation or ledger in error: named, ledger untouched
        get_run_logger().error("paper trading: %s", exc)
        return [], [f"error: {exc}"]
    for error in result.errors:
        get_run_logger().error("paper trading: %s", error)
    lines = [
        *(f"error: {error}" for error in result.errors),
        f"feed: {result.feed_computed} of {result.feed_rows} row(s) recomputed",
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
    success = summary.status in ("published", "no-op")
    notify(summary.headline, summary.to_dict(), success=success, logger=logger)
