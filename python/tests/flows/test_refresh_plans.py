"""Which archives the daily refresh and the backfill ask for (no Prefect run)."""

from __future__ import annotations

from datetime import date

import pytest

from hermes.config import Settings
from hermes.flows.changes import dailies_of, lake_state, plan_backfill, plan_daily
from hermes.ingest import ArchiveName
from hermes.ingest.manifest import ManifestEntry, record_file
from hermes.lake import connect
from hermes.landing import ensure_landing_tables


def names(archives: list[ArchiveName]) -> list[str]:
    return [a.filename for a in archives]


def land(settings: Settings, *filenames: str) -> None:
    conn = connect(settings)
    try:
        ensure_landing_tables(conn)
        for filename in filenames:
            archive = ArchiveName.parse(filename)
            record_file(
                conn,
                ManifestEntry(
                    archive.source_file, "0" * 64, "/x.parquet", "binance", "spot",
                    archive.symbol, archive.interval, archive.period, 1,
                ),
            )  # fmt: skip
    finally:
        conn.close()


def test_daily_plan_skips_landed_files_and_months_covered_by_a_monthly(
    lake_settings: Settings,
) -> None:
    plan = plan_daily(
        lake_state(lake_settings).landed, ["BTCUSDT"], ["4h"], date(2024, 3, 2), lookback_days=3
    )
    assert names(plan) == [
        "BTCUSDT-4h-2024-02.zip",
        "BTCUSDT-4h-2024-02-29.zip",
        "BTCUSDT-4h-2024-03-01.zip",
        "BTCUSDT-4h-2024-03-02.zip",
    ]
    land(lake_settings, "BTCUSDT-4h-2024-03-01.zip")
    plan = plan_daily(
        lake_state(lake_settings).landed, ["BTCUSDT"], ["4h"], date(2024, 3, 2), lookback_days=3
    )
    assert names(plan) == [
        "BTCUSDT-4h-2024-02.zip",
        "BTCUSDT-4h-2024-02-29.zip",
        "BTCUSDT-4h-2024-03-02.zip",
    ]
    # once February's monthly archive has landed, its dailies are not fetched any more
    land(lake_settings, "BTCUSDT-4h-2024-02.zip", "BTCUSDT-4h-2024-03-02.zip")
    plan = plan_daily(
        lake_state(lake_settings).landed, ["BTCUSDT"], ["4h"], date(2024, 3, 2), lookback_days=3
    )
    assert plan == []
    with pytest.raises(ValueError, match="lookback_days must be >= 1"):
        plan_daily(
            lake_state(lake_settings).landed, ["BTCUSDT"], ["4h"], date(2024, 3, 2), lookback_days=0
        )


def test_backfill_plan_uses_monthlies_for_past_months_and_dailies_for_this_month() -> None:
    monthly, daily = plan_backfill(
        ["BTCUSDT", "ETHUSDT"], ["4h"], date(2023, 12, 30), date(2024, 2, 20), date(2024, 2, 4)
    )
    assert names(monthly) == [
        "BTCUSDT-4h-2023-12.zip",
        "BTCUSDT-4h-2024-01.zip",
        "ETHUSDT-4h-2023-12.zip",
        "ETHUSDT-4h-2024-01.zip",
    ]
    # the end is capped at yesterday: today's archive cannot exist yet
    assert names(daily) == [
        f"{symbol}-4h-2024-02-0{day}.zip" for symbol in ("BTCUSDT", "ETHUSDT") for day in (1, 2, 3)
    ]
    # a monthly archive not published yet is replaced by its dailies within the range
    assert names(dailies_of(monthly[0], date(2023, 12, 30), date(2024, 2, 20))) == [
        "BTCUSDT-4h-2023-12-30.zip",
        "BTCUSDT-4h-2023-12-31.zip",
    ]
    with pytest.raises(ValueError, match="end date 2024-01-01 is before start date 2024-01-02"):
        plan_backfill(["BTCUSDT"], ["4h"], date(2024, 1, 2), date(2024, 1, 1), date(2024, 2, 4))
    with pytest.raises(ValueError, match="malformed symbol 'btc'"):
        plan_backfill(["btc"], ["4h"], date(2024, 1, 1), date(2024, 1, 2), date(2024, 2, 4))
