"""Faults on the s3 target: refused writes, an endpoint that is down, and what readers see."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermes.config import PROJECT_ROOT, S3Settings, Settings
from hermes.dbt_runner import DbtError, run_dbt
from hermes.ingest import Outcome, ingest_paths
from hermes.lake import connect, current_snapshot
from s3.local_s3 import LocalS3, free_port, unique_prefix

DATA = PROJECT_ROOT / "data" / "binance-ohlcv"
MODELS = ["run", "--select", "bronze_klines", "silver_klines"]
SILVER = (
    "select symbol, interval, count(*), min(open_time), max(open_time), "
    "sum(close::decimal(38, 8)) from silver_klines group by all order by 1, 2"
)


def _export(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in settings.dbt_env().items():
        monkeypatch.setenv(key, value)


def _read(settings: Settings, sql: str) -> tuple[int, list[tuple]]:
    conn = connect(settings)
    try:
        return current_snapshot(conn), conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_refused_write_leaves_the_last_snapshot_visible(
    local_s3: LocalS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = local_s3.settings(tmp_path / "lake", unique_prefix("faults"))
    _export(settings, monkeypatch)
    ingest_paths([DATA / "BTCUSDT_1d.csv.gz"], settings)
    run_dbt(MODELS, settings, target_path=tmp_path / "target")
    _, before = _read(settings, SILVER)
    assert [row[:3] for row in before] == [("BTCUSDT", "1d", 3065)]

    ingest_paths([DATA / "ETHUSDT_1d.csv.gz"], settings)
    snapshot, _ = _read(settings, SILVER)
    # A key that may read the bucket but not write to it: the build fails on its first write.
    reader = Settings(
        lake_root=settings.lake_root,
        target="s3",
        s3=local_s3.s3_settings(
            settings.s3.prefix if settings.s3 else "",
            access_key=local_s3.read_only_access_key,
            secret_key=local_s3.read_only_secret_key,
        ),
    )
    _export(reader, monkeypatch)
    with pytest.raises(DbtError) as caught:
        run_dbt(MODELS, reader, target_path=tmp_path / "target")
    message = str(caught.value)
    assert message.startswith(
        f"dbt run on the lake at {settings.storage_root} (S3 endpoint {local_s3.endpoint}) failed"
    )
    assert "Forbidden (HTTP code 403)" in message
    assert local_s3.read_only_secret_key not in message

    # Nothing of the failed build is visible: same snapshot, same rows.
    assert _read(settings, SILVER) == (snapshot, before)

    _export(settings, monkeypatch)
    run_dbt(MODELS, settings, target_path=tmp_path / "target")
    _, after = _read(settings, SILVER)
    assert [row[:3] for row in after] == [("BTCUSDT", "1d", 3065), ("ETHUSDT", "1d", 3065)]
    assert after[0] == before[0]


def test_ingest_with_the_endpoint_down_names_it_and_records_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = Settings(
        lake_root=tmp_path / "lake",
        target="s3",
        s3=S3Settings(
            bucket="hermes-test",
            prefix=unique_prefix("down"),
            endpoint=endpoint,
            use_ssl=False,
            access_key="AKEXAMPLE",
            secret_key="SecretMarkerEndpointDown",
        ),
    )
    _export(settings, monkeypatch)
    report = ingest_paths([DATA / "BTCUSDT_1d.csv.gz"], settings)
    [result] = report.results
    assert result.outcome == Outcome.FAILED
    message = result.reason or ""
    assert f"cannot store: S3 endpoint {endpoint}: cannot write {settings.landing_root}/" in message
    assert "SecretMarkerEndpointDown" not in message
    assert _read(settings, "select count(*) from landing.files")[1] == [(0,)]
