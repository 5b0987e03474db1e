"""The ML walk-forward on the real universe, full and one new day (docs/ml.md):
``python -m bench.stages.ml DATA [WORK]``, DATA a folder of klines CSV files with 1h series."""

from __future__ import annotations

import gzip
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.lakes import count_rows, dbt, ingest, snapshot_tree, split_day, use_lake

ML_MODELS, FEATURES = ("run", "--select", "gold_ml_predictions", "gold_ml_models"), (
    "run", "--select", "+gold_ml_labels")  # fmt: skip
TIMES = ("seconds", "model_seconds", "cpu_seconds")


def universe(work: str, data: str, day: str = "2026-01-05") -> dict[str, Any]:
    """The full walk-forward of ``data`` before ``day``, then ``day``'s incremental one."""
    root = Path(work)
    lake, saved, target = root / "lake", root / "features", str(root / "target")

    def timed(args: tuple[str, ...]) -> tuple[float, float, float]:
        """(seconds end to end, dbt's model seconds, CPU seconds of this process)."""
        cpu = time.process_time()
        seconds, nodes = dbt(settings, target, *args, vars={"ml_intervals": ["4h", "1h"]})
        return seconds, sum(n.execution_time for n in nodes), time.process_time() - cpu

    if not saved.exists():  # the features of the history, built once and saved
        files = sorted(Path(data).glob("*_4h.csv")) + sorted(Path(data).glob("*_1h.csv"))
        ingest(settings := use_lake(lake, fresh=True), split_day(files, day, root))
        dbt(settings, target, "seed")
        timed(FEATURES)
        snapshot_tree(lake, saved)
    settings, new = use_lake(lake, str(saved)), sorted((root / "new").iterdir())
    full = timed(ML_MODELS)
    ingest(settings, new)
    timed(FEATURES)
    one_day = timed(ML_MODELS)
    return {
        "series": len(list((root / "history").iterdir())),
        "bars": count_rows(settings, "gold_ml_predictions"),
        "new_day_bars": sum(len(gzip.decompress(p.read_bytes()).splitlines()) - 1 for p in new),
        **{f"{run}_{name}": value for run, values in (("full", full), ("new_day", one_day))
           for name, value in zip(TIMES, values, strict=True)},
        "load_average": os.getloadavg(),
    }  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m bench.stages.ml DATA [WORK]: DATA holds the klines CSV files")
    work = sys.argv[2] if len(sys.argv) > 2 else "/tmp/hermes-ml-universe"
    print(json.dumps(universe(work, sys.argv[1])))
