"""The ML walk-forward on the real universe, full and one new day (the figures of
docs/ml.md): ``python -m bench.stages.ml [work folder]``. The bench's own ML stage is
``dbt_run`` of the ML models on the bundled data (:mod:`bench.experiments`).
"""

from __future__ import annotations

import gzip
import os
import shutil
import time
from pathlib import Path
from typing import Any

from bench.lakes import count_rows, dbt, ingest, snapshot_tree, use_lake

UNIVERSE = Path("/work/shared/data/binance-ohlcv")
ML_MODELS = ("run", "--select", "gold_ml_predictions", "gold_ml_models")
FEATURES = ("run", "--select", "+gold_ml_labels")
TIMES = ("seconds", "model_seconds", "cpu_seconds")


def universe(work: str, data: str = str(UNIVERSE), day: str = "2026-01-05") -> dict[str, Any]:
    """Every 4h and 1h series of ``data`` before ``day``: the full walk-forward, timed; then
    ``day``'s bars land and the incremental walk-forward is timed (features built untimed)."""
    root = Path(work)
    lake, saved, target, landed = (root / n for n in ("lake", "features", "target", "files"))

    def timed(args: tuple[str, ...]) -> tuple[float, float, float]:
        """(seconds end to end, dbt's model seconds, CPU seconds of this process)."""
        cpu = time.process_time()
        seconds, nodes = dbt(settings, str(target), *args, vars={"ml_intervals": ["4h", "1h"]})
        return seconds, sum(n.execution_time for n in nodes), time.process_time() - cpu

    if not saved.exists():  # the features of the history, built once and saved
        settings = use_lake(lake, fresh=True)
        ingest(settings, _split(Path(data), day, landed))
        dbt(settings, str(target), "seed")
        timed(FEATURES)
        snapshot_tree(lake, saved)
    settings = use_lake(lake, str(saved))
    new = sorted(landed.glob("*.csv.gz"))
    full = timed(ML_MODELS)
    ingest(settings, new)
    timed(FEATURES)
    one_day = timed(ML_MODELS)
    return {
        "series": len(list(landed.glob("*.csv"))),
        "bars": count_rows(settings, "gold_ml_predictions"),
        "new_day_bars": sum(len(gzip.decompress(p.read_bytes()).splitlines()) - 1 for p in new),
        **{f"{run}_{name}": value for run, values in (("full", full), ("new_day", one_day))
           for name, value in zip(TIMES, values, strict=True)},
        "load_average": os.getloadavg(),
    }  # fmt: skip


def _split(data: Path, day: str, landed: Path) -> list[Path]:
    """Each 4h and 1h file of ``data`` cut in two in ``landed``: the bars before ``day`` (the
    paths returned) and those of ``day`` (the same name gzipped: another file to land)."""
    shutil.rmtree(landed, ignore_errors=True)
    landed.mkdir(parents=True)
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
