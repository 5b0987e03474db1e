"""The audit of a refresh, per series: which (symbol, interval) series are held back, and why.

Write-audit-publish runs per partition. The models are built first with no data test
(``dbt build --exclude resource_type:test``: a failing test inside ``dbt build`` would skip
every model downstream of it, for the healthy series too), then ``dbt test`` runs every data
test and the Great Expectations checkpoint checks the changed partitions. Each failure is
attributed to series:

* a failing dbt data test is re-queried on the working lake (read only): its compiled SQL
  selects the failing rows, and when those rows carry ``symbol`` and ``interval`` the series
  they name are held back with the test's name and message. A test whose rows name no series
  (a registry test, a ``not_null`` of one column) or that errors stays global: it fails the
  run and nothing is published, as before;
* a failing expectation names the partitions it failed on
  (:attr:`hermes.quality.ExpectationFailure.series`); one that names none is global.

Only :func:`hermes.flows.refresh.refresh_lake` calls this; :mod:`hermes.publish`
records the held series so that readers keep seeing their last published state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from hermes.config import Settings
from hermes.dbt_runner import NodeResult
from hermes.flows.credentials import with_secrets
from hermes.lake import connect

Series = tuple[str, str]

FAILED = ("fail", "error", "runtime error")


@dataclass
class Audit:
    """What the audit found: tests passed, failure lines, series held back, global failures."""

    passed: int = 0
    failed: list[str] = field(default_factory=list)
    held: dict[Series, list[str]] = field(default_factory=dict)
    blocking: list[str] = field(default_factory=list)

    def hold(self, series: Series, reason: str) -> None:
        reasons = self.held.setdefault(series, [])
        if reason not in reasons:
            reasons.append(reason)

    def reasons(self) -> dict[Series, str]:
        """(symbol, interval) -> one line of every reason it is held back."""
        return {key: "; ".join(lines) for key, lines in sorted(self.held.items())}


def failing_series(conn: duckdb.DuckDBPyConnection, compiled_sql: str) -> list[Series] | None:
    """The (symbol, interval) series of a failing test's rows; None when they name none.

    The test's compiled SQL is dbt's own (it selects the failing rows); it is run as a
    subquery on a read-only connection, so it cannot write.
    """
    sql = compiled_sql.strip().rstrip(";")
    if not sql:
        return None
    try:
        rows = conn.execute(
            f"select distinct symbol, interval from ({sql}) as failing "  # noqa: S608
            "order by symbol, interval"
        ).fetchall()
    except duckdb.Error:  # no symbol/interval column, or the test raises by design
        return None
    return [(str(s), str(i)) for s, i in rows] or None


def attribute_tests(settings: Settings, tests: list[NodeResult], audit: Audit) -> None:
    """Count the data tests and attribute each failing one to its series (or keep it global)."""
    audit.passed += sum(n.status in ("pass", "warn") for n in tests)
    failing = [n for n in tests if n.status in FAILED]
    if not failing:
        return
    conn = connect(settings, read_only=True)
    try:
        for node in failing:
            line = f"{node.name}: {node.message}"
            audit.failed.append(line)
            series = failing_series(conn, node.compiled_code) if node.status == "fail" else None
            if series is None:
                audit.blocking.append(line)
                continue
            for key in series:
                audit.hold(key, f"dbt test {node.name}")
    finally:
        conn.close()


@task(name="audit-data-tests", cache_policy=NO_CACHE)
def audit_tests(settings: Settings, tests: list[NodeResult], audit: Audit) -> Audit:
    """:func:`attribute_tests` as a task (the lake is opened with credentials here)."""
    attribute_tests(with_secrets(settings), tests, audit)
    return audit


@task(name="quality-checkpoint", cache_policy=NO_CACHE)
def audit_quality(settings: Settings, partitions: list[Series] | None, audit: Audit) -> Audit:
    """The Great Expectations checkpoint on ``partitions`` (None: all), attributed to series."""
    from hermes.quality import run_checkpoint

    logger = get_run_logger()
    result = run_checkpoint(
        with_secrets(settings),
        partitions=partitions,
        on_suite=lambda line: logger.info("quality %s", line),
    )
    for warning in result.warnings:
        logger.warning("gx warning: %s", warning.message)
    audit.passed += result.evaluated - len(result.errors)
    for failure in result.errors:
        audit.failed.append(f"gx {failure.message}")
        if not failure.series:
            audit.blocking.append(f"gx {failure.message}")
        for key in failure.series:
            audit.hold(key, f"gx {failure.suite}: {failure.description}")
    return audit
