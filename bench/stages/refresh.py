"""Stage: the daily refresh (one new day for every symbol) on top of a long history.

Setup builds the history once (ingest, then a full ``dbt build``, whose time is recorded
for reference). Each repetition restores that state, then times what a morning
run does: ingest the new daily archives and ``dbt build`` (models and data tests).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from bench.lakes import snapshot_tree, use_lake


def build_history(work: str, target_path: str, archive_root: str, save_to: str) -> dict[str, Any]:
    """Ingest the history archives into a new lake, then a full ``dbt build`` (timed); saved."""
    from hermes.dbt_runner import run_dbt
    from hermes.ingest import ingest_paths

    shutil.rmtree(work, ignore_errors=True)
    settings = use_lake(Path(work))
    ingest_paths(sorted(Path(archive_root).rglob("*.zip")), settings)
    started = time.perf_counter()
    run_dbt(["build"], settings, target_path=Path(target_path))
    seconds = time.perf_counter() - started
    snapshot_tree(Path(work), Path(save_to))
    return {"seconds": seconds}


def daily(work: str, restore_from: str, new_day: str, target_path: str) -> dict[str, Any]:
    """Ingest one new daily archive per symbol and ``dbt build``, on the restored history."""
    from hermes.dbt_runner import run_dbt
    from hermes.ingest import ingest_paths

    settings = use_lake(Path(work), restore_from)
    archives = sorted(Path(new_day).rglob("*.zip"))
    started = time.perf_counter()
    report = ingest_paths(archives, settings)
    ingested = time.perf_counter()
    if not report.ok:
        raise RuntimeError(f"ingest rejected the new day: {report.problems[:3]}")
    _, nodes = run_dbt(["build"], settings, target_path=Path(target_path))
    finished = time.perf_counter()
    models = [n for n in nodes if "model" in n.resource_type]
    tests = [n for n in nodes if "test" in n.resource_type]
    slowest = sorted(nodes, key=lambda n: n.execution_time, reverse=True)[:4]
    return {
        "seconds": finished - started,
        "rows": report.rows_ingested,
        "ingest_seconds": ingested - started,
        "dbt_build_seconds": finished - ingested,
        "model_seconds": sum(n.execution_time for n in models),
        "test_seconds": sum(n.execution_time for n in tests),
        "slowest_nodes": [f"{n.name} {n.execution_time:.2f}s" for n in slowest],
    }
