"""The goals of the benchmark, one row of :data:`GOALS` each: its label, where its figure
sits in the results, the comparison and the target. RESULTS.md's goal table and the console's
are generated from it (:mod:`bench.report`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from rich.table import Table as RichTable

from bench.pipeline import STAGES

Results = dict[str, Any]


def at(results: Any, path: str) -> Any:
    """The value at a dotted key path, or None."""
    for key in path.split("."):
        if not isinstance(results, dict) or key not in results:
            return None
        results = results[key]
    return results


def median_of(value: Any) -> float | None:
    """A figure that is one value, or a spread of repeated values (its median)."""
    if isinstance(value, dict):
        return float(value["median"])
    return None if value is None else float(value)


def _largest(results: Results, stage: str | None = None) -> str | None:
    """The largest size (where ``stage`` ran, when given)."""
    sizes = results.get("sizes", {})
    ran = [s for s in sizes if stage is None or at(sizes[s], f"stages.{stage}.status") == "ok"]
    return max(ran or sizes, key=lambda s: sizes[s]["data"]["rows"], default=None)


def _scaled(factor: float, path: str) -> Callable[[Results], float | None]:
    return lambda results: (median_of(at(results, path)) or 0) / factor or None


def _rate(stage: str) -> Callable[[Results], float | None]:
    return lambda r: at(r, f"sizes.{_largest(r, stage)}.stages.{stage}.rows_per_second.median")


def _build_peak_gb(results: Results) -> float | None:
    stages = at(results, f"sizes.{_largest(results)}.stages") or {}
    peaks = [f["peak_rss_mb"]["max"] for f in stages.values() if f.get("status") == "ok"]
    return max(peaks) / 1024 if peaks else None


def _grid_seconds(results: Results) -> float | None:
    grid = results.get("grid", {})
    ok = grid.get("status") == "ok" and grid.get("combinations") == 1000
    return at(grid, "seconds.median") if ok else None


class Goal(NamedTuple):
    """One goal: its label, where its figure is (a dotted key path into the results, or a
    function of them), the comparison (``>=`` or ``<``), the target and its unit.

    ``label`` may name ``{features}`` (the largest size where that stage ran; likewise any
    pipeline stage), ``{largest}`` and ``{universe}``; an ``optional`` goal is left out when
    its figure was not measured.
    """

    label: str
    figure: str | Callable[[Results], float | None]
    op: str
    target: float
    unit: str
    optional: bool = False


UNI = "{universe} synthetic symbols x (4h, 1d)"
QUALITY = "quality step peak memory ({} lake, above imports)"
GOALS: list[Goal] = [
    Goal("feature layer, end to end ({features})", _rate("features"), ">=", 1e6, "rows/s"),
    Goal("signals, dbt model, end to end ({signals})", _rate("signals"), ">=", 1e7, "rows/s"),
    Goal("signals, `hermes signals` ({signals_chunked})", _rate("signals_chunked"), ">=", 1e7,
         "rows/s"),
    Goal("signals (dbt) vs notebook approach", "comparisons.notebook_signals.speed_ratio_signals",
         ">=", 20, "x"),
    Goal("signals (`hermes signals`) vs notebook approach",
         "comparisons.notebook_signals.speed_ratio_signals_chunked", ">=", 20, "x"),
    Goal("warm 8-year 4h backtest", "backtest.seconds", "<", 0.1, "s"),
    Goal("cold backtest (fresh process)", "backtest.cold_seconds", "<", 5, "s"),
    Goal("1,000-combination grid", _grid_seconds, "<", 30, "s"),
    Goal("100-set grid of a SQL-only strategy (2 x 8 years of 4h)", "sql_grid.seconds", "<", 30,
         "s"),
    Goal("ML walk-forward, 2 x 8 years of 4h (train + predict)", "ml.seconds", "<", 60, "s"),
    Goal("ML walk-forward peak memory", _scaled(1024, "ml.peak_rss_mb.max"), "<", 1, "GB"),
    Goal("peak memory of the {largest} build", _build_peak_gb, "<", 4, "GB"),
    Goal("one new day, the 20 real symbols (4h, 1d), vs the plain script",
         "real_universe.ratio_to_plain", "<", 0.5, "x"),
    Goal("nothing new, the 20 real symbols", "real_universe.no_op.seconds", "<", 2, "s"),
    Goal(f"one new day, {UNI}", "universe.seconds", "<", 60, "s"),
    Goal(f"one new day peak memory, {UNI}", _scaled(1024, "universe.new_day.peak_rss_mb"), "<",
         1.5, "GB"),
    Goal(f"nothing new, {UNI}", "universe.no_op.seconds", "<", 2, "s"),
    Goal("tearsheet page", _scaled(1e6, "universe.largest_page_bytes"), "<", 1, "MB"),
    Goal("daily job, no-op `hermes run`", "daily_job.no_op.seconds", "<", 3, "s"),
    Goal("daily job, no-op vs plain recompute", "daily_job.no_op.ratio_to_plain", "<", 0.1,
         "ratio"),
    Goal("daily job, one new candle vs plain recompute", "daily_job.one_candle.ratio_to_plain",
         "<", 0.5, "ratio"),
    Goal("quality step peak memory (bundled, above imports)",
         "daily_job.quality_full.quality_rss_mb", "<", 300, "MB"),
    *(Goal(QUALITY.format(size), f"quality_scale.sizes.{size}.quality_rss_mb", "<", 300, "MB",
           optional=True) for size in ("100k", "1M", "10M", "50M")),
    Goal("full quality pass at 10M rows", "quality_scale.sizes.10M.seconds", "<", 20, "s",
         optional=True),
    Goal("live: candle at the API to feed row, p50", "live.feed_latency.p50", "<", 1, "s"),
    Goal("live: candle at the API to feed row, p99", "live.feed_latency.p99", "<", 2, "s"),
    Goal("live: candle to webhook POST, p99", "live.webhook_latency.p99", "<", 2, "s"),
    Goal("live: steady memory (after the steps)", "live.steady_rss_mb", "<", 500, "MB"),
    Goal("backfill of a year of unpublished archives", "daily_job.backfill_missing.seconds", "<",
         10, "s"),
]  # fmt: skip


def goals(results: Results) -> list[dict[str, Any]]:
    """Each goal of :data:`GOALS` with the measured figure and whether it is met."""
    names: dict[str, Any] = {stage.name: _largest(results, stage.name) for stage in STAGES}
    names |= {"largest": _largest(results), "universe": at(results, "universe.symbols") or "?"}
    out = []
    for goal in GOALS:
        read = goal.figure
        measured = read(results) if callable(read) else median_of(at(results, read))
        if measured is None and goal.optional:
            continue
        met = None if measured is None else (measured >= goal.target) == (goal.op == ">=")
        out.append({"goal": goal.label.format(**names), "measured": measured} | {
            "target": goal.target, "unit": goal.unit, "op": goal.op, "met": met})  # fmt: skip
    return out


def goal_cells(goal: dict[str, Any]) -> list[str]:
    measured, unit = goal["measured"], goal["unit"]
    op = "≥" if goal["op"] == ">=" else "<"
    shown = "not measured" if measured is None else f"{measured:,.3g} {unit}"
    met = {True: "yes", False: "**no**", None: "–"}[goal["met"]]
    return [goal["goal"], f"{op} {goal['target']:,.3g} {unit}", shown, met]


def summary_table(results: Results) -> RichTable:
    """The goal table for the console (the same rows as RESULTS.md's)."""
    table = RichTable("goal", "target", "measured", "met")
    for goal in results.get("goals", []):
        table.add_row(*goal_cells(goal))
    return table
