"""Stages of the lake pipeline on a restored lake state, timed as a user runs them.

``dbt run --select ...`` (project parsing included, dbt's own model time beside it) and
``hermes signals`` (chunked Python generation). Ingest and history builds are :func:`build`.
"""

from __future__ import annotations

import time
from typing import Any

from bench.lakes import build, count_rows, dbt, snapshot_tree, use_lake

__all__ = ["build", "dbt_run", "signals"]
STRATEGIES = ("seed", "--select", "strategies")


def dbt_run(
    work: str, target_path: str, select: str, table: str, restore_from: str | None = None,
    save_to: str | None = None, exclude: str | None = None, setup: bool = False,
    vars: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``dbt run --select select [--exclude exclude]`` on the restored lake (the strategy
    registry seeded first, untimed, with ``setup``)."""
    settings = use_lake(work, restore_from)
    if setup:
        dbt(settings, target_path, *STRATEGIES)
    excluded = ("--exclude", exclude) if exclude else ()
    seconds, nodes = dbt(settings, target_path, "run", "--select", select, *excluded, vars=vars)
    if save_to:
        snapshot_tree(work, save_to)
    return {"seconds": seconds, "rows": count_rows(settings, table)} | {
        "models": sorted(n.name for n in nodes),
        "model_seconds": sum(n.execution_time for n in nodes),
    }


def signals(work: str, target_path: str, restore_from: str, chunk_rows: int) -> dict[str, Any]:
    """``generate_signals`` of Smart Momentum over every series of the feature store."""
    from hermes.signals.run import generate_signals

    settings = use_lake(work, restore_from)
    dbt(settings, target_path, *STRATEGIES)
    started = time.perf_counter()
    summaries = generate_signals(settings, "smart_momentum", chunk_rows=chunk_rows)
    return {"seconds": time.perf_counter() - started, "chunk_rows": chunk_rows} | {
        k: sum(getattr(s, k) for s in summaries) for k in ("rows", "buy_signals", "sell_signals")
    }
