"""Turn ``results.json`` content into the RESULTS.md table, a console table and goal checks.

Every goal is one row of :data:`GOALS` (label, where the figure sits in the results, the
comparison and the target); ``goals`` and the Markdown goal table are generated from it.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

from rich.table import Table

PIPELINE_STAGES = ("ingest", "bronze", "silver", "features", "signals", "signals_chunked")
STAGE_LABELS = {
    "ingest": "ingest (archives to landing)",
    "bronze": "bronze_klines (dbt)",
    "silver": "silver_klines (dbt)",
    "features": "gold features (dbt)",
    "signals": "signals (dbt model)",
    "signals_chunked": "signals (`hermes signals`, chunked)",
}
Results = dict[str, Any]


def _get(results: Any, *keys: str) -> Any:
    node: Any = results
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _median_of(value: Any) -> float | None:
    """A figure that is one value, or a spread of repeated values (its median)."""
    if isinstance(value, dict):
        return float(value["median"])
    return None if value is None else float(value)


def _at(results: Results, path: str) -> Any:
    return _get(results, *path.split("."))


def _scaled(factor: float, path: str) -> Callable[[Results], float | None]:
    def read(results: Results) -> float | None:
        value = _median_of(_at(results, path))
        return None if not value else value / factor

    return read


def _largest(results: Results, stage: str | None = None) -> str | None:
    """The largest size (where ``stage`` ran, when given)."""
    sizes = results.get("sizes", {})
    ran = [s for s in sizes if stage is None or _get(sizes[s], "stages", stage, "status") == "ok"]
    return max(ran or sizes, key=lambda s: sizes[s]["data"]["rows"], default=None)


def _rate(stage: str) -> Callable[[Results], float | None]:
    def read(results: Results) -> float | None:
        size = _largest(results, stage)
        return _get(results, "sizes", size or "", "stages", stage, "rows_per_second", "median")

    return read


def _build_peak_gb(results: Results) -> float | None:
    stages = _get(results, "sizes", _largest(results) or "", "stages") or {}
    ok = [stages[s] for s in PIPELINE_STAGES if _get(stages, s, "status") == "ok"]
    peaks = [figure["peak_rss_mb"]["max"] for figure in ok]
    return max(peaks) / 1024 if peaks else None


def _grid_seconds(results: Results) -> float | None:
    grid = results.get("grid", {})
    if grid.get("status") != "ok" or grid.get("combinations") != 1000:
        return None
    return _get(grid, "seconds", "median")


def _fmt_seconds(value: float) -> str:
    if value < 0.01:
        return f"{value * 1000:.2f} ms"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def _fmt_rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    if value >= 1e3:
        return f"{value / 1e3:.0f} k"
    return f"{value:.0f}"


def _spread(figure: dict[str, float], fmt: Any) -> str:
    if figure["n"] == 1:
        return fmt(figure["median"])
    return f"{fmt(figure['median'])} ({fmt(figure['min'])} – {fmt(figure['max'])})"


def _ratio(value: float) -> str:
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def _status_cell(figure: dict[str, Any]) -> str:
    reason = str(figure.get("reason", "")).splitlines()[0][:140] if figure.get("reason") else ""
    return f"{figure['status']}: {reason}" if reason else figure["status"]


class _Figures(string.Formatter):
    """``str.format`` with figure specs: ``t`` seconds, ``mb`` megabytes, ``mB`` / ``mB2``
    bytes as MB (1 or 2 decimals); a repeated figure shows its median (min – max)."""

    SPECS: ClassVar[dict[str, Callable[[Any], str]]] = {
        "t": lambda v: _fmt_seconds(v),
        "x": lambda v: _ratio(v),
        "mb": lambda v: f"{v:.0f} MB",
        "list": lambda v: ", ".join(str(item) for item in v),
        "mB": lambda v: f"{v / 1e6:.1f} MB",
        "mB2": lambda v: f"{v / 1e6:.2f} MB",
    }

    def format_field(self, value: Any, format_spec: str) -> str:
        fmt = self.SPECS.get(format_spec)
        if fmt is None:
            return str(super().format_field(value, format_spec))
        return _spread(value, fmt) if isinstance(value, dict) else fmt(value)


_fill = _Figures().format


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
    names: dict[str, Any] = {stage: _largest(results, stage) for stage in PIPELINE_STAGES}
    names |= {"largest": _largest(results), "universe": _at(results, "universe.symbols") or "?"}
    out = []
    for goal in GOALS:
        read = goal.figure
        measured = read(results) if callable(read) else _median_of(_at(results, read))
        if measured is None and goal.optional:
            continue
        met = None if measured is None else (measured >= goal.target) == (goal.op == ">=")
        label = goal.label.format(**names)
        out.append({"goal": label, "measured": measured, "target": goal.target} | {
            "unit": goal.unit, "op": goal.op, "met": met})  # fmt: skip
    return out


def summary_table(results: dict[str, Any]) -> Table:
    """The goal table for the console (the same rows as RESULTS.md's)."""
    table = Table("goal", "target", "measured", "met")
    for goal in results.get("goals", []):
        table.add_row(*(cell.strip() for cell in _goal_row(goal).strip("|").split(" | ")))
    return table


def _machine_md(results: dict[str, Any]) -> list[str]:
    m = results["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    cores = f"{m['logical_cores']} logical cores ({m['physical_cores']} physical)"
    return [
        f"- CPU: {m['cpu_model']}, {cores}",
        f"- Memory: {m['memory_gb']} GB; OS: {m['os']}; Python {m['python']}",
        f"- Commit: {m['git_commit'] or 'unknown'}",
        f"- Load average (1, 5, 15 min) at start: {results.get('load_average_at_start')}, "
        f"at end: {results.get('load_average_at_end')} (the machine is shared; a load above "
        f"{m['logical_cores']} means other work competed for the cores)",
        f"- Packages: {packages}",
    ]


def _goal_row(goal: dict[str, Any]) -> str:
    measured = goal["measured"]
    shown = "not measured" if measured is None else f"{measured:,.3g} {goal['unit']}"
    met = {True: "yes", False: "**no**", None: "–"}[goal["met"]]
    op = "≥" if goal["op"] == ">=" else "<"
    return f"| {goal['goal']} | {op} {goal['target']:,.3g} {goal['unit']} | {shown} | {met} |"


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Hermes benchmark results",
        "",
        "Generated by `make bench` (`python -m bench`); do not edit by hand. "
        f"Mode: **{results['mode']}**. Each figure is the median of {results['repeat']} runs "
        "with (min – max), each run in a fresh process.",
        "",
        f"> **Synthetic data.** {results['note']}",
        "",
        "## Machine",
        "",
        *_machine_md(results),
        "",
        "## Goals",
        "",
        "| goal | target | measured | met |",
        "|---|---|---|---|",
        *(_goal_row(g) for g in results.get("goals", [])),
        "",
        *_pipeline_md(results),
        *_comparisons_md(results),
        *_backtest_md(results),
        *_refresh_md(results),
        *_daily_job_md(results),
        *_universe_md(results),
        *_profile_md(results),
        f"Total benchmark time: {results.get('total_seconds', 0):.0f} s.",
        "",
    ]
    return "\n".join(lines)


def _pipeline_md(results: dict[str, Any]) -> list[str]:
    lines = [
        "## Pipeline throughput (synthetic 1-minute candles)",
        "",
        "| size | stage | rows | time | rows/s | dbt model time | peak memory | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size, data in results.get("sizes", {}).items():
        for stage in PIPELINE_STAGES:
            figure = data["stages"].get(stage)
            if figure is None:
                continue
            label = STAGE_LABELS[stage]
            if figure["status"] != "ok":
                lines.append(f"| {size} | {label} | | | | | | {_status_cell(figure)} |")
                continue
            model = figure.get("model_seconds")
            model_cell = _spread(model, _fmt_seconds) if isinstance(model, dict) else ""
            if isinstance(model, int | float):
                model_cell = _fmt_seconds(model)
            lines.append(
                f"| {size} | {label} | {figure['rows']:,} "
                f"| {_spread(figure['seconds'], _fmt_seconds)} "
                f"| {_spread(figure['rows_per_second'], _fmt_rate)} | {model_cell} "
                f"| {figure['peak_rss_mb']['max']:.0f} MB | ok |"
            )
    lines += [
        "",
        "Time is end to end as a user runs it: for dbt stages `dbt run --select ...` in a fresh "
        "process including project parsing; *dbt model time* is dbt's own execution time of "
        "the selected models. Rows are the stage's output rows. Peak memory is the maximum "
        "resident set size of the process running the stage (max over runs).",
        "",
    ]
    for size, data in results.get("sizes", {}).items():
        d = data["data"]
        lines.append(
            f"- {size}: {d['rows']:,} synthetic rows ({', '.join(d['symbols'])}; "
            f"{d['interval']}; {d['months']}), {d['archives']} monthly archives "
            f"({d['archive_mb']} MB zipped)"
        )
    lines.append("")
    return lines


INDICATOR_ROW = (
    "| {name} | {hermes_seconds:t} | {talib_seconds:t} | {speed_ratio:x} "
    "| {max_relative_difference:.1e} |"
)


def _comparisons_md(results: dict[str, Any]) -> list[str]:
    comparisons = results.get("comparisons", {})
    lines = ["## Side by side", ""]
    notebook = comparisons.get("notebook_signals")
    if notebook is not None:
        lines += ["### Signals: Hermes vs the design notebook's approach", ""]
        if notebook["status"] != "ok":
            lines += [_status_cell(notebook), ""]
        else:
            size = notebook["size"]
            stages = results["sizes"][size]["stages"]
            lines += [
                f"Same feature store ({notebook['rows']:,} synthetic rows, size {size}), same "
                "run. The baseline (bench/compare/notebook_signals.py) reads the store back "
                "from DuckDB in chunks of 100,000 rows with `order by ... limit ... offset`, "
                "computes the flags with pandas and writes them to a lake table. Ratio = "
                "baseline time / Hermes time.",
                "",
                "| approach | time | rows/s | ratio |",
                "|---|---|---|---|",
                f"| notebook baseline (pandas, LIMIT/OFFSET) | "
                f"{_spread(notebook['seconds'], _fmt_seconds)} "
                f"| {_spread(notebook['rows_per_second'], _fmt_rate)} | 1x |",
            ]
            for stage in ("signals", "signals_chunked"):
                figure = stages.get(stage, {})
                if figure.get("status") != "ok":
                    continue
                lines.append(
                    f"| {STAGE_LABELS[stage]} | {_spread(figure['seconds'], _fmt_seconds)} "
                    f"| {_spread(figure['rows_per_second'], _fmt_rate)} "
                    f"| {_fill(f'{{speed_ratio_{stage}:x}}', **notebook)} |"
                )
            if "flag_mismatches_vs_hermes" in notebook:
                lines += [
                    "",
                    f"Output check: {notebook['flag_mismatches_vs_hermes']} rows with different "
                    f"buy/sell flags and {notebook['rows_missing_vs_hermes']} rows present on one "
                    "side only, between the baseline and `gold_signals_smart_momentum`.",
                ]
            lines.append("")
    ind = comparisons.get("indicators")
    if ind is not None:
        lines += ["### Indicators: hermes.indicators vs TA-Lib", ""]
        if ind["status"] != "ok":
            lines += [_status_cell(ind), ""]
        else:
            lines += [
                f"Same float64 arrays ({ind['rows']:,} synthetic 1-minute candles), warm calls "
                "(best of 5 per run). Ratio = TA-Lib time / Hermes time (above 1: Hermes is "
                "faster).",
                "",
                "| indicator | Hermes | TA-Lib | ratio | max relative difference |",
                "|---|---|---|---|---|",
            ]
            for name, case in ind["cases"].items():
                if case["status"] != "ok":
                    lines.append(f"| {name} | | | | {_status_cell(case)} |")
                    continue
                lines.append(_fill(INDICATOR_ROW, name=name, **case))
            lines.append("")
    bt = comparisons.get("backtesting_py")
    if bt is not None:
        lines += ["### Backtest: hermes.backtest vs backtesting.py", ""]
        if bt["status"] != "ok":
            lines += [_status_cell(bt), ""]
        else:
            same = "identical" if bt["same_trades"] else "**different**"
            if not bt["same_trades"]:
                same += f"; first differences: {bt['first_differences']}"
            lines += [*_fill(BACKTESTING_PY, same=same, **bt).splitlines(), ""]
    return lines


BACKTESTING_PY = """\
Same Smart Momentum signals on {bars:,} real BTCUSDT 4h bars, both filling at the next bar's \
open, no fees or slippage, all equity per trade. Warm runs.

| engine | time | closed trades | total return |
|---|---|---|---|
| hermes.backtest (vectorbt) | {hermes_seconds:t} | {hermes_closed_trades} | {hermes_return:.4%} |
| backtesting.py | {backtesting_py_seconds:t} | {backtesting_py_closed_trades} \
| {backtesting_py_return:.4%} |

Speed ratio (backtesting.py / Hermes): {speed_ratio:x}. Trades (entry and exit bars): {same}. \
Returns differ slightly because backtesting.py buys whole units.
"""


BACKTEST_LINES = [
    ("backtest", "Single backtest", "Single backtest (`hermes.backtest.engine.simulate`, "
     "{rows:,} bars, {trades} trades): warm {seconds:t}; cold {cold_seconds:t} (fresh process: "
     "imports, numba/vectorbt compilation or cache load, first run)."),
    ("grid", "Grid", "Parameter grid: {combinations:,} combinations (EMA fast x EMA slow x RSI "
     "band) on {bars:,} bars in {seconds:t}: indicators and signals {signal_seconds:t}, one "
     "vectorbt simulation {simulate_seconds:t} (warm: kernels compiled by a 2-column run first)."),
    ("sql_grid", "SQL-only grid", "Grid over a SQL-only strategy (`donchian_breakout`, the "
     "model's compiled SQL evaluated in process): {parameter_sets} parameter sets on {series} "
     "series of 8 years of 4h bars in {seconds:t}; one `dbt run` per set instead: "
     "{dbt_run_per_set_projected_seconds:t} projected ({speed_ratio_vs_dbt_per_set:.0f}x)."),
    ("ml", "ML walk-forward", "ML walk-forward (`dbt run --select gold_ml_predictions "
     "gold_ml_models`, BTCUSDT and ETHUSDT 4h, {rows:,} bars, project vars): {seconds:t} end to "
     "end, dbt model time {model_seconds:t}, peak memory {peak_rss_mb:mb} (every block's model "
     "trained, its bars predicted, its artifact written and recorded)."),
]  # fmt: skip


def _backtest_md(results: dict[str, Any]) -> list[str]:
    lines = ["## Backtests (real BTCUSDT 4h, last 8 years)", ""]
    for key, name, template in BACKTEST_LINES:
        figure = results.get(key)
        if figure is not None:
            failed = f"{name}: {_status_cell(figure)}"
            lines.append(f"- {_fill(template, **figure) if figure['status'] == 'ok' else failed}")
    return [*lines, ""]


def _section(results: dict[str, Any], key: str, title: str) -> tuple[Any, list[str]]:
    """The section's figure and its heading; a figure that failed is the section's only line."""
    figure = results.get(key)
    if figure is None:
        return None, []
    lines = [f"## {title}", ""]
    if figure["status"] != "ok":
        return None, [*lines, _status_cell(figure), ""]
    return figure, lines


REFRESH_ROW = (
    "| {name} | {history_rows:,} | {seconds:t} | {ingest_seconds:t} | {dbt_build_seconds:t} "
    "| {model_seconds:t} | {test_seconds:t} | {full_build_seconds:t} | {slowest_nodes:list} |"
)


def _refresh_md(results: dict[str, Any]) -> list[str]:
    refresh, lines = _section(results, "refresh", "Incremental cost: daily refresh")
    if refresh is None:
        return lines
    lines += [
        f"One new day ({refresh['new_day']}) of synthetic {refresh['interval']} candles for "
        f"{refresh['symbols']} symbols, on top of 1, 4 and 8 years of history: ingest of the "
        "daily archives, then `dbt build` (all models and data tests), as the morning run "
        "does. The full build of the history is shown for reference.",
        "",
        "| history | history rows | daily refresh | ingest | dbt build | model time "
        "| test time | full build | slowest nodes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, figure in refresh["histories"].items():
        if figure["status"] != "ok":
            lines.append(f"| {name} | | | | | | | | {_status_cell(figure)} |")
            continue
        lines.append(_fill(REFRESH_ROW, name=name, **figure))
    lines.append("")
    return lines


def _daily_job_md(results: dict[str, Any]) -> list[str]:
    job, lines = _section(results, "daily_job", "The daily job end to end (`hermes run`)")
    if job is None:
        return lines
    plain = job.get("plain", {})
    lines += [
        "Wall time of the `hermes` command as a user waits for it (start-up, imports, Prefect "
        "API, ingest, `dbt build`, quality checkpoint, publication, backtests, reports) on the "
        "bundled data (42,872 candles), against the plain recompute script "
        "(`bench/compare/plain_recompute.py`: polars + TA-Lib + numba + vectorbt, the same "
        f"indicators, signals and two next-open backtests, trades {plain.get('trades', '?')}) "
        "measured in the same run. *Long-lived server*: the local Prefect server `hermes` "
        "starts once and reuses; *temporary*: Prefect's per-process temporary server "
        "(`HERMES_PREFECT_SERVER=temporary`). A no-op starts no server on either path.",
        "",
        f"Load average (1, 5, 15 min) at the start of this section: "
        f"{job.get('load_average_at_start', '?')}, at its end: "
        f"{job.get('load_average_at_end', '?')}"
        + (f" (commit {job['commit']})" if job.get("commit") else "")
        + ".",
        "",
        "| scenario | time (median, min–max) | vs plain | peak MB of the process "
        "| steps (last run, s) | outside the steps |",
        "|---|---|---|---|---|---|",
    ]
    names = {
        "plain": "plain recompute script",
        "server_start": "long-lived server: first start (once)",
        "full": "new lake, long-lived server",
        "full_temporary": "new lake, temporary server",
        "no_op": "nothing new",
        "one_candle": "one new 4h candle (ingest + run), long-lived server",
        "one_candle_temporary": "one new 4h candle (ingest + run), temporary server",
        "backfill_missing": "backfill, a year of unpublished archives (2 x 2 series)",
    }
    for key, label in names.items():
        figure = job.get(key)
        if figure is None:
            continue
        if figure.get("status") != "ok":
            lines.append(f"| {label} | {_status_cell(figure)} | | | | |")
            continue
        ratio = figure.get("ratio_to_plain")
        steps = figure.get("steps") or {}
        if key in ("plain", "server_start"):
            peak = figure.get("server_rss_mb") or _get(figure, "peak_rss_mb", "max")
        else:
            peak = _median_of(figure.get("hermes_peak_rss_mb"))
        lines.append(
            f"| {label} | {_spread(figure['seconds'], _fmt_seconds)} "
            f"| {_ratio(ratio) if ratio else ''} | {f'{peak:.0f}' if peak else '–'} "
            f"| {', '.join(f'{k} {v:.1f}' for k, v in steps.items())} "
            f"| {_outside(figure, steps)} |"
        )
    lines += [
        "",
        "*Outside the steps*: the last run's wall time not spent in a step of the flow "
        "(Python start-up, Prefect's import, the `hermes ingest` process, Prefect's flow and "
        "task bookkeeping, the temporary server's start and stop; the imports of dbt, Great "
        "Expectations and vectorbt fall inside their steps). With `dbt build` (parse and "
        "run) and the quality step's GX import, these fixed costs keep a one-candle run far "
        "above the plain script.",
        "",
        "Quality checkpoint (rules evaluated in DuckDB, per-partition counts validated by GX):",
        "",
        "| scope | rows checked | expectations | time | memory above imports |",
        "|---|---|---|---|---|",
    ]
    quality = [
        ("every partition", job.get("quality_full")),
        ("one partition", job.get("quality_one")),
    ]
    quality += [
        (f"every partition, {size} lake", figure)
        for size, figure in results.get("quality_scale", {}).get("sizes", {}).items()
    ]
    for label, figure in quality:
        if not figure or figure.get("status") != "ok":
            continue
        lines.append(
            f"| {label} | {figure.get('rows', 0):,} | {figure.get('expectations')} "
            f"| {_spread(figure['seconds'], _fmt_seconds)} "
            f"| {float(_median_of(figure.get('quality_rss_mb')) or 0):.0f} MB |"
        )
    note = results.get("quality_scale", {}).get("note")
    if note:
        lines += ["", f"Larger lakes: {note}."]
    lines.append("")
    return lines


def _outside(figure: dict[str, Any], steps: dict[str, float]) -> str:
    """Seconds of the last run outside the flow's steps (start-up, imports, bookkeeping)."""
    seconds = figure.get("seconds_list") or []
    if not steps or not seconds:
        return ""
    return _fmt_seconds(max(0.0, float(seconds[-1]) - sum(steps.values())))


def _profile_md(results: dict[str, Any]) -> list[str]:
    profile, lines = _section(results, "profile", "Profile of the slowest stage")
    if profile is None:
        return lines
    lines += [
        f"`{profile['stage']}` on {profile['size']}, run once under cProfile "
        f"({_fmt_seconds(profile['seconds'])} profiled). Top functions by cumulative time:",
        "",
        "```",
        *profile["top_cumulative"],
        "```",
        "",
    ]
    if profile.get("note"):
        lines += [profile["note"], ""]
    return lines


def _universe_md(results: dict[str, Any]) -> list[str]:
    title = "A synthetic universe's daily job (`bench/stages/universe.py`)"
    uni, lines = _section(results, "universe", title)
    if uni is None:
        return lines
    text = _fill(
        "{symbols} synthetic symbols x (4h, 1d), months {months}: one new day (`hermes ingest` "
        "{new_day[ingest_seconds]:.1f} s + `hermes run` {new_day[run_seconds]:.1f} s, peak "
        "{new_day[peak_rss_mb]:.0f} MB; steps {new_day[steps]}); nothing new "
        "{no_op[seconds]:.2f} s; the plain recompute script on the bundled data "
        "{plain[seconds][median]:.1f} s in the same run. Lake growth of the day: "
        "{growth_bytes[total]:mB} ({growth_bytes[parquet]:mB} parquet, {growth_bytes[pages]:mB} "
        "of {new_pages} new pages; largest page {largest_page_bytes:mB2}).",
        **uni,
    )
    return [*lines, text, ""]
