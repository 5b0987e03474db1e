"""Results a run left unpublished: completed by the next run.

A run publishes its audited data (stage ``data``), then trades on paper, backtests the
changed series and publishes the results (stage ``results``). A run killed (or crashed) in
between leaves the latest publication at stage ``data`` with backtest targets and no runs:
:func:`stranded_targets` finds them from that publication's summary, so the next run, even
with nothing new landed, completes the work instead of answering "nothing new".
Backtests that finished before the kill are found by :func:`recorded_runs` and reused (not
run twice); statistics are computed only for runs that have none.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from hermes.lake import table_exists
from hermes.publication import Publication

Series = tuple[str, str]


def stranded_targets(publication: Publication | None, intervals: Sequence[str]) -> list[Series]:
    """Series the latest publication published data for but whose results never followed."""
    if publication is None or publication.stage != "data":
        return []
    body = publication.summary
    if body.get("runs"):
        return []
    held = {str(line).split(":", 1)[0] for line in body.get("held") or []}
    targets = []
    for partition in body.get("partitions") or []:
        symbol, _, interval = str(partition).partition("/")
        if interval in intervals and partition not in held:
            targets.append((symbol, interval))
    return targets


def recorded_runs(
    conn: duckdb.DuckDBPyConnection, snapshot: int, targets: Sequence[Series]
) -> tuple[list[str], list[str]]:
    """(runs already recorded at ``snapshot`` for ``targets``, those of them without
    statistics): what a killed run had finished before it stopped."""
    if not targets or not table_exists(conn, "gold_backtest_runs"):
        return [], []
    conn.register("resume_targets", _frame(targets))
    try:
        runs = [
            str(r[0])
            for r in conn.execute(
                "select run_id from lake.main.gold_backtest_runs "
                "semi join resume_targets using (symbol, interval) "
                "where snapshot_id = ? order by run_id",
                [snapshot],
            ).fetchall()
        ]
    finally:
        conn.unregister("resume_targets")
    if not runs or not table_exists(conn, "gold_backtest_overfitting"):
        return runs, runs
    done = {
        str(r[0])
        for r in conn.execute(
            "select distinct study_id from lake.main.gold_backtest_overfitting "
            "where study_kind = 'run' and list_contains(?, study_id)",
            [runs],
        ).fetchall()
    }
    return runs, [r for r in runs if r not in done]


def _frame(targets: Sequence[Series]) -> object:
    import pyarrow as pa

    return pa.table(
        {"symbol": [s for s, _ in targets], "interval": [i for _, i in targets]},
    )
