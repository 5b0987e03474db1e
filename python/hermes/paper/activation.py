"""A strategy's paper-trading activation, read from its registry row and checked.

Registry columns (``seeds/strategies.csv``): ``paper_since`` (first day, ``YYYY-MM-DD``
UTC; empty = not paper traded), ``paper_capital`` (starting cash of each series' ledger,
> 0; empty = the backtest default) and ``paper_config`` (JSON: the backtest's execution
options plus ``intervals``, the candle intervals traded, default ``["4h"]``; the risk rules
``sl_stop``, ``tp_stop``, ``max_drawdown_halt``, ``halt_bars`` included). By default each
series has its own capital; ``"portfolio": true``, implied by ``max_positions``, trades the
symbols of each interval together as one shared-cash portfolio (``paper_capital`` is then
the portfolio's), exactly as ``hermes backtest --portfolio``. The ledger
uses exactly the :class:`~hermes.backtest.config.BacktestConfig` these make, so a backtest
with the same settings over the same period reproduces it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from hermes.backtest.config import BacktestConfig, BacktestConfigError
from hermes.signals.registry import Strategy

DEFAULT_INTERVALS = ("4h",)


class PaperError(ValueError):
    """A paper activation or ledger that cannot be used as it is (one line naming it)."""


@dataclass(frozen=True)
class Activation:
    """Where, from when and how a strategy is paper traded."""

    strategy_id: str
    since: date
    config: BacktestConfig
    intervals: tuple[str, ...]
    portfolio: bool = False  # the symbols of each interval share one capital

    @property
    def start(self) -> datetime:
        return datetime(self.since.year, self.since.month, self.since.day)


def activation_of(strategy: Strategy) -> Activation | None:
    """The strategy's activation (``None`` when ``paper_since`` is empty); PaperError."""
    sid = strategy.strategy_id
    if not strategy.paper_since.strip():
        return None
    try:
        since = date.fromisoformat(strategy.paper_since.strip())
    except ValueError:
        raise PaperError(
            f"strategy {sid}: paper_since={strategy.paper_since!r} is not a date (YYYY-MM-DD)"
        ) from None
    try:
        options = json.loads(strategy.paper_config) if strategy.paper_config.strip() else {}
    except json.JSONDecodeError as exc:
        raise PaperError(f"strategy {sid}: paper_config is not valid JSON: {exc}") from None
    if not isinstance(options, dict):
        raise PaperError(f"strategy {sid}: paper_config must be a JSON object")
    intervals = options.pop("intervals", list(DEFAULT_INTERVALS))
    portfolio = options.pop("portfolio", None)
    if portfolio is not None and not isinstance(portfolio, bool):
        raise PaperError(f"strategy {sid}: paper_config portfolio={portfolio!r} must be true/false")
    if not isinstance(intervals, list) or not all(isinstance(i, str) for i in intervals):
        raise PaperError(f"strategy {sid}: paper_config intervals must be a list of intervals")
    if strategy.paper_capital.strip():
        try:
            options["init_cash"] = float(strategy.paper_capital)
        except ValueError:
            raise PaperError(
                f"strategy {sid}: paper_capital={strategy.paper_capital!r} is not a number"
            ) from None
    try:
        config = BacktestConfig(**options)
    except TypeError as exc:
        raise PaperError(f"strategy {sid}: paper_config: {exc}") from None
    except BacktestConfigError as exc:
        what = str(exc).replace("backtest option init_cash", "paper_capital")
        raise PaperError(f"strategy {sid}: {what}") from None
    if portfolio is False and config.max_positions is not None:
        raise PaperError(
            f"strategy {sid}: paper_config max_positions needs the symbols to share one "
            'capital (drop "portfolio": false)'
        )
    shared = bool(portfolio) or config.max_positions is not None
    return Activation(sid, since, config, tuple(intervals), shared)
