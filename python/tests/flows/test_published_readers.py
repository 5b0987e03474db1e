"""The research site and the scorecard read each series at its own last published snapshot.

A lake of its own from real candles (BTCUSDT and ETHUSDT 4h, the bundled data's first 300),
with one real backtest per series, is published. Then rows nobody audited land in the lake:
a newer backtest of each series and a data-health row of BTCUSDT. The next publication holds
BTCUSDT back: ``hermes strategies`` (the scorecard) and the site's index show BTCUSDT exactly
as first published and ETHUSDT as published now; the lake itself holds the unchecked rows.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from hermes.config import PROJECT_ROOT, Settings
from hermes.lake import connect
from hermes.publish import publish
from hermes.report.site import published_site
from hermes.signals.scorecard import read_scorecard

DATA = PROJECT_ROOT / "data" / "binance-ohlcv"
ROWS = 300
HELD = ("BTCUSDT", "4h")


def first_rows(folder: Path, symbol: str) -> Path:
    header, *rows = gzip.decompress((DATA / f"{symbol}_4h.csv.gz").read_bytes()).decode(
    ).splitlines()  # fmt: skip
    path = folder / f"{symbol}_4h.csv"
    path.write_text("\n".join([header, *rows[:ROWS]]) + "\n")
    return path


def build(settings: Settings, *select: str) -> None:
    from hermes.dbt_runner import run_dbt

    run_dbt(["build", "--select", *select, "--exclude", "resource_type:test"], settings,
            target_path=settings.lake_root.parent / "target")  # fmt: skip


def run_ids(rows: list[dict]) -> dict[str, str]:
    return {r["symbol"]: r["run_id"] for r in rows if r["strategy_id"] == "smart_momentum"}


def test_a_held_series_shows_as_last_published_on_the_site_and_the_scorecard(
    lake_settings: Settings, tmp_path: Path
) -> None:
    from hermes.backtest.runs import run_backtests
    from hermes.ingest import ingest_paths

    settings = lake_settings
    ingest_paths([first_rows(tmp_path, s) for s in ("BTCUSDT", "ETHUSDT")], settings)
    build(settings, "+gold_signals_smart_momentum", "+silver_quality", "strategies")
    first = run_backtests(settings, "smart_momentum", ["BTCUSDT", "ETHUSDT"], ["4h"])
    build(settings, "gold_strategy_scorecard")  # the view over the runs table
    with connect(settings) as conn:
        publish(conn, "first", "data")
    card = read_scorecard(settings)
    site = published_site(settings)
    assert run_ids(card.rows) == dict(zip(["BTCUSDT", "ETHUSDT"], first, strict=True))
    health = {r["symbol"]: r["candles"] for r in site["health"]["series"]}
    assert health == {"BTCUSDT": ROWS, "ETHUSDT": ROWS}

    # unchecked rows land: newer runs of both series, a data-health row of BTCUSDT
    second = run_backtests(
        settings, "smart_momentum", ["BTCUSDT", "ETHUSDT"], ["4h"], overrides={"ema_fast": 5}
    )
    with connect(settings) as conn:
        conn.execute(
            "insert into silver_quality select * replace (month + interval 10 year as month, "
            "999 as present_candles) from silver_quality where symbol = 'BTCUSDT' limit 1"
        )
        publish(conn, "second", "data", held={HELD: "silver_klines_ohlc_consistent failed"})
        in_lake = conn.execute(
            "select symbol, run_id from gold_strategy_scorecard "
            "where strategy_id = 'smart_momentum' order by symbol"
        ).fetchall()
    assert dict(in_lake) == dict(zip(["BTCUSDT", "ETHUSDT"], second, strict=True))

    card = read_scorecard(settings)
    site = published_site(settings)
    expected = {"BTCUSDT": first[0], "ETHUSDT": second[1]}  # held: as first published
    assert run_ids(card.rows) == expected
    assert run_ids(site["latest"]) == expected
    assert {r["run_id"] for r in site["recent"]} == {*first, second[1]}
    health = {r["symbol"]: r["candles"] for r in site["health"]["series"]}
    assert health == {"BTCUSDT": ROWS, "ETHUSDT": ROWS}
