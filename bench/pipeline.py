"""Throughput of the lake pipeline on one synthetic data set, stage by stage.

ingest -> bronze -> silver -> gold features -> signals. Every stage is repeated on the
state the previous stage left (restored before each repetition), so each repetition does
exactly the same work.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil

from bench.lakes import land_decoded, snapshot_tree, use_lake
from bench.measure import Runner, StageError, failed, not_available, summarise
from bench.plan import SIZES, Plan
from bench.synthetic import generate
from hermes.config import PROJECT_ROOT

MODELS = PROJECT_ROOT / "models"
SIGNAL_CHUNK_ROWS = 100_000  # the design notebook's chunk size, used for both sides


@dataclass(frozen=True)
class DbtStage:
    """A pipeline stage run by dbt, on the state ``restore`` left; it saves state ``save``."""

    name: str
    select: str
    table: str  # rows counted for throughput
    needs: tuple[str, ...]  # models that must exist
    restore: str
    save: str
    exclude: str | None = None
    setup: tuple[tuple[str, ...], ...] = ()


DBT_STAGES = [
    DbtStage("bronze", "bronze_klines", "bronze_klines", ("bronze_klines",), "landed", "bronze"),
    DbtStage("silver", "silver_klines", "silver_klines", ("silver_klines",), "bronze", "silver"),
    # the feature layer: every model between silver_klines and gold_feature_store
    DbtStage(
        "features",
        "+gold_feature_store",
        "gold_features",
        ("gold_features", "gold_feature_store"),
        "silver",
        "features",
        exclude="+silver_klines",
    ),
    DbtStage(
        "signals",
        "gold_signals_smart_momentum",
        "gold_signals_smart_momentum",
        ("gold_signals_smart_momentum",),
        "features",
        "signals",
        setup=(("seed", "--select", "strategies"),),
    ),
]


def model_exists(name: str) -> bool:
    return any(MODELS.rglob(f"{name}.sql")) or any(MODELS.rglob(f"{name}.py"))


def module_has(module: str, attribute: str) -> bool:
    try:
        if importlib.util.find_spec(module) is None:
            return False
    except ModuleNotFoundError:
        return False
    return hasattr(importlib.import_module(module), attribute)


def estimate(previous: dict[str, Any] | None, stage: str, rows: int) -> tuple[float, float] | None:
    """Seconds per process and peak MB of ``stage`` at ``rows``, scaled from a smaller size."""
    figure = (previous or {}).get("stages", {}).get(stage, {})
    if figure.get("status") != "ok":
        return None
    scale = rows / figure["rows"]
    seconds = figure["seconds"]["median"]
    process = figure.get("process_seconds", seconds)
    process = process["median"] if isinstance(process, dict) else process
    peak = figure["peak_rss_mb"]["max"]
    base_mb = 300.0  # interpreter and imports
    linear_mb = base_mb + max(0.0, peak - base_mb) * scale
    # dbt runs cap DuckDB at HERMES_DUCKDB_MEMORY_LIMIT (profiles/profiles.yml) and spill past
    # it, so their peak cannot grow beyond the smaller size's peak plus that limit
    bounded_mb = peak + duckdb_memory_limit_mb()
    return process - seconds + seconds * scale, min(linear_mb, bounded_mb)


def duckdb_memory_limit_mb() -> float:
    """The DuckDB memory limit dbt runs use, in MB (``HERMES_DUCKDB_MEMORY_LIMIT``, 2GB)."""
    text = os.environ.get("HERMES_DUCKDB_MEMORY_LIMIT", "2GB").strip().upper()
    units = {"KB": 1 / 1024, "MB": 1.0, "GB": 1024.0, "TB": 1024.0**2}
    for unit, factor in units.items():
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    raise ValueError(f"HERMES_DUCKDB_MEMORY_LIMIT {text!r}: expected a size such as 2GB")


def run_size(
    plan: Plan,
    size: str,
    runner: Runner,
    say: Callable[[str], None],
    progress: Any = None,
    previous: dict[str, Any] | None = None,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Generate the data set ``size`` and measure every pipeline stage on it.

    With ``previous`` (the figures of a smaller size) and a ``deadline`` (``time.monotonic``),
    a stage whose scaled estimate would overrun the time budget, or need more than half the
    machine's memory, is skipped with the estimate as the reason; one that fits only once is
    run once.
    """
    spec = SIZES[size]
    base = plan.work / "lakes" / size
    lake, states, target = base / "lake", base / "states", base / "target"
    started = time.perf_counter()
    archives = generate(spec, plan.work / "data", progress)
    archive_root = plan.work / "data" / spec.key
    out: dict[str, Any] = {
        "data": {
            "synthetic": True,
            "key": spec.key,
            "symbols": spec.symbol_names()[:1] + ["..."] + spec.symbol_names()[-1:]
            if spec.symbols > 2
            else spec.symbol_names(),
            "interval": spec.interval,
            "months": f"{spec.first_month}..{spec.last_month}",
            "rows": spec.rows,
            "archives": len(archives),
            "archive_mb": round(sum(p.stat().st_size for p in archives) / 2**20, 1),
            "prepare_seconds": round(time.perf_counter() - started, 2),
        },
        "stages": {},
        "calls": {},
    }
    stages = out["stages"]

    def measure(stage: str, target: str, **kwargs: Any) -> None:
        out["calls"][stage] = {"target": target, "kwargs": kwargs}
        repeat = plan.repeat
        guess = estimate(previous, stage, spec.rows)
        if guess is not None and deadline is not None:
            seconds, peak_mb = guess
            left = deadline - time.monotonic()
            memory_mb = psutil.virtual_memory().total / 2**20
            if peak_mb > memory_mb / 2:
                stages[stage] = not_available(
                    f"skipped: estimated peak memory {peak_mb / 1024:.1f} GB (scaled from the "
                    "smaller size) exceeds half the machine's memory"
                )
                return
            if seconds > left:
                stages[stage] = not_available(
                    f"skipped: estimated {seconds:.0f} s per run (scaled from the smaller size) "
                    f"exceeds the {max(left, 0):.0f} s left in the time budget"
                )
                return
            repeat = max(1, min(plan.repeat, int(left // (seconds * 1.5))))
        try:
            stages[stage] = summarise(runner.repeat(target, repeat, **kwargs))
        except StageError as exc:
            stages[stage] = failed(exc)

    landed = states / "landed"
    if plan.wants("ingest") and module_has("hermes.ingest", "ingest_paths"):
        say(f"[{size}] ingest: {spec.rows:,} rows in {len(archives)} archives")
        measure(
            "ingest",
            "bench.stages.ingest:run",
            archive_root=str(archive_root),
            work=str(lake),
            save_to=str(landed),
        )
    elif not plan.wants("ingest"):
        stages["ingest"] = not_available("not selected (--only)")
    else:
        stages["ingest"] = not_available("hermes.ingest.ingest_paths not found")
    if stages["ingest"]["status"] != "ok" and not (landed / "hermes.ducklake").exists():
        say(f"[{size}] landing decoded files directly (ingest not measured)")
        import shutil

        if lake.exists():
            shutil.rmtree(lake)
        land_decoded(use_lake(lake), archives, archive_root)
        snapshot_tree(lake, landed)

    available_states = {"landed"}
    for dbt_stage in DBT_STAGES:
        stage, select, restore, save = (
            dbt_stage.name,
            dbt_stage.select,
            dbt_stage.restore,
            dbt_stage.save,
        )
        if not plan.wants(stage):
            stages[stage] = not_available("not selected (--only)")
            continue
        missing = [m for m in dbt_stage.needs if not model_exists(m)]
        if missing:
            stages[stage] = not_available(f"model(s) not found: {', '.join(missing)}")
            continue
        if restore not in available_states:
            stages[stage] = not_available(f"needs the {restore} stage, which did not complete")
            continue
        say(f"[{size}] {stage}: dbt run --select {select}")
        measure(
            stage,
            "bench.stages.dbt_models:run",
            work=str(lake),
            select=select,
            exclude=dbt_stage.exclude,
            setup=[list(c) for c in dbt_stage.setup],
            table=dbt_stage.table,
            target_path=str(target),
            restore_from=str(states / restore),
            save_to=str(states / save),
        )
        if stages[stage]["status"] == "ok":
            available_states.add(save)
    if not plan.wants("signals_chunked"):
        stages["signals_chunked"] = not_available("not selected (--only)")
    elif not module_has("hermes.signals.run", "generate_signals"):
        stages["signals_chunked"] = not_available("hermes.signals.run.generate_signals not found")
    elif "features" not in available_states:
        stages["signals_chunked"] = not_available(
            "needs the features stage, which did not complete"
        )
    else:
        say(f"[{size}] signals_chunked: hermes signals, chunks of {SIGNAL_CHUNK_ROWS:,} rows")
        measure(
            "signals_chunked",
            "bench.stages.signals:run",
            work=str(lake),
            restore_from=str(states / "features"),
            target_path=str(target),
            chunk_rows=SIGNAL_CHUNK_ROWS,
        )
    out["states"] = {name: str(states / name) for name in sorted(available_states)}
    out["lake"] = str(lake)
    out["target"] = str(target)
    return out
