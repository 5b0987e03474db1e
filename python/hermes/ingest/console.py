"""Terminal side of ``hermes ingest``: a progress bar while it runs, a summary at the end."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hermes.config import Settings
from hermes.ingest.download import download_archives
from hermes.ingest.layout import archives_between
from hermes.ingest.local_files import collect_paths, ingest_paths
from hermes.ingest.report import FileResult, IngestReport, Outcome


def run_ingest(
    settings: Settings,
    console: Console,
    *,
    paths: Sequence[Path] = (),
    symbols: Sequence[str] = (),
    intervals: Sequence[str] = (),
    start: date | None = None,
    end: date | None = None,
    period: str = "monthly",
    base_url: str | None = None,
) -> IngestReport:
    """Import ``paths`` and download the requested archives, showing progress."""
    report = IngestReport()
    files = collect_paths(paths) if paths else []
    archives = []
    if symbols:
        if start is None:
            raise ValueError("downloading archives needs a start date")
        end = end or start
        archives = archives_between(list(symbols), list(intervals), start, end, period)
    with _progress(console) as progress:
        task = progress.add_task("ingest", total=len(files) + len(archives))

        def advance(result: FileResult) -> None:
            progress.update(task, advance=1, description=result.source.rsplit("/", 1)[-1])

        if files:
            report.extend(ingest_paths(files, settings, on_result=advance))
        if archives:
            assert start is not None and end is not None  # checked above
            report.extend(
                download_archives(
                    symbols,
                    intervals,
                    start,
                    end,
                    period,
                    settings,
                    base_url=base_url,
                    on_result=advance,
                )
            )
    return report


def print_summary(report: IngestReport, console: Console) -> None:
    """Counts per outcome, and one line per quarantined or failed file with the reason."""
    counts = ", ".join(f"{n} {outcome}" for outcome, n in report.counts().items() if n)
    total = len(report.results)
    console.print(
        f"{total} files: {counts or 'nothing to do'}; {report.rows_ingested} rows ingested"
    )
    if report.ok:
        return
    table = Table(title="files not ingested", show_lines=True)
    table.add_column("file", overflow="fold")
    table.add_column("outcome", no_wrap=True)
    table.add_column("reason", overflow="fold", ratio=2)
    for result in report.problems:
        table.add_row(result.source, str(result.outcome), result.reason or "")
    console.print(table)
    quarantined = len(report.with_outcome(Outcome.QUARANTINED))
    if quarantined:
        console.print(
            f"{quarantined} file(s) set aside in <lake>/landing/_quarantine/ with a .reason.txt"
        )


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
