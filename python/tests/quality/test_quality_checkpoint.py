"""The quality checkpoint on the bundled real data: it passes, counts what it checked, and
catches a stale lake and defects planted in a copy of gold_features."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hermes.config import Settings
from hermes.lake import connect

BUNDLED_CANDLES = 2 * 3065 + 2 * 18371


@pytest.fixture(scope="module")
def bundled(built_lake: Settings) -> Settings:
    return built_lake


@pytest.fixture(scope="module")
def bundled_quality(
    bundled: Settings, checkpoint: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Any:
    return checkpoint(bundled, docs_dir=tmp_path_factory.mktemp("docs"))


def test_bundled_lake_passes_every_suite(bundled_quality: Any) -> None:
    assert bundled_quality.success
    assert bundled_quality.failures == ()
    assert bundled_quality.suites == (
        "silver_klines",
        "silver_partitions",
        "silver_freshness",
        "gold_features",
        "gold_partitions",
    )
    assert bundled_quality.statistics == {
        "silver_klines": BUNDLED_CANDLES,
        "silver_partitions": 4 * 10,  # 2017 to 2026 for each symbol and interval
        "silver_freshness": 4,
        "gold_features": BUNDLED_CANDLES,
        "gold_partitions": 4,
    }


def test_freshness_against_a_given_time(
    bundled: Settings, checkpoint: Callable[..., Any], tmp_path: Path
) -> None:
    # the daily candles closed 48 hours before, the 4h ones 56 hours before
    result = checkpoint(
        bundled,
        tables=["silver_klines"],
        as_of=datetime(2026, 1, 8, 23, 59, 59, 999000),
        docs_dir=tmp_path,
    )
    assert [f.message for f in result.errors] == [
        "silver_freshness: the latest candle closed at most 48 hours before the lake's as-of: "
        "failed for 2 of 4 rows (partition=BTCUSDT 4h, lag_hours=56; "
        "partition=ETHUSDT 4h, lag_hours=56)"
    ]
    # every failing series is named, so the daily refresh can hold exactly those back
    assert result.errors[0].series == (("BTCUSDT", "4h"), ("ETHUSDT", "4h"))
    assert result.series_errors() == {
        ("BTCUSDT", "4h"): [
            "silver_freshness: the latest candle closed at most 48 hours before the lake's as-of"
        ],
        ("ETHUSDT", "4h"): [
            "silver_freshness: the latest candle closed at most 48 hours before the lake's as-of"
        ],
    }
    assert result.global_errors == ()


def test_a_missing_table_is_a_failure(
    lake_settings: Settings, checkpoint: Callable[..., Any], tmp_path: Path
) -> None:
    result = checkpoint(lake_settings, tables=["gold_features"], docs_dir=tmp_path)
    assert not result.success
    assert [f.message for f in result.errors] == [
        "gold_features: table gold_features does not exist in the lake"
    ]


def test_an_unknown_table_is_refused(
    lake_settings: Settings, checkpoint: Callable[..., Any]
) -> None:
    with pytest.raises(ValueError, match=r"no quality suite for table\(s\) \['bronze_klines'\]"):
        checkpoint(lake_settings, tables=["bronze_klines"])


@pytest.fixture(scope="module")
def planted_gold(bundled: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A new lake holding copies of the bundled silver_klines and gold_features, with an RSI
    above 100 and an EMA missing after its warm-up planted in gold_features."""
    settings = Settings(lake_root=tmp_path_factory.mktemp("planted") / "lake")
    conn = connect(settings)
    try:
        catalog = str(bundled.catalog_path).replace("'", "''")
        conn.execute(f"attach 'ducklake:{catalog}' as bundled (read_only)")
        conn.execute("create table silver_klines as select * from bundled.silver_klines")
        conn.execute("create table gold_features as select * from bundled.gold_features")
        conn.execute("detach bundled")
        conn.execute(
            "update gold_features set rsi_14 = 100.5 where symbol = 'ETHUSDT' and interval = '1d' "
            "and open_time = '2021-05-12'"
        )
        conn.execute(
            "update gold_features set ema_12 = null where symbol = 'BTCUSDT' and interval = '4h' "
            "and open_time = '2020-03-12 08:00'"
        )
    finally:
        conn.close()
    return settings


def test_gold_suite_names_planted_defects(
    planted_gold: Settings, checkpoint: Callable[..., Any], tmp_path: Path
) -> None:
    result = checkpoint(planted_gold, tables=["gold_features"], docs_dir=tmp_path)
    assert [f.message for f in result.errors] == [
        "gold_features: ema_12 has no null after its 11-bar warm-up: failed for 1 of "
        f"{BUNDLED_CANDLES - 4 * 11} rows "
        "(symbol=BTCUSDT, interval=4h, open_time=2020-03-12 08:00, ema_12=null)",
        f"gold_features: rsi_14 in [0, 100]: failed for 1 of {BUNDLED_CANDLES} rows "
        "(symbol=ETHUSDT, interval=1d, open_time=2021-05-12 00:00, rsi_14=100.5)",
    ]


@pytest.mark.parametrize(
    ("column", "function", "params"),
    [
        ("sma_20", "SMA", {"timeperiod": 20}),
        ("ema_200", "EMA", {"timeperiod": 200}),
        ("rsi_14", "RSI", {"timeperiod": 14}),
        ("atr_14", "ATR", {"timeperiod": 14}),
        ("supertrend_dir_10_3", "ATR", {"timeperiod": 10}),
        ("bb_lower_20_2", "BBANDS", {"timeperiod": 20}),
        ("macd_12_26_9", "MACD", {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}),
        ("macd_hist_12_26_9", "MACD", {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}),
        ("donchian_upper_20", "MAX", {"timeperiod": 20}),
        ("volume_zscore_20", "STDDEV", {"timeperiod": 20}),
        ("return_1", "ROC", {"timeperiod": 1}),
        ("true_range", "TRANGE", {}),
    ],
)
def test_feature_warmups_are_ta_libs_lookbacks(
    checkpoint: Callable[..., Any], column: str, function: str, params: dict[str, int]
) -> None:
    from talib.abstract import Function  # type: ignore[attr-defined]

    from hermes.quality.suites import feature_warmup

    assert feature_warmup(column) == Function(function, **params).lookback


def test_parse_as_of() -> None:
    from hermes.quality import parse_as_of

    assert parse_as_of(None) is None
    now = parse_as_of("now")
    assert now is not None and now.tzinfo is None
    assert abs(now - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=1)
    assert parse_as_of("2026-01-08") == datetime(2026, 1, 8)
    assert parse_as_of("2026-01-08T02:00:00+02:00") == datetime(2026, 1, 8)
    with pytest.raises(ValueError, match="as-of 'soon' is not 'now' or an ISO date/time"):
        parse_as_of("soon")


def test_columns_without_a_known_warmup_get_no_warmup_check(checkpoint: Callable[..., Any]) -> None:
    from hermes.quality.suites import feature_warmup

    assert [feature_warmup(c) for c in ("close", "warmup_bars", "rsi", "ema_x")] == [None] * 4


def test_checks_limited_to_given_partitions(
    planted_gold: Settings, checkpoint: Callable[..., Any], tmp_path: Path
) -> None:
    # only BTCUSDT 4h is checked: the ETHUSDT 1d defect is outside the scope
    progress: list[str] = []
    result = checkpoint(
        planted_gold,
        tables=["gold_features"],
        docs_dir=tmp_path,
        partitions=[("BTCUSDT", "4h")],
        on_suite=progress.append,
    )
    assert [f.message for f in result.errors] == [
        "gold_features: ema_12 has no null after its 11-bar warm-up: failed for 1 of "
        f"{18371 - 11} rows "
        "(symbol=BTCUSDT, interval=4h, open_time=2020-03-12 08:00, ema_12=null)",
    ]
    assert result.statistics == {"gold_features": 18371, "gold_partitions": 1}
    assert [line.split(":")[0] for line in progress] == ["gold_features", "gold_partitions"]
    assert progress[0].startswith("gold_features: 73 of 74 expectations met on 18371 rows (")
