"""Run the expectation suites against the lake as one GX checkpoint per checked frame.

:func:`run_checkpoint` computes each suite's frame in DuckDB (:mod:`hermes.quality.frames`:
per-partition aggregates, never whole tables), validates it with its suite, writes GX Data
Docs (HTML) under ``<lake>/quality/data_docs/`` and returns a :class:`QualityResult`;
``result.raise_for_failures()`` raises :class:`QualityError` when a critical expectation
failed. Each failure names every (symbol, interval) series whose rows broke it
(``ExpectationFailure.series``): the daily flow holds those series back and publishes the
others; a failure naming no series (a missing table, an empty frame) stops the run before it
publishes. ``partitions`` limits the checks to the (symbol, interval) series a run changed;
``on_suite`` hears of each suite as it is done.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

from hermes.config import Settings
from hermes.intervals import interval_table
from hermes.lake import connect, table_exists
from hermes.quality import frames
from hermes.quality.results import ExpectationFailure, QualityResult
from hermes.quality.suites import (
    CRITICAL,
    KEY,
    Rule,
    SuiteSettings,
    gold_features_rules,
    gold_partitions_suite,
    rules_suite,
    silver_freshness_suite,
    silver_klines_rules,
    silver_partitions_suite,
)

TABLES = ("silver_klines", "gold_features")
"""Lake tables the checkpoint can check, each with its own suites."""

DATA_DOCS_SITE = "hermes"
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class _Check:
    """One frame of the lake and the suite that validates it.

    Row-level suites give ``rows_sql`` and ``rules`` (the frame is their per-partition
    violation counts); partition-level suites give ``read``.
    """

    suite: gx.ExpectationSuite
    index_columns: list[str]
    read: Callable[[duckdb.DuckDBPyConnection], pd.DataFrame] | None = None
    rows_sql: str | None = None
    rules: tuple[Rule, ...] = ()
    skipped: tuple[ExpectationFailure, ...] = ()
    """Rules that cannot be checked on this table (a column of the wrong type)."""
    needs: tuple[str, ...] = ()
    """Other lake tables the frame is read from."""


def run_checkpoint(
    settings: Settings | None = None,
    *,
    tables: Sequence[str] = TABLES,
    as_of: datetime | None = None,
    max_lag: timedelta = timedelta(hours=48),
    docs_dir: Path | None = None,
    partitions: Sequence[tuple[str, str]] | None = None,
    on_suite: Callable[[str], None] | None = None,
) -> QualityResult:
    """Validate ``tables`` of the lake and write Data Docs; never raises on failed data.

    ``as_of`` (naive UTC) is the instant freshness is measured against; by default the
    latest candle close in the lake. ``partitions`` ((symbol, interval) pairs) limits every
    suite to those series (None: all). A requested table that does not exist is a critical
    failure. ``on_suite`` is called with a one-line outcome of each suite as it finishes.
    """
    settings = settings or Settings.from_env()
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise ValueError(f"no quality suite for table(s) {unknown}; known: {list(TABLES)}")
    docs_dir = docs_dir or settings.lake_root / "quality" / "data_docs"
    suite_settings = SuiteSettings(intervals=tuple(interval_table()), max_lag=max_lag)
    context = _context(docs_dir)
    failures: list[ExpectationFailure] = []
    evaluated = 0
    suites: list[str] = []
    statistics: dict[str, int] = {}
    with connect(settings) as conn:
        frames.register_intervals(conn)
        frames.register_delistings(conn)
        frames.limit_memory(conn, str(settings.spill_path))
        frames.scope_tables(conn, partitions)
        for table in tables:
            if not table_exists(conn, table):
                failures.append(
                    ExpectationFailure(table, f"table {table} does not exist in the lake", CRITICAL)
                )
                continue
            for check in _checks(conn, table, suite_settings, as_of):
                missing = [t for t in check.needs if not table_exists(conn, t)]
                if missing:
                    failures += [
                        ExpectationFailure(
                            check.suite.name, f"table {t} does not exist in the lake", CRITICAL
                        )
                        for t in missing
                    ]
                    continue
                started = time.perf_counter()
                checked, outcome = _run_check(conn, context, check)
                statistics[check.suite.name] = checked
                suites.append(check.suite.name)
                evaluated += len(outcome)
                failed = [f for f in outcome if f is not None]
                failures += failed
                if on_suite is not None:
                    on_suite(
                        f"{check.suite.name}: {len(outcome) - len(failed)} of {len(outcome)} "
                        f"expectations met on {checked} rows "
                        f"({time.perf_counter() - started:.1f} s)"
                    )
    context.build_data_docs(site_names=[DATA_DOCS_SITE])
    index = docs_dir / "index.html"
    return QualityResult(
        suites=tuple(suites),
        evaluated=evaluated,
        failures=tuple(failures),
        data_docs=index if index.exists() else None,
        statistics=statistics,
    )


def _checks(
    conn: duckdb.DuckDBPyConnection, table: str, settings: SuiteSettings, as_of: datetime | None
) -> list[_Check]:
    if table == "silver_klines":
        return [
            _rule_check(
                conn, "silver_klines", frames.SILVER_KLINES_ROWS, silver_klines_rules(settings)
            ),
            _Check(
                silver_partitions_suite(settings),
                ["partition"],
                read=frames.silver_partitions_frame,
                needs=("silver_kline_gaps",),
            ),
            _Check(
                silver_freshness_suite(settings),
                ["partition"],
                read=lambda c: frames.freshness_frame(c, as_of),
            ),
        ]
    columns = [row[0] for row in conn.execute("describe gold_features").fetchall()]
    return [
        _gold_rule_check(conn, gold_features_rules(settings, columns)),
        _Check(
            gold_partitions_suite(settings),
            ["partition"],
            read=frames.gold_partitions_frame,
            needs=("silver_klines",),
        ),
    ]


def _gold_rule_check(conn: duckdb.DuckDBPyConnection, rules: list[Rule]) -> _Check:
    """Gold's row rules, reading only the columns they name."""
    check = _rule_check(conn, "gold_features", "", rules)
    columns = [c for rule in check.rules for c in rule.columns if c != "bar_index"]
    return replace(check, rows_sql=frames.gold_features_rows(columns))


NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


def _rule_check(
    conn: duckdb.DuckDBPyConnection, table: str, rows_sql: str, rules: list[Rule]
) -> _Check:
    """A row-level check of ``table``; rules on a column of the wrong type are reported."""
    types = {str(n): str(t) for n, t, *_ in conn.execute(f"describe {table}").fetchall()}
    usable, skipped = [], []
    for rule in rules:
        wrong = [c for c in rule.numeric if not types.get(c, "").startswith(NUMERIC)]
        if wrong:
            skipped.append(
                ExpectationFailure(
                    table,
                    f"{rule.description}: could not be checked: "
                    + ", ".join(f"{c} is {types.get(c, 'missing')}, not a number" for c in wrong),
                    rule.severity,
                )
            )
        else:
            usable.append(rule)
    return _Check(
        rules_suite(table, usable),
        ["partition"],
        rows_sql=rows_sql,
        rules=tuple(usable),
        skipped=tuple(skipped),
    )


def _run_check(
    conn: duckdb.DuckDBPyConnection, context: Any, check: _Check
) -> tuple[int, list[ExpectationFailure | None]]:
    """Compute the check's frame in DuckDB and validate it: (rows checked, outcome)."""
    if check.read is not None:
        data = check.read(conn)
        return len(data), [failure for failure, _ in _validate(context, check, data)]
    assert check.rows_sql is not None
    data, stats = frames.rule_violations(conn, check.rows_sql, check.rules, KEY, MAX_EXAMPLES)
    by_rule = {rule.name: rule for rule in check.rules}
    outcome: list[ExpectationFailure | None] = []
    for failure, result in _validate(context, check, data):
        rule = by_rule.get(str((result.expectation_config.meta or {}).get("rule")))
        if failure is not None and rule is not None and failure.examples:
            rule_stats = stats[rule.name]
            failure = ExpectationFailure(
                suite=check.suite.name,
                description=rule.description,
                severity=failure.severity,
                unexpected_count=rule_stats.unexpected_count,
                element_count=rule_stats.element_count,
                examples=tuple(_example(row, KEY) for row in rule_stats.examples[:MAX_EXAMPLES]),
                series=failure.series,
            )
        outcome.append(failure)
    return int(data["rows"].sum()), list(check.skipped) + outcome


def _context(docs_dir: Path) -> Any:
    """An in-memory GX context whose only Data Docs site is ``docs_dir``."""
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(project_config=config, mode="ephemeral")
    docs_dir.mkdir(parents=True, exist_ok=True)
    context.add_data_docs_site(
        site_name=DATA_DOCS_SITE,
        site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
        },
    )
    context.data_sources.add_pandas("lake")
    return context


def _validate(
    context: Any, check: _Check, data: pd.DataFrame
) -> list[tuple[ExpectationFailure | None, Any]]:
    """Run ``check.suite`` on ``data``: (failure or None when it passed, GX result) each."""
    name = check.suite.name
    asset = context.data_sources.get("lake").add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe(name)
    suite = context.suites.add(check.suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=batch, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=name,
            validation_definitions=[definition],
            result_format={
                # every failing partition (frames hold one row per partition, never rows)
                "result_format": "COMPLETE",
                "unexpected_index_column_names": check.index_columns,
                "partial_unexpected_count": MAX_EXAMPLES,
            },
        )
    )
    run = checkpoint.run(batch_parameters={"dataframe": data})
    return [
        (None if result.success else _failure(name, result, check.index_columns), result)
        for validation in run.run_results.values()
        for result in validation.results
    ]


def _failure(suite: str, result: Any, index_columns: list[str]) -> ExpectationFailure:
    config = result.expectation_config
    details = dict(result.result or {})
    severity = str(getattr(config, "severity", CRITICAL) or CRITICAL)
    severity = severity.rsplit(".", 1)[-1].lower()
    error = _exception_message(result.exception_info)
    if error is not None:
        return ExpectationFailure(
            suite, f"{config.description or config.type}: could not be checked: {error}", severity
        )
    examples = tuple(
        _example(row, index_columns) for row in details.get("partial_unexpected_index_list") or []
    )[:MAX_EXAMPLES]
    series = tuple(
        dict.fromkeys(
            _series_of(row.get("partition"))
            for row in details.get("unexpected_index_list") or []
            if isinstance(row, dict) and row.get("partition")
        )
    )
    if not examples and details.get("observed_value") is not None:
        examples = (f"observed {details['observed_value']}",)
    return ExpectationFailure(
        suite=suite,
        description=config.description or config.type,
        severity=severity,
        unexpected_count=details.get("unexpected_count"),
        element_count=details.get("element_count"),
        examples=examples,
        series=series,
    )


def _series_of(partition: Any) -> tuple[str, str]:
    """(symbol, interval) of a frame's ``partition`` ("SYMBOL interval[ year]")."""
    symbol, interval = str(partition).split(" ")[:2]
    return symbol, interval


def _exception_message(info: Any) -> str | None:
    """The message of an exception GX caught while checking (None if none was raised);
    ``info`` is one exception record or a mapping of metric -> record."""
    if not isinstance(info, dict):
        return None
    records = [info, *(v for v in info.values() if isinstance(v, dict))]
    for record in records:
        if record.get("raised_exception"):
            return str(record.get("exception_message") or "an exception was raised")
    return None


def _example(row: dict[str, Any], index_columns: list[str]) -> str:
    keys = [c for c in index_columns if c in row] + [c for c in row if c not in index_columns]
    return ", ".join(f"{key}={_show(row[key])}" for key in keys)


def _show(value: Any) -> str:
    if value is None or value is pd.NaT:
        return "null"
    if isinstance(value, pd.Timestamp | datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return "null" if math.isnan(value) else f"{value:.10g}"
    if hasattr(value, "item"):
        return _show(value.item())
    return str(value)
