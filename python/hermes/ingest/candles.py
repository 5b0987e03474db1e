"""Candle rules every decoded file must keep, checked at ingest with vectorised expressions.

A file breaking one rule is refused whole (quarantined), naming its first bad row, so a bad
candle never reaches the lake and the landed version of the file stays in force. The rules:
prices strictly positive, volume not negative, high at or above open, close and low, low at
or below open and close, one set of values per open time, and open times on the interval's
grid. Values that are not finite numbers are refused before, when the text is parsed
(:func:`hermes.ingest.decode.parse_columns`). The OHLC data tests of the silver layer check
the prices again as a second line of defence.

The grid: open times are whole multiples of the interval's length (:mod:`hermes.intervals`)
counted from 1970-01-01 00:00 UTC; weekly candles open on Mondays (as Binance's do), and
candles longer than a day (``3d``) only need to open at midnight UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from hermes.ingest.errors import DecodeError
from hermes.intervals import interval_seconds

PRICES = ("open", "high", "low", "close")
VALUES = (*PRICES, "volume")
DAY_SECONDS = 86_400
WEEK_SECONDS = 7 * DAY_SECONDS
MONDAY_OFFSET_SECONDS = 4 * DAY_SECONDS
"""1970-01-01 was a Thursday: Mondays are 4 days past a multiple of a week."""


@dataclass(frozen=True)
class Grid:
    """Open times allowed for an interval: ``(t - offset) % step == 0`` (seconds)."""

    step: int
    offset: int = 0


def grid_of(interval: str) -> Grid:
    """The open-time grid of ``interval`` (see the module's docstring)."""
    seconds = interval_seconds(interval)
    if seconds == WEEK_SECONDS:
        return Grid(WEEK_SECONDS, MONDAY_OFFSET_SECONDS)
    return Grid(min(seconds, DAY_SECONDS))


@dataclass(frozen=True)
class Rule:
    """One rule: a boolean expression true on bad rows, and the wording of a bad row's
    problem (a template filled with the row's values)."""

    name: str
    broken: pl.Expr
    problem: str


def check_candles(frame: pl.DataFrame, interval: str, unit: str) -> None:
    """Raise :class:`DecodeError` for the first row (in file order) breaking a rule.

    ``frame`` holds ``line_number``, ``open_time`` (epoch ``unit``: ``ms`` or ``us``) and the
    five values; the message reads ``line 5 (open time 2024-01-01 04:00 UTC): high 41000.5
    is below low 41200.0``.
    """
    per_second = 1_000_000 if unit == "us" else 1000
    rules = candle_rules(interval, per_second)
    flags = frame.select(
        pl.col("line_number"),
        *(rule.broken.fill_null(False).alias(rule.name) for rule in rules),
    )
    bad = flags.filter(pl.any_horizontal(rule.name for rule in rules))
    if not bad.height:
        return
    first = bad.row(0, named=True)
    row = frame.filter(pl.col("line_number") == first["line_number"]).row(0, named=True)
    rule = next(rule for rule in rules if first[rule.name])
    same_time = frame.filter(pl.col("open_time") == row["open_time"])
    first_line = same_time["line_number"].min()
    stamp = open_time_label(row["open_time"], per_second)
    problem = rule.problem.format(**row, first_line=first_line)
    raise DecodeError(f"line {row['line_number']} (open time {stamp}): {problem}")


def candle_rules(interval: str, per_second: int) -> list[Rule]:
    """The rules in the order a bad row's first problem is reported."""
    rules = [
        Rule(
            f"{price}_positive", pl.col(price) <= 0, f"{price} {{{price}}} is not a positive price"
        )
        for price in PRICES
    ]
    rules.append(Rule("volume_negative", pl.col("volume") < 0, "volume {volume} is negative"))
    rules += [
        Rule(
            f"high_below_{other}",
            pl.col("high") < pl.col(other),
            f"high {{high}} is below {other} {{{other}}}",
        )
        for other in ("low", "open", "close")
    ]
    rules += [
        Rule(
            f"low_above_{other}",
            pl.col("low") > pl.col(other),
            f"low {{low}} is above {other} {{{other}}}",
        )
        for other in ("open", "close")
    ]
    grid = grid_of(interval)
    step, offset = grid.step * per_second, grid.offset * per_second
    rules.append(
        Rule(
            "off_grid",
            (pl.col("open_time") - offset) % step != 0,
            f"open time is off the {interval} grid",
        )
    )
    rules.append(
        Rule(
            "duplicate",
            (pl.struct(VALUES).n_unique().over("open_time") > 1)
            & (pl.col("line_number") > pl.col("line_number").min().over("open_time")),
            "repeats the open time of line {first_line} with other values",
        )
    )
    return rules


def open_time_label(open_time: int, per_second: int) -> str:
    """``2024-01-01 04:00 UTC`` (seconds and fractions shown only when not zero)."""
    seconds, fraction = divmod(open_time, per_second)
    moment = datetime.fromtimestamp(seconds, UTC)
    text = moment.strftime("%Y-%m-%d %H:%M")
    if moment.second or fraction:
        text += moment.strftime(":%S")
    if fraction:
        text += f".{fraction:0{len(str(per_second)) - 1}d}"
    return f"{text} UTC"
