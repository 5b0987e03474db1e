"""How a backtest trades: cash, costs, stops, sizing and the fill convention."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from hermes.costs import FEES, SLIPPAGE

Fill = Literal["next_open", "same_close"]


RISK_OPTIONS = ("max_positions", "max_drawdown_halt", "halt_bars")
"""Options recorded only when set (older runs' configs and hashes do not hold them)."""


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


class BacktestConfigError(ValueError):
    """A backtest option outside its allowed range."""


@dataclass(frozen=True)
class BacktestConfig:
    """Execution settings of a run (all recorded with it).

    * ``fill``: ``next_open`` (default) fills a signal decided on bar t's close at bar t+1's
      open; ``same_close`` fills at bar t's close (a price already used to decide: the usual
      shortcut, kept for comparison with other tools).
    * ``fees``: fraction of each order's value; ``slippage``: fraction the fill price moves
      against the order (buys higher, sells lower); both default to var ``costs`` of
      ``dbt_project.yml`` (:mod:`hermes.costs`).
    * ``size``: fraction of equity put in on each entry (0 < size <= 1), long only.
    * ``sl_stop`` / ``tp_stop``: stop-loss / take-profit as a fraction of the entry price
      (``None`` = off), checked against each bar's open/high/low from the entry bar on (see
      :mod:`hermes.backtest.engine`).
    * ``max_positions``: most symbols held at once in a multi-symbol (shared cash) run
      (``None`` = one per symbol); see :mod:`hermes.backtest.portfolio`.
    * ``max_drawdown_halt``: drawdown circuit breaker, a fraction below the equity peak
      (``None`` = off); ``halt_bars``: how many bars new entries stay blocked after it trips
      (``None`` = for the rest of the run); see :mod:`hermes.backtest.risk`.

    The three risk options are left out of :attr:`as_json` while unset, so runs without them
    keep their recorded config and ``run_hash``.
    """

    init_cash: float = 10_000.0
    fees: float = FEES
    slippage: float = SLIPPAGE
    size: float = 1.0
    sl_stop: float | None = None
    tp_stop: float | None = None
    fill: Fill = "next_open"
    max_positions: int | None = None
    max_drawdown_halt: float | None = None
    halt_bars: int | None = None

    def __post_init__(self) -> None:
        checks = {
            "init_cash": self.init_cash > 0,
            "fees": 0 <= self.fees < 1,
            "slippage": 0 <= self.slippage < 1,
            "size": 0 < self.size <= 1,
            "sl_stop": self.sl_stop is None or 0 < self.sl_stop < 1,
            "tp_stop": self.tp_stop is None or self.tp_stop > 0,
            "max_positions": self.max_positions is None or _count(self.max_positions),
            "max_drawdown_halt": self.max_drawdown_halt is None or 0 < self.max_drawdown_halt < 1,
            "halt_bars": self.halt_bars is None or _count(self.halt_bars),
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if value is not None and not (number and math.isfinite(value)):
                ok = False
            if not ok:
                raise BacktestConfigError(f"backtest option {name}={value!r} is out of range")
        if self.halt_bars is not None and self.max_drawdown_halt is None:
            raise BacktestConfigError(
                f"backtest option halt_bars={self.halt_bars!r} needs max_drawdown_halt"
            )
        if self.fill not in ("next_open", "same_close"):
            raise BacktestConfigError(
                f"backtest option fill={self.fill!r} must be 'next_open' or 'same_close'"
            )

    @property
    def has_stops(self) -> bool:
        """A stop-loss or take-profit is set."""
        return self.sl_stop is not None or self.tp_stop is not None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for name in RISK_OPTIONS:
            if out[name] is None:
                del out[name]
        return out

    @property
    def as_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> BacktestConfig:
        return cls(**json.loads(text))


def run_hash(parameters_json: str, config: BacktestConfig) -> str:
    """Hash of everything that decides a run's trades besides the data."""
    text = parameters_json + "|" + config.as_json
    return hashlib.sha256(text.encode()).hexdigest()[:16]
