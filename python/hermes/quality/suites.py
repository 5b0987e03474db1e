"""Expectation suites (GX Core 1.x), one per frame of :mod:`hermes.quality.frames`.

Severities: ``critical`` expectations fail the checkpoint (and the daily flow, before it
publishes); ``warning`` ones are reported only. Every expectation carries a description
that names what it checks, which the checkpoint's failure messages and Data Docs show.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.metadata_types import FailureSeverity
from great_expectations.expectations.row_conditions import Column

CRITICAL = FailureSeverity.CRITICAL.value
WARNING = FailureSeverity.WARNING.value

KEY = ["symbol", "interval", "open_time"]
PRICES = ["open", "high", "low", "close"]

MIN_COMPLETENESS = 0.99
"""Share of expected candles a (symbol, interval, year) should hold; below it warns."""


@dataclass(frozen=True)
class SuiteSettings:
    """Thresholds of the suites."""

    intervals: tuple[str, ...]
    max_lag: timedelta = timedelta(hours=48)
    min_completeness: float = MIN_COMPLETENESS


def ohlc_expectations() -> list[gxe.Expectation]:
    """High above open and close, low below them, strictly positive prices, volume >= 0."""
    pairs = [("high", "open"), ("high", "close"), ("open", "low"), ("close", "low")]
    return [
        *(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=a,
                column_B=b,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                description=f"{a} >= {b}",
            )
            for a, b in pairs
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="low", min_value=0, strict_min=True, description="prices > 0 (low > 0)"
        ),
        gxe.ExpectColumnValuesToBeBetween(column="volume", min_value=0, description="volume >= 0"),
    ]


def key_expectations(intervals: Iterable[str]) -> list[gxe.Expectation]:
    """One row per candle key, no null key or price, intervals the lake accepts."""
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=1, description="the table has rows"),
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=KEY, description="one row per (symbol, interval, open_time)"
        ),
        *(
            gxe.ExpectColumnValuesToNotBeNull(column=column, description=f"{column} is not null")
            for column in [*KEY, *PRICES, "volume"]
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="interval",
            value_set=sorted(intervals),
            description="interval is one of the `intervals` dbt var",
        ),
    ]


def silver_klines_suite(settings: SuiteSettings) -> gx.ExpectationSuite:
    """Row-level checks of silver_klines: keys, OHLC relations, monotonic candle times."""
    suite = gx.ExpectationSuite(name="silver_klines")
    for expectation in [
        *key_expectations(settings.intervals),
        *ohlc_expectations(),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="close_time",
            column_B="open_time",
            ignore_row_if="either_value_is_missing",
            description="a candle closes after it opens",
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="open_time",
            column_B="previous_close_time",
            ignore_row_if="either_value_is_missing",
            description="open times increase: a candle opens after the previous one closed",
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="step_remainder_seconds",
            value_set=[0],
            description="consecutive candles are a whole number of intervals apart",
        ),
    ]:
        suite.add_expectation(expectation)
    return suite


def silver_partitions_suite(settings: SuiteSettings) -> gx.ExpectationSuite:
    """Per (symbol, interval, year): row counts against the calendar's expected candles."""
    suite = gx.ExpectationSuite(name="silver_partitions")
    for expectation in [
        gxe.ExpectTableRowCountToBeBetween(min_value=1, description="some partition exists"),
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="accounted_candles",
            column_B="expected_candles",
            description=(
                "present candles plus the missing ones reported in silver_kline_gaps "
                "equal the candles the calendar expects"
            ),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="completeness",
            min_value=settings.min_completeness,
            max_value=1,
            severity=FailureSeverity.WARNING,
            description=f"at least {settings.min_completeness:.0%} of expected candles present",
        ),
    ]:
        suite.add_expectation(expectation)
    return suite


def silver_freshness_suite(settings: SuiteSettings) -> gx.ExpectationSuite:
    """Per (symbol, interval): the latest candle is recent enough."""
    hours = settings.max_lag.total_seconds() / 3600
    suite = gx.ExpectationSuite(name="silver_freshness")
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(
            column="lag_hours",
            min_value=0,
            max_value=hours,
            description=f"the latest candle closed at most {hours:g} hours before the lake's as-of",
        )
    )
    return suite


# Warm-up of each gold feature, in bars before its first value (TA-Lib's lookback), from the
# parameters in its name (`<indicator>_<params>`).
_WARMUPS: list[tuple[re.Pattern[str], Callable[[list[int]], int]]] = [
    (re.compile(r"(sma|ema)_(\d+)"), lambda p: p[0] - 1),
    (re.compile(r"(rsi|atr)_(\d+)"), lambda p: p[0]),
    (re.compile(r"bb_(upper|middle|lower)_(\d+)_(\d+)"), lambda p: p[0] - 1),
    (re.compile(r"supertrend(_dir)?_(\d+)_(\d+)"), lambda p: p[0]),
    # TA-Lib starts the MACD line, signal and histogram together, after slow + signal - 2
    (re.compile(r"macd(_signal|_hist)?_(\d+)_(\d+)_(\d+)"), lambda p: p[1] + p[2] - 2),
    (re.compile(r"(log_)?return_(\d+)"), lambda p: p[0]),
    (re.compile(r"volatility_(\d+)"), lambda p: p[0]),
    (re.compile(r"(volume_zscore|donchian_upper|donchian_lower)_(\d+)"), lambda p: p[0] - 1),
    (re.compile(r"true_range"), lambda p: 1),
]


_BANDS = [
    ("bb_upper_", "bb_middle_"),
    ("bb_middle_", "bb_lower_"),
    ("donchian_upper_", "donchian_lower_"),
]
"""Channel columns that must not cross: (upper prefix, lower prefix), same parameters."""


def feature_warmup(column: str) -> int | None:
    """Bars of warm-up before ``column`` has a value, or None for a column not listed."""
    for pattern, warmup in _WARMUPS:
        match = pattern.fullmatch(column)
        if match:
            return warmup([int(g) for g in match.groups() if g and g.isdigit()])
    return None


def gold_features_suite(settings: SuiteSettings, columns: Iterable[str]) -> gx.ExpectationSuite:
    """Row-level checks of gold_features: keys, OHLC, indicator ranges, warm-up nulls."""
    columns = list(columns)
    suite = gx.ExpectationSuite(name="gold_features")
    expectations: list[gxe.Expectation] = [
        *key_expectations(settings.intervals),
        *ohlc_expectations(),
    ]
    for column in columns:
        if column.startswith("rsi_"):
            expectations.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=column, min_value=0, max_value=100, description=f"{column} in [0, 100]"
                )
            )
        if column.startswith(("atr_", "volatility_", "true_range")):
            expectations.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=column, min_value=0, description=f"{column} >= 0"
                )
            )
        if column.startswith("supertrend_dir_"):
            expectations.append(
                gxe.ExpectColumnValuesToBeInSet(
                    column=column, value_set=[-1, 1], description=f"{column} is -1 or +1"
                )
            )
        for upper, lower in _BANDS:
            below = column.replace(upper, lower, 1)
            if column.startswith(upper) and below in columns:
                expectations.append(
                    gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                        column_A=column,
                        column_B=below,
                        or_equal=True,
                        ignore_row_if="either_value_is_missing",
                        description=f"{column} >= {below}",
                    )
                )
        warmup = feature_warmup(column)
        if warmup is not None:
            expectations += [
                gxe.ExpectColumnValuesToNotBeNull(
                    column=column,
                    row_condition=Column("bar_index") >= warmup,
                    description=f"{column} has no null after its {warmup}-bar warm-up",
                ),
                gxe.ExpectColumnValuesToBeNull(
                    column=column,
                    row_condition=Column("bar_index") < warmup,
                    description=f"{column} is null during its {warmup}-bar warm-up",
                ),
            ]
    if "warmup_bars" in columns:
        expectations.append(
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A="warmup_bars",
                column_B="bar_index",
                description="warmup_bars counts the earlier bars of the series",
            )
        )
    for expectation in expectations:
        suite.add_expectation(expectation)
    return suite


def gold_partitions_suite(settings: SuiteSettings) -> gx.ExpectationSuite:
    """Per (symbol, interval): gold_features holds every silver candle, up to the latest."""
    suite = gx.ExpectationSuite(name="gold_partitions")
    for expectation in [
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="gold_rows",
            column_B="silver_rows",
            description="gold_features has one row per silver candle",
        ),
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="gold_last",
            column_B="silver_last",
            ignore_row_if="neither",
            description="gold_features reaches the latest silver candle",
        ),
    ]:
        suite.add_expectation(expectation)
    return suite


SUITE_NAMES = (
    "silver_klines",
    "silver_partitions",
    "silver_freshness",
    "gold_features",
    "gold_partitions",
)
