"""Option types shared by the ``hermes`` commands: listed choices, checked dates, symbols,
and the one backtest option set (:func:`backtest_options`) built from :class:`BacktestConfig`.

The choice lists are spelled here so that ``hermes --help`` imports no numerical library;
``python/tests/test_cli_terminal.py`` checks that each equals the list of the module that
uses it.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, get_type_hints

import typer

from hermes.backtest.config import BacktestConfig
from hermes.cli.errors import usage_errors

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
StrategyOption = Annotated[str, typer.Option(help="Strategy id from the registry.")]
IntervalsOption = Annotated[list[str] | None, typer.Option(help="Intervals (default: all).")]
OverridesOption = Annotated[
    str | None, typer.Option(help="JSON object overriding the registry parameters.")
]


DEFAULT_STRATEGY = "smart_momentum"

CONFIG_HELP: dict[str, str] = {
    "init_cash": "Starting cash of each run.",
    "fees": "Fraction of each order's value.",
    "slippage": "Fraction the fill price moves against us.",
    "size": "Fraction of equity per entry (0-1].",
    "sl_stop": "Stop-loss, fraction below the entry price.",
    "tp_stop": "Take-profit, fraction above the entry price.",
    "fill": "Fill price of a signal decided on a bar's close: the next bar's open "
    "(next_open) or that close (same_close).",
    "max_positions": "With --portfolio: most symbols held at once (first symbols first).",
    "max_drawdown_halt": "Drawdown from the equity peak (fraction) that halts new entries.",
    "halt_bars": "Bars new entries stay halted after a trip (default: rest of the run).",
}
"""The help of each :class:`BacktestConfig` field as an option; types and defaults are the
config's own, so they are written once (in the dataclass)."""

_SERIES: tuple[tuple[str, Any, Any], ...] = (
    ("strategy", StrategyOption, DEFAULT_STRATEGY),
    ("symbol", SymbolsOption, None),
    ("interval", IntervalsOption, None),
    ("start", StartOption, None),
    ("end", EndOption, None),
    ("params", OverridesOption, None),
)
"""The options naming what a backtest runs on: strategy, series, period, parameter overrides."""


def config_options(names: tuple[str, ...]) -> list[inspect.Parameter]:
    """One ``--<field>`` option per :class:`BacktestConfig` field in ``names`` (all if empty)."""
    types = get_type_hints(BacktestConfig)
    defaults = {f.name: f.default for f in fields(BacktestConfig)}
    unknown = set(names) - set(defaults)
    if unknown:
        raise ValueError(f"not BacktestConfig fields: {sorted(unknown)}")
    return [
        inspect.Parameter(
            name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=defaults[name],
            annotation=Annotated[types[name], typer.Option(help=CONFIG_HELP[name])],
        )
        for name in names or tuple(defaults)
    ]


def backtest_options(*config_fields: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the one shared backtest option set, and hand it a checked ``request``.

    The command declares a ``request`` parameter and its own options; it gets ``--strategy``,
    ``--symbol``, ``--interval``, ``--start``, ``--end``, ``--params`` and one option per
    :class:`BacktestConfig` field in ``config_fields`` (all fields if none are named), with the
    dataclass's types and defaults. Fields not offered keep their defaults. A bad value ends as
    one line (:func:`hermes.cli.errors.usage_errors`) before the command runs.
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        own = [
            p
            for p in inspect.signature(command, eval_str=True).parameters.values()
            if p.name != "request"
        ]
        series = [
            inspect.Parameter(
                name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=kind
            )
            for name, kind, default in _SERIES
        ]
        config = config_options(config_fields)

        @functools.wraps(command)
        def run(**values: Any) -> Any:
            from hermes.cli.app import backtest_request

            on = {p.name: values.pop(p.name) for p in series}
            settings = {p.name: values.pop(p.name) for p in config}
            with usage_errors():
                request = backtest_request(
                    on["strategy"], on["symbol"], on["interval"], on["start"], on["end"],
                    on["params"], BacktestConfig(**settings),
                )  # fmt: skip
            return command(request=request, **values)

        parameters = [*series, *config, *own]
        run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        return run

    return decorate
