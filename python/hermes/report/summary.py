"""Terminal summaries of backtest runs (rich tables) for the CLI."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from hermes.config import Settings
from hermes.lake import connect
from hermes.report.labels import format_metric, label

SUMMARY_METRICS = (
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "max_drawdown",
    "win_rate",
    "profit_factor",
    "trades",
    "exposure",
    "buy_and_hold_return",
)


def print_runs(settings: Settings, run_ids: list[str], console: Console) -> None:
    """One row per run: what ran, on what, and its headline metrics."""
    with connect(settings) as conn:
        cursor = conn.execute(
            "select run_id, strategy_id, symbol, interval, rows, snapshot_id, "  # noqa: S608
            f"{', '.join(SUMMARY_METRICS)} from gold_backtest_runs "  # noqa: S608 (constant names)
            "where list_contains(?, run_id) order by symbol, interval",
            [run_ids],
        )
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    table = Table("", *(f"{r['symbol']} {r['interval']}" for r in records), title="Backtest runs")
    for column in columns:
        table.add_row(
            label(column),
            *(
                format_metric(column, r[column]) if column in SUMMARY_METRICS else str(r[column])
                for r in records
            ),
        )
    console.print(table)
