"""What a quality checkpoint (:mod:`hermes.quality.checkpoint`) found: each failed
expectation with the series whose rows broke it, the result of a run and the error that
fails it; and the as-of moment a user names on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from hermes.quality.suites import CRITICAL


@dataclass(frozen=True)
class ExpectationFailure:
    """One failed expectation, with a few of the rows that broke it."""

    suite: str
    description: str
    severity: str
    unexpected_count: int | None = None
    element_count: int | None = None
    examples: tuple[str, ...] = ()
    series: tuple[tuple[str, str], ...] = ()
    """Every (symbol, interval) whose rows broke it; empty: not a failure of one series."""

    @property
    def message(self) -> str:
        text = f"{self.suite}: {self.description}"
        if self.unexpected_count is not None and self.element_count is not None:
            text += f": failed for {self.unexpected_count} of {self.element_count} rows"
        if self.examples:
            text += " (" + "; ".join(self.examples) + ")"
        return text


@dataclass(frozen=True)
class QualityResult:
    """What the checkpoint found: failures by severity, and where the Data Docs are."""

    suites: tuple[str, ...]
    evaluated: int
    failures: tuple[ExpectationFailure, ...]
    data_docs: Path | None
    statistics: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> tuple[ExpectationFailure, ...]:
        return tuple(f for f in self.failures if f.severity == CRITICAL)

    @property
    def warnings(self) -> tuple[ExpectationFailure, ...]:
        return tuple(f for f in self.failures if f.severity != CRITICAL)

    def series_errors(self) -> dict[tuple[str, str], list[str]]:
        """(symbol, interval) -> the critical failures naming it."""
        out: dict[tuple[str, str], list[str]] = {}
        for failure in self.errors:
            for key in failure.series:
                out.setdefault(key, []).append(f"{failure.suite}: {failure.description}")
        return out

    @property
    def global_errors(self) -> tuple[ExpectationFailure, ...]:
        """Critical failures that name no series: they fail the whole run."""
        return tuple(f for f in self.errors if not f.series)

    @property
    def success(self) -> bool:
        """True when no critical expectation failed (warnings do not fail)."""
        return not self.errors

    def summary(self) -> str:
        lines = [
            f"quality: {self.evaluated} expectations on {', '.join(self.suites)}: "
            f"{len(self.errors)} failed, {len(self.warnings)} warnings"
        ]
        lines += [f"  error: {f.message}" for f in self.errors]
        lines += [f"  warning: {f.message}" for f in self.warnings]
        if self.data_docs is not None:
            lines.append(f"  data docs: {self.data_docs}")
        return "\n".join(lines)

    def raise_for_failures(self) -> None:
        if not self.success:
            raise QualityError(self)


class QualityError(RuntimeError):
    """A critical expectation failed; ``result`` holds every failure."""

    def __init__(self, result: QualityResult):
        self.result = result
        super().__init__(result.summary())


def parse_as_of(text: str | None) -> datetime | None:
    """``'now'`` or an ISO date/time (UTC unless it says otherwise) as naive UTC, or None."""
    if text is None:
        return None
    if text.strip().lower() == "now":
        return datetime.now(UTC).replace(tzinfo=None)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"as-of {text!r} is not 'now' or an ISO date/time") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
