"""A daily refresh on the s3 target leaves the S3 keys nowhere: not in Prefect's database
(flow and subflow parameters, task runs, logs), not in the lake folder, target/ or reports."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from fixtures.binance import archive, kline_zip, publish, serve_site
from s3.local_s3 import LocalS3, unique_prefix

from hermes.signals.registry import active_strategies


def files_containing(marker: str, folder: Path) -> list[Path]:
    needle = marker.encode()
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and needle in p.read_bytes()]


def test_no_credential_in_prefect_or_the_lake(
    local_s3: LocalS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hermes.flows.daily_refresh import daily_refresh

    site = tmp_path / "site"
    name = archive("BTCUSDT-4h-2024-02-07.zip")
    publish(site, name, kline_zip(name))
    lake = tmp_path / "lake"
    for key, value in local_s3.env(lake, unique_prefix("secret")).items():
        monkeypatch.setenv(key, value)
    with serve_site(site) as (base_url, _):
        summary = daily_refresh(
            day=date(2024, 2, 7),
            symbols=["BTCUSDT"],
            intervals=["4h"],
            lookback_days=1,
            base_url=base_url,
        )
    assert summary.status == "published", summary.lines()
    # the backtest subflow ran (a run per active strategy): its parameters hold settings
    assert len(summary.runs) == len(active_strategies())
    api = os.environ["PREFECT_API_URL"]
    runs: list[dict[str, Any]] = requests.post(
        f"{api}/flow_runs/filter", json={}, timeout=30
    ).json()
    subflow = [
        r["parameters"]["settings"]
        for r in runs
        if "strategy_ids" in r["parameters"]
        and r["parameters"]["settings"]["lake_root"] == str(lake)
    ]
    assert len(subflow) == 1
    recorded = subflow[0]
    assert recorded["s3"]["bucket"] == local_s3.bucket
    assert recorded["s3"]["access_key"] is None and recorded["s3"]["secret_key"] is None
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    home = Path(os.environ["PREFECT_HOME"])
    assert (home / "prefect.db").is_file()
    for marker in (local_s3.secret_key, local_s3.access_key):
        assert files_containing(marker, home) == []
        assert files_containing(marker, lake) == []
