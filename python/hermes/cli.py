"""The ``hermes`` command line: one sub-command per job."""

from __future__ import annotations

import csv
import sys

import typer
from rich.console import Console
from rich.table import Table

from hermes.config import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
console = Console()
err_console = Console(stderr=True)


@app.command()
def sql(
    query: str = typer.Argument(..., help="SQL to run against the lake (all layers attached)."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV instead of a table."),
    max_rows: int = typer.Option(200, help="Rows shown in table mode (CSV prints all)."),
) -> None:
    """Run SQL against the lake and print the result."""
    from hermes.lake import connect

    try:
        conn = connect(Settings.from_env())
        cursor = conn.execute(query)
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall() if columns else []
    except Exception as exc:  # duckdb raises many error types; all end the command the same way
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
        return
    table = Table(*columns, show_lines=False)
    for row in rows[:max_rows]:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
    if len(rows) > max_rows:
        console.print(f"... {len(rows) - max_rows} more rows (use --csv for all)")


@app.command()
def build(
    select: str = typer.Option(None, "--select", "-s", help="dbt selection."),
    full_refresh: bool = typer.Option(False, help="Rebuild incremental models from scratch."),
) -> None:
    """Run ``dbt build`` on the lake (models, seeds and tests)."""
    from hermes.dbt_runner import DbtError, run_dbt

    args = ["build"]
    if select:
        args += ["--select", select]
    if full_refresh:
        args.append("--full-refresh")
    try:
        run_dbt(args)
    except DbtError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


@app.command()
def maintain(
    retention_days: float = typer.Option(
        None, help="Keep snapshots younger than this (default: HERMES_SNAPSHOT_RETENTION_DAYS or 7)."
    ),
) -> None:
    """Expire old lake snapshots and delete files nothing references any more."""
    from datetime import timedelta

    from hermes.maintenance import tidy_lake

    retention = None if retention_days is None else timedelta(days=retention_days)
    report = tidy_lake(Settings.from_env(), retention)
    console.print(
        f"expired {report.expired_snapshots} snapshots "
        f"(kept {report.kept_for_runs} recorded by backtest runs), "
        f"deleted {report.deleted_data_files} data files and "
        f"{report.deleted_decoded_files} superseded decoded landing files"
    )


if __name__ == "__main__":
    app()
