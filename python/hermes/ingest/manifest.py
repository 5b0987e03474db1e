"""The landing manifest (``landing.files``, ``landing.quarantine``): reads and atomic updates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime

import duckdb

from hermes.ingest.report import FileResult, IngestReport, Outcome
from hermes.lake import transaction
from hermes.landing import ensure_landing_tables


@dataclass(frozen=True)
class ManifestEntry:
    source_file: str
    source_sha256: str
    decoded_file: str
    provider: str
    market: str
    symbol: str
    interval: str
    period: str
    row_count: int


def load_manifest(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Current SHA-256 of every landed source file, by source path."""
    ensure_landing_tables(conn)
    rows = conn.execute("select source_file, source_sha256 from landing.files").fetchall()
    return {source: sha for source, sha in rows}


def record_file(conn: duckdb.DuckDBPyConnection, entry: ManifestEntry) -> datetime:
    """Make ``entry`` the current version of its source file, in one DuckLake transaction."""
    return record_files(conn, [entry])


def record_files(conn: duckdb.DuckDBPyConnection, entries: Sequence[ManifestEntry]) -> datetime:
    """Make each entry the current version of its source file, all in one DuckLake
    transaction (one snapshot: a commit per file made a large landing's catalog the cost).
    A source file given twice keeps its last entry, as one commit each would."""
    import pyarrow as pa  # here: reading the manifest (a run with nothing new) does not need it

    ingested_at = utc_now()
    entries = list({e.source_file: e for e in entries}.values())
    rows = pa.Table.from_pylist(
        [{f.name: getattr(e, f.name) for f in fields(ManifestEntry)} for e in entries]
    ).append_column("ingested_at", pa.array([ingested_at] * len(entries), pa.timestamp("us")))
    with transaction(conn):
        conn.execute(
            "delete from landing.files where source_file in (select unnest(?::varchar[]))",
            [[e.source_file for e in entries]],
        )
        conn.register("_hermes_manifest", rows)
        try:
            conn.execute("insert into landing.files by name select * from _hermes_manifest")
        finally:
            conn.unregister("_hermes_manifest")
    return ingested_at


MANIFEST_BATCH = 500
"""Files whose manifest rows an import commits together (one DuckLake snapshot)."""


class ManifestBatch:
    """A local import's manifest rows, recorded :data:`MANIFEST_BATCH` files at a time.

    Each file's raw and decoded copies are stored before its row is pending, so a run
    stopped before a commit lands those files again (from disk: cheap; downloads record
    each archive as it lands instead, so a stopped download keeps what it fetched). Used as
    a context manager: what is pending when the block ends is committed.
    """

    def __init__(
        self, conn: duckdb.DuckDBPyConnection, report: IngestReport, manifest: dict[str, str]
    ) -> None:
        self.conn, self.report, self.manifest = conn, report, manifest
        self.pending: list[ManifestEntry] = []
        self._indexes: list[int] = []  # the report's results the pending rows belong to

    def __enter__(self) -> ManifestBatch:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.commit()

    def add(self, result: FileResult) -> FileResult:
        """Add one file's ``result`` (after landing it with ``pending=self.pending``)."""
        self.report.add(result)
        if len(self.pending) > len(self._indexes):
            self._indexes.append(len(self.report.results) - 1)
        if len(self.pending) >= MANIFEST_BATCH:
            self.commit()
        return result

    def commit(self) -> None:
        """Record the pending rows; if the catalog refuses, those files failed (their
        previous versions stay in force) and the next run lands them again."""
        if not self.pending:
            return
        try:
            record_files(self.conn, self.pending)
        except duckdb.Error as exc:
            problem = str(exc).splitlines()[0]
            for index, entry in zip(self._indexes, self.pending, strict=True):
                self.manifest.pop(entry.source_file, None)
                reason = f"{entry.source_file}: not recorded in the manifest: {problem}"
                self.report.results[index] = FileResult(
                    entry.source_file, Outcome.FAILED, reason=reason
                )
        self.pending.clear()
        self._indexes.clear()


def record_quarantine(
    conn: duckdb.DuckDBPyConnection, source_file: str, sha256: str | None, reason: str
) -> None:
    conn.execute(
        "insert into landing.quarantine (source_file, source_sha256, reason, quarantined_at) "
        "values (?, ?, ?, ?)",
        [source_file, sha256, reason, utc_now()],
    )


def utc_now() -> datetime:
    """Current UTC time as a naive timestamp (the manifest's ``timestamp`` columns)."""
    return datetime.now(UTC).replace(tzinfo=None)
