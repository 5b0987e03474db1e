"""Killing `hermes ingest` mid-run leaves a readable lake, and a re-run completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fixtures.binance import archive, candles_for, kline_zip, publish, serve_site

from hermes.config import Settings
from hermes.dbt_runner import run_dbt
from hermes.ingest import Outcome, RetryPolicy, download_archives
from hermes.ingest.checksum import sha256_hex
from hermes.lake import connect
from hermes.landing import decoded_location

pytestmark = pytest.mark.untraced  # every line it runs, other files measure (fixtures/children.py)

DAYS = 12
FIRST_DAY = date(2025, 1, 1)


def test_killed_ingest_leaves_a_readable_lake_and_rerun_completes(
    tmp_path: Path, lake_settings: Settings
) -> None:
    site = tmp_path / "site"
    names = [
        archive(f"BTCUSDT-4h-{FIRST_DAY + timedelta(days=n):%Y-%m-%d}.zip") for n in range(DAYS)
    ]
    for name in names:
        publish(site, name, kline_zip(name, unit="us", header=True))
    decoded = Path(lake_settings.landing_root) / "_decoded"
    env = {**os.environ, "HERMES_LAKE_ROOT": str(lake_settings.lake_root), "HERMES_TARGET": "local"}
    with serve_site(site) as (url, control):
        control.delay_seconds = 0.15  # a slow site, so the run is still going when killed
        last_day = FIRST_DAY + timedelta(days=DAYS - 1)
        command = [
            sys.executable, "-m", "hermes.cli", "ingest", "--symbol", "BTCUSDT",
            "--interval", "4h", "--period", "daily", "--start", f"{FIRST_DAY}",
            "--end", f"{last_day}", "--base-url", url,
        ]  # fmt: skip
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 60
            while not list(decoded.glob("*.parquet")) and time.monotonic() < deadline:
                assert process.poll() is None, "ingest ended before it could be killed"
                time.sleep(0.02)
            time.sleep(0.2)  # somewhere in the middle of the next archive
            process.send_signal(signal.SIGKILL)
        finally:
            process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL

        # the lake opens, and every manifest row points at complete files
        conn = connect(lake_settings)
        landed = conn.execute(
            "select source_file, source_sha256, decoded_file, row_count from landing.files"
        ).fetchall()
        conn.close()
        assert 1 <= len(landed) < DAYS
        for source_file, sha, decoded_file, row_count in landed:
            raw = (Path(lake_settings.landing_root) / source_file).read_bytes()
            assert sha256_hex(raw) == sha
            located = decoded_location(lake_settings.landing_root, decoded_file)
            assert pq.read_table(located).num_rows == row_count == 6

        control.delay_seconds = 0.0
        rerun = download_archives(
            ["BTCUSDT"], ["4h"], FIRST_DAY, last_day, "daily", lake_settings,
            base_url=url, retry=RetryPolicy(attempts=2, backoff_seconds=0.01),
        )  # fmt: skip
    assert len(rerun.with_outcome(Outcome.UNCHANGED)) == len(landed)
    assert len(rerun.with_outcome(Outcome.INGESTED)) == DAYS - len(landed)
    assert rerun.ok

    run_dbt(
        ["run", "--select", "bronze_klines", "silver_klines"],
        lake_settings,
        target_path=tmp_path / "target",
    )
    conn = connect(lake_settings)
    rows = conn.execute(
        "select open_time, close from silver_klines where symbol = 'BTCUSDT' and interval = '4h' "
        "order by open_time"
    ).fetchall()
    bronze = conn.execute(
        "select count(*), count(distinct source_file) from bronze_klines"
    ).fetchone()
    conn.close()
    expected = [
        (c.open_time.replace(tzinfo=None), float(c.close)) for n in names for c in candles_for(n)
    ]
    assert rows == expected
    assert bronze == (DAYS * 6, DAYS)
