"""Stage setup for the ML walk-forward: the bundled BTCUSDT/ETHUSDT data up to its features.

The timed stage is ``bench.stages.pipeline:dbt_run`` of ``gold_ml_predictions`` and
``gold_ml_models`` on the restored lake (training, prediction and the model artifacts).
:func:`universe` times the real universe's walk-forward, full and one new day:
``python -m bench.stages.ml [work folder]``.
"""

from __future__ import annotations

import gzip
import os
import shutil
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


UNIVERSE = Path("/work/shared/data/binance-ohlcv")
NEW_DAY = "2026-01-05"
UNIVERSE_VARS = {"ml_intervals": ["4h", "1h"]}
ML_MODELS = ["run", "--select", "gold_ml_predictions", "gold_ml_models"]


def universe(work: str, data: str = str(UNIVERSE), day: str = NEW_DAY) -> dict[str, Any]:
    """Every 4h and 1h series of ``data`` up to ``day`` (excluded): the full walk-forward
    timed; then ``day``'s bars land and the incremental walk-forward is timed (features built
    untimed in between). The real universe's figures of docs/ml.md."""
    from hermes.dbt_runner import run_dbt
    from hermes.ingest import ingest_paths

    root = Path(work)
    lake, saved, target, landed = (root / n for n in ("lake", "features", "target", "files"))
    settings = use_lake(lake)

    def timed(args: list[str]) -> tuple[float, float, float]:
        """(seconds end to end, dbt's model seconds, CPU seconds of this process)."""
        started, cpu = time.perf_counter(), time.process_time()
        _, nodes = run_dbt(args, settings, target_path=target, vars=UNIVERSE_VARS)
        models = sum(n.execution_time for n in nodes)
        return time.perf_counter() - started, models, time.process_time() - cpu

    if not saved.exists():  # the features of the history, built once and saved
        for folder in (lake, landed):
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
        history = _split(Path(data), day, landed)
        ingest_paths(history, settings)
        run_dbt(["seed"], settings, target_path=target)
        timed(["run", "--select", "+gold_ml_labels"])
        snapshot_tree(lake, saved)
    snapshot_tree(saved, lake)
    new = sorted(landed.glob("*.csv.gz"))
    full = timed(ML_MODELS)
    ingest_paths(new, settings)
    timed(["run", "--select", "+gold_ml_labels"])
    day = timed(ML_MODELS)
    return {
        "series": len(list(landed.glob("*.csv"))),
        "bars": count_rows(settings, "gold_ml_predictions"),
        "new_day_bars": sum(len(gzip.decompress(p.read_bytes()).splitlines()) - 1 for p in new),
        "full_seconds": full[0],
        "full_model_seconds": full[1],
        "full_cpu_seconds": full[2],
        "new_day_seconds": day[0],
        "new_day_model_seconds": day[1],
        "new_day_cpu_seconds": day[2],
        "load_average": os.getloadavg(),
    }


def _split(data: Path, day: str, landed: Path) -> list[Path]:
    """Each 4h and 1h file of ``data`` cut in two in ``landed``: the bars before ``day`` (the
    paths returned) and those of ``day`` (the same name gzipped: another file to land)."""
    history = []
    for path in sorted(data.glob("*_4h.csv")) + sorted(data.glob("*_1h.csv")):
        header, *rows = path.read_text().splitlines()
        before = [r for r in rows if r < day]
        after = [r for r in rows[len(before) :] if r[:10] == day]
        (landed / path.name).write_text("\n".join([header, *before]) + "\n")
        history.append(landed / path.name)
        if after:
            text = "\n".join([header, *after]) + "\n"
            (landed / f"{path.name}.gz").write_bytes(gzip.compress(text.encode()))
    return history


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(universe(sys.argv[1] if len(sys.argv) > 1 else "/tmp/hermes-ml-universe")))
