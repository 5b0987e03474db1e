"""Everything measured besides the pipeline: comparisons, backtests, refresh, profile."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench import machine
from bench.backtest_data import default_parameters, signals_file
from bench.measure import Runner, StageError, failed, not_available, spread, summarise
from bench.pipeline import SIGNAL_CHUNK_ROWS, module_has
from bench.plan import Plan
from bench.synthetic import (
    SyntheticSpec,
    daily_archive,
    generate,
    load_source_bars,
    synthetic_frame,
)

Say = Callable[[str], None]


def indicator_arrays(plan: Plan) -> Path:
    """One synthetic 1-minute series (1M candles, 100k in quick mode) saved as ``.npz``."""
    rows = 100_000 if plan.quick else 1_000_000
    path = plan.work / f"indicator-arrays-{rows}.npz"
    if not path.exists():
        frame = synthetic_frame(load_source_bars(), 1, 1_704_067_200_000, rows, 7, 60_000)
        plan.work.mkdir(parents=True, exist_ok=True)
        np.savez(path, **{c: frame[c].to_numpy() for c in ("open", "high", "low", "close")})
    return path


def compare_indicators(plan: Plan, runner: Runner) -> dict[str, Any]:
    """hermes.indicators vs TA-Lib: per-indicator speed ratios (TA-Lib time / Hermes time)."""
    runs = runner.repeat(
        "bench.compare.indicators:run", plan.repeat, arrays_file=str(indicator_arrays(plan))
    )
    cases: dict[str, Any] = {}
    for name, first in runs[0]["cases"].items():
        if first["status"] != "ok":
            cases[name] = first
            continue
        per_run = [r["cases"][name] for r in runs]
        cases[name] = {
            "status": "ok",
            "hermes_seconds": spread([c["hermes_seconds"] for c in per_run]),
            "talib_seconds": spread([c["talib_seconds"] for c in per_run]),
            "speed_ratio": spread([c["speed_ratio"] for c in per_run]),
            "max_relative_difference": max(c["max_relative_difference"] for c in per_run),
        }
    return {"status": "ok", "rows": runs[0]["rows"], "cases": cases}


def _guarded(function: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return function()
    except StageError as exc:
        return failed(exc)


def backtest_single(plan: Plan, runner: Runner) -> dict[str, Any]:
    runs = runner.repeat(
        "bench.stages.backtest:single", plan.repeat, signals_file=str(signals_file(plan.work))
    )
    return summarise(runs)


def backtest_grid(plan: Plan, runner: Runner) -> dict[str, Any]:
    runs = runner.repeat(
        "bench.stages.backtest:grid",
        plan.repeat,
        signals_file=str(signals_file(plan.work)),
        size=plan.grid_size,
    )
    return summarise(runs)


def ml_walk_forward(plan: Plan, runner: Runner) -> dict[str, Any]:
    """Walk-forward LightGBM on the bundled BTCUSDT/ETHUSDT 4h: train, predict, record."""
    lake, saved = plan.work / "ml" / "lake", plan.work / "ml" / "features"
    target = plan.work / "ml" / "target"
    if not saved.exists():
        runner.once(
            "bench.stages.ml:prepare", work=str(lake), save_to=str(saved), target_path=str(target)
        )
    runs = runner.repeat(
        "bench.stages.dbt_models:run",
        plan.repeat,
        work=str(lake),
        select="gold_ml_predictions gold_ml_models",
        table="gold_ml_predictions",
        target_path=str(target),
        restore_from=str(saved),
        vars={"ml_intervals": ["4h"]},
    )
    return summarise(runs)


def sql_grid(plan: Plan, runner: Runner) -> dict[str, Any]:
    """100 parameter sets of a SQL-only strategy in process vs one dbt run per set."""
    if not module_has("hermes.signals.source", "SignalSource"):
        return not_available("hermes.signals.source not found (grids over SQL models)")
    work = plan.work / "sql-grid"
    target = str(work / "target")
    runner.once("bench.stages.sql_grid:prepare", work=str(work / "lake"), target_path=target)
    out = summarise(
        runner.repeat("bench.stages.sql_grid:grid", plan.repeat, work=str(work / "lake"))
    )
    alternative = runner.once(
        "bench.stages.sql_grid:dbt_per_set", work=str(work / "lake"), target_path=target
    )
    out["dbt_run_per_set_projected_seconds"] = alternative["projected_100_seconds"]
    median = out.get("seconds", {}).get("median")
    if median:
        out["speed_ratio_vs_dbt_per_set"] = alternative["projected_100_seconds"] / median
    return out


LIVE_SYMBOLS = 20
LIVE_BARS = 12  # 1h bars published live (3 of them also close a 4h bar)
LIVE_SPEED = 300.0  # exchange seconds per real second: a 1h bar every 12 s


def live_latency(plan: Plan, runner: Runner) -> dict[str, Any]:
    """The warm live path against the fake exchange (``bench.stages.live``)."""
    if not module_has("hermes.live.engine", "LiveEngine"):
        return not_available("hermes.live not found (live signals)")
    work = plan.work / "live"
    target = str(work / "target")
    lake = str(work / "lake")
    built = runner.once(
        "bench.stages.live:build", work=lake, target_path=target, symbols=LIVE_SYMBOLS,
        live_bars=LIVE_BARS,
    )  # fmt: skip
    out = runner.once(
        "bench.stages.live:measure", work=lake, target_path=target, symbols=LIVE_SYMBOLS,
        live_bars=LIVE_BARS, speed=LIVE_SPEED,
    )  # fmt: skip
    out["build_seconds"] = built["seconds"]
    return out


def compare_backtesting_py(plan: Plan, runner: Runner) -> dict[str, Any]:
    runs = runner.repeat(
        "bench.compare.backtesting_py:run", plan.repeat, signals_file=str(signals_file(plan.work))
    )
    return summarise(runs)


def compare_notebook(plan: Plan, runner: Runner, results: dict[str, Any]) -> dict[str, Any]:
    """The notebook baseline on the smallest measured size, against both Hermes signal paths."""
    if not results.get("sizes"):
        return not_available("no data size measured")
    size = min(results["sizes"], key=lambda k: results["sizes"][k]["data"]["rows"])
    sized = results["sizes"][size]
    states = sized["states"]
    restore = states.get("signals") or states.get("features")
    if restore is None:
        return not_available(f"needs the gold feature store ({size}), which was not built")
    runs = runner.repeat(
        "bench.compare.notebook_signals:run",
        plan.repeat,
        work=sized["lake"],
        restore_from=restore,
        chunk_rows=SIGNAL_CHUNK_ROWS,
        params=default_parameters(),
    )
    out = summarise(runs)
    out["size"] = size
    for stage in ("signals", "signals_chunked"):
        figure = sized["stages"].get(stage, {})
        if figure.get("status") == "ok":
            ratios = [n / h for n in out["seconds_list"] for h in [figure["seconds"]["median"]]]
            out[f"speed_ratio_{stage}"] = spread(ratios)
    dbt = out.get("speed_ratio_signals")
    out["speed_ratio"] = dbt or out.get("speed_ratio_signals_chunked")
    return out


def refresh_costs(plan: Plan, runner: Runner, say: Say) -> dict[str, Any]:
    """Daily refresh time with 1, 4 and 8 years of history (``plan.refresh_years``)."""
    new_day = datetime(2026, 1, 1, tzinfo=UTC)
    out: dict[str, Any] = {
        "status": "ok",
        "symbols": plan.refresh_symbols,
        "interval": plan.refresh_interval,
        "new_day": f"{new_day:%Y-%m-%d}",
        "histories": {},
    }
    for years in plan.refresh_years:
        spec = SyntheticSpec(
            symbols=plan.refresh_symbols,
            first_month=f"{new_day.year - years}-01",
            last_month=f"{new_day.year - 1}-12",
            interval=plan.refresh_interval,
        )
        base = plan.work / "refresh" / spec.key
        archives = generate(spec, plan.work / "data")
        new_folder = base / "new_day"
        if not new_folder.exists():
            for index in range(1, spec.symbols + 1):
                daily_archive(spec, index, new_day, new_folder)
        say(f"refresh: {years} year(s) of history, {spec.rows:,} rows: full build, then daily runs")
        try:
            build = runner.once(
                "bench.stages.refresh:build_history",
                archive_root=str(plan.work / "data" / spec.key),
                work=str(base / "lake"),
                target_path=str(base / "target"),
                save_to=str(base / "history"),
            )
            runs = runner.repeat(
                "bench.stages.refresh:daily",
                plan.repeat,
                work=str(base / "lake"),
                restore_from=str(base / "history"),
                new_day=str(new_folder),
                target_path=str(base / "target"),
            )
            figure = summarise(runs)
            figure.update(
                history_rows=spec.rows, archives=len(archives), full_build_seconds=build["seconds"]
            )
        except StageError as exc:
            figure = failed(exc)
        out["histories"][f"{years}y"] = figure
    return out


def _median(figure: dict[str, Any]) -> float | None:
    if figure.get("status") != "ok":
        return None
    return float(figure["seconds"]["median"])


def daily_job(plan: Plan, runner: Runner, say: Say) -> dict[str, Any]:
    """``hermes run`` end to end (full, no-op, one new candle; both Prefect server paths),
    the quality step, a backfill of unpublished months, and the plain recompute script,
    all in this run: the ratios compare figures measured side by side."""
    base = plan.work / "daily_job"
    home, lake, state = base / "prefect", base / "lake", base / "state"
    stage = "bench.stages.daily_job:run"
    full_repeat = 1 if plan.quick else 2
    out: dict[str, Any] = {"status": "ok", "load_average_at_start": machine.load_average()}

    def measured(name: str, call: Callable[[], list[dict[str, Any]]]) -> None:
        try:
            out[name] = summarise(call())
        except StageError as exc:
            out[name] = failed(exc)

    say("daily job: the plain recompute script (polars + TA-Lib + numba + vectorbt)")
    measured(
        "plain",
        lambda: runner.repeat(
            "bench.compare.plain_recompute:run", plan.repeat, out_dir=str(base / "plain")
        ),
    )
    say("daily job: starting the long-lived local Prefect server")
    measured(
        "server_start",
        lambda: [runner.once("bench.stages.daily_job:server_start", prefect_home=str(home))],
    )
    try:
        say("daily job: hermes run on a new lake (long-lived server)")
        measured(
            "full",
            lambda: [
                runner.once(
                    stage,
                    work=str(lake),
                    prefect_home=str(home),
                    mode="local",
                    scenario="full",
                    save_to=str(state),
                )  # fmt: skip
                for _ in range(full_repeat)
            ],
        )
        say("daily job: hermes run on a new lake (Prefect's temporary server)")
        measured(
            "full_temporary",
            lambda: [
                runner.once(
                    stage,
                    work=str(base / "lake-temporary"),
                    prefect_home=str(base / "p-tmp"),
                    mode="temporary",
                    scenario="full",
                )  # fmt: skip
            ],
        )
        if out["full"].get("status") != "ok":
            return out
        say("daily job: hermes run with nothing new")
        measured(
            "no_op",
            lambda: runner.repeat(
                stage,
                plan.repeat,
                work=str(lake),
                prefect_home=str(home),
                mode="local",
                scenario="no_op",
                restore_from=str(state),
            ),  # fmt: skip
        )
        for mode, name in (("local", "one_candle"), ("temporary", "one_candle_temporary")):
            say(f"daily job: one new 4h candle, then hermes run ({mode} server)")
            measured(
                name,
                lambda mode=mode: runner.repeat(  # type: ignore[misc]
                    stage,
                    plan.repeat,
                    work=str(lake),
                    prefect_home=str(home),
                    mode=mode,
                    scenario="one_candle",
                    restore_from=str(state),
                ),  # fmt: skip
            )
        say("daily job: the quality checkpoint, every partition and one partition")
        for name, partitions in (("quality_full", None), ("quality_one", [["BTCUSDT", "4h"]])):
            measured(
                name,
                lambda partitions=partitions: runner.repeat(  # type: ignore[misc]
                    "bench.stages.daily_job:quality",
                    plan.repeat,
                    work=str(base / "q-lake"),
                    restore_from=str(state),
                    partitions=partitions,
                ),  # fmt: skip
            )
        say("daily job: backfill of a year of unpublished archives (2 symbols x 2 intervals)")
        measured(
            "backfill_missing",
            lambda: [
                runner.once(
                    "bench.stages.daily_job:backfill_missing",
                    work=str(base / "lake-backfill"),
                    prefect_home=str(home),
                )  # fmt: skip
            ],
        )
    finally:
        try:
            runner.once("bench.stages.daily_job:server_stop", prefect_home=str(home))
        except StageError:
            pass
    out["load_average_at_end"] = machine.load_average()
    plain = _median(out["plain"])
    if plain:
        for name in ("full", "full_temporary", "no_op", "one_candle", "one_candle_temporary"):
            seconds = _median(out.get(name, {}))
            if seconds is not None:
                out[name]["ratio_to_plain"] = seconds / plain
    return out


def universe(plan: Plan, runner: Runner, say: Say) -> dict[str, Any]:
    """The synthetic universe's daily job (:mod:`bench.stages.universe`) next to the plain
    recompute script, measured in this run."""
    base = plan.work / "universe"
    home = base / "prefect"
    symbols, first, last = plan.universe
    say(f"universe: {symbols} synthetic symbols x (4h, 1d), {first}..{last}; plain script")
    out: dict[str, Any] = {"status": "ok", "symbols": symbols, "months": f"{first}..{last}"}
    out["plain"] = summarise(
        runner.repeat("bench.compare.plain_recompute:run", plan.repeat, out_dir=str(base / "p"))
    )
    runner.once("bench.stages.daily_job:server_start", prefect_home=str(home))
    try:
        out.update(
            runner.once(
                "bench.stages.universe:run",
                work=str(base),
                prefect_home=str(home),
                symbols=symbols,
                first=first,
                last=last,
            )
        )
    finally:
        runner.once("bench.stages.daily_job:server_stop", prefect_home=str(home))
    return out


def quality_at_scale(
    plan: Plan, runner: Runner, results: dict[str, Any], say: Say
) -> dict[str, Any]:
    """A full quality pass on each measured size's built lake (silver and gold features)."""
    out: dict[str, Any] = {"status": "ok", "sizes": {}}
    for size, sized in results.get("sizes", {}).items():
        restore = sized.get("states", {}).get("features")
        if restore is None:
            continue
        say(f"quality: full checkpoint on the {size} lake")
        try:
            out["sizes"][size] = summarise(
                runner.repeat(
                    "bench.stages.daily_job:quality",
                    1,
                    work=sized["lake"],
                    restore_from=restore,
                    partitions=None,
                )  # fmt: skip
            )
        except StageError as exc:
            out["sizes"][size] = failed(exc)
    return out


def profile_slowest(
    plan: Plan, runner: Runner, results: dict[str, Any], say: Say
) -> dict[str, Any]:
    """cProfile of the slowest pipeline stage on the largest size, run once more."""
    candidates = []
    for size, sized in results.get("sizes", {}).items():
        for name, figure in sized["stages"].items():
            if figure.get("status") == "ok":
                candidates.append((figure["seconds"]["median"], size, name))
    if not candidates:
        return not_available("no pipeline stage ran")
    _seconds, size, name = max(candidates)
    say(f"profile: {name} on {size} under cProfile")
    sized = results["sizes"][size]
    call = sized.get("calls", {}).get(name)
    if call is None:
        return not_available(f"profiling {name} is not supported")
    target, arguments = call["target"], {k: v for k, v in call["kwargs"].items() if k != "save_to"}
    result = runner.once("bench.child_profile:run", target=target, kwargs=arguments)
    return {"status": "ok", "stage": name, "size": size, **result}


def profile(plan: Plan, runner: Runner, results: dict[str, Any], say: Say) -> dict[str, Any]:
    return _guarded(lambda: profile_slowest(plan, runner, results, say))


def run_all(plan: Plan, runner: Runner, results: dict[str, Any], say: Say) -> dict[str, Any]:
    """Every measurement beside the pipeline sizes (the profile runs last, from ``main``)."""
    out: dict[str, Any] = {"comparisons": {}}
    if plan.wants("compare.notebook"):
        say("signals: hermes vs the notebook approach (pandas over LIMIT/OFFSET chunks)")
        out["comparisons"]["notebook_signals"] = _guarded(
            lambda: compare_notebook(plan, runner, results)
        )
    if plan.wants("compare.indicators"):
        say("indicators: hermes vs TA-Lib")
        out["comparisons"]["indicators"] = _guarded(lambda: compare_indicators(plan, runner))
    if plan.wants("backtest"):
        say("backtest: single run on 8 years of BTCUSDT 4h, cold and warm")
        out["backtest"] = _guarded(lambda: backtest_single(plan, runner))
    if plan.wants("grid"):
        say(f"grid: {plan.grid_size:,} parameter combinations on 8 years of BTCUSDT 4h")
        out["grid"] = _guarded(lambda: backtest_grid(plan, runner))
    if plan.wants("sql_grid"):
        say("grid: 100 parameter sets of the SQL-only donchian_breakout, 2 x 8 years of 4h")
        out["sql_grid"] = _guarded(lambda: sql_grid(plan, runner))
    if plan.wants("ml"):
        say("ml: walk-forward LightGBM on 2 x 8 years of 4h (train, predict, record)")
        out["ml"] = _guarded(lambda: ml_walk_forward(plan, runner))
    if plan.wants("compare.backtesting"):
        say("backtest: hermes vs backtesting.py on the same signals")
        out["comparisons"]["backtesting_py"] = _guarded(
            lambda: compare_backtesting_py(plan, runner)
        )
    if plan.wants("refresh"):
        out["refresh"] = refresh_costs(plan, runner, say)
    if plan.wants("daily_job"):
        out["daily_job"] = _guarded(lambda: daily_job(plan, runner, say))
    if plan.wants("universe"):
        out["universe"] = _guarded(lambda: universe(plan, runner, say))
    if plan.wants("live"):
        say(f"live: {LIVE_SYMBOLS} synthetic symbols x 2 intervals, bar close to feed and webhook")
        out["live"] = _guarded(lambda: live_latency(plan, runner))
    return out
