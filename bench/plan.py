"""What a benchmark run measures: data sizes, repetitions, the stages chosen, where files go."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.synthetic import SyntheticSpec

BENCH_ROOT = Path(__file__).resolve().parent
SIZES: dict[str, SyntheticSpec] = {  # symbols x months of one-minute candles
    "100k": SyntheticSpec(1, "2025-01", "2025-03"),  # 129,600 candles (development runs)
    "1M": SyntheticSpec(2, "2025-01", "2025-12"),  # 1,051,200
    "10M": SyntheticSpec(10, "2024-01", "2025-12"),  # 10,526,400
    "50M": SyntheticSpec(48, "2024-01", "2025-12"),  # 50,526,720
}
GROUPS = frozenset({"compare"})
"""``--only`` names that select every ``<group>.<name>`` measurement (no stage is named so)."""


@dataclass(frozen=True)
class Plan:
    """Settings of one run (``python -m bench --help`` explains each)."""

    sizes: tuple[str, ...]
    repeat: int
    grid_size: int
    work: Path
    out: Path
    quick: bool
    universe: tuple[int, str, str] = (200, "2024-01", "2025-12")
    """Synthetic universe of the ``universe`` stage: symbols (x 4h and 1d), first and last
    month (the last at most 2025-12: its new day is the bundled data's last day)."""
    only: frozenset[str] = field(default_factory=frozenset)
    budget_seconds: float = 19 * 60  # `make bench` must finish within 20 minutes

    def wants(self, stage: str) -> bool:
        """Whether ``--only`` names ``stage`` exactly, or its group (``compare``)."""
        group = stage.split(".")[0]
        return not self.only or stage in self.only or (group in GROUPS and group in self.only)

    def wants_sizes(self) -> bool:
        """Whether a selected measurement reads the pipeline's synthetic data sets (its
        stages, the notebook comparison, the quality pass at scale)."""
        from bench.pipeline import STAGES

        return any(map(self.wants, [s.name for s in STAGES] + ["compare.notebook", "quality"]))

    @classmethod
    def full(cls, work: Path, out: Path) -> Plan:
        return cls(("1M", "10M"), 3, 1000, work, out, quick=False)

    @classmethod
    def quick_plan(cls, work: Path, out: Path) -> Plan:
        return cls(("100k",), 2, 100, work, out, True, (4, "2025-10", "2025-12"))
