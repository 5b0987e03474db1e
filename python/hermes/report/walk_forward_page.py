"""The page of a walk-forward analysis: ``<reports>/<walk_forward_id>.html``.

Stitched out-of-sample equity: every fold trades its out-of-sample window from the initial
cash, so the stitched curve compounds the folds' growth, ``G_t = prod_{earlier folds}
(E_end / C) * E_t / C``; buy-and-hold is stitched the same way over the same bars. Its
metrics (total return, Sharpe ratio, max drawdown) are :mod:`hermes.stats.metrics`' on the
stitched curve, and its bootstrap interval is :mod:`hermes.stats.bootstrap`'s.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hermes.config import Settings
from hermes.lake import connect
from hermes.report import charts
from hermes.report.labels import format_metric, label
from hermes.report.render import figure_html, write_page
from hermes.report.study_data import (
    clean,
    compact,
    frame,
    now_text,
    overfitting,
    parameters,
    runs_equity,
    statistics_pairs,
    varying,
)
from hermes.report.tearsheet import bar_seconds
from hermes.stats import metrics
from hermes.stats.bootstrap import bootstrap_intervals


def stitch(equity: pd.DataFrame, order: list[str], init_cash: float) -> pd.DataFrame:
    """Out-of-sample runs (in ``order``) chained into growth-of-1 curves."""
    parts, carried, carried_bench = [], 1.0, 1.0
    for run_id in order:
        part = equity[equity["run_id"] == run_id].sort_values("open_time")
        if part.empty:
            continue
        growth = part["equity"].to_numpy(dtype=float) / init_cash
        bench = part["buy_and_hold_equity"].to_numpy(dtype=float) / init_cash
        parts.append(
            pd.DataFrame(
                {
                    "open_time": part["open_time"].to_numpy(),
                    "strategy": carried * growth,
                    "benchmark": carried_bench * bench,
                    "run_id": run_id,
                }
            )
        )
        carried, carried_bench = carried * growth[-1], carried_bench * bench[-1]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def stitched_metrics(curve: np.ndarray, seconds: int) -> dict[str, float | None]:
    returns = metrics.bar_returns(curve, 1.0)
    periods = metrics.SECONDS_PER_YEAR / seconds
    sharpe = float(metrics.sharpe(returns, periods)) if len(returns) > 1 else math.nan
    return {
        "total_return": float(metrics.total_return(curve, 1.0)),
        "sharpe": None if math.isnan(sharpe) else sharpe,
        "max_drawdown": float(metrics.drawdown(curve, 1.0).max()),
    }


def fold_rows(folds: pd.DataFrame, shown: list[str], reports: Path) -> list[dict[str, Any]]:
    out = []
    for r in folds.to_dict("records"):
        note = ""
        if not r["trades"] and not r["open_trades"]:
            note = "no out-of-sample trade: OOS ratios not defined"
        elif r["sharpe"] is None or (isinstance(r["sharpe"], float) and math.isnan(r["sharpe"])):
            note = "OOS Sharpe ratio not defined"
        out.append(
            {
                "fold": int(r["fold"]),
                "in_sample": f"{r['in_sample_start']:%Y-%m-%d} .. {r['in_sample_end']:%Y-%m-%d}",
                "out_of_sample": (
                    f"{r['out_of_sample_start']:%Y-%m-%d} .. {r['out_of_sample_end']:%Y-%m-%d}"
                ),
                "choice": compact(r["parameters"], shown),
                "in_sample_objective": clean(r["in_sample_objective"]),
                "in_sample_sharpe": clean(r["in_sample_sharpe"]),
                "total_return": clean(r["total_return"]),
                "sharpe": clean(r["sharpe"]),
                "max_drawdown": clean(r["max_drawdown"]),
                "trades": int(r["trades"]),
                "open_trades": int(r["open_trades"]),
                "run": r["run_id"],
                "link": (reports / f"{r['run_id']}.html").exists(),
                "note": note,
            }
        )
    return out


def series_section(
    folds: pd.DataFrame,
    equity: pd.DataFrame,
    stats: list[dict],
    reports: Path,
    init_cash: float,
    suffix: str,
) -> dict[str, Any]:
    """The stitched curve, folds and overfitting statistics of one (symbol, interval).

    ``suffix`` keeps the element ids of several sections on one page apart.
    """
    folds = folds.sort_values("fold").reset_index(drop=True)
    first = folds.iloc[0]
    seconds = bar_seconds(first["interval"])
    shown = varying(parameters(folds)) or sorted(json.loads(first["parameters"]))
    rows = fold_rows(folds, shown, reports)
    curve = stitch(equity, list(folds["run_id"]), init_cash)
    notes, figures = [], {}
    summary: list[tuple[str, str, str]] = []
    trust: list[tuple[str, str]] = []
    if curve.empty:
        notes.append("The out-of-sample runs hold no equity rows: nothing to stitch.")
    else:
        times = curve["open_time"].to_numpy()
        strategy = curve["strategy"].to_numpy()
        bench = curve["benchmark"].to_numpy()
        figures["growth"] = charts.growth(
            times,
            [
                ("out of sample, stitched", strategy, charts.STRATEGY),
                ("buy and hold", bench, charts.BENCHMARK),
            ],
            1.0,
            "Stitched out-of-sample growth of 1 vs buy and hold (log scale)",
        )
        mine, theirs = stitched_metrics(strategy, seconds), stitched_metrics(bench, seconds)
        summary = [
            (label(name), format_metric(name, mine[name]), format_metric(name, theirs[name]))
            for name in ("total_return", "sharpe", "max_drawdown")
        ]
        boot = bootstrap_intervals(
            metrics.bar_returns(strategy, 1.0), metrics.SECONDS_PER_YEAR / seconds
        )
        level = f"{boot.level:.0%}"
        if boot.note:
            trust = [("Bootstrap", f"n/a: {boot.note}")]
        else:
            trust = [
                (
                    f"Sharpe ratio, {level} interval",
                    f"{format_metric('sharpe', boot.sharpe.low)} .. "
                    f"{format_metric('sharpe', boot.sharpe.high)}",
                ),
                (
                    f"Total return, {level} interval",
                    f"{format_metric('total_return', boot.total_return.low)} .. "
                    f"{format_metric('total_return', boot.total_return.high)}",
                ),
            ]
    labels = [f"fold {r['fold']}" for r in rows]
    figures["folds"] = charts.bars(
        labels,
        [
            ("in-sample Sharpe (chosen)", [r["in_sample_sharpe"] for r in rows], charts.BENCHMARK),
            ("out-of-sample Sharpe", [r["sharpe"] for r in rows], charts.STRATEGY),
        ],
        "Sharpe ratio of the choice: in sample vs out of sample",
        "Sharpe ratio",
        percent=False,
    )
    empty = [r["fold"] for r in rows if r["note"]]
    if empty:
        notes.append(
            f"Folds {', '.join(map(str, empty))}: the choice did not trade out of "
            "sample, so its out-of-sample ratios are not defined (shown as n/a)."
        )
    by_fold = {s["fold"]: s for s in stats}
    fold_stats = [
        {"fold": r["fold"], "pairs": statistics_pairs(by_fold[r["fold"]])}
        for r in rows
        if r["fold"] in by_fold
    ]
    if not fold_stats:
        notes.append(
            "Overfitting statistics were not recorded for this walk-forward: they "
            "need each fold's in-sample returns of every combination, recorded in "
            "gold_backtest_overfitting when the analysis runs."
        )
    return {
        "series": f"{first['symbol']} {first['interval']}",
        "suffix": suffix,
        "notes": notes,
        "figures": {k: figure_html(f, f"chart-{k}{suffix}") for k, f in figures.items()},
        "summary": summary,
        "trust": trust,
        "folds": rows,
        "fold_stats": fold_stats,
    }


def build_context(
    folds: pd.DataFrame, equity: pd.DataFrame, stats: list[dict], reports: Path, init_cash: float
) -> dict[str, Any]:
    """One section per (symbol, interval) of the walk-forward, in symbol order.

    A walk-forward over several series runs the same folds on each one separately: each
    series gets its own stitched curve, folds and statistics (ids suffixed
    ``-<symbol>-<interval>`` when there are several).
    """
    first = folds.sort_values(["symbol", "interval", "fold"]).iloc[0]
    keys = sorted(set(zip(folds["symbol"].astype(str), folds["interval"].astype(str), strict=True)))
    sections = []
    for symbol, interval in keys:
        mine = folds[(folds["symbol"] == symbol) & (folds["interval"] == interval)]
        own = [s for s in stats if (s["symbol"], s["interval"]) == (symbol, interval)]
        suffix = f"-{symbol}-{interval}" if len(keys) > 1 else ""
        sections.append(series_section(mine, equity, own, reports, init_cash, suffix))
    names = ", ".join(section["series"] for section in sections)
    several = len(sections) > 1
    folds_per_series = int(folds.groupby(["symbol", "interval"])["fold"].nunique().max())
    return {
        "title": f"Walk-forward {first['walk_forward_id']}: {first['strategy_id']} on {names}",
        "subtitle": f"{folds_per_series} folds{' per series' if several else ''}, "
        f"{first['combinations']:,} combinations each, chosen by in-sample {first['objective']}",
        "notes": [
            f"{section['series']}: {note}" if several else note
            for section in sections
            for note in section["notes"]
        ],
        "sections": sections,
        "several": several,
        "objective": first["objective"],
        "charts": True,
        "generated_at": now_text(),
    }


def write_walk_forward_page(settings: Settings, walk_forward_id: str) -> Path:
    """Write ``<reports_root>/<walk_forward_id>.html`` and return its path."""
    with connect(settings) as conn:
        folds = frame(conn, "gold_backtest_walk_forward", "walk_forward_id", walk_forward_id)
        equity, init_cash = runs_equity(conn, list(folds["run_id"]))
        stats = overfitting(conn, "walk_forward", walk_forward_id)
    context = build_context(folds, equity, stats, settings.reports_root, init_cash)
    path = settings.reports_root / f"{walk_forward_id}.html"
    return write_page(path, "walk_forward.html.j2", **context)
