"""What an ingest run did, file by file."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    INGESTED = "ingested"  # new or changed file decoded and recorded in the manifest
    UNCHANGED = "unchanged"  # same SHA-256 as the manifest's version: nothing to do
    NOT_AVAILABLE = "not available"  # the site has no such archive (yet): HTTP 404
    QUARANTINED = "quarantined"  # bad file, moved to _quarantine/ with a reason
    FAILED = "failed"  # could not be fetched or stored (network, disk); nothing changed


@dataclass(frozen=True)
class FileResult:
    source: str  # landing path (relative to the landing root), or the local path given
    outcome: Outcome
    rows: int = 0
    reason: str | None = None
    sha256: str | None = None


@dataclass
class IngestReport:
    results: list[FileResult] = field(default_factory=list)

    def add(self, result: FileResult) -> FileResult:
        self.results.append(result)
        return result

    def extend(self, other: IngestReport) -> None:
        self.results.extend(other.results)

    def with_outcome(self, outcome: Outcome) -> list[FileResult]:
        return [r for r in self.results if r.outcome is outcome]

    @property
    def problems(self) -> list[FileResult]:
        """Files that were quarantined or failed."""
        return [r for r in self.results if r.outcome in (Outcome.QUARANTINED, Outcome.FAILED)]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rows_ingested(self) -> int:
        return sum(r.rows for r in self.with_outcome(Outcome.INGESTED))

    def counts(self) -> dict[Outcome, int]:
        counter = Counter(r.outcome for r in self.results)
        return {outcome: counter.get(outcome, 0) for outcome in Outcome}
