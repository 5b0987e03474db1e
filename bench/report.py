"""RESULTS.md from ``results.json``, generated from tables declared once: :data:`GOALS`
(:mod:`bench.goals`) and :data:`SECTIONS` (each part of the page: its heading, where its
figure sits in the results and its blocks: paragraphs, tables and list items)."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

from bench.experiments import JOB_SCENARIOS
from bench.goals import GOALS, Goal, at, goal_cells, goals, median_of, summary_table
from bench.pipeline import STAGES

__all__ = ["GOALS", "SECTIONS", "Goal", "goals", "markdown", "summary_table"]
LABELS = {stage.name: stage.label for stage in STAGES}
Results = dict[str, Any]
Rows = Callable[[Results, Any], list[dict[str, Any]]]


def _seconds(v: float) -> str:
    return f"{v * 1000:.2f} ms" if v < 0.01 else f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"


def _rate(v: float) -> str:
    return f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v / 1e3:.0f} k" if v >= 1e3 else f"{v:.0f}"


class _Figures(string.Formatter):
    """``str.format`` with figure specs (:data:`SPECS`); a repeated figure shows its median
    (min – max); a missing field is an empty cell, and is noted in ``missing``."""

    SPECS: ClassVar[dict[str, Callable[[Any], str]]] = {
        "t": _seconds, "rate": _rate, "x": lambda v: f"{v:.1f}x" if v >= 10 else f"{v:.2f}x",
        "mb": lambda v: f"{v:.0f} MB", "list": lambda v: ", ".join(str(item) for item in v),
        "mB": lambda v: f"{v / 1e6:.1f} MB", "mB2": lambda v: f"{v / 1e6:.2f} MB",
    }  # fmt: skip

    def __init__(self) -> None:
        self.missing: list[str] = []

    def get_field(self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        try:
            return super().get_field(name, args, kwargs)
        except (KeyError, TypeError, IndexError):
            self.missing.append(name)
            return None, name

    def format_field(self, value: Any, spec: str) -> str:
        fmt = self.SPECS.get(spec)
        if value is None or isinstance(value, str):
            return value or ""
        if fmt is None:
            return str(super().format_field(value, spec))
        if isinstance(value, dict) and value["n"] > 1:
            return f"{fmt(value['median'])} ({fmt(value['min'])} – {fmt(value['max'])})"
        return fmt(value["median"] if isinstance(value, dict) else value)


def fill(template: str, fields: Mapping[str, Any]) -> str:
    return _Figures().vformat(template, (), fields)


def _status(figure: Mapping[str, Any]) -> str:
    reason = (str(figure.get("reason") or "").splitlines() or [""])[0][:140]
    return f"{figure['status']}: {reason}" if reason else str(figure["status"])


def _ok(figure: Any) -> bool:
    return isinstance(figure, dict) and figure.get("status", "ok") == "ok"


class Table(NamedTuple):
    """A Markdown table: header cells, a row template (cells joined by `` | ``) and its rows;
    a row that is not ok keeps its first ``keep`` cells, then shows its status."""

    header: str
    row: str
    rows: Rows
    keep: int = 1

    def lines(self, results: Results, figure: Any) -> list[str]:
        cells = self.row.split(" | ")
        lines = [f"| {self.header} |", "|" + "---|" * len(cells)]
        for row in self.rows(results, figure):
            kept = " | ".join(fill(cell, row) for cell in cells[: self.keep])
            gap = " |" * (len(cells) - self.keep - 1)
            lines.append(f"| {fill(self.row, row)} |" if _ok(row) else
                         f"| {kept} |{gap} {_status(row)} |")  # fmt: skip
        return [*lines, ""]


class Bullet(NamedTuple):
    """A list item filled from the figure at ``key`` (left out when it was not measured)."""

    key: str
    name: str
    text: str

    def line(self, results: Results) -> list[str]:
        item = results.get(self.key)
        if item is None:
            return []
        return [f"- {fill(self.text, item)}" if _ok(item) else f"- {self.name}: {_status(item)}"]


class Section(NamedTuple):
    """A part of RESULTS.md: its heading, where its figure is (``""``: the whole results; left
    out when missing unless ``always``) and its blocks; a paragraph naming a missing field is
    left out. ``fields`` adds computed fields."""

    title: str
    key: str
    blocks: tuple[str | Table | Bullet, ...]
    always: bool = False
    fields: Callable[[Results, Any], dict[str, Any]] | None = None

    def lines(self, results: Results) -> list[str]:
        figure = at(results, self.key) if self.key else results
        if figure is None and not self.always:
            return []
        if not _ok(figure or {}):
            return [self.title, "", _status(figure), ""]
        fields = {**(figure or {}), **(self.fields(results, figure) if self.fields else {})}
        lines = [self.title, ""]
        for block in self.blocks:
            if isinstance(block, Table):
                lines += block.lines(results, figure)
            elif isinstance(block, Bullet):
                lines += block.line(results)
            else:
                formatter = _Figures()
                text = formatter.vformat(block, (), fields)
                lines += [] if formatter.missing else [text, ""]
        return lines + [""] * any(isinstance(b, Bullet) for b in self.blocks)


def _pipeline_rows(results: Results, _: Any) -> list[dict[str, Any]]:
    return [{"size": size, "label": LABELS[stage], **data["stages"][stage]}
            for size, data in results.get("sizes", {}).items()
            for stage in LABELS if stage in data["stages"]]  # fmt: skip


def _data_sets(results: Results, _: Any) -> dict[str, Any]:
    return {"data_sets": "\n".join(fill(
        "- {s}: {d[rows]:,} synthetic rows ({d[symbols]:list}; {d[interval]}; {d[months]}), "
        "{d[archives]} monthly archives ({d[archive_mb]} MB zipped)", {"s": s, "d": v["data"]})
        for s, v in results.get("sizes", {}).items())}  # fmt: skip


def _notebook_rows(results: Results, notebook: Any) -> list[dict[str, Any]]:
    stages = results["sizes"][notebook["size"]]["stages"]
    return [notebook | {"label": "notebook baseline (pandas, LIMIT/OFFSET)", "ratio": "1x"}] + [
        stages[s] | {"label": LABELS[s], "ratio": notebook[f"speed_ratio_{s}"]}
        for s in ("signals", "signals_chunked") if _ok(stages.get(s))
    ]  # fmt: skip


def _backtesting_rows(results: Results, bt: Any) -> list[dict[str, Any]]:
    engines = (("hermes.backtest (vectorbt)", "hermes"), ("backtesting.py", "backtesting_py"))
    return [{"engine": engine, "seconds": bt[f"{p}_seconds"], "return": bt[f"{p}_return"],
             "trades": bt[f"{p}_closed_trades"]} for engine, p in engines]  # fmt: skip


def _same_trades(results: Results, bt: Any) -> dict[str, Any]:
    differences = f"; first differences: {bt['first_differences']}"
    return {"same": "identical" if bt["same_trades"] else "**different**" + differences}


def _job_rows(results: Results, job: Any) -> list[dict[str, Any]]:
    rows = []
    for key, label, *_ in JOB_SCENARIOS:
        figure: Any = None if key.startswith("quality") else job.get(key)
        if not _ok(figure):
            rows += [] if figure is None else [{"label": label, "seconds": _status(figure)}]
            continue
        steps, seconds = figure.get("steps") or {}, figure.get("seconds_list") or []
        if key in ("plain", "server_start"):
            peak = figure.get("server_rss_mb") or at(figure, "peak_rss_mb.max")
        else:
            peak = median_of(figure.get("hermes_peak_rss_mb"))
        outside = max(0.0, float(seconds[-1]) - sum(steps.values())) if steps and seconds else None
        rows.append(
            figure
            | {
                "label": label,
                "peak": f"{peak:.0f}" if peak else "–",
                "outside": outside,
                "steps": ", ".join(f"{k} {v:.1f}" for k, v in steps.items()),
            }
        )
    return rows  # fmt: skip


def _quality_rows(results: Results, job: Any) -> list[dict[str, Any]]:
    scopes = [("every partition", job.get("quality_full"))]
    scopes += [("one partition", job.get("quality_one"))]
    scopes += [
        (f"every partition, {size} lake", figure)
        for size, figure in (at(results, "quality_scale.sizes") or {}).items()
    ]
    return [{"rows": 0} | f | {"label": label, "memory": median_of(f.get("quality_rss_mb")) or 0}
            for label, f in scopes if f and _ok(f)]  # fmt: skip


def _job_fields(results: Results, job: Any) -> dict[str, Any]:
    note = at(results, "quality_scale.note")
    return {"trades": at(job, "plain.trades") or "?", "at_end": job.get("load_average_at_end", "?"),
            "at_start": job.get("load_average_at_start", "?"),
            "in_commit": f" (commit {job['commit']})" if job.get("commit") else ""} | (
        {"scale_note": note} if note else {})  # fmt: skip


def _day_fields(results: Results, day: Any) -> dict[str, Any]:
    steps = (day.get("new_day") or {}).get("steps") or {}
    return {"day_steps": ", ".join(f"{name} {seconds:.1f} s" for name, seconds in steps.items())}


JOB = (
    "Wall time of the `hermes` command as a user waits for it (start-up, imports, Prefect API, "
    "ingest, `dbt build`, quality checkpoint, publication, backtests, reports) on the bundled "
    "data (42,872 candles), against the plain recompute script "
    "(`bench/compare/plain_recompute.py`: polars + TA-Lib + numba + vectorbt, the same "
    "indicators, signals and two next-open backtests, trades {trades}) measured in the same "
    "run, with the local Prefect server that `hermes` starts once and reuses (a no-op starts "
    "none)."
)
OUTSIDE = (
    "*Outside the steps*: the last run's wall time not spent in a step of the flow (Python "
    "start-up, Prefect's import, the `hermes ingest` process, Prefect's flow and task "
    "bookkeeping; the imports of dbt, Great "
    "Expectations and vectorbt fall inside their steps). With `dbt build` (parse and run) and "
    "the quality step's GX import, these fixed costs keep a one-candle run far above the "
    "plain script."
)
NOTEBOOK = "comparisons.notebook_signals"
DAY = (
    "one new day (`hermes ingest` {new_day[ingest_seconds]:.1f} s + `hermes run` "
    "{new_day[run_seconds]:.1f} s, peak {new_day[peak_rss_mb]:.0f} MB; steps: {day_steps}); "
    "nothing new {no_op[seconds]:.2f} s. Lake growth of the day: {growth_bytes[total]:mB} "
    "({growth_bytes[parquet]:mB} parquet, {growth_bytes[pages]:mB} of {new_pages} new pages; "
    "largest page {largest_page_bytes:mB2})."
)
SECTIONS: list[Section] = [
    Section("## Pipeline throughput (synthetic 1-minute candles)", "", (
        Table("size | stage | rows | time | rows/s | dbt model time | peak memory | status",
              "{size} | {label} | {rows:,} | {seconds:t} | {rows_per_second:rate} "
              "| {model_seconds:t} | {peak_rss_mb[max]:mb} | ok", _pipeline_rows, keep=2),
        "Time is end to end as a user runs it: for dbt stages `dbt run --select ...` in a fresh "
        "process including project parsing; *dbt model time* is dbt's own execution time of "
        "the selected models. Rows are the stage's output rows. Peak memory is the maximum "
        "resident set size of the process running the stage (max over runs).",
        "{data_sets}",
    ), always=True, fields=_data_sets),
    Section("## Side by side", "", (), always=True),
    Section("### Signals: Hermes vs the design notebook's approach", NOTEBOOK, (
        "Same feature store ({rows:,} synthetic rows, size {size}), same run. The baseline "
        "(bench/compare/notebook_signals.py) reads the store back from DuckDB in chunks of "
        "100,000 rows with `order by ... limit ... offset`, computes the flags with pandas and "
        "writes them to a lake table. Ratio = baseline time / Hermes time.",
        Table("approach | time | rows/s | ratio",
              "{label} | {seconds:t} | {rows_per_second:rate} | {ratio:x}", _notebook_rows),
        "Output check: {flag_mismatches_vs_hermes} rows with different buy/sell flags and "
        "{rows_missing_vs_hermes} rows present on one side only, between the baseline and "
        "`gold_signals_smart_momentum`.",
    )),
    Section("### Indicators: hermes.indicators vs TA-Lib", "comparisons.indicators", (
        "Same float64 arrays ({rows:,} synthetic 1-minute candles), warm calls (best of 5 per "
        "run). Ratio = TA-Lib time / Hermes time (above 1: Hermes is faster).",
        Table("indicator | Hermes | TA-Lib | ratio | max relative difference",
              "{name} | {hermes_seconds:t} | {talib_seconds:t} | {speed_ratio:x} "
              "| {max_relative_difference:.1e}",
              lambda results, ind: [case | {"name": n} for n, case in ind["cases"].items()]),
    )),
    Section("### Backtest: hermes.backtest vs backtesting.py", "comparisons.backtesting_py", (
        "Same Smart Momentum signals on {bars:,} real BTCUSDT 4h bars, both filling at the next "
        "bar's open, no fees or slippage, all equity per trade. Warm runs.",
        Table("engine | time | closed trades | total return",
              "{engine} | {seconds:t} | {trades} | {return:.4%}", _backtesting_rows),
        "Speed ratio (backtesting.py / Hermes): {speed_ratio:x}. Trades (entry and exit bars): "
        "{same}. Returns differ slightly because backtesting.py buys whole units.",
    ), fields=_same_trades),
    Section("## Backtests (real BTCUSDT 4h, last 8 years)", "", (
        Bullet("backtest", "Single backtest", "Single backtest (`hermes.backtest.engine."
               "simulate`, {rows:,} bars, {trades} trades): warm {seconds:t}; cold "
               "{cold_seconds:t} (fresh process: imports, numba/vectorbt compilation or cache "
               "load, first run)."),
        Bullet("grid", "Grid", "Parameter grid: {combinations:,} combinations (EMA fast x EMA "
               "slow x RSI band) on {bars:,} bars in {seconds:t}: indicators and signals "
               "{signal_seconds:t}, one vectorbt simulation {simulate_seconds:t} (warm: kernels "
               "compiled by a 2-column run first)."),
        Bullet("sql_grid", "SQL-only grid", "Grid over a SQL-only strategy "
               "(`donchian_breakout`, the model's compiled SQL evaluated in process): "
               "{parameter_sets} parameter sets on {series} series of 8 years of 4h bars in "
               "{seconds:t}; one `dbt run` per set instead: {dbt_run_per_set_projected_seconds:t}"
               " projected ({speed_ratio_vs_dbt_per_set:.0f}x)."),
        Bullet("ml", "ML walk-forward", "ML walk-forward (`dbt run --select gold_ml_predictions "
               "gold_ml_models`, BTCUSDT and ETHUSDT 4h, {rows:,} bars, project vars): "
               "{seconds:t} end to end, dbt model time {model_seconds:t}, peak memory "
               "{peak_rss_mb:mb} (every block's model trained, its bars predicted, its artifact "
               "written and recorded)."),
    ), always=True),
    Section("## The daily job end to end (`hermes run`)", "daily_job", (
        JOB,
        "Load average (1, 5, 15 min) at the start of this section: {at_start}, at its end: "
        "{at_end}{in_commit}.",
        Table("scenario | time (median, min–max) | vs plain | peak MB of the process "
              "| steps (last run, s) | outside the steps",
              "{label} | {seconds:t} | {ratio_to_plain:x} | {peak} | {steps} | {outside:t}",
              _job_rows),
        OUTSIDE,
        "Quality checkpoint (rules evaluated in DuckDB, per-partition counts validated by GX):",
        Table("scope | rows checked | expectations | time | memory above imports",
              "{label} | {rows:,} | {expectations} | {seconds:t} | {memory:.0f} MB",
              _quality_rows),
        "Larger lakes: {scale_note}.",
    ), fields=_job_fields),
    Section("## A universe's daily job (`bench/stages/universe.py`)", "", (), always=True),
    Section("### The 20 real symbols, their last day", "real_universe", (
        "The 20 real symbols x (4h, 1d) of `data/universe` and `data/binance-ohlcv` ({series} "
        "series), their history landed and run, then their last day: " + DAY + " The plain "
        "recompute script over the same files (every active rule strategy's indicators, "
        "signals and 4h backtests): {plain[seconds]:t}; one new day costs {ratio_to_plain:x} "
        "that.",
    ), fields=_day_fields),
    Section("### A synthetic universe", "universe", (
        "{series} synthetic series (4h, 1d), months {months}: " + DAY + " The plain recompute "
        "script on the bundled data: {plain[seconds]:t} in the same run.",
    ), fields=_day_fields),
]  # fmt: skip


def markdown(results: Results) -> str:
    """RESULTS.md: the machine, the goal table (:data:`GOALS`), then :data:`SECTIONS`."""
    m = results["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    lines = [
        "# Hermes benchmark results", "",
        "Generated by `make bench` (`python -m bench`); do not edit by hand. "
        f"Mode: **{results['mode']}**. Each figure is the median of {results['repeat']} runs "
        "with (min – max), each run in a fresh process.", "",
        f"> **Synthetic data.** {results['note']}", "", "## Machine", "",
        f"- CPU: {m['cpu_model']}, {m['logical_cores']} logical cores ({m['physical_cores']} "
        f"physical)\n- Memory: {m['memory_gb']} GB; OS: {m['os']}; Python {m['python']}\n"
        f"- Commit: {m['git_commit'] or 'unknown'}\n- Load average (1, 5, 15 min) at start: "
        f"{results.get('load_average_at_start')}, at end: {results.get('load_average_at_end')} "
        f"(the machine is shared; a load above {m['logical_cores']} means other work competed "
        f"for the cores)\n- Packages: {packages}",
        "", "## Goals", "", "| goal | target | measured | met |", "|---|---|---|---|",
        *(f"| {' | '.join(goal_cells(goal))} |" for goal in results.get("goals", [])), "",
        *(line for section in SECTIONS for line in section.lines(results)),
        f"Total benchmark time: {results.get('total_seconds', 0):.0f} s.", "",
    ]  # fmt: skip
    return "\n".join(lines)
