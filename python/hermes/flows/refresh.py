"""The write-audit-publish pipeline the three refresh flows share (:func:`refresh_lake`).

After the flow has landed its files (:mod:`hermes.flows.daily_refresh`): ``dbt build`` of the
models, then ``dbt test`` and the Great Expectations checkpoint on the changed partitions
(:mod:`hermes.flows.audit`); a series whose rows fail is held back, named with the reason,
and every other series is published (:func:`hermes.publish.publish`); backtests of the
changed healthy partitions of the universe (:func:`backtest_targets`), their statistics,
reports, paper trading and the site follow. A run with series held back or a step failed
after publishing ends ``partial``: it notifies and exits non-zero.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from prefect.utilities.annotations import quote

from hermes import universe
from hermes.config import Settings
from hermes.flows.audit import Audit, audit_quality, audit_tests
from hermes.flows.changes import lake_state, show_last_publication
from hermes.flows.credentials import with_secrets, without_secrets
from hermes.flows.resume import stranded_targets
from hermes.flows.steps import (
    count_rows,
    dbt_build,
    dbt_parse,
    finish_state,
    paper_trading,
    publish_state,
    record_statistics,
    recorded_backtests,
    send_notification,
    write_reports,
    write_site_index,
)
from hermes.flows.summary import LAYERS, RefreshFailed, RefreshSummary
from hermes.ingest import FileResult, Outcome

BACKTEST_INTERVALS = ("4h",)
MODELS_ONLY = ("--exclude", "resource_type:test", "resource_type:unit_test")
"""``dbt build`` without data tests (they run after every model, ``dbt test``) and without
dbt's unit tests of the strategy rules: those check the SQL, not the data, and run in CI."""
DATA_TESTS = ("test", "--exclude", "resource_type:unit_test")


# Every task and flow receives settings without credentials (Prefect records parameters);
# each resolves the S3 keys from the environment where it opens the lake (flows.steps).


# ------------------------------------------------------------------------ pipeline


@contextmanager
def timed_step(summary: RefreshSummary, name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        summary.step_seconds[name] = round(
            summary.step_seconds.get(name, 0.0) + time.perf_counter() - started, 3
        )


def record_results(summary: RefreshSummary, results: Sequence[FileResult]) -> None:
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
    with timed_step(summary, "plan"):
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
    with timed_step(summary, "dbt build"):  # models first: a failing test skips no healthy model
        # parsed once for both dbt commands (quoted: Prefect does not walk the manifest)
        manifest: Any = quote(dbt_parse(settings, target_path, dbt_vars))
        build = dbt_build(settings, target_path, dbt_vars, ("build", *MODELS_ONLY), manifest)
    summary.models_failed = [
        f"{n.name}: {n.message}"
        for n in build.nodes
        if n.resource_type != "test" and n.status == "error"
    ]
    if not build.success:
        summary.rows_added = _rows_by_layer(before, count_rows(settings))
        raise _fail(summary, build.error)
    with timed_step(summary, "dbt test"):
        tested = dbt_build(settings, target_path, dbt_vars, DATA_TESTS, manifest)
        tests = [n for n in tested.nodes if n.resource_type == "test"]
        audit = audit_tests(settings, tests, Audit())
    if not tested.nodes and tested.error:  # dbt itself failed (no test ran)
        audit.blocking.append(tested.error)
    if not audit.blocking:
        with timed_step(summary, "quality"):
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
    with timed_step(summary, "publish"):
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
    with timed_step(summary, "paper"):  # feed and ledger at the audited data (published by results)
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
    with timed_step(summary, "backtests"):
        runs, unscored = recorded_backtests(settings, summary.published_snapshot, list(targets))
        if not runs:
            runs = unscored = backtest_partitions(settings, targets, summary.published_snapshot)
        summary.runs += runs
    with timed_step(summary, "statistics"):
        record_statistics(settings, unscored)
    with timed_step(summary, "reports"):
        summary.reports += write_reports(settings, runs)
    with timed_step(summary, "publish"):
        summary.published_snapshot = publish_state(
            settings, summary.flow_run, "results", summary.to_dict(), held
        )


def _finish(settings: Settings, summary: RefreshSummary) -> RefreshSummary:
    """The site (when results changed), the run's final summary, the notification; raises
    :class:`RefreshFailed` when the run ends partial (series held back, a step failed)."""
    if summary.runs:
        with timed_step(summary, "site"):
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
