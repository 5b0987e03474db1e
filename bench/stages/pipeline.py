"""Stages of the lake pipeline, each timed in its own ``bench.measure`` child process.

Each repetition restores the lake state the previous stage left, then times the stage as a
user runs it: ``hermes.ingest`` of the archives, ``dbt run --select <selection>`` (project
parsing included; dbt's own execution time of the models is reported beside it), or
``hermes signals`` (chunked Python generation).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from bench.lakes import count_rows, snapshot_tree, use_lake


def ingest(work: str, target_path: str, archive_root: str, save_to: str) -> dict[str, Any]:
    """Ingest every archive under ``archive_root`` into a fresh lake at ``work``."""
    from hermes.ingest import ingest_paths

    shutil.rmtree(work, ignore_errors=True)
    settings = use_lake(Path(work))
    paths = sorted(Path(archive_root).rglob("*.zip"))
    started = time.perf_counter()
    report = ingest_paths(paths, settings)
    seconds = time.perf_counter() - started
    if not report.ok:
        problems = "; ".join(f"{p.source}: {p.reason}" for p in report.problems[:5])
        raise RuntimeError(f"ingest rejected synthetic archives: {problems}")
    snapshot_tree(Path(work), Path(save_to))
    return {"seconds": seconds, "rows": report.rows_ingested, "files": len(paths)}


def dbt_run(
    work: str,
    target_path: str,
    select: str,
    table: str,
    restore_from: str | None = None,
    save_to: str | None = None,
    exclude: str | None = None,
    setup: list[list[str]] | None = None,
    vars: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Time ``dbt run --select select [--exclude exclude]`` on the restored lake; ``setup``
    commands (``["seed", "--select", "strategies"]``) run first, untimed."""
    from hermes.dbt_runner import run_dbt

    settings, target = use_lake(Path(work), restore_from), Path(target_path)
    for command in setup or []:
        run_dbt(command, settings, target_path=target)
    args = ["run", "--select", select] + (["--exclude", exclude] if exclude else [])
    started = time.perf_counter()
    _, nodes = run_dbt(args, settings, target_path=target, vars=vars)
    seconds = time.perf_counter() - started
    rows = count_rows(settings, table)
    if save_to:
        snapshot_tree(Path(work), Path(save_to))
    models = sorted(n.name for n in nodes)
    return {"seconds": seconds, "rows": rows, "models": models} | {
        "model_seconds": sum(n.execution_time for n in nodes)
    }


def signals(work: str, target_path: str, restore_from: str, chunk_rows: int) -> dict[str, Any]:
    """Time ``generate_signals`` for Smart Momentum over every series in the feature store."""
    from hermes.dbt_runner import run_dbt
    from hermes.signals.run import generate_signals

    settings = use_lake(Path(work), restore_from)
    run_dbt(["seed", "--select", "strategies"], settings, target_path=Path(target_path))
    started = time.perf_counter()
    summaries = generate_signals(settings, "smart_momentum", chunk_rows=chunk_rows)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds, "rows": sum(s.rows for s in summaries), "chunk_rows": chunk_rows,
        "buy_signals": sum(s.buy_signals for s in summaries),
        "sell_signals": sum(s.sell_signals for s in summaries),
    }  # fmt: skip
