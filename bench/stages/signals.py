"""Stage: ``hermes signals`` (chunked Python generation) from the feature store to the lake."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.lakes import snapshot_tree, use_lake


def run(work: str, restore_from: str, target_path: str, chunk_rows: int) -> dict[str, Any]:
    """Time ``generate_signals`` for Smart Momentum over every series in the feature store."""
    from hermes.dbt_runner import run_dbt
    from hermes.signals.run import generate_signals

    lake = Path(work)
    snapshot_tree(Path(restore_from), lake)
    settings = use_lake(lake)
    run_dbt(["seed", "--select", "strategies"], settings, target_path=Path(target_path))
    started = time.perf_counter()
    summaries = generate_signals(settings, "smart_momentum", chunk_rows=chunk_rows)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": sum(s.rows for s in summaries),
        "chunk_rows": chunk_rows,
        "buy_signals": sum(s.buy_signals for s in summaries),
        "sell_signals": sum(s.sell_signals for s in summaries),
    }
