"""One tearsheet per backtest run: ``<reports>/<run_id>.html``, read back from the lake.

Numbers shown are the run's own (``gold_backtest_runs``, :mod:`hermes.stats.metrics`);
buy-and-hold is measured by the same functions on the run's buy-and-hold equity. The
strategy's indicator lines come from its signal table ``gold_signals_<strategy_id>`` read at
the run's snapshot: numeric columns other than the contract ones are what it decides on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hermes.config import Settings
from hermes.intervals import interval_seconds
from hermes.lake import connect
from hermes.report import charts, frames
from hermes.report.labels import HEADLINE, METRICS, TRADE_METRICS, format_metric, why_missing
from hermes.report.render import figure_html, render, write_page
from hermes.report.tearsheet_data import RunData, read_batches, read_run
from hermes.stats import metrics

TEMPLATE = "tearsheet.html.j2"
CONFIG_LABELS = {
    "init_cash": "Initial cash",
    "fees": "Fees (share of each order)",
    "slippage": "Slippage (share of the price)",
    "size": "Share of equity per entry",
    "sl_stop": "Stop-loss (below entry)",
    "tp_stop": "Take-profit (above entry)",
    "fill": "Fill",
    "max_positions": "Most symbols held at once",
    "max_drawdown_halt": "Drawdown halting new entries",
    "halt_bars": "Bars entries stay halted",
}
FILLS = {
    "next_open": "next bar's open (signal decided on the closed bar)",
    "same_close": "the signal bar's close",
}


def bar_seconds(interval: str) -> int:
    return interval_seconds(interval)


def years(times: np.ndarray, seconds: int) -> float:
    """Calendar span first open to last close, in years (as the backtests measure it)."""
    span = (times[-1] - times[0]).astype("timedelta64[s]").astype(np.int64)
    return (int(span) + seconds) / (metrics.DAYS_PER_YEAR * 86_400)


def benchmark_metrics(equity: pd.DataFrame, init_cash: float, seconds: int) -> dict[str, Any]:
    """Every metric of buy-and-hold (always invested, one trade that never closes)."""
    values = equity["buy_and_hold_equity"].to_numpy(dtype=float)
    times = equity["open_time"].to_numpy()
    (row,) = metrics.compute(
        values,
        np.ones(len(values)),
        [np.empty(0)],
        np.array([1]),
        equity["close"].to_numpy(dtype=float),
        init_cash,
        seconds,
        years(times, seconds),
    )
    return row


def _pairs(mapping: dict[str, Any]) -> list[tuple[str, str]]:
    def shown(value: Any) -> str:
        if isinstance(value, dict | list):
            return json.dumps(value)
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    return [(key, shown(value)) for key, value in mapping.items()]


def execution_pairs(config: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for key, value in config.items():
        if key == "fill":
            shown = FILLS.get(str(value), str(value))
        elif value is None:
            shown = "none"
        elif key in ("fees", "slippage", "size", "sl_stop", "tp_stop", "max_drawdown_halt"):
            shown = f"{float(value) * 100:g}%"
        elif key == "init_cash":
            shown = f"{float(value):,.2f}"
        else:
            shown = str(value)
        out.append((CONFIG_LABELS.get(key, key), shown))
    return out


def provenance_pairs(run: dict[str, Any]) -> list[tuple[str, str]]:
    commit = run["git_commit"] or "not recorded (outside a git checkout)"
    if run["git_dirty"]:
        commit += " (with uncommitted changes)"
    packages = json.loads(run["package_versions"])
    return [
        ("Run id", run["run_id"]),
        ("Kind", run["run_kind"]),
        ("Created", f"{run['created_at']:%Y-%m-%d %H:%M:%S} UTC"),
        ("Strategy", f"{run['strategy_id']} {run['strategy_version']}"),
        ("Bars", f"{run['rows']:,} from {run['first_open_time']} to {run['last_open_time']}"),
        ("Requested period", f"{run['period_start'] or 'start'} .. {run['period_end'] or 'end'}"),
        ("Features table", run["features_table"]),
        ("Lake snapshot", str(run["snapshot_id"])),
        ("Data fingerprint (SHA-256)", run["data_fingerprint"]),
        ("Features version (SHA-256)", run["features_version"]),
        ("Git commit", commit),
        ("Packages", ", ".join(f"{k} {v}" for k, v in sorted(packages.items()))),
        ("Reproduce", f"hermes reproduce {run['run_id']}"),
    ]


def metric_rows(run: dict[str, Any], benchmark: dict[str, Any]) -> tuple[list[dict], list[str]]:
    """Headline rows (strategy next to buy-and-hold) and footnotes for missing values."""
    rows, notes = [], []
    for name in (*HEADLINE, *TRADE_METRICS):
        value = run[name]
        bench = benchmark.get(name) if name in HEADLINE else None
        rows.append(
            {
                "name": METRICS[name].label,
                "help": METRICS[name].help,
                "strategy": format_metric(name, value),
                "benchmark": format_metric(name, bench) if name in HEADLINE else "",
                "value": value,
            }
        )
        if value is None:
            notes.append(f"{METRICS[name].label}: n/a because {why_missing(name, run)}.")
    return rows, notes


def trust_rows(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The trust table from a run's statistics row (``gold_backtest_overfitting``)."""

    def number(name: str) -> float:
        value = record[name]
        return math.nan if value is None else float(value)

    level = f"{record['ci_level']:.0%}"
    prefix = "bootstrap: "
    note = next((n[len(prefix) :] for n in notes_of(record) if n.startswith(prefix)), None)

    def interval(name: str) -> str:
        low, high = number(f"{name}_ci_low"), number(f"{name}_ci_high")
        if math.isnan(low):
            return f"n/a ({note})"
        return f"{format_metric(name, low)} .. {format_metric(name, high)}"

    return [
        (f"Sharpe ratio, {level} interval", interval("sharpe")),
        (f"Total return, {level} interval", interval("total_return")),
        ("Probability the true Sharpe ratio is above 0 (PSR)", format_metric("psr", number("psr"))),
        (
            "Skewness / kurtosis of bar returns",
            f"{number('skewness'):.2f} / {number('kurtosis'):.2f}",
        ),
        (
            "Bootstrap",
            f"{record['bootstrap_samples']:,} circular block resamples of "
            f"{record['bootstrap_block_bars']} bars (seed {record['bootstrap_seed']})",
        ),
    ]


def notes_of(record: dict[str, Any]) -> list[str]:
    """The notes of a statistics row (stored joined by ``"; "``)."""
    return [n for n in (record["notes"] or "").split("; ") if n]


def build_context(data: RunData) -> dict[str, Any]:
    """Everything the tearsheet template shows (figures already rendered to HTML)."""
    run, equity, trades = data.run, data.equity, data.trades
    config = json.loads(run["config"])
    init_cash = float(config["init_cash"])
    seconds = bar_seconds(run["interval"])
    times = equity["open_time"].to_numpy()
    values = equity["equity"].to_numpy(dtype=float)
    bench_values = equity["buy_and_hold_equity"].to_numpy(dtype=float)
    notes: list[str] = []
    benchmark = benchmark_metrics(equity, init_cash, seconds)
    headline, footnotes = metric_rows(run, benchmark)
    returns = metrics.bar_returns(values, init_cash)
    bench_returns = metrics.bar_returns(bench_values, init_cash)
    statistics = data.statistics_row(returns)
    curves = [
        ("strategy", values, charts.STRATEGY),
        ("buy and hold", bench_values, charts.BENCHMARK),
    ]
    bench_dd = metrics.drawdown(bench_values, init_cash)
    overlays, panels, indicator_note = data.lines
    if indicator_note:
        notes.append(indicator_note)
    if run["trades"] == 0 and run["open_trades"] == 0:
        notes.append(
            "No trade in this period: the strategy stayed in cash, so its return "
            "ratios and trade statistics are not defined."
        )
    window, rolling = frames.rolling_sharpe(returns, seconds)
    _, bench_rolling = frames.rolling_sharpe(bench_returns, seconds)
    rolling_html = None
    rolling_missing = (
        f"Rolling Sharpe ratio not shown: the run has {len(values):,} bars, fewer than one "
        f"{frames.ROLLING_DAYS}-day window ({window:,} bars)."
    )
    if len(values) > window:
        rolling_html = figure_html(
            charts.lines(
                times,
                [
                    ("strategy", rolling, charts.STRATEGY),
                    ("buy and hold", bench_rolling, charts.BENCHMARK),
                ],
                f"Rolling Sharpe ratio ({frames.ROLLING_DAYS}-day window, annualised)",
                "Sharpe ratio",
            ),
            "chart-rolling-sharpe",
        )
    daily = frames.daily_returns(times, values, init_cash)
    bench_daily = frames.daily_returns(times, bench_values, init_cash)
    yearly = frames.yearly_rows(equity, init_cash)
    title_series = f"{run['symbol']} {run['interval']}"
    figures = {
        "growth": charts.growth(
            times, curves, init_cash, "Growth of 1: strategy vs buy and hold (log scale)"
        ),
        "drawdown": charts.drawdowns(
            times,
            [
                ("strategy", equity["drawdown"].to_numpy(), charts.STRATEGY),
                ("buy and hold", bench_dd, charts.BENCHMARK),
            ],
            "Drawdown from the running peak",
        ),
        "price": charts.price(
            times,
            equity["close"].to_numpy(dtype=float),
            trades,
            overlays,
            panels,
            f"{title_series}: close, entries, exits and the strategy's indicators",
        ),
        "monthly": charts.monthly_heatmap(
            frames.monthly_table(times, values, init_cash), "Monthly returns of the strategy (%)"
        ),
        "yearly": charts.bars(
            [r["year"] for r in yearly],
            [
                ("strategy", [r["strategy"] for r in yearly], charts.STRATEGY),
                ("buy and hold", [r["benchmark"] for r in yearly], charts.BENCHMARK),
            ],
            "Calendar-year returns",
            "return",
        ),
        "distribution": charts.histogram(
            [("strategy", daily, charts.STRATEGY), ("buy and hold", bench_daily, charts.BENCHMARK)],
            "Distribution of daily returns",
            "daily return",
        ),
    }
    contributions = None
    if run["run_kind"] == "portfolio":
        contributions = frames.contributions(trades, init_cash)
    return {
        "title": f"{run['strategy_id']} on {title_series}",
        "subtitle": (
            f"Backtest {run['run_id']} ({run['run_kind']}), {run['rows']:,} bars from "
            f"{run['first_open_time']:%Y-%m-%d} to {run['last_open_time']:%Y-%m-%d}; "
            f"strategy {run['strategy_id']} {run['strategy_version']}"
        ),
        "run": run,
        "notes": notes,
        "headline": headline,
        "footnotes": footnotes,
        "final_equity": format_metric("final_equity", run["final_equity"]),
        "trust": trust_rows(statistics),
        "trust_notes": [n for n in notes_of(statistics) if not n.startswith("deflated")],
        "figures": {k: figure_html(f, f"chart-{k}") for k, f in figures.items()},
        "rolling": rolling_html,
        "rolling_missing": rolling_missing,
        "yearly": yearly,
        "trades": frames.trade_rows(trades, equity, config),
        "contributions": contributions,
        "parameters": _pairs(json.loads(run["parameters"])),
        "execution": execution_pairs(config),
        "provenance": provenance_pairs(run),
        "charts": True,
        "generated_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
    }


def load(settings: Settings, run_id: str) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """The run's row, equity and trades."""
    with connect(settings) as conn:
        data = read_run(conn, run_id)
    return data.run, data.equity, data.trades


def write_tearsheets(settings: Settings, run_ids: Sequence[str]) -> list[Path]:
    """Write ``<reports_root>/<run_id>.html`` for each run in the lake; their paths.

    Runs are read in batches on one lake connection (:func:`read_batches`).
    """
    return [
        write_page(
            settings.reports_root / f"{data.run['run_id']}.html", TEMPLATE, **build_context(data)
        )
        for data in runs_data(settings, run_ids)
    ]


def runs_data(settings: Settings, run_ids: Sequence[str]) -> Iterator[RunData]:
    """What the pages of ``run_ids`` are drawn from, read in batches (:func:`read_batches`)."""
    yield from read_batches(settings, run_ids)


def render_tearsheet(data: RunData) -> str:
    """The tearsheet page's HTML (no lake access, no file written)."""
    return render(TEMPLATE, **build_context(data))


def write_tearsheet(settings: Settings, run_id: str) -> Path:
    """Write ``<reports_root>/<run_id>.html`` for a run in the lake and return its path."""
    (path,) = write_tearsheets(settings, [run_id])
    return path
