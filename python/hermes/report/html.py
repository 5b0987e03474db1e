"""One self-contained HTML page per backtest run (plotly, JavaScript inlined).

Panels: price with entries and exits, equity against buy-and-hold, drawdown, a monthly
returns heat map and the metrics table, all read back from the lake's backtest tables.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hermes.backtest.metrics import METRIC_NAMES
from hermes.backtest.runs import load_run
from hermes.config import Settings
from hermes.lake import connect

PERCENT_METRICS = {
    "total_return",
    "cagr",
    "max_drawdown",
    "win_rate",
    "exposure",
    "var_95",
    "cvar_95",
    "buy_and_hold_return",
}


def format_metric(name: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if name in PERCENT_METRICS:
        return f"{value * 100:,.2f}%"
    if isinstance(value, float):
        return f"{value:,.3f}"
    return f"{value:,}"


def monthly_returns(times: np.ndarray, equity: np.ndarray, init_cash: float) -> pd.DataFrame:
    """Return of each calendar month (equity at month end / previous month end - 1)."""
    series = pd.Series(equity, index=pd.DatetimeIndex(times))
    month_end = series.groupby(series.index.to_period("M")).last()
    previous = month_end.shift(1).fillna(init_cash)
    returns = month_end / previous - 1
    frame = pd.DataFrame(
        {"year": returns.index.year, "month": returns.index.month, "ret": returns.to_numpy()}
    )
    return frame.pivot(index="year", columns="month", values="ret").reindex(columns=range(1, 13))


def build_figure(run: dict[str, Any], equity: pd.DataFrame, trades: pd.DataFrame) -> go.Figure:
    config = json.loads(run["config"])
    times = equity["open_time"].to_numpy()
    fig = make_subplots(
        rows=4,
        cols=1,
        row_heights=[0.34, 0.24, 0.14, 0.28],
        vertical_spacing=0.06,
        subplot_titles=(
            f"{run['symbol']} {run['interval']}: close, entries and exits",
            "Equity vs buy-and-hold",
            "Drawdown",
            "Monthly returns",
        ),
        specs=[[{}], [{}], [{}], [{"type": "heatmap"}]],
    )
    fig.add_trace(go.Scatter(x=times, y=equity["close"], name="close", line={"width": 1}), 1, 1)
    fig.add_trace(
        go.Scatter(
            x=trades["entry_time"],
            y=trades["entry_price"],
            mode="markers",
            name="entry",
            marker={"symbol": "triangle-up", "size": 9, "color": "#2ca02c"},
        ),
        1,
        1,
    )
    closed = trades[trades["status"] == "closed"]
    fig.add_trace(
        go.Scatter(
            x=closed["exit_time"],
            y=closed["exit_price"],
            mode="markers",
            name="exit",
            marker={"symbol": "triangle-down", "size": 9, "color": "#d62728"},
        ),
        1,
        1,
    )
    fig.add_trace(go.Scatter(x=times, y=equity["equity"], name="strategy equity"), 2, 1)
    fig.add_trace(
        go.Scatter(
            x=times, y=equity["buy_and_hold_equity"], name="buy and hold", line={"dash": "dot"}
        ),
        2,
        1,
    )
    fig.add_trace(
        go.Scatter(
            x=times, y=-equity["drawdown"], name="drawdown", fill="tozeroy", line={"width": 1}
        ),
        3,
        1,
    )
    months = monthly_returns(times, equity["equity"].to_numpy(), float(config["init_cash"]))
    fig.add_trace(
        go.Heatmap(
            z=months.to_numpy() * 100,
            x=["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
            y=[str(y) for y in months.index],
            colorscale="RdYlGn",
            zmid=0,
            colorbar={"title": "%", "len": 0.25, "y": 0.12},
            hovertemplate="%{y} %{x}: %{z:.2f}%<extra></extra>",
            name="monthly return",
        ),
        4,
        1,
    )
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", row=3, col=1)
    fig.update_layout(height=1400, template="plotly_white", legend={"orientation": "h", "y": 1.03})
    return fig


def metrics_table(run: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th>"
        f"<td>{html.escape(format_metric(name, run[name]))}</td></tr>"
        for name in METRIC_NAMES
    )
    provenance = {
        "run_id": run["run_id"],
        "strategy": f"{run['strategy_id']} {run['strategy_version']}",
        "parameters": run["parameters"],
        "execution": run["config"],
        "period": f"{run['first_open_time']} .. {run['last_open_time']} ({run['rows']} bars)",
        "lake snapshot": run["snapshot_id"],
        "data fingerprint": run["data_fingerprint"][:16],
        "git commit": f"{run['git_commit'] or 'n/a'}{' (modified)' if run['git_dirty'] else ''}",
        "packages": run["package_versions"],
    }
    meta = "".join(
        f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(str(v))}</code></td></tr>"
        for k, v in provenance.items()
    )
    return f"<table>{rows}</table><h2>Provenance</h2><table>{meta}</table>"


def write_report(settings: Settings, run_id: str) -> Path:
    """Write ``<reports_root>/<run_id>.html`` for a run in the lake and return its path."""
    conn = connect(settings)
    try:
        run = load_run(conn, run_id)
        equity = conn.execute(
            "select * from gold_backtest_equity where run_id = ? order by open_time", [run_id]
        ).df()
        trades = conn.execute(
            "select * from gold_backtest_trades where run_id = ? order by trade_id", [run_id]
        ).df()
    finally:
        conn.close()
    figure = build_figure(run, equity, trades)
    title = f"Backtest {run_id}: {run['strategy_id']} on {run['symbol']} {run['interval']}"
    body = figure.to_html(full_html=False, include_plotlyjs=True)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.3rem 0.8rem; text-align: left; }}
code {{ font-size: 0.85em; word-break: break-all; }}
</style></head>
<body><h1>{html.escape(title)}</h1>
<h2>Metrics</h2>{metrics_table(run)}
{body}
</body></html>
"""
    path = settings.reports_root / f"{run_id}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
