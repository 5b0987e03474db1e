"""Throughput of the lake pipeline on one synthetic data set, stage by stage (:data:`STAGES`).

Each stage is repeated on the saved state the previous stage left (restored before each
repetition), so every repetition does the same work. With the figures of a smaller size and
a deadline, a stage whose scaled estimate would overrun the time budget, or need more than
half the machine's memory, is skipped with the estimate as the reason.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import psutil

from bench.measure import Runner, not_available, stopwatch
from bench.plan import SIZES, Plan
from bench.synthetic import generate

SIGNAL_CHUNK_ROWS = 100_000  # the design notebook's chunk size, used for both sides
DBT, MB = "bench.lakes:dbt_run", {"KB": 1 / 1024, "MB": 1.0, "GB": 1024.0, "TB": 1024.0**2}


class Stage(NamedTuple):
    """A stage: its name, report label, child function and arguments, the state it starts
    from and the state it saves."""

    name: str
    label: str
    target: str
    kwargs: dict[str, Any]
    restore: str | None = None
    save: str | None = None


STAGES = [
    Stage("ingest", "ingest (archives to landing)", "bench.lakes:build", {"commands": []},
          save="landed"),
    Stage("bronze", "bronze_klines (dbt)", DBT, {"select": "bronze_klines",
          "table": "bronze_klines"}, "landed", "bronze"),
    Stage("silver", "silver_klines (dbt)", DBT, {"select": "silver_klines",
          "table": "silver_klines"}, "bronze", "silver"),
    # the feature layer: every model between silver_klines and gold_feature_store
    Stage("features", "gold features (dbt)", DBT, {"select": "+gold_feature_store",
          "table": "gold_features", "exclude": "+silver_klines"}, "silver", "features"),
    Stage("signals", "signals (dbt model)", DBT, {"select": "gold_signals_smart_momentum",
          "table": "gold_signals_smart_momentum", "setup": True}, "features", "signals"),
    Stage("signals_chunked", "signals (`hermes signals`, chunked)", "bench.lakes:signals",
          {"chunk_rows": SIGNAL_CHUNK_ROWS}, "features"),
]  # fmt: skip


def duckdb_memory_limit_mb() -> float:
    """The DuckDB memory limit dbt runs use, in MB (``HERMES_DUCKDB_MEMORY_LIMIT``, 2GB)."""
    text = os.environ.get("HERMES_DUCKDB_MEMORY_LIMIT", "2GB").strip().upper()
    if (unit := text[-2:]) not in MB:
        raise ValueError(f"HERMES_DUCKDB_MEMORY_LIMIT {text!r}: expected a size such as 2GB")
    return float(text[:-2]) * MB[unit]


def estimate(previous: dict[str, Any] | None, stage: str, rows: int) -> tuple[float, float] | None:
    """Seconds per process and peak MB of ``stage`` at ``rows``, scaled from a smaller size;
    dbt caps DuckDB at its memory limit and spills past it, so a dbt stage's peak cannot
    grow beyond the smaller size's plus that limit."""
    figure = (previous or {}).get("stages", {}).get(stage, {})
    if figure.get("status") != "ok":
        return None
    scale, seconds = rows / figure["rows"], figure["seconds"]["median"]
    process = figure.get("process_seconds", seconds)
    process = process["median"] if isinstance(process, dict) else process
    peak, base_mb = figure["peak_rss_mb"]["max"], 300.0  # interpreter and imports
    scaled_peak = base_mb + max(0, peak - base_mb) * scale
    return process - seconds + seconds * scale, min(scaled_peak, peak + duckdb_memory_limit_mb())


def _repeats(plan: Plan, guess: tuple[float, float] | None, deadline: float | None) -> Any:
    """Repetitions that fit what is left of the time budget, or why the stage is skipped."""
    if guess is None or deadline is None:
        return plan.repeat
    (seconds, peak_mb), left = guess, deadline - time.monotonic()
    if peak_mb > psutil.virtual_memory().total / 2**20 / 2:
        return not_available(
            f"skipped: estimated peak memory {peak_mb / 1024:.1f} GB (scaled "
            "from the smaller size) exceeds half the machine's memory"
        )
    if seconds > left:
        return not_available(
            f"skipped: estimated {seconds:.0f} s per run (scaled from the "
            f"smaller size) exceeds the {max(left, 0):.0f} s left in the "
            "time budget"
        )
    return max(1, min(plan.repeat, int(left // (seconds * 1.5))))  # fmt: skip


def run_size(
    plan: Plan, size: str, runner: Runner, say: Callable[[str], None], progress: Any = None,
    previous: dict[str, Any] | None = None, deadline: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Generate the data set ``size`` and measure every stage of :data:`STAGES` on it."""
    spec, base, elapsed = SIZES[size], plan.work / "lakes" / size, stopwatch()
    archives, names = generate(spec, plan.work / "data", progress), spec.symbol_names()
    out: dict[str, Any] = {
        "data": {
            "synthetic": True, "key": spec.key, "interval": spec.interval,
            "symbols": [names[0], "...", names[-1]] if spec.symbols > 2 else names,
            "months": f"{spec.first_month}..{spec.last_month}", "rows": spec.rows,
            "archives": len(archives),
            "archive_mb": round(sum(p.stat().st_size for p in archives) / 2**20, 1),
            "prepare_seconds": round(elapsed(), 2),
        },
        "stages": {}, "calls": {}, "lake": str(base / "lake"), "target": str(base / "target"),
    }  # fmt: skip
    states = base / "states"
    done = {"landed"} if (states / "landed" / "hermes.ducklake").exists() else set()
    for stage in STAGES:
        kwargs = {"work": out["lake"], "target_path": out["target"], **stage.kwargs}
        kwargs |= {"restore_from": str(states / stage.restore)} if stage.restore else {}
        kwargs |= {"save_to": str(states / stage.save)} if stage.save else {}
        kwargs |= (
            {"sources": [str(plan.work / "data" / spec.key)]} if stage.name == "ingest" else {}
        )
        if not plan.wants(stage.name):
            out["stages"][stage.name] = not_available("not selected (--only)")
            if stage.name == "ingest" and not done:
                say(f"[{size}] landing the archives (ingest not measured)")
                runner.once(stage.target, **kwargs)
                done.add("landed")
            continue
        if stage.restore and stage.restore not in done:
            reason = f"needs the {stage.restore} stage, which did not complete"
            out["stages"][stage.name] = not_available(reason)
            continue
        say(f"[{size}] {stage.label}: {spec.rows:,} rows")
        out["calls"][stage.name] = {"target": stage.target, "kwargs": kwargs}
        repeat = _repeats(plan, estimate(previous, stage.name, spec.rows), deadline)
        if not isinstance(repeat, dict):
            repeat = runner.figure(stage.target, repeat, **kwargs)
        out["stages"][stage.name] = figure = repeat
        if figure["status"] == "ok" and stage.save:
            done.add(stage.save)
    out["states"] = {name: str(states / name) for name in sorted(done)}
    return out
