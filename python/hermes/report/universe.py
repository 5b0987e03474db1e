"""The research site's cross-sectional view of a universe: strategy x series, and per strategy.

* :func:`matrix`: one row per series, per strategy its latest whole-series run's Sharpe
  ratio, return above buy-and-hold (total return minus buy-and-hold return) and maximum
  drawdown (the index sorts and filters it in the browser);
* :func:`summaries`: per strategy and interval, across the series: how many, median Sharpe
  ratio and its spread (25th to 75th percentile), the share beating buy-and-hold;
* :func:`portfolio_figure`: per strategy and interval, the equal-weight portfolio of the
  universe: each series' run gets the same cash at its first bar and is held (no
  rebalancing); a series not started yet is cash, one that ended keeps its last value.
  Weekly points, next to the same portfolio of buy-and-hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from hermes.backtest.equity import equity_query
from hermes.lake import DataError, table_columns
from hermes.report import charts
from hermes.report.render import figure_html
from hermes.report.study_data import clean

LATEST = (
    "select run_id, strategy_id, symbol, interval, sharpe, total_return, buy_and_hold_return, "
    "max_drawdown from gold_backtest_runs where run_kind = 'single' and period_start is null "
    "and period_end is null qualify row_number() over (partition by strategy_id, symbol, "
    "interval order by created_at desc, run_id) = 1"
)
"""The latest whole-series single run of each strategy and series."""


@dataclass
class Matrix:
    strategies: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    """``series`` ("BTCUSDT 4h") and ``cells``: one dict per strategy, or None."""


def latest_runs(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    try:  # in the database in use (the site reads ``published``)
        table_columns(conn, "gold_backtest_runs")
    except DataError:
        return pd.DataFrame(columns=["run_id", "strategy_id", "symbol", "interval"])
    frame = conn.execute(LATEST + " order by strategy_id, symbol, interval").df()
    frame["excess_return"] = frame["total_return"] - frame["buy_and_hold_return"]
    return frame


def matrix(latest: pd.DataFrame) -> Matrix:
    out = Matrix(strategies=sorted(latest["strategy_id"].unique()))
    cells: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for record in latest.to_dict("records"):
        row = cells.setdefault((record["symbol"], record["interval"]), {})
        row[record["strategy_id"]] = {k: clean(v) for k, v in record.items()}
    for (symbol, interval), row in sorted(cells.items()):
        out.rows.append(
            {"series": f"{symbol} {interval}", "cells": [row.get(s) for s in out.strategies]}
        )
    return out


def summaries(latest: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for (strategy, interval), group in latest.groupby(["strategy_id", "interval"], sort=True):
        sharpe = group["sharpe"].dropna().to_numpy(dtype=float)
        beat = (group["total_return"] > group["buy_and_hold_return"]).to_numpy()
        quartiles = np.percentile(sharpe, [25, 50, 75]) if len(sharpe) else [np.nan] * 3
        out.append(
            {
                "strategy_id": strategy,
                "interval": interval,
                "series": len(group),
                "median_sharpe": clean(float(quartiles[1])),
                "sharpe_p25": clean(float(quartiles[0])),
                "sharpe_p75": clean(float(quartiles[2])),
                "beat_share": float(beat.mean()),
                "beat": int(beat.sum()),
            }
        )
    return out


def equal_weight(conn: duckdb.DuckDBPyConnection, run_ids: list[str]) -> pd.DataFrame:
    """Weekly growth of 1 of the equal-weight portfolio of ``run_ids``: strategy, benchmark."""
    curves, params = equity_query(conn, run_ids)
    weekly = conn.execute(
        "select e.run_id, date_trunc('week', e.open_time) as week, "  # noqa: S608 (constant)
        "arg_max(e.equity, e.open_time) / any_value(r.init) as strategy, "
        "arg_max(e.buy_and_hold_equity, e.open_time) / any_value(r.init) as benchmark "
        f"from ({curves}) e join (select run_id, "
        "json_extract(config, '$.init_cash')::double as init from gold_backtest_runs "
        "where list_contains(?, run_id)) r using (run_id) group by all order by week",
        [*params, run_ids],
    ).df()
    out = {}
    for column in ("strategy", "benchmark"):
        wide = weekly.pivot(index="week", columns="run_id", values=column).ffill().fillna(1.0)
        out[column] = wide.mean(axis=1)
    return pd.DataFrame(out)


def portfolio_figure(conn: duckdb.DuckDBPyConnection, latest: pd.DataFrame) -> Any:
    """The equal-weight portfolios' growth of 1 (log scale), one line per strategy and
    interval and one of buy-and-hold per interval; None without runs."""
    if latest.empty:
        return None
    palette = ("#0969da", "#1a7f37", "#8250df", "#bf8700", "#cf222e", "#24292f")
    title = "Equal-weight portfolio of the universe: growth of 1 (log scale)"
    fig = charts.growth(np.array([], dtype="datetime64[ms]"), [], 1.0, title)
    benchmarks: dict[str, pd.Series] = {}
    groups = latest.groupby(["strategy_id", "interval"], sort=True)
    for k, ((strategy, interval), group) in enumerate(groups):
        frame = equal_weight(conn, list(group["run_id"]))
        fig["data"].append(
            charts.scatter(
                charts.time_values(frame.index.to_numpy()),
                frame["strategy"].to_numpy(),
                f"{strategy} {interval}",
                line={"color": palette[k % len(palette)], "width": 1.6},
            )
        )
        benchmarks.setdefault(str(interval), frame["benchmark"])
    for interval, values in benchmarks.items():
        fig["data"].append(
            charts.scatter(
                charts.time_values(values.index.to_numpy()),
                values.to_numpy(),
                f"buy and hold {interval}",
                line={"color": charts.BENCHMARK, "width": 1.2, "dash": "dot"},
            )
        )
    return figure_html(fig, "chart-universe")
