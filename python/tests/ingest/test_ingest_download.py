"""Downloads from a local copy of the Binance public data site, then dbt build on the lake."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from fixtures.binance import (
    archive,
    candles_for,
    checksum_for,
    kline_csv,
    kline_zip,
    publish,
    serve_site,
    zip_bytes,
)

from hermes.config import Settings
from hermes.dbt_runner import run_dbt
from hermes.ingest import (
    FileResult,
    IngestReport,
    Outcome,
    RetryPolicy,
    download_archive,
    download_archives,
)
from hermes.ingest.checksum import sha256_hex
from hermes.ingest.quarantine import quarantine_path
from hermes.lake import connect

BUILD = ["build", "--select", "path:models/bronze", "path:models/silver"]
FAST_RETRY = RetryPolicy(attempts=3, backoff_seconds=0.01, timeout_seconds=5)


def silver_rows(settings: Settings, symbol: str, interval: str) -> list[tuple]:
    conn = connect(settings)
    try:
        return conn.execute(
            "select open_time, close_time, open, high, low, close, volume, source_file, "
            "source_sha256 from silver_klines where symbol = ? and interval = ? order by open_time",
            [symbol, interval],
        ).fetchall()
    finally:
        conn.close()


def expected_rows(names: list[str]) -> list[tuple]:
    """(open_time, close_time, o, h, l, c, v) of the bundled candles the archives hold."""
    rows = []
    for name in names:
        parsed = archive(name)
        step = timedelta(seconds={"4h": 14400, "1d": 86400}[parsed.interval])
        for c in candles_for(parsed):
            opened = c.open_time.replace(tzinfo=None)
            closed = opened + step - timedelta(milliseconds=1)
            values = tuple(float(v) for v in (c.open, c.high, c.low, c.close, c.volume))
            rows.append((opened, closed, *values))
    return sorted(rows)


@dataclass
class Downloaded:
    """What happened to one lake through download, re-run and a changed archive."""

    settings: Settings
    published: dict[str, bytes]
    first: IngestReport
    again: IngestReport
    again_requests: list[str]
    third: IngestReport
    changed: bytes
    republished_ms: bytes
    silver_before: list[tuple]
    silver_after: list[tuple]
    eth_silver: list[tuple]
    bronze_before: dict[str, tuple]
    bronze_after: dict[str, tuple]


JAN = archive("BTCUSDT-4h-2024-11.zip")
JAN1 = archive("BTCUSDT-4h-2025-01-01.zip")
MONTHLY = ("BTCUSDT-4h-2024-11.zip", "BTCUSDT-4h-2024-12.zip", "ETHUSDT-1d-2024-12.zip")
DAILY = ("BTCUSDT-4h-2025-01-01.zip", "BTCUSDT-4h-2025-01-02.zip")


def bronze_by_file(settings: Settings) -> dict[str, tuple]:
    conn = connect(settings)
    try:
        rows = conn.execute(
            "select source_file, count(*), min(ingested_at), min(source_sha256), "
            "max(source_sha256) from bronze_klines group by all"
        ).fetchall()
    finally:
        conn.close()
    return {row[0]: row[1:] for row in rows}


@pytest.fixture(scope="module")
def downloaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Downloaded]:
    """Download from a local site, build; re-run; republish two archives, download, build."""
    root = tmp_path_factory.mktemp("download")
    settings = Settings(lake_root=root / "lake")
    saved = {k: os.environ.get(k) for k in ("HERMES_LAKE_ROOT", "HERMES_TARGET")}
    os.environ.update({"HERMES_LAKE_ROOT": str(settings.lake_root), "HERMES_TARGET": "local"})
    site, target = root / "site", root / "target"
    published = {
        MONTHLY[0]: kline_zip(archive(MONTHLY[0])),  # no header, milliseconds
        MONTHLY[1]: kline_zip(archive(MONTHLY[1]), header=True),
        MONTHLY[2]: kline_zip(archive(MONTHLY[2]), header=True),
        # spot archives from 2025-01-01 carry microseconds
        DAILY[0]: kline_zip(archive(DAILY[0]), unit="us"),
        DAILY[1]: kline_zip(archive(DAILY[1]), unit="us", header=True),
    }
    for name, data in published.items():
        publish(site, archive(name), data)

    def fetch(
        symbols: list[str], intervals: list[str], start: date, end: date, period: str
    ) -> IngestReport:
        return download_archives(
            symbols, intervals, start, end, period, settings, base_url=url, retry=FAST_RETRY
        )

    try:
        with serve_site(site) as (url, control):
            first = fetch(
                ["BTCUSDT", "ETHUSDT"],
                ["4h", "1d"],
                date(2024, 11, 1),
                date(2024, 12, 31),
                "monthly",
            )
            first.extend(fetch(["BTCUSDT"], ["4h"], date(2025, 1, 1), date(2025, 1, 3), "daily"))
            run_dbt(BUILD, settings, target_path=target)
            silver_before = silver_rows(settings, "BTCUSDT", "4h")
            eth_silver = silver_rows(settings, "ETHUSDT", "1d")

            control.requests.clear()
            again = fetch(
                ["BTCUSDT", "ETHUSDT"],
                ["4h", "1d"],
                date(2024, 11, 1),
                date(2024, 12, 31),
                "monthly",
            )
            again_requests = list(control.requests)

            # a changed archive: the first candle's close corrected in a republished archive
            lines = kline_csv(JAN).decode().splitlines()
            fields = lines[0].split(",")
            fields[4] = "69400.5"
            text = "\n".join([",".join(fields), *lines[1:]]) + "\n"
            changed = zip_bytes({f"{JAN.stem}.csv": text.encode()})
            publish(site, JAN, changed)
            # the microsecond daily archive republished in milliseconds: the same candles
            republished_ms = kline_zip(JAN1, unit="ms")
            publish(site, JAN1, republished_ms)
            third = fetch(["BTCUSDT"], ["4h"], date(2024, 11, 1), date(2024, 12, 1), "monthly")
            third.extend(fetch(["BTCUSDT"], ["4h"], date(2025, 1, 1), date(2025, 1, 2), "daily"))
        bronze_before = bronze_by_file(settings)
        run_dbt(BUILD, settings, target_path=target)
        yield Downloaded(
            settings=settings,
            published=published,
            first=first,
            again=again,
            again_requests=again_requests,
            third=third,
            changed=changed,
            republished_ms=republished_ms,
            silver_before=silver_before,
            silver_after=silver_rows(settings, "BTCUSDT", "4h"),
            eth_silver=eth_silver,
            bronze_before=bronze_before,
            bronze_after=bronze_by_file(settings),
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def names(results: list[FileResult]) -> set[str]:
    return {r.source.rsplit("/", 1)[-1] for r in results}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_published_archives_are_ingested_and_missing_ones_reported(downloaded: Downloaded) -> None:
    report = downloaded.first
    assert names(report.with_outcome(Outcome.INGESTED)) == set(MONTHLY) | set(DAILY)
    assert names(report.with_outcome(Outcome.NOT_AVAILABLE)) == {
        "BTCUSDT-1d-2024-11.zip",
        "BTCUSDT-1d-2024-12.zip",
        "ETHUSDT-4h-2024-11.zip",
        "ETHUSDT-4h-2024-12.zip",
        "ETHUSDT-1d-2024-11.zip",
        "BTCUSDT-4h-2025-01-03.zip",
    }
    assert report.ok
    assert report.rows_ingested == 180 + 186 + 31 + 6 + 6


def test_archives_land_as_received_in_the_site_layout(downloaded: Downloaded) -> None:
    landing = Path(downloaded.settings.landing_root)
    for name, data in downloaded.published.items():
        parsed = archive(name)
        if name in (JAN.filename, JAN1.filename):
            continue  # republished later, checked below
        assert (landing / parsed.source_file).read_bytes() == data
        assert (landing / parsed.checksum_file).read_bytes() == checksum_for(data, name)
    assert (landing / JAN.source_file).read_bytes() == downloaded.changed
    assert (landing / JAN.checksum_file).read_bytes() == checksum_for(
        downloaded.changed, JAN.filename
    )


def test_silver_holds_the_exact_candles_with_utc_times(downloaded: Downloaded) -> None:
    btc = downloaded.silver_before
    assert [r[0:1] + r[2:7] for r in btc] == [
        r[0:1] + r[2:7] for r in expected_rows([*MONTHLY[:2], *DAILY])
    ]
    ms_rows = [r for r in btc if r[0].year == 2024]
    assert [r[:7] for r in ms_rows] == expected_rows(list(MONTHLY[:2]))
    assert [r[:7] for r in downloaded.eth_silver] == expected_rows([MONTHLY[2]])
    # first 4h candle of 2025, from a microsecond archive
    first_2025 = next(r for r in btc if r[0].year == 2025)
    assert first_2025[0] == datetime(2025, 1, 1)
    assert first_2025[3:7] == (94509.42, 93489.03, 93838.04, 1840.29813)


def test_rerun_ingests_nothing_and_downloads_only_checksums(downloaded: Downloaded) -> None:
    assert names(downloaded.again.with_outcome(Outcome.UNCHANGED)) == set(MONTHLY)
    assert not downloaded.again.with_outcome(Outcome.INGESTED)
    assert downloaded.again_requests
    assert all(path.endswith(".CHECKSUM") for path in downloaded.again_requests)


def test_changed_archive_replaces_exactly_its_rows(downloaded: Downloaded) -> None:
    outcomes = {r.source.rsplit("/", 1)[-1]: r.outcome for r in downloaded.third.results}
    assert outcomes == {
        JAN.filename: Outcome.INGESTED,
        "BTCUSDT-4h-2024-12.zip": Outcome.UNCHANGED,
        JAN1.filename: Outcome.INGESTED,
        "BTCUSDT-4h-2025-01-02.zip": Outcome.UNCHANGED,
    }
    before, after = downloaded.bronze_before, downloaded.bronze_after
    assert before.keys() == after.keys()
    for source_file, (count, ingested_at, *_) in before.items():
        replaced = source_file in (JAN.source_file, JAN1.source_file)
        assert after[source_file][0] == count
        assert (after[source_file][1] != ingested_at) == replaced, source_file
    new_sha = sha(downloaded.changed)
    assert after[JAN.source_file][2:] == (new_sha, new_sha)
    silver_before, silver_after = downloaded.silver_before, downloaded.silver_after
    assert len(silver_after) == len(silver_before)
    assert silver_before[0][5] == 69369.99
    assert silver_after[0][:7] == (*silver_before[0][:5], 69400.5, silver_before[0][6])
    assert silver_after[0][8] == new_sha
    # every other candle keeps its open time and values
    unchanged = [r[0:1] + r[2:7] for r in silver_after[1:]]
    assert unchanged == [r[0:1] + r[2:7] for r in silver_before[1:]]


def test_millisecond_and_microsecond_archives_give_the_same_candle_times(
    downloaded: Downloaded,
) -> None:
    us_rows = [r for r in downloaded.silver_before if r[7] == JAN1.source_file]
    ms_rows = [r for r in downloaded.silver_after if r[7] == JAN1.source_file]
    assert {r[8] for r in us_rows} == {sha(downloaded.published[JAN1.filename])}
    assert {r[8] for r in ms_rows} == {sha(downloaded.republished_ms)}
    assert len(us_rows) == len(ms_rows) == len(candles_for(JAN1)) == 6
    assert [r[0] for r in ms_rows] == [r[0] for r in us_rows]
    assert [r[0] for r in ms_rows] == [datetime(2025, 1, 1, h) for h in range(0, 24, 4)]
    assert [r[2:7] for r in ms_rows] == [r[2:7] for r in us_rows]


def test_millisecond_and_microsecond_archives_give_the_same_close_times(
    downloaded: Downloaded,
) -> None:
    us_rows = [r for r in downloaded.silver_before if r[7] == JAN1.source_file]
    ms_rows = [r for r in downloaded.silver_after if r[7] == JAN1.source_file]
    assert len(ms_rows) == len(us_rows) == 6
    assert [r[1] for r in ms_rows] == [r[1] for r in us_rows]


def test_not_published_yet_is_its_own_outcome(tmp_path: Path, lake_settings: Settings) -> None:
    (tmp_path / "site").mkdir()
    with serve_site(tmp_path / "site") as (url, control):
        result = download_archive(
            archive("BTCUSDT-4h-2025-01-05.zip"), lake_settings, base_url=url, retry=FAST_RETRY
        )
    assert result.outcome is Outcome.NOT_AVAILABLE
    assert control.requests == [
        "/data/spot/daily/klines/BTCUSDT/4h/BTCUSDT-4h-2025-01-05.zip.CHECKSUM"
    ]
    conn = connect(lake_settings)
    assert conn.execute("select count(*) from landing.files").fetchone() == (0,)
    assert conn.execute("select count(*) from landing.quarantine").fetchone() == (0,)
    conn.close()


def test_server_errors_are_retried_then_reported(tmp_path: Path, lake_settings: Settings) -> None:
    site = tmp_path / "site"
    flaky, down = archive("BTCUSDT-1d-2024-11.zip"), archive("BTCUSDT-1d-2024-12.zip")
    for name in (flaky, down):
        publish(site, name, kline_zip(name))
    with serve_site(site) as (url, control):
        flaky_path = "/" + flaky.url(url).split("/", 3)[3]
        control.failures[flaky_path] = 2  # two 503s, then success
        control.failures["/" + down.url(url).split("/", 3)[3] + ".CHECKSUM"] = 99
        report = download_archives(
            ["BTCUSDT"], ["1d"], date(2024, 11, 1), date(2024, 12, 1), "monthly",
            lake_settings, base_url=url, retry=FAST_RETRY,
        )  # fmt: skip
    outcomes = {r.source: r for r in report.results}
    assert outcomes[flaky.source_file].outcome is Outcome.INGESTED
    assert outcomes[flaky.source_file].rows == 30
    assert control.requests.count(flaky_path) == 3
    failed = outcomes[down.source_file]
    assert failed.outcome is Outcome.FAILED
    assert "HTTP 503 (after 3 attempt(s))" in (failed.reason or "")
    assert not report.ok


def test_checksum_mismatch_from_site_is_quarantined(
    tmp_path: Path, lake_settings: Settings
) -> None:
    site = tmp_path / "site"
    name = archive("ETHUSDT-4h-2024-03.zip")
    data = kline_zip(name)
    wrong = checksum_for(data + b"x", name.filename)
    publish(site, name, data, checksum=wrong)
    with serve_site(site) as (url, _):
        result = download_archive(name, lake_settings, base_url=url, retry=FAST_RETRY)
    assert result.outcome is Outcome.QUARANTINED
    assert "checksum mismatch" in (result.reason or "")
    quarantined = Path(quarantine_path(lake_settings, name.source_file, sha256_hex(data)[:16]))
    assert quarantined.read_bytes() == data
    assert Path(f"{quarantined}.CHECKSUM").read_bytes() == wrong
    assert "checksum mismatch" in Path(f"{quarantined}.reason.txt").read_text()
    assert not (Path(lake_settings.landing_root) / name.source_file).exists()
    conn = connect(lake_settings)
    assert conn.execute("select source_file from landing.quarantine").fetchall() == [
        (name.source_file,)
    ]
    assert conn.execute("select count(*) from landing.files").fetchone() == (0,)
    conn.close()


@pytest.mark.parametrize("bad", ["BTC/USDT", "btcusdt", "BTCUSDT'; drop table x; --"])
def test_malformed_symbol_never_reaches_the_network(bad: str, lake_settings: Settings) -> None:
    from hermes.ingest import InvalidName

    with pytest.raises(InvalidName, match="malformed symbol"):
        download_archives(
            [bad],
            ["4h"],
            date(2024, 1, 1),
            date(2024, 1, 1),
            "monthly",
            lake_settings,
            base_url="http://127.0.0.1:9",
        )
