"""Terminal tables for the studies: parameter grids, walk-forward folds and A/B comparisons."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from hermes.backtest.grid import GridResult
from hermes.backtest.walk_forward import WalkForwardResult
from hermes.config import Settings
from hermes.lake import connect
from hermes.report.html import format_metric

STUDY_METRICS = ("total_return", "sharpe", "max_drawdown", "trades", "exposure")


def _cells(record: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    return [format_metric(name, record[name]) for name in names]


def print_grid(result: GridResult, top: int, console: Console) -> None:
    """The ``top`` combinations by Sharpe (NULL last)."""
    frame = result.results.sort_values("sharpe", ascending=False, na_position="last").head(top)
    table = Table(
        "#", "ema fast", "ema slow", "rsi band", *STUDY_METRICS,
        title=f"Grid {result.grid_id}: {result.symbol} {result.interval}, "
        f"{len(result.results)} combinations on {result.rows} bars (best {top} by Sharpe)",
    )
    for record in frame.to_dict("records"):
        table.add_row(
            str(record["combination"]),
            str(record["ema_fast"]),
            str(record["ema_slow"]),
            f"{record['rsi_low']:g}-{record['rsi_high']:g}",
            *_cells(record, STUDY_METRICS),
        )
    console.print(table)


def _chosen(parameters: str) -> str:
    p = json.loads(parameters)
    return f"{p['ema_fast']}/{p['ema_slow']}/{p['rsi_low']:g}-{p['rsi_high']:g}"


def print_walk_forward(result: WalkForwardResult, console: Console) -> None:
    """One row per fold: windows, the choice, in-sample Sharpe and out-of-sample metrics."""
    table = Table(
        "fold", "out of sample", "chosen (fast/slow/rsi)", "IS sharpe", *STUDY_METRICS, "run",
        title=f"Walk-forward {result.walk_forward_id}: {result.symbol} {result.interval}",
    )
    for record in result.folds.to_dict("records"):
        table.add_row(
            str(record["fold"]),
            f"{record['out_of_sample_start']:%Y-%m-%d} .. {record['out_of_sample_end']:%Y-%m-%d}",
            _chosen(record["parameters"]),
            format_metric("sharpe", record["in_sample_sharpe"]),
            *_cells(record, STUDY_METRICS),
            record["run_id"],
        )
    console.print(table)


def print_ab(settings: Settings, ab_id: str, console: Console) -> None:
    """Variants A and B side by side, read back from ``gold_backtest_ab``."""
    conn = connect(settings)
    try:
        cursor = conn.execute(
            "select symbol, interval, variant, coalesce(entry_filter, '-') as entry_filter, "
            "features_table, rows, buy_signals, total_return, sharpe, max_drawdown, trades, "
            "exposure, run_id from gold_backtest_ab where ab_id = ? order by all",
            [ab_id],
        )
        columns = [d[0] for d in cursor.description or []]
        records = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        conn.close()
    table = Table(*columns, title=f"A/B {ab_id}")
    for record in records:
        table.add_row(
            *(
                format_metric(c, record[c]) if c in STUDY_METRICS else str(record[c])
                for c in columns
            )
        )
    console.print(table)
