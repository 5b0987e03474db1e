"""``hermes sql``: run a query on the lake, read-only by default, and print its result.

The last published (audited) state is attached as ``published``
(:func:`hermes.publication.attach_published`) beside the working state ``lake``. By default
the lake is attached read-only, only queries run (SELECT, SHOW, DESCRIBE, EXPLAIN), and
DuckDB may touch no file outside the lake's data and landing folders. ``write`` opens the
lake read-write for any statement; ``external_access`` lifts the file
restriction (reading a CSV elsewhere, ``COPY`` to a file, attaching another database).
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TextIO

import duckdb
from rich.console import Console
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

from hermes.config import Settings
from hermes.lake import check_read_only, connect, restrict_file_access
from hermes.publication import attach_published

ELLIPSIS = "…"


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def run_query(
    settings: Settings, query: str, *, write: bool = False, external_access: bool = False
) -> QueryResult:
    """Run ``query`` on the lake and fetch its whole result."""
    with connect(settings, read_only=not write) as conn:
        attach_published(conn)
        if not write:
            try:
                check_read_only(conn, query)
            except PermissionError as exc:
                raise PermissionError(f"{exc}; hermes sql --write runs it") from None
        if not external_access:
            restrict_file_access(conn, settings)
        try:
            cursor = conn.execute(query)
        except duckdb.PermissionException as exc:
            raise PermissionError(
                f"{exc}: hermes sql reads only the lake's own files (--external-access lifts this)"
            ) from None
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall() if columns else []
    return QueryResult(columns, rows)


def write_csv(result: QueryResult, out: TextIO | None = None) -> None:
    """Every row, full values, with a header line (to ``out``, or the current stdout)."""
    writer = csv.writer(out or sys.stdout)
    writer.writerow(result.columns)
    writer.writerows(result.rows)


def write_json(result: QueryResult, out: TextIO | None = None) -> None:
    """A JSON array of one object per row, full values (times and decimals as text)."""
    out = out or sys.stdout
    records = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    json.dump(records, out, default=str, ensure_ascii=False)
    out.write("\n")


def print_table(result: QueryResult, console: Console, *, max_rows: int, max_width: int) -> None:
    """The first ``max_rows`` rows as a table, each cell cut to ``max_width`` characters.

    A pipe or a file gets the table at its natural width. A terminal too narrow for it gets
    one block per row instead (``column  value`` lines, as psql's expanded display).
    """
    rows = [[_cell(value, max_width) for value in row] for row in result.rows[:max_rows]]
    table = Table(
        *(
            Column(Text(name), justify="right" if _numeric(result.rows, i) else "left")
            for i, name in enumerate(result.columns)
        ),
        show_lines=False,
    )
    for row in rows:
        table.add_row(*(Text(value) for value in row))
    if not console.is_terminal:
        Console(width=1_000_000, file=console.file).print(table, crop=False, soft_wrap=True)
    elif (
        Measurement.get(console, console.options.update_width(10**6), table).maximum
        <= console.width
    ):
        console.print(table)
    else:
        console.print(_expanded(result.columns, rows))
    hidden = len(result.rows) - max_rows
    if hidden > 0:
        console.print(f"... {hidden} more rows (--max-rows, or --csv / --json for all)")


def _expanded(columns: list[str], rows: list[list[str]]) -> Table:
    table = Table("column", Column("value", overflow="ellipsis", no_wrap=True), box=None)
    for number, row in enumerate(rows, start=1):
        table.add_row(Text(f"row {number}", style="bold"), "")
        for name, value in zip(columns, row, strict=True):
            table.add_row(Text(name), Text(value))
    return table


def _numeric(rows: list[tuple[Any, ...]], index: int) -> bool:
    """Whether column ``index`` holds numbers (right-aligned, as numbers read)."""
    value = next((row[index] for row in rows if row[index] is not None), None)
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _cell(value: Any, max_width: int) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    if len(text) > max_width:
        return text[: max(max_width - 1, 0)] + ELLIPSIS
    return text
