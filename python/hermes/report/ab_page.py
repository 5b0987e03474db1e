"""The page of an A/B comparison: ``<reports>/<ab_id>.html``.

Per (symbol, interval): variant A (base features) and B (test features and entry filter) side
by side, B - A, and the uncertainty of that difference: a paired circular block bootstrap of
both variants' bar returns on the same bars (:func:`hermes.stats.bootstrap.paired_difference`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from hermes.config import Settings
from hermes.lake import connect
from hermes.report import charts
from hermes.report.labels import METRICS, format_metric, is_missing
from hermes.report.render import figure_html, write_page
from hermes.report.study_data import clean, frame, now_text, runs_equity
from hermes.report.tearsheet import bar_seconds
from hermes.stats import metrics
from hermes.stats.bootstrap import paired_difference

AB_METRICS = (
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "max_drawdown",
    "win_rate",
    "profit_factor",
    "trades",
    "exposure",
)


def _difference(name: str, a: Any, b: Any) -> str:
    if is_missing(a) or is_missing(b):
        return "n/a"
    shown = format_metric(name, b - a)
    return shown if shown.startswith("-") else f"+{shown}"


def pair_context(
    key: tuple[str, str], variants: pd.DataFrame, equity: pd.DataFrame, init_cash: float
) -> dict[str, Any]:
    a = variants[variants["variant"] == "A"].iloc[0].to_dict()
    b = variants[variants["variant"] == "B"].iloc[0].to_dict()
    rows = [
        {
            "metric": METRICS[m].label,
            "a": format_metric(m, clean(a[m])),
            "b": format_metric(m, clean(b[m])),
            "difference": _difference(m, clean(a[m]), clean(b[m])),
        }
        for m in AB_METRICS
    ]
    signals = int(b["buy_signals"]) - int(a["buy_signals"])
    rows.insert(
        0,
        {
            "metric": "Buy signals",
            "a": f"{a['buy_signals']:,}",
            "b": f"{b['buy_signals']:,}",
            "difference": f"{signals:+,}",
        },
    )
    curves = {
        v: equity[equity["run_id"] == run].sort_values("open_time")
        for v, run in (("A", a["run_id"]), ("B", b["run_id"]))
    }
    seconds = bar_seconds(key[1])
    returns = {
        v: metrics.bar_returns(c["equity"].to_numpy(dtype=float), init_cash)
        for v, c in curves.items()
    }
    note = None
    uncertainty: list[tuple[str, str]] = []
    if len(returns["A"]) != len(returns["B"]):
        note = "the variants' runs do not cover the same bars: no paired interval"
    else:
        boot = paired_difference(returns["A"], returns["B"], metrics.SECONDS_PER_YEAR / seconds)
        level = f"{boot.level:.0%}"
        if boot.note:
            note = f"difference interval not computed: {boot.note}"
        else:
            for label, interval, name in (
                ("Sharpe ratio, B - A", boot.sharpe, "sharpe"),
                ("Total return, B - A", boot.total_return, "total_return"),
            ):
                tells = (
                    "the data cannot tell A and B apart"
                    if interval.low <= 0 <= interval.high
                    else ("B is better" if interval.low > 0 else "A is better")
                )
                uncertainty.append(
                    (
                        f"{label}, {level} interval",
                        f"{format_metric(name, interval.low)} .. "
                        f"{format_metric(name, interval.high)} ({tells})",
                    )
                )
            uncertainty.append(
                (
                    "Bootstrap",
                    f"{boot.samples:,} paired circular block resamples of "
                    f"{boot.block} bars (seed {boot.seed})",
                )
            )
    times = curves["A"]["open_time"].to_numpy()
    figure = charts.growth(
        times,
        [
            ("A: " + a["features_table"], curves["A"]["equity"].to_numpy(), charts.BENCHMARK),
            (
                "B: " + (b["entry_filter"] or b["features_table"]),
                curves["B"]["equity"].to_numpy(),
                charts.STRATEGY,
            ),
            ("buy and hold", curves["A"]["buy_and_hold_equity"].to_numpy(), "#d4a72c"),
        ],
        init_cash,
        f"{key[0]} {key[1]}: growth of 1, A vs B vs buy and hold (log scale)",
    )
    return {
        "symbol": key[0],
        "interval": key[1],
        "a": a,
        "b": b,
        "rows": rows,
        "uncertainty": uncertainty,
        "note": note,
        "figure": figure_html(figure, f"chart-{key[0]}-{key[1]}"),
    }


def build_context(rows: pd.DataFrame, equity: pd.DataFrame, init_cash: float) -> dict[str, Any]:
    first = rows.iloc[0]
    pairs = [
        pair_context((str(s), str(i)), group, equity, init_cash)
        for (s, i), group in rows.groupby(["symbol", "interval"], sort=True)
        if set(group["variant"]) == {"A", "B"}
    ]
    b = rows[rows["variant"] == "B"].iloc[0]
    return {
        "title": f"A/B {first['ab_id']}: {first['strategy_id']}, "
        f"{b['entry_filter'] or b['features_table']} vs base",
        "subtitle": f"A reads {first['features_table'] if first['variant'] == 'A' else 'base'}; "
        f"B reads {b['features_table']} with the entry filter "
        f"{b['entry_filter'] or 'none'}; same bars, same execution",
        "notes": [],
        "pairs": pairs,
        "parameters": json.loads(b["parameters"]),
        "charts": True,
        "generated_at": now_text(),
    }


def write_ab_page(settings: Settings, ab_id: str) -> Path:
    """Write ``<reports_root>/<ab_id>.html`` and return its path."""
    with connect(settings) as conn:
        rows = frame(conn, "gold_backtest_ab", "ab_id", ab_id)
        equity, init_cash = runs_equity(conn, list(rows["run_id"]))
    context = build_context(rows, equity, init_cash)
    return write_page(settings.reports_root / f"{ab_id}.html", "ab.html.j2", **context)
