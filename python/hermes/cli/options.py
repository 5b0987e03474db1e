"""Option types shared by the ``hermes`` commands: listed choices, checked dates, symbols.

The choice lists are spelled here so that ``hermes --help`` imports no numerical library;
``python/tests/test_cli_terminal.py`` checks that each equals the list of the module that
uses it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal

import typer

from hermes.backtest.config import Fill

Period = Literal["monthly", "daily"]
"""= ``hermes.ingest.layout.PERIODS``."""
Objective = Literal["sharpe", "sortino", "calmar", "total_return", "cagr"]
"""= ``hermes.backtest.walk_forward.OBJECTIVES``."""
AbFilter = Literal["mtf_confluence", "vol_adjusted_rsi"]
"""= the keys of ``hermes.backtest.ab.FILTERS``."""

_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?")


def parse_day(text: str) -> date:
    """A calendar day ``YYYY-MM-DD``; an impossible one (2024-02-30) is named as such."""
    match = _DAY.fullmatch(text.strip())
    if not match:
        raise typer.BadParameter(f"{text!r} is not a date: expected YYYY-MM-DD")
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError as exc:
        raise typer.BadParameter(f"{text} is not a valid date: {exc}") from None


def parse_time(text: str) -> datetime:
    """A UTC time ``YYYY-MM-DD[ HH:MM[:SS]]`` (or with ``T``), as a naive UTC datetime."""
    match = _TIME.fullmatch(text.strip())
    if not match:
        raise typer.BadParameter(
            f"{text!r} is not a time: expected YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS] (UTC)"
        )
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise typer.BadParameter(f"{text} is not a valid date and time: {exc}") from None


def upper_symbols(values: list[str] | None) -> list[str] | None:
    """Symbols as the exchange spells them: ``btcusdt`` is ``BTCUSDT``."""
    return None if values is None else [value.strip().upper() for value in values]


def utc_today() -> date:
    return datetime.now(UTC).date()


FillOption = Annotated[
    Fill,
    typer.Option(
        help="Fill price of a signal decided on a bar's close: the next bar's open "
        "(next_open) or that close (same_close).",
    ),
]
ObjectiveOption = Annotated[Objective, typer.Option(help="Metric the in-sample choice maximises.")]
AbFilterOption = Annotated[
    AbFilter, typer.Option("--filter", help="Variant B's extra entry filter.")
]
PeriodOption = Annotated[Period, typer.Option(help="Archives to download: monthly or daily.")]
SymbolsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--symbol", callback=upper_symbols, help="Symbol, any case (default: all); repeatable."
    ),
]
StartOption = Annotated[
    datetime | None,
    typer.Option(
        parser=parse_time, metavar="YYYY-MM-DD[ HH:MM]", help="First bar (inclusive, UTC)."
    ),
]
EndOption = Annotated[
    datetime | None,
    typer.Option(
        parser=parse_time, metavar="YYYY-MM-DD[ HH:MM]", help="Period end (exclusive, UTC)."
    ),
]
InitCashOption = Annotated[float, typer.Option(help="Starting cash of each run.")]
StrategyOption = Annotated[str, typer.Option(help="Strategy id from the registry.")]
IntervalsOption = Annotated[list[str] | None, typer.Option(help="Intervals (default: all).")]
OverridesOption = Annotated[
    str | None, typer.Option(help="JSON object overriding the registry parameters.")
]
