"""Import files already on disk: Binance kline archives and generic OHLCV CSV files."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import duckdb

from hermes.config import Settings
from hermes.ingest.checksum import sha256_hex
from hermes.ingest.land import land_file
from hermes.ingest.layout import ArchiveName, CsvName, InvalidName, safe_name
from hermes.ingest.manifest import ManifestBatch, ManifestEntry, load_manifest
from hermes.ingest.quarantine import quarantine
from hermes.ingest.report import FileResult, IngestReport, Outcome
from hermes.lake import connect

IMPORT_PATTERNS = ("*.zip", "*.csv", "*.csv.gz")
"""Files picked up when a folder is given."""

OnResult = Callable[[FileResult], None]


def collect_paths(paths: Iterable[Path]) -> list[Path]:
    """Files to import: given files as they are, folders searched for archives and CSVs."""
    found: set[Path] = set()
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for pattern in IMPORT_PATTERNS:
                found.update(p for p in path.rglob(pattern) if p.is_file())
        elif not path.name.endswith(".CHECKSUM"):
            found.add(path)
    # quarantined and decoded files of a landing zone are never re-imported
    return sorted(p for p in found if not {"_quarantine", "_decoded"} & set(p.parts))


def ingest_paths(
    paths: Sequence[Path],
    settings: Settings,
    *,
    on_result: OnResult | None = None,
) -> IngestReport:
    """Import local files (archives with their ``.CHECKSUM`` when present, CSV files).

    Folders are searched recursively. Bad files are quarantined; the others go through; their
    manifest rows are committed in batches (:class:`~hermes.ingest.manifest.ManifestBatch`).
    """
    report = IngestReport()
    with connect(settings) as conn:
        manifest = load_manifest(conn)
        with ManifestBatch(conn, report, manifest) as batch:
            for path in collect_paths(paths):
                result = batch.add(_ingest_one(conn, settings, path, manifest, batch.pending))
                if on_result is not None:
                    on_result(result)
    return report


def _ingest_one(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    path: Path,
    manifest: dict[str, str],
    pending: list[ManifestEntry],
) -> FileResult:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return FileResult(str(path), Outcome.FAILED, reason=f"{path}: cannot read: {exc.strerror}")
    origin = _landing_origin(settings, path)
    try:
        name: ArchiveName | CsvName
        if path.name.endswith(".zip"):
            name = ArchiveName.parse(path.name)
        else:
            name = CsvName.parse(path.name)
    except InvalidName as exc:
        source_file = f"unrecognized/{safe_name(path.name)}"
        sha = sha256_hex(data)
        kept = quarantine(
            conn, settings, source_file, f"{path}: {exc}", data=data, sha256=sha, origin=origin
        )
        return FileResult(str(path), Outcome.QUARANTINED, reason=kept.reason, sha256=sha)
    checksum_path = path.with_name(f"{path.name}.CHECKSUM")
    checksum = checksum_path.read_bytes() if checksum_path.is_file() else None
    if (
        isinstance(name, ArchiveName)
        and origin is not None
        and origin != _landing_path(settings, name.source_file)
    ):
        origin = None  # a stray file inside the landing zone: copy it to its place
    try:
        return land_file(
            conn, settings, name, data, manifest, checksum=checksum, origin=origin, pending=pending
        )
    except OSError as exc:
        return FileResult(name.source_file, Outcome.FAILED, reason=f"{path}: cannot store: {exc}")


def _landing_origin(settings: Settings, path: Path) -> str | None:
    """``path`` as a landing-zone path when it lies inside the (local) landing zone."""
    if settings.s3 is not None:
        return None
    root = Path(settings.landing_root).resolve()
    resolved = path.resolve()
    return str(resolved) if resolved.is_relative_to(root) else None


def _landing_path(settings: Settings, source_file: str) -> str:
    return str(Path(settings.landing_root).resolve() / source_file)
