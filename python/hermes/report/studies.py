"""Terminal tables for the studies: parameter grids, walk-forward folds and A/B comparisons.

Names are the pages' (:mod:`hermes.report.labels`). Tables wrap long values instead of
cutting them, at any width (a pipe gets 80 columns); ``output="csv"`` or ``"json"`` prints
every value in full instead, for scripts.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hermes.backtest.grid import GridResult
from hermes.backtest.walk_forward import WalkForwardResult
from hermes.config import Settings
from hermes.lake import connect
from hermes.report.labels import MISSING, format_metric, label
from hermes.report.study_data import compact, varying
from hermes.stats.metrics import METRIC_NAMES
from hermes.stats.study import StudyStatistics

STUDY_METRICS = ("total_return", "sharpe", "max_drawdown", "trades", "exposure")
Output = Literal["table", "csv", "json"]
NOT_PARAMETERS = {"combination", "final_equity", "parameters", "parameters_hash", *METRIC_NAMES}


def _value(value: Any) -> Any:
    """NaN (a NULL metric in a pandas frame) as None."""
    return None if isinstance(value, float) and math.isnan(value) else value


def _cells(record: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    return [format_metric(name, _value(record[name])) for name in names]


def grid_parameters(results: pd.DataFrame) -> pd.DataFrame:
    """Each combination's parameters: its ``parameters`` JSON, else its non-metric columns."""
    if "parameters" in results.columns:
        return pd.DataFrame([json.loads(p) for p in results["parameters"]], index=results.index)
    return results[[c for c in results.columns if c not in NOT_PARAMETERS]]


def _show(
    console: Console, title: str, headings: list[str], rows: list[list[str]], numbers: int = 0
) -> None:
    """A titled table. Piped (not a terminal), it prints at its full width, so nothing is cut
    at the 80 columns a pipe gets. On a terminal it fits the width: headings go one word a
    line and text cells wrap, while the last ``numbers`` columns never split a value."""
    terminal = console.is_terminal
    table = Table(expand=False, box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    for k, heading in enumerate(headings):
        numeric = k >= len(headings) - numbers
        table.add_column(
            heading.replace(" ", "\n") if terminal else heading,
            overflow="fold",
            no_wrap=numeric or not terminal,
            justify="right" if numeric else "left",
        )
    for row in rows:
        table.add_row(*row)
    if terminal:
        console.print(Text(title, style="bold"), table)
        return
    wide = console.options.update(width=10_000, max_width=10_000)
    width = max(console.width, console.measure(table, options=wide).maximum)
    Console(file=console.file, width=width, no_color=True).print(Text(title), table)


def _emit(frame: pd.DataFrame, output: Output, console: Console) -> bool:
    """Print ``frame`` as CSV or JSON lines (full values); False for a table."""
    if output == "csv":
        console.file.write(frame.to_csv(index=False))
    elif output == "json":
        text = frame.to_json(orient="records", lines=True, date_format="iso")
        console.file.write(text.rstrip("\n") + "\n")
    return output != "table"


def print_grid(result: GridResult, top: int, console: Console, output: Output = "table") -> None:
    """The ``top`` combinations by Sharpe ratio (NULL last)."""
    frame = result.results.sort_values(
        "sharpe", ascending=False, na_position="last", kind="stable"
    ).head(top)
    params = grid_parameters(frame)
    shown = varying(grid_parameters(result.results)) or list(params.columns)
    if _emit(
        pd.concat([frame[["combination"]], params[shown], frame[list(STUDY_METRICS)]], axis=1),
        output,
        console,
    ):
        return
    rows = [
        [
            str(record["combination"]),
            *(
                f"{params.at[index, p]:g}"
                if isinstance(params.at[index, p], int | float)
                else str(params.at[index, p])
                for p in shown
            ),
            *_cells(record, STUDY_METRICS),
        ]
        for index, record in zip(frame.index, frame.to_dict("records"), strict=True)
    ]
    _show(
        console,
        f"Grid {result.grid_id}: {result.symbol} {result.interval}, "
        f"{len(result.results)} combinations on {result.rows} bars (best {top} by Sharpe)",
        ["#", *shown, *(label(m) for m in STUDY_METRICS)],
        rows,
        numbers=len(STUDY_METRICS),
    )
    if result.statistics is not None:
        console.print(
            f"chosen #{result.chosen}: {statistics_line(result.statistics)}",
            markup=False,
            highlight=False,
        )


def _number(value: float) -> str:
    return MISSING if not math.isfinite(value) else f"{value:.2f}"


def statistics_line(stats: StudyStatistics) -> str:
    """The overfitting statistics of a choice, in one line with the pages' names."""

    sharpe, total = stats.bootstrap.sharpe, stats.bootstrap.total_return
    level = f"{stats.bootstrap.level:.0%}"
    parts = [
        f"deflated Sharpe ratio {_number(stats.dsr)} over {stats.trials} trials",
        f"probability of backtest overfitting {_number(stats.cscv.pbo)}",
        f"Sharpe ratio {level} interval [{_number(sharpe.low)}, {_number(sharpe.high)}]",
        f"total return {level} interval [{format_metric('total_return', total.low)}, "
        f"{format_metric('total_return', total.high)}]",
    ]
    return "; ".join(parts) + "".join(f" ({note})" for note in stats.notes)


def print_walk_forward(
    result: WalkForwardResult, console: Console, output: Output = "table"
) -> None:
    """One row per fold: out-of-sample start, the choice, in-sample and out-of-sample figures."""
    folds = result.folds
    shown = varying(pd.DataFrame([json.loads(p) for p in folds["parameters"]]))
    if _emit(folds, output, console):
        return
    rows = [
        [
            str(record["fold"]),
            f"{record['out_of_sample_start']:%Y-%m-%d}",
            compact(record["parameters"], shown),
            format_metric("sharpe", _value(record["in_sample_sharpe"])),
            format_metric("total_return", _value(record["total_return"])),
            format_metric("sharpe", _value(record["sharpe"])),
            format_metric("trades", _value(record["trades"])),
            _number(stats.dsr),
            _number(stats.cscv.pbo),
        ]
        for record, stats in zip(folds.to_dict("records"), result.statistics, strict=True)
    ]
    headings = ["fold", "OOS from", "choice", "IS Sharpe ratio", "OOS total return"]
    _show(
        console,
        f"Walk-forward {result.walk_forward_id}: {result.symbol} {result.interval}",
        [*headings, "OOS Sharpe ratio", "OOS closed trades", "IS deflated Sharpe", "IS PBO"],
        rows,
        numbers=6,
    )


def print_ab(settings: Settings, ab_id: str, console: Console) -> None:
    """Variants A and B side by side (a column each), read back from ``gold_backtest_ab``."""
    with connect(settings) as conn:
        cursor = conn.execute(
            "select symbol, interval, variant, coalesce(entry_filter, '-') as entry_filter, "
            "features_table, rows, buy_signals, total_return, sharpe, max_drawdown, trades, "
            "exposure, run_id from gold_backtest_ab where ab_id = ? order by all",
            [ab_id],
        )
        columns = [d[0] for d in cursor.description or []]
        records = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    heads = [f"{r['symbol']} {r['interval']} {r['variant']}" for r in records]
    rows = [
        [
            label(column),
            *(
                format_metric(column, r[column]) if column in STUDY_METRICS else str(r[column])
                for r in records
            ),
        ]
        for column in columns[3:]
    ]
    _show(console, f"A/B {ab_id}", ["", *heads], rows)
