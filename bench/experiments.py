"""Everything measured besides the pipeline sizes, in run order (:data:`EXPERIMENTS`).

Ratios against the alternatives (the notebook baseline, TA-Lib, backtesting.py, the plain
recompute script, one dbt run per set) come from figures measured side by side in one run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bench import synthetic
from bench.measure import Runner, StageError, failed, load_average, not_available, spread, summarise
from bench.pipeline import SIGNAL_CHUNK_ROWS
from bench.plan import Plan
from bench.stages.backtest import SQL_SERIES, signals_file, smart_momentum
from bench.stages.universe import REAL

Say = Callable[[str], None]
Results = dict[str, Any]
Measure = Callable[[Plan, Runner, Results, Say], Results]
DAILY, BUILD, PLAIN = (
    "bench.stages.daily_job:",
    "bench.lakes:build",
    "bench.compare.plain_recompute:run",
)
LIVE = {"symbols": 20, "live_bars": 12}  # 1h bars published live (3 also close a 4h bar)
LIVE_SPEED = 300.0  # exchange seconds per real second: a 1h bar every 12 s
SIGNAL_MODELS = [["seed", "--select", "strategies"], ["run", "-s", "+path:models/gold/signals"]]


def _ok(**figures: Any) -> Results:
    return {"status": "ok", **figures}


def _folders(plan: Plan, name: str) -> dict[str, str]:
    return {"work": str(plan.work / name / "lake"), "target_path": str(plan.work / name / "target")}


def compare_indicators(plan: Plan, runner: Runner, results: Results, say: Say) -> Results:
    """hermes.indicators vs TA-Lib on one synthetic 1-minute series (1M candles, 100k quick)."""
    rows = 100_000 if plan.quick else 1_000_000
    if not (arrays := plan.work / f"indicator-arrays-{rows}.npz").exists():
        frame = synthetic.synthetic_frame(synthetic.load_source_bars(), 1, 1_704_067_200_000,
                                          rows, 7, 60_000)  # fmt: skip
        prices: dict[str, Any] = {c: frame[c].to_numpy() for c in ("open", "high", "low", "close")}
        np.savez(arrays, **prices)
    runs = runner.repeat("bench.compare.indicators:run", plan.repeat, arrays_file=str(arrays))
    cases: Results = {}
    for name, first in runs[0]["cases"].items():
        per_run = [r["cases"][name] for r in runs]
        keys = ("hermes_seconds", "talib_seconds", "speed_ratio") if first["status"] == "ok" else ()
        cases[name] = first if not keys else {"status": "ok"} | {
            k: spread([c[k] for c in per_run]) for k in keys} | {
            "max_relative_difference": max(c["max_relative_difference"] for c in per_run),
        }  # fmt: skip
    return {"status": "ok", "rows": runs[0]["rows"], "cases": cases}


def compare_notebook(plan: Plan, runner: Runner, results: Results, say: Say) -> Results:
    """The notebook baseline on the smallest measured size, against both Hermes signal paths."""
    if not results.get("sizes"):
        return not_available("no data size measured")
    size = min(results["sizes"], key=lambda k: results["sizes"][k]["data"]["rows"])
    sized = results["sizes"][size]
    if (restore := sized["states"].get("signals") or sized["states"].get("features")) is None:
        return not_available(f"needs the gold feature store ({size}), which was not built")
    out = summarise(runner.repeat(
        "bench.compare.notebook_signals:run", plan.repeat, work=sized["lake"],
        restore_from=restore, chunk_rows=SIGNAL_CHUNK_ROWS, params=smart_momentum(),
    )) | {"size": size}  # fmt: skip
    for stage in ("signals", "signals_chunked"):
        if (figure := sized["stages"].get(stage, {})).get("status") == "ok":
            hermes = figure["seconds"]["median"]
            out[f"speed_ratio_{stage}"] = spread([n / hermes for n in out["seconds_list"]])
    out["speed_ratio"] = out.get("speed_ratio_signals") or out.get("speed_ratio_signals_chunked")
    return out


def ml_walk_forward(plan: Plan, runner: Runner, results: Results, say: Say) -> Results:
    """Walk-forward LightGBM on the bundled BTCUSDT/ETHUSDT 4h: train, predict, record."""
    where, saved = _folders(plan, "ml"), str(plan.work / "ml" / "features")
    if not (plan.work / "ml" / "features").exists():
        runner.once(BUILD, **where, sources=[str(synthetic.BUNDLED)], save_to=saved,
                    commands=[["seed"], ["run", "--select", "+gold_ml_labels"]])  # fmt: skip
    return summarise(runner.repeat(
        "bench.lakes:dbt_run", plan.repeat, **where, restore_from=saved,
        vars={"ml_intervals": ["4h"]},
        select="gold_ml_predictions gold_ml_models", table="gold_ml_predictions"))  # fmt: skip


def sql_grid(plan: Plan, runner: Runner, results: Results, say: Say) -> Results:
    """100 parameter sets of a SQL-only strategy in process vs one dbt run per set."""
    where = _folders(plan, "sql-grid")
    runner.once(BUILD, **where, sources=SQL_SERIES, commands=SIGNAL_MODELS)
    out = summarise(
        runner.repeat("bench.stages.backtest:sql_grid", plan.repeat, work=where["work"])
    )
    projected = runner.once("bench.stages.backtest:dbt_per_set", **where)["projected_100_seconds"]
    return out | {"dbt_run_per_set_projected_seconds": projected,
                  "speed_ratio_vs_dbt_per_set": projected / out["seconds"]["median"]}  # fmt: skip


def live_latency(plan: Plan, runner: Runner, results: Results, say: Say) -> Results:
    """The warm live path against the fake exchange (:mod:`bench.stages.live`)."""
    built = runner.once("bench.stages.live:build", **_folders(plan, "live"), **LIVE)
    out = runner.once(
        "bench.stages.live:measure", **_folders(plan, "live"), **LIVE, speed=LIVE_SPEED
    )
    return out | {"build_seconds": built["seconds"]}


RUN, FOLDERS = DAILY + "run", ("work", "prefect_home", "restore_from", "save_to", "out_dir")
ON_STATE = {"work": "lake", "prefect_home": "prefect", "restore_from": "state", "mode": "local"}
JOB_SCENARIOS: list[tuple[str, str, str, str, Results]] = [
    ("plain", "plain recompute script", PLAIN, "repeat", {"out_dir": "plain"}),
    ("server_start", "long-lived server: first start (once)", DAILY + "server_start", "once",
     {"prefect_home": "prefect"}),
    ("full", "new lake, long-lived server", RUN, "full", {"work": "lake", "prefect_home": "prefect",
     "mode": "local", "scenario": "full", "save_to": "state"}),
    ("no_op", "nothing new", RUN, "repeat", ON_STATE | {"scenario": "no_op"}),
    ("one_candle", "one new 4h candle (ingest + run), long-lived server", RUN, "repeat",
     ON_STATE | {"scenario": "one_candle"}),
    ("quality_full", "quality checkpoint, every partition", DAILY + "quality", "repeat",
     {"work": "q-lake", "restore_from": "state", "partitions": None}),
    ("quality_one", "quality checkpoint, one partition", DAILY + "quality", "repeat",
     {"work": "q-lake", "restore_from": "state", "partitions": [["BTCUSDT", "4h"]]}),
    ("backfill_missing", "backfill, a year of unpublished archives (2 x 2 series)",
     DAILY + "backfill_missing", "once", {"work": "lake-backfill", "prefect_home": "prefect"}),
]  # fmt: skip
"""The daily job's measurements in run order: name, label, stage, runs (``repeat``: the
plan's; ``full``: 2, 1 quick; ``once``) and arguments; :data:`FOLDERS` are under
``<work>/daily_job``."""


def daily_job(plan: Plan, runner: Runner, results: Results, say: Say) -> Results:
    """:data:`JOB_SCENARIOS` in one run, so the ratios to the plain script compare figures
    measured side by side; the long-lived Prefect server is stopped at the end, whatever
    happened."""
    base, out = plan.work / "daily_job", _ok(load_average_at_start=load_average())
    runs = {"repeat": plan.repeat, "full": 1 if plan.quick else 2, "once": 1}
    with _server(runner, base / "prefect"):
        for name, label, target, times, kwargs in JOB_SCENARIOS:
            if name == "no_op" and out["full"]["status"] != "ok":
                return out  # nothing to run again on
            say(f"daily job: {label}")
            folders = {k: str(base / v) for k, v in kwargs.items() if k in FOLDERS}
            out[name] = runner.figure(target, runs[times], **kwargs | folders)
    out["load_average_at_end"] = load_average()
    for name in ("full", "no_op", "one_candle"):
        if out[name]["status"] == "ok" and out["plain"]["status"] == "ok":
            out[name]["ratio_to_plain"] = (
                out[name]["seconds"]["median"] / out["plain"]["seconds"]["median"]
            )
    return out


@contextmanager
def _server(runner: Runner, prefect_home: Path, start: bool = False) -> Iterator[str]:
    """The long-lived Prefect server of ``prefect_home`` (started first when ``start``; the
    daily job measures its start), stopped at the end whatever happened."""
    if start:
        runner.once(DAILY + "server_start", prefect_home=str(prefect_home))
    try:
        yield str(prefect_home)
    finally:
        with suppress(StageError):
            runner.once(DAILY + "server_stop", prefect_home=str(prefect_home))


def universe(plan: Plan, runner: Runner, results: Results, say: Say, real: bool = False) -> Results:
    """One new day of a universe through ``hermes`` next to the plain recompute script in the
    same run: the synthetic universe of the plan, or (``real``) the 20 real symbols (4h, 1d)
    with the plain script over the same files."""
    symbols, first, last = plan.universe
    name, base = ("real_universe", "real") if real else ("universe", "run")
    say(
        "universe: the 20 real symbols x (4h, 1d), their last day; plain script"
        if real
        else f"universe: {symbols} synthetic symbols x (4h, 1d), {first}..{last}; plain script"
    )
    data = [str(f) for f in REAL] if real else None
    kwargs: Results = {} if real else {"symbols": symbols, "first": first, "last": last}
    folder = plan.work / name
    out: Results = {"status": "ok", "plain": summarise(runner.repeat(
        PLAIN, plan.repeat, out_dir=str(folder / "p"), data=data))}  # fmt: skip
    with _server(runner, folder / "prefect", start=True) as prefect:
        out |= runner.once(f"bench.stages.universe:{base}", work=str(folder), prefect_home=prefect,
                           **kwargs)  # fmt: skip
    if real:
        return out | {"ratio_to_plain": out["seconds"] / out["plain"]["seconds"]["median"]}
    return out | {"symbols": symbols, "months": f"{first}..{last}"}


def quality_at_scale(plan: Plan, runner: Runner, results: Results, say: Say) -> Results:
    """A full quality pass on each measured size's built lake (silver and gold features)."""
    out: Results = {"status": "ok", "sizes": {}}
    for size, sized in results.get("sizes", {}).items():
        if restore := sized.get("states", {}).get("features"):
            say(f"quality: full checkpoint on the {size} lake")
            out["sizes"][size] = runner.figure(DAILY + "quality", 1, work=sized["lake"],
                                               restore_from=restore, partitions=None)  # fmt: skip
    return out


def _repeat(target: str, **kwargs: Callable[[Plan], Any]) -> Measure:
    """``plan.repeat`` runs of ``target``, arguments read from the plan."""
    return lambda plan, runner, results, say: summarise(runner.repeat(
        target, plan.repeat, **{k: read(plan) for k, read in kwargs.items()}))  # fmt: skip


def _signals(plan: Plan) -> str:
    return str(signals_file(plan.work))


EXPERIMENTS: list[tuple[str, str, str, Measure]] = [
    ("compare.notebook", "comparisons.notebook_signals",
     "signals: hermes vs the notebook approach (pandas over LIMIT/OFFSET chunks)",
     compare_notebook),
    ("compare.indicators", "comparisons.indicators", "indicators: hermes vs TA-Lib",
     compare_indicators),
    ("backtest", "backtest", "backtest: single run on 8 years of BTCUSDT 4h, cold and warm",
     _repeat("bench.stages.backtest:single", signals_file=_signals)),
    ("grid", "grid", "grid: {plan.grid_size:,} parameter combinations on 8 years of BTCUSDT 4h",
     _repeat("bench.stages.backtest:grid", signals_file=_signals, size=lambda p: p.grid_size)),
    ("sql_grid", "sql_grid",
     "grid: 100 parameter sets of the SQL-only donchian_breakout, 2 x 8 years of 4h", sql_grid),
    ("ml", "ml", "ml: walk-forward LightGBM on 2 x 8 years of 4h (train, predict, record)",
     ml_walk_forward),
    ("compare.backtesting", "comparisons.backtesting_py",
     "backtest: hermes vs backtesting.py on the same signals",
     _repeat("bench.compare.backtesting_py:run", signals_file=_signals)),
    ("daily_job", "daily_job", "daily job: `hermes run` and the plain recompute script", daily_job),
    ("universe", "universe", "universe: a synthetic universe's daily job", universe),
    ("universe.real", "real_universe", "universe: one new day of the 20 real symbols",
     partial(universe, real=True)),
    ("live", "live", "live: {LIVE[symbols]} synthetic symbols x 2 intervals, bar close to feed "
     "and webhook", live_latency),
]  # fmt: skip
"""Each measurement: its ``--only`` name, results path, console line and function."""


def run_all(plan: Plan, runner: Runner, results: Results, say: Say) -> Results:
    """Every measurement of :data:`EXPERIMENTS` the plan selects; a failure is its figure."""
    out: Results = {"comparisons": {}}
    for name, path, message, measure in EXPERIMENTS:
        if plan.wants(name):
            say(message.format(plan=plan, LIVE=LIVE))
            try:
                figure = measure(plan, runner, results, say)
            except StageError as exc:
                figure = failed(exc)
            parent, _, key = path.rpartition(".")
            (out.setdefault(parent, {}) if parent else out)[key] = figure
    return out
