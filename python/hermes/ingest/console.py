"""Terminal side of ``hermes ingest``: a progress bar while it runs, a summary at the end."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hermes.config import Settings
from hermes.ingest.download import download_archives
from hermes.ingest.layout import ArchiveName, InvalidName, archives_between, default_end
from hermes.ingest.local_files import collect_paths, ingest_paths
from hermes.ingest.quarantine import clip_reason
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
        if end is None:
            end = max(start, default_end(period, datetime.now(UTC).date()))
            console.print(f"--end not given: downloading {period} archives up to {end}")
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
    missing = report.with_outcome(Outcome.NOT_AVAILABLE)
    if missing:
        console.print(
            f"not available on the site (yet): {not_available_summary(missing)}",
            soft_wrap=True,
            highlight=False,
        )
    if report.ok:
        return
    console.print("files not ingested:")
    for result in report.problems:
        console.print(
            f"  {result.outcome}: {clip_reason(result.reason or result.source)}",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )
    quarantined = len(report.with_outcome(Outcome.QUARANTINED))
    if quarantined:
        console.print(
            f"{quarantined} file(s) set aside in <lake>/landing/_quarantine/<folder>/<sha256 "
            "prefix>/ with a .reason.txt",
            soft_wrap=True,
        )


def not_available_summary(results: Sequence[FileResult]) -> str:
    """The archives the site did not have, per symbol, interval and period, as date ranges:
    ``BTCUSDT 4h monthly 2024-11..2025-01, 2025-03``."""
    groups: dict[tuple[str, str, str], list[ArchiveName]] = {}
    others: list[str] = []
    for result in results:
        name = result.source.rsplit("/", 1)[-1]
        try:
            archive = ArchiveName.parse(name)
        except InvalidName:
            others.append(name)
            continue
        groups.setdefault((archive.symbol, archive.interval, archive.period), []).append(archive)
    parts = []
    for (symbol, interval, period), archives in sorted(groups.items()):
        days = sorted({a.start for a in archives})
        parts.append(f"{symbol} {interval} {period} {_ranges(days, period)}")
    return "; ".join([*parts, *others])


def _ranges(days: list[date], period: str) -> str:
    """Consecutive months (or days) joined as ``first..last``."""
    label = (lambda d: d.strftime("%Y-%m")) if period == "monthly" else date.isoformat
    runs: list[list[date]] = []
    for day in days:
        if runs and _follows(runs[-1][-1], day, period):
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(
        label(run[0]) if len(run) == 1 else f"{label(run[0])}..{label(run[-1])}" for run in runs
    )


def _follows(previous: date, day: date, period: str) -> bool:
    if period == "monthly":
        return (day.year * 12 + day.month) - (previous.year * 12 + previous.month) == 1
    return (day - previous).days == 1


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
