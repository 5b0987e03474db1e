"""Each defect fixture is caught by the right layer, with the right message.

``fixtures/warn``: a duplicated candle and a gap warn in dbt (the build goes on); the stale
series fails the quality checkpoint. ``fixtures/error``: a high below the close and a
negative volume are refused by ``hermes ingest``; landed unchecked (as a Hermes from before
those rules did), they fail `dbt build`, and the checkpoint names both candles too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from defect_lakes import FIXTURES, DefectLake

from hermes.config import Settings
from hermes.ingest import Outcome, ingest_paths
from hermes.lake import connect


def statuses(lake: DefectLake, status: str) -> dict[str, str]:
    return {n.name: n.message for n in lake.nodes if n.status == status}


def test_ingest_refuses_the_error_defects_first(tmp_path: Path) -> None:
    report = ingest_paths(sorted((FIXTURES / "error").glob("*.csv")), Settings(tmp_path / "l"))
    assert [(r.outcome, r.reason) for r in report.results] == [
        (
            Outcome.QUARANTINED,
            "csv/BTCUSDT/4h/BTCUSDT_4h.csv: line 42 (open time 2024-01-07 16:00 UTC): high "
            "44144.77 is below close 44244.77",
        ),
        (
            Outcome.QUARANTINED,
            "csv/ETHUSDT/4h/ETHUSDT_4h.csv: line 14 (open time 2024-01-03 00:00 UTC): volume "
            "-46709.8425 is negative",
        ),
    ]


def test_warn_defects_warn_in_dbt_and_the_build_goes_on(warn_lake: DefectLake) -> None:
    assert warn_lake.error is None
    assert statuses(warn_lake, "warn") == {
        "bronze_klines_one_candle_per_source_file": "Got 1 result, configured to warn if != 0",
        "silver_kline_gaps_none_missing": "Got 1 result, configured to warn if != 0",
    }
    assert not statuses(warn_lake, "fail") and not statuses(warn_lake, "error")
    assert {n.status for n in warn_lake.nodes} == {"success", "pass", "warn"}


def test_duplicated_candle_is_kept_once_and_counted(warn_lake: DefectLake) -> None:
    conn = connect(warn_lake.settings)
    rows = conn.execute(
        "select count(*) from silver_klines "
        "where symbol = 'BTCUSDT' and interval = '4h' and open_time = '2024-01-04 08:00'"
    ).fetchone()
    quality = conn.execute(
        "select symbol, interval, month, duplicate_rows, present_candles from silver_quality "
        "where duplicate_rows > 0"
    ).fetchall()
    assert rows == (1,)
    assert quality == [("BTCUSDT", "4h", datetime(2024, 1, 1), 1, 60)]


def test_gap_is_reported_not_filled(warn_lake: DefectLake) -> None:
    conn = connect(warn_lake.settings)
    gaps = conn.execute(
        "select symbol, interval, gap_start, gap_end, missing_candles from silver_kline_gaps"
    ).fetchall()
    filled = conn.execute(
        "select count(*) from silver_klines where symbol = 'ETHUSDT' and interval = '4h' "
        "and open_time = '2024-01-06 00:00'"
    ).fetchone()
    assert gaps == [
        ("ETHUSDT", "4h", datetime(2024, 1, 6), datetime(2024, 1, 6), 1),
    ]
    assert filled == (0,)


@pytest.fixture(scope="module")
def warn_quality(
    warn_lake: DefectLake, checkpoint: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Any:
    return checkpoint(warn_lake.settings, tables=["silver_klines"])


def test_stale_partition_fails_the_checkpoint(warn_quality: Any) -> None:
    assert not warn_quality.success
    assert [f.message for f in warn_quality.errors] == [
        "silver_freshness: the latest candle closed at most 48 hours before the lake's as-of: "
        "failed for 1 of 3 rows (partition=BTCUSDT 1d, lag_hours=240)"
    ]


def test_gap_warns_in_the_checkpoint(warn_quality: Any) -> None:
    assert [f.message for f in warn_quality.warnings] == [
        "silver_partitions: at least 99% of expected candles present: failed for 1 of 3 rows "
        "(partition=ETHUSDT 4h 2024, completeness=0.9833333333)"
    ]


def test_checkpoint_failure_raises_with_every_message(warn_quality: Any) -> None:
    from hermes.quality import QualityError

    with pytest.raises(QualityError) as caught:
        warn_quality.raise_for_failures()
    text = str(caught.value)
    assert "1 failed, 1 warnings" in text
    assert "error: silver_freshness" in text and "partition=BTCUSDT 1d" in text
    assert "warning: silver_partitions" in text


def test_checkpoint_writes_data_docs_in_the_lake(warn_lake: DefectLake, warn_quality: Any) -> None:
    docs = warn_lake.settings.lake_root / "quality" / "data_docs"
    assert warn_quality.data_docs == docs / "index.html"
    pages = sorted(p.relative_to(docs).parts[0] for p in docs.rglob("*.html"))
    assert set(pages) == {"index.html", "expectations", "validations"}
    validation_pages = list((docs / "validations").rglob("*.html"))
    assert len(validation_pages) == 3
    assert any("lag_hours" in p.read_text() for p in validation_pages)


def test_error_defects_fail_the_build_naming_each_test(error_lake: DefectLake) -> None:
    assert error_lake.error is not None
    assert sorted(error_lake.error.failures) == [
        "test silver_klines_ohlc_consistent: fail: Got 1 result, configured to fail if != 0",
        "test silver_klines_volume_non_negative: fail: Got 1 result, configured to fail if != 0",
    ]


def test_error_defects_are_named_by_the_checkpoint(
    error_lake: DefectLake, checkpoint: Callable[..., Any], tmp_path: Path
) -> None:
    result = checkpoint(error_lake.settings, tables=["silver_klines"], docs_dir=tmp_path)
    # the failed build skipped the models downstream of silver_klines
    assert [f.message for f in result.errors] == [
        "silver_klines: high >= close: failed for 1 of 120 rows (symbol=BTCUSDT, interval=4h, "
        "open_time=2024-01-07 16:00, high=44144.77, close=44244.77)",
        "silver_klines: volume >= 0: failed for 1 of 120 rows "
        "(symbol=ETHUSDT, interval=4h, open_time=2024-01-03 00:00, volume=-46709.8425)",
        "silver_partitions: table silver_kline_gaps does not exist in the lake",
    ]
    assert result.warnings == ()


def test_empty_tables_fail_the_checkpoint(
    warn_lake: DefectLake, checkpoint: Callable[..., Any], tmp_path: Path
) -> None:
    # a build that produced no candles must not pass; a text RSI cannot be checked at all
    settings = Settings(lake_root=tmp_path / "lake")
    conn = connect(settings)
    try:
        catalog = str(warn_lake.settings.catalog_path).replace("'", "''")
        conn.execute(f"attach 'ducklake:{catalog}' as source (read_only)")
        conn.execute("create table silver_klines as select * from source.silver_klines limit 0")
        conn.execute(
            "create table silver_kline_gaps as select * from source.silver_kline_gaps limit 0"
        )
        conn.execute(
            "create table gold_features as select *, 0 as warmup_bars, 'high' as rsi_14 "
            "from source.silver_klines"
        )
        conn.execute("detach source")
    finally:
        conn.close()
    result = checkpoint(settings, docs_dir=tmp_path / "docs")
    messages = [f.message for f in result.errors]
    assert len(messages) == 7
    assert messages[:2] == [
        "silver_klines: the table has rows (observed 0)",
        "silver_partitions: some partition exists (observed 0)",
    ]
    assert messages[2] == (
        "gold_features: rsi_14 in [0, 100]: could not be checked: rsi_14 is VARCHAR, not a number"
    )
    assert [m.split(": failed for ")[0] for m in messages[3:5]] == [
        "gold_features: rsi_14 is null during its 14-bar warm-up",
        "gold_features: warmup_bars counts the earlier bars of the series",
    ]
    assert messages[5] == (
        "gold_partitions: gold_features has one row per silver candle: failed for 3 of 3 rows "
        "(partition=BTCUSDT 1d, gold_rows=31, silver_rows=0; partition=BTCUSDT 4h, gold_rows=60, "
        "silver_rows=0; partition=ETHUSDT 4h, gold_rows=59, silver_rows=0)"
    )
