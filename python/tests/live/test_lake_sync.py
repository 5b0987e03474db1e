"""The live process next to the batch: API candles land as provisional landing files, the
archive of the day supersedes them (differences listed), feed rows are replaced, and a lake
held by another process is retried, then left for the next step."""

from __future__ import annotations

import gzip
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from live_helpers import STEP_MS

from hermes.config import Settings
from hermes.dbt_runner import run_dbt
from hermes.ingest import ingest_paths
from hermes.lake import connect
from hermes.live.client import Candle
from hermes.live.fake_exchange import BUNDLED
from hermes.live.store import LakeBusy, LiveStore, connect_briefly, land_days, replace_feed_rows

DAY = "2026-01-05"
FIRST_LINE = "2026-01-05 00:00:00"


def _csv(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(["timestamp,open,high,low,close,volume", *lines]) + "\n")
    return path


def _candle(line: str) -> Candle:
    stamp, *values = line.split(",")
    o, h, low, c, v = (float(x) for x in values)
    open_ms = int(datetime.fromisoformat(stamp + "+00:00").timestamp() * 1000)
    return Candle(open_ms, o, h, low, c, v, open_ms + STEP_MS - 1, 0.0, 0, 0.0, 0.0)


def test_api_candles_land_then_the_archive_supersedes_them(
    lake_settings: Settings, tmp_path: Path
) -> None:
    with gzip.open(BUNDLED / "BTCUSDT_4h.csv.gz", "rt") as handle:
        lines = handle.read().splitlines()[-400:]
    day = [line for line in lines if line.startswith(DAY)]
    history = lines[: lines.index(day[0])]
    target = tmp_path / "target"
    ingest_paths([_csv(tmp_path / "a" / "BTCUSDT_4h.csv", history)], lake_settings)

    store = LiveStore(lake_settings)
    api = [_candle(line) for line in day]
    api[2] = replace(api[2], close=api[2].close + 1.5)  # the API said otherwise
    store.save_candles([(("BTCUSDT", "4h"), api)])
    conn = connect_briefly(lake_settings)
    try:
        assert land_days(conn, store, {("BTCUSDT", "4h", DAY)}) == 1
        assert land_days(conn, store, {("BTCUSDT", "4h", DAY)}) == 0  # unchanged: nothing
        source = conn.execute(
            "select source_file, provider, period, row_count from landing.files "
            "where provider = 'api'"
        ).fetchall()
    finally:
        conn.close()
    assert source == [(f"api/BTCUSDT/4h/BTCUSDT-4h-{DAY}", "api", "daily", 6)]
    selection = ["build", "--selector", "silver"]
    run_dbt(selection, lake_settings, target_path=target)
    assert _silver_day(lake_settings) == [("api", c.close) for c in api]

    # the day's archive lands (the same file, now with the day): it wins, the difference is listed
    ingest_paths([_csv(tmp_path / "b" / "BTCUSDT_4h.csv", [*history, *day])], lake_settings)
    run_dbt(selection, lake_settings, target_path=target)
    assert _silver_day(lake_settings) == [("csv", float(x.split(",")[4])) for x in day]
    conn = connect(lake_settings)
    try:
        revised = conn.execute(
            "select symbol, interval, open_time, api_close, archive_close, api_source_file "
            "from silver_api_revisions"
        ).fetchall()
    finally:
        conn.close()
    assert revised == [
        ("BTCUSDT", "4h", datetime(2026, 1, 5, 8), api[2].close, api[2].close - 1.5,
         f"api/BTCUSDT/4h/BTCUSDT-4h-{DAY}"),
    ]  # fmt: skip

    # the live process lands the day again after the archive (a catch-up): the archive stays
    store.save_candles([(("BTCUSDT", "4h"), [replace(api[3], close=api[3].close + 2.0)])])
    conn = connect_briefly(lake_settings)
    try:
        assert land_days(conn, store, {("BTCUSDT", "4h", DAY)}) == 1
    finally:
        conn.close()
    run_dbt(selection, lake_settings, target_path=target)  # silver's tests pass
    assert _silver_day(lake_settings) == [("csv", float(x.split(",")[4])) for x in day]
    conn = connect(lake_settings)
    try:
        times = conn.execute("select open_time from silver_api_revisions order by 1").fetchall()
    finally:
        conn.close()
    assert times == [(datetime(2026, 1, 5, 8),), (datetime(2026, 1, 5, 12),)]


def _silver_day(settings: Settings) -> list[tuple[str, float]]:
    conn = connect(settings)
    try:
        return [
            (str(p), float(c))
            for p, c in conn.execute(
                "select provider, close from silver_klines where open_time >= ? order by open_time",
                [FIRST_LINE],
            ).fetchall()
        ]
    finally:
        conn.close()


def test_feed_rows_are_replaced_per_series(lake_settings: Settings) -> None:
    row = {
        "strategy_id": "donchian_breakout", "strategy_version": "1.0.0", "parameters": "{}",
        "symbol": "BTCUSDT", "interval": "4h", "open_time": datetime(2026, 1, 6, 8),
        "close_time": datetime(2026, 1, 6, 12), "decision": "hold", "position_before": 0.0,
        "position": 0.0, "price": 1.0, "flags": "{}", "bar_age_seconds": 0.0,
        "bar_age_intervals": 0.0, "stale": False, "snapshot_id": 1,
        "computed_at": datetime(2026, 1, 6, 12),
    }  # fmt: skip
    conn = connect(lake_settings)
    try:
        replace_feed_rows(conn, [row, {**row, "symbol": "ETHUSDT"}])
        replace_feed_rows(
            conn, [{**row, "open_time": datetime(2026, 1, 6, 12), "decision": "enter"}]
        )
        held = conn.execute(
            "select symbol, open_time, decision from gold_signal_feed order by symbol"
        ).fetchall()
    finally:
        conn.close()
    assert held == [
        ("BTCUSDT", datetime(2026, 1, 6, 12), "enter"),
        ("ETHUSDT", datetime(2026, 1, 6, 8), "hold"),
    ]


def test_a_lake_held_by_another_process_is_left_for_the_next_step(
    lake_settings: Settings,
) -> None:
    connect(lake_settings).close()  # the lake exists
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from hermes.lake import connect; c = connect(); "
         "print('held', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(LakeBusy, match="another process holds the catalog"):
            connect_briefly(lake_settings)
        # bounded (the next step retries), well before the holder lets go after 30 s; a
        # loose bound: each attempt loads DuckDB's extensions, slow on a loaded machine
        assert time.monotonic() - started < 20
    finally:
        holder.kill()
        holder.wait()
    connect_briefly(lake_settings).close()  # free again
