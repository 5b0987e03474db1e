"""Expectation suites (GX Core 1.x), one per frame of :mod:`hermes.quality.frames`.

Row-level expectations are :class:`Rule` objects: SQL that DuckDB evaluates over every
checked row (:func:`hermes.quality.frames.rule_violations`); their suites expect each
partition to hold zero rows breaking each rule. Partition-level suites state expectations
on one row per partition (or year) directly.

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


@dataclass(frozen=True)
class Rule:
    """A row-level expectation, stated as SQL that DuckDB evaluates over every checked row.

    ``check`` is true for a good row (a null result counts as good, like GX's
    ``ignore_row_if="either_value_is_missing"``); ``where`` limits the rows the rule applies
    to. The suite expects, per partition, zero rows breaking it (:func:`rule_expectation`).
    """

    name: str
    description: str
    check: str
    columns: tuple[str, ...] = ()
    """Columns shown, after the key, for each offending row."""
    where: str | None = None
    severity: str = CRITICAL
    numeric: tuple[str, ...] = ()
    """Columns that must be numeric for the rule to be checked at all."""


def rule_expectation(rule: Rule) -> gxe.Expectation:
    """The GX expectation of ``rule``: no partition holds a row breaking it."""
    return gxe.ExpectColumnValuesToBeBetween(
        column=rule.name,
        min_value=0,
        max_value=0,
        severity=FailureSeverity(rule.severity),
        description=rule.description,
        meta={"rule": rule.name},
    )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _at_least(column: str, bound: str, *, strict: bool = False) -> str:
    return f"{_q(column)} {'>' if strict else '>='} {bound}"


def ohlc_rules() -> list[Rule]:
    """High above open and close, low below them, strictly positive prices, volume >= 0."""
    pairs = [("high", "open"), ("high", "close"), ("open", "low"), ("close", "low")]
    return [
        *(
            Rule(f"{a}_ge_{b}", f"{a} >= {b}", _at_least(a, _q(b)), (a, b), numeric=(a, b))
            for a, b in pairs
        ),
        Rule("low_positive", "prices > 0 (low > 0)", _at_least("low", "0", strict=True), ("low",)),
        Rule("volume_non_negative", "volume >= 0", _at_least("volume", "0"), ("volume",)),
    ]


def key_rules(intervals: Iterable[str]) -> list[Rule]:
    """One row per candle key, no null key or price, intervals the lake accepts."""
    accepted = ", ".join("'" + i.replace("'", "''") + "'" for i in sorted(intervals))
    return [
        Rule("one_row_per_key", "one row per (symbol, interval, open_time)", "key_rows = 1"),
        *(
            Rule(
                f"{column}_not_null",
                f"{column} is not null",
                f"{_q(column)} is not null",
                (column,),
            )
            for column in [*KEY, *PRICES, "volume"]
        ),
        Rule(
            "accepted_interval",
            "interval is one of the `intervals` dbt var",
            f"interval in ({accepted})",
        ),
    ]


def has_rows() -> gxe.Expectation:
    return gxe.ExpectTableRowCountToBeBetween(min_value=1, description="the table has rows")


def silver_klines_rules(settings: SuiteSettings) -> list[Rule]:
    """Row-level rules of silver_klines: keys, OHLC relations, monotonic candle times."""
    return [
        *key_rules(settings.intervals),
        *ohlc_rules(),
        Rule(
            "close_after_open",
            "a candle closes after it opens",
            "close_time > open_time",
            ("close_time", "open_time"),
        ),
        Rule(
            "open_after_previous_close",
            "open times increase: a candle opens after the previous one closed",
            "open_time > previous_close_time",
            ("open_time", "previous_close_time"),
        ),
        Rule(
            "whole_steps",
            "consecutive candles are a whole number of intervals apart",
            "step_remainder_seconds = 0",
            ("step_remainder_seconds",),
        ),
    ]


def rules_suite(name: str, rules: Iterable[Rule]) -> gx.ExpectationSuite:
    """A suite over a :func:`hermes.quality.frames.rule_violations` frame."""
    suite = gx.ExpectationSuite(name=name)
    suite.add_expectation(has_rows())
    for rule in rules:
        suite.add_expectation(rule_expectation(rule))
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


def gold_features_rules(settings: SuiteSettings, columns: Iterable[str]) -> list[Rule]:
    """Row-level rules of gold_features: keys, OHLC, indicator ranges, warm-up nulls."""
    columns = list(columns)
    rules: list[Rule] = [*key_rules(settings.intervals), *ohlc_rules()]
    for column in columns:
        if column.startswith("rsi_"):
            rules.append(
                Rule(
                    f"{column}_range",
                    f"{column} in [0, 100]",
                    f"{_q(column)} between 0 and 100",
                    (column,),
                    numeric=(column,),
                )
            )
        if column.startswith(("atr_", "volatility_", "true_range")):
            rules.append(
                Rule(
                    f"{column}_non_negative",
                    f"{column} >= 0",
                    _at_least(column, "0"),
                    (column,),
                    numeric=(column,),
                )
            )
        if column.startswith("supertrend_dir_"):
            rules.append(
                Rule(
                    f"{column}_sign",
                    f"{column} is -1 or +1",
                    f"{_q(column)} in (-1, 1)",
                    (column,),
                    numeric=(column,),
                )
            )
        for upper, lower in _BANDS:
            below = column.replace(upper, lower, 1)
            if column.startswith(upper) and below in columns:
                rules.append(
                    Rule(
                        f"{column}_ge_{below}",
                        f"{column} >= {below}",
                        _at_least(column, _q(below)),
                        (column, below),
                        numeric=(column, below),
                    )
                )
        warmup = feature_warmup(column)
        if warmup is not None:
            rules += [
                Rule(
                    f"{column}_after_warmup",
                    f"{column} has no null after its {warmup}-bar warm-up",
                    f"{_q(column)} is not null",
                    (column,),
                    where=f"bar_index >= {warmup}",
                ),
                Rule(
                    f"{column}_during_warmup",
                    f"{column} is null during its {warmup}-bar warm-up",
                    f"{_q(column)} is null",
                    (column,),
                    where=f"bar_index < {warmup}",
                ),
            ]
    if "warmup_bars" in columns:
        rules.append(
            Rule(
                "warmup_bars_counts_bars",
                "warmup_bars counts the earlier bars of the series",
                "warmup_bars = bar_index",
                ("warmup_bars", "bar_index"),
                numeric=("warmup_bars",),
            )
        )
    return rules


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
