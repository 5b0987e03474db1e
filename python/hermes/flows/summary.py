"""What a refresh did, in one object: files, rows per layer, tests, publication, runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

LAYERS = ("bronze", "silver", "gold")


@dataclass
class RefreshSummary:
    """Everything a refresh reports; ``status`` is ``published``, ``partial`` (published,
    with series held back or a step failed), ``no-op`` or ``failed`` (nothing published).

    ``flow_run`` is empty when the run found nothing new before starting any flow.
    """

    flow_run: str
    status: str = "running"
    ingested: list[str] = field(default_factory=list)
    unchanged: int = 0
    not_available: list[str] = field(default_factory=list)  # "<file>: <why>"
    quarantined: list[str] = field(default_factory=list)  # "<file>: <reason>"
    partitions: list[str] = field(default_factory=list)  # "SYMBOL/interval" rebuilt
    rows_added: dict[str, int] = field(default_factory=dict)  # layer -> rows
    tests_passed: int = 0
    tests_failed: list[str] = field(default_factory=list)  # dbt tests and GX expectations
    models_failed: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # "SYMBOL/interval: why" held back
    unlisted: list[str] = field(default_factory=list)  # "SYMBOL/interval" not in the universe
    steps_failed: list[str] = field(default_factory=list)  # "<step>: <error>" after publishing
    published_snapshot: int | None = None
    runs: list[str] = field(default_factory=list)  # backtest run ids
    reports: list[str] = field(default_factory=list)  # report file paths
    site: str | None = None  # the research site's index.html
    signals: list[str] = field(default_factory=list)  # new entries / exits of the feed
    paper: list[str] = field(default_factory=list)  # the paper ledger and drift, one line each
    step_seconds: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def headline(self) -> str:
        files = (
            f"{len(self.ingested)} file(s) ingested, {len(self.quarantined)} quarantined, "
            f"{len(self.not_available)} not yet available"
        )
        if self.status == "failed":
            failed = self.tests_failed or self.models_failed or [self.error or "see log"]
            return f"hermes refresh FAILED ({files}); nothing published; failing: " + ", ".join(
                failed
            )
        if self.status == "partial":
            problems = [f"held back {h}" for h in self.held] + [
                f"step {s}" for s in self.steps_failed
            ]
            return (
                f"hermes refresh PARTIAL: published snapshot {self.published_snapshot} "
                f"({files}; {len(self.runs)} backtest run(s)); " + "; ".join(problems)
            )
        if self.status == "no-op":
            return f"hermes refresh: nothing new ({files}); published state unchanged"
        rows = ", ".join(f"{layer} +{self.rows_added.get(layer, 0)}" for layer in LAYERS)
        return (
            f"hermes refresh published snapshot {self.published_snapshot} ({files}; rows {rows}; "
            f"{self.tests_passed} tests passed; {len(self.runs)} backtest run(s))"
        )

    def lines(self) -> list[str]:
        """A readable multi-line summary (log and terminal)."""
        out = [self.headline]
        if self.flow_run:
            out.append(f"  flow run: {self.flow_run}")
        out += [f"  ingested: {f}" for f in self.ingested]
        if self.unchanged:
            out.append(f"  unchanged (already landed): {self.unchanged} file(s)")
        out += [f"  not yet available: {f}" for f in self.not_available]
        out += [f"  quarantined: {f}" for f in self.quarantined]
        if self.partitions:
            out.append(f"  partitions rebuilt: {', '.join(self.partitions)}")
        if self.rows_added:
            out.append(
                "  rows added: "
                + ", ".join(f"{layer} {self.rows_added.get(layer, 0):+d}" for layer in LAYERS)
            )
        out.append(f"  tests: {self.tests_passed} passed, {len(self.tests_failed)} failed")
        out += [f"  failed test: {t}" for t in self.tests_failed]
        out += [f"  failed model: {m}" for m in self.models_failed]
        out += [f"  held back: {h}" for h in self.held]
        out += [f"  not in the universe (not backtested): {u}" for u in self.unlisted]
        out += [f"  failed step: {s}" for s in self.steps_failed]
        if self.published_snapshot is not None:
            out.append(f"  published snapshot: {self.published_snapshot}")
        out += [f"  backtest run: {r}" for r in self.runs]
        out += [f"  report: {r}" for r in self.reports]
        if self.site:
            out.append(f"  research site: {self.site}")
        out += [f"  signal: {s}" for s in self.signals]
        out += [f"  paper: {p}" for p in self.paper]
        if self.step_seconds:
            out.append(
                "  seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in self.step_seconds.items())
            )
        if self.error:
            out.append(f"  error: {self.error}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RefreshFailed(RuntimeError):
    """The refresh stopped before publishing; ``summary`` says what ran and what failed."""

    def __init__(self, summary: RefreshSummary):
        self.summary = summary
        super().__init__("\n".join(summary.lines()))
