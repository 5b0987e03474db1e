"""What a benchmark run measures: data sizes, repetitions and where work files go."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.synthetic import SyntheticSpec

BENCH_ROOT = Path(__file__).resolve().parent

SIZES: dict[str, SyntheticSpec] = {
    # 1 symbol x 90 days = 129,600 one-minute candles (development runs)
    "100k": SyntheticSpec(symbols=1, first_month="2025-01", last_month="2025-03"),
    # 2 symbols x 2025 = 1,051,200 candles
    "1M": SyntheticSpec(symbols=2, first_month="2025-01", last_month="2025-12"),
    # 10 symbols x 2024-2025 = 10,526,400 candles
    "10M": SyntheticSpec(symbols=10, first_month="2024-01", last_month="2025-12"),
    # 48 symbols x 2024-2025 = 50,526,720 candles
    "50M": SyntheticSpec(symbols=48, first_month="2024-01", last_month="2025-12"),
}


@dataclass(frozen=True)
class Plan:
    """Settings of one run (``python -m bench --help`` explains each)."""

    sizes: tuple[str, ...]
    repeat: int
    refresh_years: tuple[int, ...]
    refresh_symbols: int
    refresh_interval: str
    grid_size: int
    work: Path
    out: Path
    quick: bool
    universe: tuple[int, str, str] = (200, "2024-01", "2025-12")
    """Synthetic universe of the ``universe`` stage: symbols (x 4h and 1d), first and last
    month (the last at most 2025-12: its new day is the bundled data's last day)."""
    only: frozenset[str] = field(default_factory=frozenset)
    profile: bool = True
    budget_seconds: float = 19 * 60  # `make bench` must finish within 20 minutes

    def wants(self, stage: str) -> bool:
        return not self.only or stage in self.only or stage.split(".")[0] in self.only

    @classmethod
    def full(cls, work: Path, out: Path) -> Plan:
        return cls(("1M", "10M"), 3, (1, 4, 8), 10, "1h", 1000, work, out, quick=False)

    @classmethod
    def quick_plan(cls, work: Path, out: Path) -> Plan:
        return cls(("100k",), 2, (1, 2), 2, "4h", 100, work, out, True, (4, "2025-10", "2025-12"))
