"""Stage setup for the ML walk-forward: the bundled BTCUSDT/ETHUSDT data up to its features.

The timed stage is ``bench.stages.pipeline:dbt_run`` of ``gold_ml_predictions`` and
``gold_ml_models`` on the restored lake (training, prediction and the model artifacts).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.lakes import count_rows, snapshot_tree, use_lake
from hermes.config import PROJECT_ROOT

BUNDLED = PROJECT_ROOT / "data" / "binance-ohlcv"


def prepare(work: str, save_to: str, target_path: str) -> dict[str, Any]:
    """Ingest the bundled candles, build up to ``gold_ml_features``, save the lake's state."""
    from hermes.dbt_runner import run_dbt
    from hermes.ingest import ingest_paths

    lake = Path(work)
    settings = use_lake(lake)
    started = time.perf_counter()
    ingest_paths(sorted(BUNDLED.glob("*.csv.gz")), settings)
    run_dbt(["seed"], settings, target_path=Path(target_path))
    run_dbt(["run", "--select", "+gold_ml_labels"], settings, target_path=Path(target_path))
    seconds = time.perf_counter() - started
    snapshot_tree(lake, Path(save_to))
    return {"seconds": seconds, "rows": count_rows(settings, "gold_ml_features")}
