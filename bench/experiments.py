"""What a run measures, as tables: :data:`SIZES`, the pipeline's :data:`STAGES` on each size,
every other measurement in run order (:data:`EXPERIMENTS`) and the daily job's
:data:`JOB_SCENARIOS`. Ratios against an alternative come from figures of the same run."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from bench import synthetic
from bench.measure import Runner, StageError, load_average, median_of, spread, status
from bench.stages.backtest import SQL_SERIES, signals_file, smart_momentum
from bench.stages.daily_job import REAL
from bench.synthetic import SyntheticSpec
from hermes.live.fake_exchange import BUNDLED

BENCH_ROOT = Path(__file__).resolve().parent
SIZES: dict[str, SyntheticSpec] = {  # symbols x months of one-minute candles
    "100k": SyntheticSpec(1, "2025-01", "2025-03"),  # 129,600 candles (development runs)
    "1M": SyntheticSpec(2, "2025-01", "2025-12"),  # 1,051,200
    "10M": SyntheticSpec(10, "2024-01", "2025-12"),  # 10,526,400
    "50M": SyntheticSpec(48, "2024-01", "2025-12"),  # 50,526,720
}
Say = Callable[[str], None]
Results = dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """Settings of one run (``python -m bench --help`` explains each)."""

    sizes: tuple[str, ...]
    repeat: int
    grid_size: int
    work: Path
    out: Path
    quick: bool
    # the synthetic universe: symbols (x 4h and 1d), first and last month (at most 2025-12)
    universe: tuple[int, str, str] = (200, "2024-01", "2025-12")
    only: frozenset[str] = field(default_factory=frozenset)
    budget_seconds: float = 19 * 60  # `make bench` must finish within 20 minutes

    def wants(self, stage: str) -> bool:
        """Whether ``--only`` names ``stage`` (exactly), or nothing."""
        return not self.only or stage in self.only

    def wants_sizes(self) -> bool:
        """Whether a selected measurement reads the pipeline's synthetic data sets."""
        return any(map(self.wants, [*LABELS, "compare.notebook", "quality"]))

    @classmethod
    def of(cls, quick: bool, work: Path, out: Path) -> Plan:
        """The full plan, or the ``quick`` one (small sizes, few repetitions)."""
        if quick:
            return cls(("100k",), 2, 100, work, out, True, (4, "2025-10", "2025-12"))
        return cls(("1M", "10M"), 3, 1000, work, out, quick=False)


SIGNAL_CHUNK_ROWS = 100_000  # the design notebook's chunk size, used for both sides
DBT, PLAIN = "bench.lakes:dbt_run", "bench.compare:plain_recompute"
DAILY = "bench.stages.daily_job:"
STAGES: list[tuple[str, str, str, dict[str, Any], str, str]] = [
    ("ingest", "ingest (archives to landing)", "bench.lakes:build", {"commands": []}, "", "landed"),
    ("bronze", "bronze_klines (dbt)", DBT, {"select": "bronze_klines"}, "landed", "bronze"),
    ("silver", "silver_klines (dbt)", DBT, {"select": "silver_klines"}, "bronze", "silver"),
    # the feature layer: every model between silver_klines and gold_feature_store
    ("features", "gold features (dbt)", DBT, {"select": "+gold_feature_store", "table":
     "gold_features", "exclude": "+silver_klines"}, "silver", "features"),
    ("signals", "signals (dbt model)", DBT, {"select": "gold_signals_smart_momentum",
     "setup": True}, "features", "signals"),
    ("signals_chunked", "signals (`hermes signals`, chunked)", "bench.lakes:signals",
     {"chunk_rows": SIGNAL_CHUNK_ROWS}, "features", ""),
]  # fmt: skip
"""The pipeline's stages: name, label, child function and its arguments, the lake state it
restores first and the one it saves."""
LABELS = {name: label for name, label, *_ in STAGES}


def _repeats(plan: Plan, figure: Results, rows: int, deadline: float | None) -> Any:
    """Repetitions that fit what is left of the time budget, estimated from a smaller size's
    ``figure`` (its fixed cost plus its time scaled by the rows), or why the stage is skipped."""
    if deadline is None or figure.get("status") != "ok":
        return plan.repeat
    seconds, left = figure["seconds"]["median"], deadline - time.monotonic()
    fixed = (median_of(figure.get("process_seconds")) or seconds) - seconds  # start-up, imports
    seconds = fixed + seconds * rows / figure["rows"]
    if seconds > left:
        why = f"skipped: estimated {seconds:.0f} s per run (scaled from the smaller size) exceeds"
        return status("not available", f"{why} the {max(left, 0):.0f} s left in the time budget")
    return max(1, min(plan.repeat, int(left // (seconds * 1.5))))


def run_size(plan: Plan, size: str, runner: Runner, say: Say, progress: Any,
             previous: Results | None = None, deadline: float | None = None) -> Any:  # fmt: skip
    """Generate the data set ``size`` and measure every stage of :data:`STAGES` on it (before
    the ``deadline``, estimated from the ``previous`` size's figures)."""
    spec, base = SIZES[size], plan.work / "lakes" / size
    archives, names = synthetic.generate(spec, plan.work / "data", progress), spec.symbol_names()
    data = {
        "rows": spec.rows,
        "symbols": [names[0], "...", names[-1]] if spec.symbols > 2 else names,
        "interval": spec.interval,
        "months": f"{spec.first_month}..{spec.last_month}",
        "archives": len(archives),
        "archive_mb": round(sum(p.stat().st_size for p in archives) / 2**20, 1),
    }
    out: Results = {"data": data, "stages": {}, "lake": str(base / "lake")}
    out["target"], states = str(base / "target"), base / "states"
    done = {"landed"} if (states / "landed" / "hermes.ducklake").exists() else set()
    for name, label, target, arguments, restore, save in STAGES:
        kwargs = {"work": out["lake"], "target_path": out["target"], **arguments}
        kwargs |= {"restore_from": str(states / restore)} if restore else {}
        kwargs |= {"save_to": str(states / save)} if save else {}
        kwargs |= {"sources": [str(plan.work / "data" / spec.key)]} if not restore else {}
        figure: Any = status("not available", "not selected (--only)")
        if not plan.wants(name):
            if name == "ingest" and not done:
                say(f"[{size}] landing the archives (ingest not measured)")
                runner.once(target, **kwargs)
                done.add("landed")
        elif restore and restore not in done:
            figure = status("not available", f"needs the {restore} stage, which did not complete")
        else:
            say(f"[{size}] {label}: {spec.rows:,} rows")
            before = (previous or {}).get("stages", {}).get(name, {})
            if isinstance(figure := _repeats(plan, before, spec.rows, deadline), int):
                figure = runner.figure(target, figure, **kwargs)
            done |= {save} if figure["status"] == "ok" and save else set()
        out["stages"][name] = figure
    return out | {"states": {name: str(states / name) for name in sorted(done)}}


def _folders(plan: Plan, name: str) -> dict[str, str]:
    return {"work": str(plan.work / name / "lake"), "target_path": str(plan.work / name / "target")}


def compare_notebook(plan: Plan, runner: Runner, results: Results, say: Say) -> Results:
    """The notebook baseline on the smallest measured size, against both Hermes signal paths."""
    sizes = results["sizes"]
    sized = sizes.get(size := min(sizes, key=lambda k: sizes[k]["data"]["rows"], default=""), {})
    states = sized.get("states", {})
    if (restore := states.get("signals") or states.get("features")) is None:
        return status("not available", f"needs a gold feature store ({size or 'no size run'})")
    kwargs = {"work": sized["lake"], "restore_from": restore, "chunk_rows": SIGNAL_CHUNK_ROWS}
    out = runner.repeat("bench.compare:notebook", plan.repeat, **kwargs, params=smart_momentum())
    for stage in ("signals", "signals_chunked"):
        if (figure := sized["stages"].get(stage, {})).get("status") == "ok":
            hermes = figure["seconds"]["median"]
            out[f"speed_ratio_{stage}"] = spread([n / hermes for n in out["seconds_list"]])
    return out | {"size": size}


def ml_walk_forward(plan: Plan, runner: Runner, results: Results, say: Say) -> Results:
    """Walk-forward LightGBM on the bundled BTCUSDT/ETHUSDT 4h: train, predict, record."""
    where, saved = _folders(plan, "ml"), str(plan.work / "ml" / "features")
    if not Path(saved).exists():
        features = [["seed"], ["run", "--select", "+gold_ml_labels"]]
        sources = [str(BUNDLED)]
        runner.once("bench.lakes:build", **where, sources=sources, save_to=saved, commands=features)
    select, table = "gold_ml_predictions gold_ml_models", "gold_ml_predictions"
    kwargs = {"select": select, "table": table, "vars": {"ml_intervals": ["4h"]}}
    return runner.repeat(DBT, plan.repeat, **where, restore_from=saved, **kwargs)


def sql_grid(plan: Plan, runner: Runner, results: Results, say: Say) -> Results:
    """100 parameter sets of a SQL-only strategy, evaluated in process."""
    where = _folders(plan, "sql-grid")
    models = [["seed", "--select", "strategies"], ["run", "-s", "+path:models/gold/signals"]]
    runner.once("bench.lakes:build", **where, sources=SQL_SERIES, commands=models)
    return runner.repeat("bench.stages.backtest:sql_grid", plan.repeat, work=where["work"])


LIVE = {"symbols": 20, "live_bars": 12}  # 1h bars published live (3 also close a 4h bar)


def live_latency(plan: Plan, runner: Runner, results: Results, say: Say) -> Results:
    """The warm live path against the fake exchange, a 1h bar every 12 s (speed 300)."""
    built = runner.once("bench.stages.live:build", **_folders(plan, "live"), **LIVE)
    out = runner.once("bench.stages.live:measure", **_folders(plan, "live"), **LIVE, speed=300.0)
    return out | {"build_seconds": built["seconds"]}


FOLDERS = ("work", "prefect_home", "restore_from", "save_to", "out_dir")
ON_STATE = {"work": "lake", "prefect_home": "prefect", "restore_from": "state"}
JOB_SCENARIOS: list[tuple[str, str, str, str, Results]] = [
    ("plain", "plain recompute script", PLAIN, "repeat", {"out_dir": "plain"}),
    ("server_start", "long-lived server: first start (once)", DAILY + "server", "once",
     {"prefect_home": "prefect"}),
    ("full", "new lake, long-lived server", DAILY + "run", "full",
     ON_STATE | {"restore_from": None, "scenario": "full", "save_to": "state"}),
    ("no_op", "nothing new", DAILY + "run", "repeat", ON_STATE | {"scenario": "no_op"}),
    ("one_candle", "one new 4h candle (ingest + run), long-lived server", DAILY + "run",
     "repeat", ON_STATE | {"scenario": "one_candle"}),
    ("quality_full", "quality checkpoint, every partition", DAILY + "quality", "repeat",
     {"work": "q-lake", "restore_from": "state"}),
    ("backfill_missing", "backfill, a year of unpublished archives (2 x 2 series)",
     DAILY + "backfill_missing", "once", {"work": "lake-backfill", "prefect_home": "prefect"}),
]  # fmt: skip
"""The daily job's measurements in run order: name, label, stage, runs (``repeat``: the
plan's; ``full``: 2, 1 quick; ``once``) and arguments (:data:`FOLDERS` under the job's folder)."""


@contextmanager
def _server(runner: Runner, prefect_home: Path, start: bool = False) -> Iterator[str]:
    """The long-lived Prefect server of ``prefect_home`` (started first when ``start``),
    stopped at the end whatever happened."""
    if start:
        runner.once(DAILY + "server", prefect_home=str(prefect_home))
    try:
        yield str(prefect_home)
    finally:
        with suppress(StageError):
            runner.once(DAILY + "server", prefect_home=str(prefect_home), start=False)


def daily_job(plan: Plan, runner: Runner, results: Results, say: Say) -> Results:
    """:data:`JOB_SCENARIOS` side by side in one run, with their ratios to the plain script."""
    base = plan.work / "daily_job"
    out: Results = {"status": "ok", "load_average_at_start": load_average()}
    runs = {"repeat": plan.repeat, "full": 1 if plan.quick else 2, "once": 1}
    with _server(runner, base / "prefect"):
        for name, label, target, times, kwargs in JOB_SCENARIOS:
            if name == "no_op" and out["full"]["status"] != "ok":
                return out  # nothing to run again on
            say(f"daily job: {label}")
            folders = {k: str(base / v) for k, v in kwargs.items() if k in FOLDERS and v}
            out[name] = runner.figure(target, runs[times], **kwargs | folders)
    plain = out["plain"]["seconds"]["median"] if out["plain"]["status"] == "ok" else None
    for name in ("full", "no_op", "one_candle"):
        if plain and out[name]["status"] == "ok":
            out[name]["ratio_to_plain"] = out[name]["seconds"]["median"] / plain
    return out | {"load_average_at_end": load_average()}


def universe(plan: Plan, runner: Runner, results: Results, say: Say, real: bool = False) -> Results:
    """One new day of the plan's synthetic universe, or (``real``) of the 20 real symbols
    through ``hermes``, next to the plain recompute script over the same files."""
    symbols, first, last = plan.universe
    folder = plan.work / ("real_universe" if real else "universe")
    kwargs: Results = {} if real else {"symbols": symbols, "first": first, "last": last}
    out: Results = {"status": "ok"}
    if real:
        data = [str(f) for f in REAL]
        out["plain"] = runner.repeat(PLAIN, plan.repeat, out_dir=str(folder / "p"), data=data)
    with _server(runner, folder / "prefect", start=True) as prefect:
        stage = DAILY + ("universe_real" if real else "universe")
        out |= runner.once(stage, work=str(folder), prefect_home=prefect, **kwargs)
    if real:
        return out | {"ratio_to_plain": out["seconds"] / out["plain"]["seconds"]["median"]}
    return out | {"symbols": symbols, "months": f"{first}..{last}"}


def quality_at_scale(plan: Plan, runner: Runner, results: Results, say: Say) -> Results:
    """A full quality pass on each measured size's built lake (silver and gold features)."""
    out: Results = {"status": "ok", "sizes": {}}
    for size, sized in results.get("sizes", {}).items():
        if restore := sized.get("states", {}).get("features"):
            say(f"quality: full checkpoint on the {size} lake")
            kwargs = {"work": sized["lake"], "restore_from": restore}
            out["sizes"][size] = runner.figure(DAILY + "quality", 1, **kwargs)
    return out


def backtest(plan: Plan, runner: Runner, results: Results, say: Say, grid: bool = False) -> Any:
    """Smart Momentum on 8 years of BTCUSDT 4h: one backtest cold and warm, or its ``grid``."""
    kwargs: Results = {"signals_file": str(signals_file(plan.work))}
    kwargs |= {"size": plan.grid_size} if grid else {}
    target = "bench.stages.backtest:" + ("grid" if grid else "single")
    return runner.repeat(target, plan.repeat, **kwargs)


EXPERIMENTS: list[tuple[str, str, Callable[..., Results]]] = [
    ("compare.notebook", "comparisons.notebook_signals", compare_notebook),
    ("backtest", "backtest", backtest),
    ("grid", "grid", partial(backtest, grid=True)),
    ("sql_grid", "sql_grid", sql_grid),
    ("ml", "ml", ml_walk_forward),
    ("daily_job", "daily_job", daily_job),
    ("universe", "universe", universe),
    ("universe.real", "real_universe", partial(universe, real=True)),
    ("live", "live", live_latency),
]  # fmt: skip
"""Each measurement: its ``--only`` name, results path and function (its docstring the log)."""


def run(plan: Plan, runner: Runner, results: Results, say: Say, progress: Any) -> None:
    """Every measurement the plan selects, into ``results``: the smallest size first, then
    :data:`EXPERIMENTS` (a failure is its figure), then the larger sizes within what is left of
    the time budget, then a quality pass on each size's lake."""
    deadline, sizes = time.monotonic() + plan.budget_seconds, results.setdefault("sizes", {})
    first, *larger = sorted(plan.sizes, key=lambda s: SIZES[s].rows) if plan.wants_sizes() else [""]
    if first:
        sizes[first] = previous = run_size(plan, first, runner, say, progress)
    results["comparisons"] = {}
    for name, path, measure in EXPERIMENTS:
        if plan.wants(name):
            doc = (getattr(measure, "func", measure).__doc__ or "").split("\n")[0]
            say(f"{name}: {doc}")
            try:
                figure = measure(plan, runner, results, say)
            except StageError as exc:
                figure = status("error", str(exc))
            parent, _, key = path.rpartition(".")
            (results[parent] if parent else results)[key] = figure
    for size in larger:
        sizes[size] = previous = run_size(
            plan, size, runner, say, progress, previous=previous, deadline=deadline
        )
    if plan.wants("quality"):
        results["quality_scale"] = quality_at_scale(plan, runner, results, say)
