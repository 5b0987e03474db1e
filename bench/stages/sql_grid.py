"""Stage: a grid over a strategy written only in SQL, against one dbt run per parameter set.

On a lake of the bundled BTCUSDT and ETHUSDT 4h candles (built once, not timed), 100
parameter sets of ``donchian_breakout`` (entry 10 values x exit 10 values) over the last 8
years: ``run_grid_backtest`` evaluates the model's compiled SQL in process for each set and
simulates all of them in one vectorbt call per series. The alternative it replaces, one
``dbt run`` of the model per parameter set, is timed on a few sets and scaled to 100.
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.lakes import use_lake
from bench.synthetic import BUNDLED

STRATEGY = "donchian_breakout"
ENTRY = "entry_period=10,15,20,25,30,40,50,60,80,100"
EXIT = "exit_period=5,10,15,20,25,30,40,50,60,80"
SERIES = ("BTCUSDT_4h.csv.gz", "ETHUSDT_4h.csv.gz")


def prepare(work: str, target_path: str) -> dict[str, Any]:
    """Ingest the two 4h series and build the signal models once (not timed)."""
    from hermes.dbt_runner import run_dbt
    from hermes.ingest import ingest_paths

    settings, target = use_lake(Path(work)), Path(target_path)
    if not (Path(work) / "hermes.ducklake").exists():
        ingest_paths([BUNDLED / name for name in SERIES], settings)
    run_dbt(["seed", "--select", "strategies"], settings, target_path=target)
    run_dbt(["run", "--select", "+path:models/gold/signals"], settings, target_path=target)
    return {"lake": work}


def grid(work: str) -> dict[str, Any]:
    """Time 100 parameter sets of the SQL-only strategy, signals to stored rows."""
    from hermes.backtest.grid import parse_axis, run_grid_backtest
    from hermes.backtest.request import BacktestRequest
    from hermes.lake import connect

    settings = use_lake(Path(work))
    with connect(settings) as conn:
        (last,) = conn.execute("select max(open_time) from gold_feature_store").fetchone() or [0]
    request = BacktestRequest(STRATEGY, None, ["4h"], start=last - timedelta(days=8 * 365.25))
    started = time.perf_counter()
    results = run_grid_backtest(settings, request, [parse_axis(ENTRY), parse_axis(EXIT)])
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds, "parameter_sets": len(results[0].parameter_sets),
        "series": len(results), "bars": sum(r.rows for r in results),
        "trades": int(sum(r.results["trades"].sum() for r in results)),
    }  # fmt: skip


def dbt_per_set(work: str, target_path: str, sets: int = 3) -> dict[str, Any]:
    """Median seconds of one ``dbt run`` of the model with a parameter set given as vars."""
    from hermes.dbt_runner import run_dbt

    settings, seconds = use_lake(Path(work)), []
    model = ["run", "--select", f"gold_signals_{STRATEGY}"]
    for entry in (15, 25, 40)[:sets]:
        overrides = {"strategy_parameters": {STRATEGY: {"entry_period": entry}}}
        started = time.perf_counter()
        run_dbt(model, settings, target_path=Path(target_path), vars=overrides)
        seconds.append(time.perf_counter() - started)
    run_dbt(model, settings, target_path=Path(target_path))  # back to the registry's parameters
    median = statistics.median(seconds)
    return {"seconds_per_set": median, "projected_100_seconds": 100 * median}
