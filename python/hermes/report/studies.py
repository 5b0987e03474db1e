"""Terminal tables for the studies: parameter grids, walk-forward folds and A/B comparisons."""

from __future__ import annotations

import json
import math
from typing import Any

from rich.console import Console
from rich.table import Table

from hermes.backtest.grid import GridResult
from hermes.backtest.walk_forward import WalkForwardResult
from hermes.config import Settings
from hermes.lake import connect
from hermes.report.labels import format_metric

STUDY_METRICS = ("total_return", "sharpe", "max_drawdown", "trades", "exposure")


def _value(value: Any) -> Any:
    """NaN (a NULL metric in a pandas frame) as None."""
    return None if isinstance(value, float) and math.isnan(value) else value


def _cells(record: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    return [format_metric(name, _value(record[name])) for name in names]


def print_grid(result: GridResult, top: int, console: Console) -> None:
    """The ``top`` combinations by Sharpe (NULL last)."""
    frame = result.results.sort_values("sharpe", ascending=False, na_position="last").head(top)
    table = Table(
        "#",
        "ema fast",
        "ema slow",
        "rsi band",
        *STUDY_METRICS,
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
    """One row per fold: out-of-sample start, the choice, in-sample and out-of-sample figures."""
    table = Table(
        "fold",
        "OOS from",
        "fast/slow/rsi",
        "IS sharpe",
        "OOS return",
        "OOS sharpe",
        "trades",
        "run",
        title=f"Walk-forward {result.walk_forward_id}: {result.symbol} {result.interval}",
    )
    for record in result.folds.to_dict("records"):
        table.add_row(
            str(record["fold"]),
            f"{record['out_of_sample_start']:%Y-%m-%d}",
            _chosen(record["parameters"]),
            format_metric("sharpe", _value(record["in_sample_sharpe"])),
            format_metric("total_return", _value(record["total_return"])),
            format_metric("sharpe", _value(record["sharpe"])),
            format_metric("trades", _value(record["trades"])),
            record["run_id"],
        )
    console.print(table)


def print_ab(settings: Settings, ab_id: str, console: Console) -> None:
    """Variants A and B side by side (a column each), read back from ``gold_backtest_ab``."""
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
    heads = [f"{r['symbol']} {r['interval']} {r['variant']}" for r in records]
    table = Table("", *heads, title=f"A/B {ab_id}")
    for column in columns[3:]:
        table.add_row(
            column,
            *(
                format_metric(column, r[column]) if column in STUDY_METRICS else str(r[column])
                for r in records
            ),
        )
    console.print(table)
