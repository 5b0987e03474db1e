"""The page of a parameter grid: ``<reports>/<grid_id>.html``.

Parameters are read from each row's ``parameters`` JSON, so any strategy's grid shows the
same way. The heat map crosses two parameters (by default the two taking the most values);
where other parameters vary too, a cell shows the best value over them. The *chosen*
combination is the one the grid's overfitting statistics were computed for, else the best
Sharpe ratio (NULL last, first in grid order on ties), as ``hermes grid`` ranks them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hermes.backtest.grid import best_index
from hermes.config import Settings
from hermes.lake import connect
from hermes.report import charts
from hermes.report.labels import METRICS, format_metric, label
from hermes.report.render import figure_html, write_page
from hermes.report.study_data import (
    clean,
    compact,
    frame,
    now_text,
    overfitting,
    parameters,
    statistics_pairs,
    varying,
)

TOP_METRICS = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "trades", "exposure")


def _text(value: Any) -> str:
    return (
        f"{value:g}"
        if isinstance(value, int | float) and not isinstance(value, bool)
        else str(value)
    )


def choose_axes(
    params: pd.DataFrame, x: str | None, y: str | None
) -> tuple[str | None, str | None]:
    """The heat map's axes: those asked for (checked), else the two most varied parameters."""
    for name in (x, y):
        if name is not None and name not in params.columns:
            known = ", ".join(sorted(params.columns))
            raise ValueError(f"grid parameter {name!r} does not exist (parameters: {known})")
    free = [c for c in varying(params) if c not in (x, y)]
    x = x or (free.pop(0) if free else None)
    y = y or (free.pop(0) if free else None)
    return x, y


def chosen_index(rows: pd.DataFrame, stats: list[dict]) -> int:
    """Row position of the chosen combination (see the module docstring)."""
    if stats:
        match = np.flatnonzero(rows["combination"].to_numpy() == stats[0]["chosen"])
        if len(match):
            return int(match[0])
    return best_index(rows["sharpe"].to_numpy(dtype=float, na_value=np.nan)) if len(rows) else 0


def heat_map(
    rows: pd.DataFrame, params: pd.DataFrame, x: str, y: str, value: str, chosen: int
) -> Any:
    data = params[[x, y]].copy()
    data["value"] = rows[value].to_numpy(dtype=float)
    table = data.pivot_table(index=y, columns=x, values="value", aggfunc="max", dropna=False)
    z = table.to_numpy(dtype=float)
    cell = (_text(params[x].iloc[chosen]), _text(params[y].iloc[chosen]))
    return charts.heatmap(
        z,
        [_text(v) for v in table.columns],
        [_text(v) for v in table.index],
        f"{label(value)} by {x} and {y}"
        + (" (best over the other parameters)" if len(params.columns) > 2 else ""),
        x,
        y,
        label(value),
        chosen=cell,
    )


def build_context(
    rows: pd.DataFrame,
    stats: list[dict],
    x: str | None = None,
    y: str | None = None,
    value: str = "sharpe",
    top: int = 20,
) -> dict[str, Any]:
    if value not in METRICS:
        raise ValueError(f"grid metric {value!r} is not one of {', '.join(METRICS)}")
    rows = rows.sort_values("combination").reset_index(drop=True)
    params = parameters(rows)
    x, y = choose_axes(params, x, y)
    chosen = chosen_index(rows, stats)
    first = rows.iloc[0]
    shown = varying(params)
    notes = []
    figures: dict[str, Any] = {}
    if len(rows) == 1:
        notes.append(
            "One combination only: nothing was compared, so there is no heat map, "
            "and no deflated Sharpe ratio or PBO (they need at least 2)."
        )
    elif x and y:
        figures["heatmap"] = figure_html(
            heat_map(rows, params, x, y, value, chosen), "chart-heatmap"
        )
    elif x:
        figures["heatmap"] = figure_html(
            charts.bars(
                [_text(v) for v in params[x]],
                [(label(value), rows[value].tolist(), charts.STRATEGY)],
                f"{label(value)} by {x}",
                label(value),
                percent=METRICS[value].unit == "percent",
            ),
            "chart-heatmap",
        )
    sharpes = rows["sharpe"].to_numpy(dtype=float)
    if len(rows) > 1 and np.isfinite(sharpes).any():
        figures["sharpes"] = figure_html(
            charts.histogram(
                [("combinations", sharpes[np.isfinite(sharpes)], charts.STRATEGY)],
                "Sharpe ratio of every combination",
                "Sharpe ratio",
                percent=False,
            ),
            "chart-sharpes",
        )
    order = rows.assign(_s=rows[value].astype(float)).sort_values(
        "_s", ascending=not METRICS[value].higher_is_better, na_position="last", kind="stable"
    )
    best = order.head(top)
    if chosen not in best.index:
        best = pd.concat([best, rows.iloc[[chosen]]])
    table_rows = [
        {
            "rank": rank,
            "combination": int(r["combination"]),
            **{p: _text(params.at[i, p]) for p in shown},
            **{m: clean(r[m]) for m in TOP_METRICS},
        }
        for rank, (i, r) in enumerate(best.iterrows(), start=1)
    ]
    stat = stats[0] if stats else None
    if stat is None and len(rows) > 1:
        notes.append(
            "Overfitting statistics were not recorded for this grid: they need every "
            "combination's bar returns, which grids record in gold_backtest_overfitting "
            "when they run."
        )
    if stat and stat.get("notes"):
        notes.append(f"Overfitting statistics: {stat['notes']}.")
    chosen_row = rows.iloc[chosen]
    return {
        "title": f"Grid {first['grid_id']}: {first['strategy_id']} on {first['symbol']} "
        f"{first['interval']}",
        "subtitle": f"{len(rows):,} combinations on {first['rows']:,} bars from "
        f"{first['first_open_time']:%Y-%m-%d} to {first['last_open_time']:%Y-%m-%d}"
        f"; ranked by {label(value)}; lake snapshot {first['snapshot_id']}",
        "study_id": first["grid_id"],
        "notes": notes,
        "figures": figures,
        "axes": {"x": x, "y": y, "value": value},
        "varying": shown,
        "chosen": int(chosen_row["combination"]),
        "chosen_parameters": compact(chosen_row["parameters"], []),
        "chosen_metrics": [(label(m), format_metric(m, clean(chosen_row[m]))) for m in TOP_METRICS],
        "statistics": statistics_pairs(stat) if stat else None,
        "columns": [("rank", "#", "num"), ("combination", "Combination", "num")]
        + [(p, p, "text") for p in shown]
        + [(m, label(m), m) for m in TOP_METRICS],
        "rows": table_rows,
        "charts": bool(figures),
        "generated_at": now_text(),
    }


def write_grid_page(
    settings: Settings,
    grid_id: str,
    *,
    x: str | None = None,
    y: str | None = None,
    value: str = "sharpe",
    top: int = 20,
) -> Path:
    """Write ``<reports_root>/<grid_id>.html`` and return its path."""
    with connect(settings) as conn:
        rows = frame(conn, "gold_backtest_grid", "grid_id", grid_id)
        stats = overfitting(conn, "grid", grid_id)
    context = build_context(rows, stats, x, y, value, top)
    return write_page(settings.reports_root / f"{grid_id}.html", "grid.html.j2", **context)
