"""Archive names, landing paths, URLs, checksum files and the local import path."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from fixtures.binance import archive, checksum_for, kline_zip, write_local

from hermes.config import PROJECT_ROOT, Settings
from hermes.ingest import ArchiveName, CsvName, InvalidName, Outcome, archives_between, ingest_paths
from hermes.ingest.checksum import ChecksumError, parse_checksum, sha256_hex
from hermes.ingest.layout import INTERVAL_SECONDS
from hermes.ingest.quarantine import quarantine_path
from hermes.lake import connect


def test_intervals_are_the_ones_dbt_accepts() -> None:
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
    assert INTERVAL_SECONDS == {k: int(v) for k, v in project["vars"]["intervals"].items()}


def test_archive_names_give_landing_paths_and_urls() -> None:
    monthly = ArchiveName.parse("BTCUSDT-4h-2024-02.zip")
    assert (monthly.period, monthly.start, monthly.end) == (
        "monthly",
        date(2024, 2, 1),
        date(2024, 3, 1),
    )
    assert monthly.source_file == "binance/spot/monthly/klines/BTCUSDT/4h/BTCUSDT-4h-2024-02.zip"
    assert monthly.url("https://data.binance.vision/") == (
        "https://data.binance.vision/data/spot/monthly/klines/BTCUSDT/4h/BTCUSDT-4h-2024-02.zip"
    )
    assert monthly.time_bounds_ms() == (1706745600000, 1709251200000)
    daily = ArchiveName.parse("ETHUSDT-1d-2024-12-31.zip")
    assert (daily.period, daily.end, daily.checksum_file) == (
        "daily",
        date(2025, 1, 1),
        "binance/spot/daily/klines/ETHUSDT/1d/ETHUSDT-1d-2024-12-31.zip.CHECKSUM",
    )
    assert CsvName.parse("BTCUSDT_4h.csv.gz").source_file == "csv/BTCUSDT/4h/BTCUSDT_4h.csv.gz"


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("btcusdt-4h-2024-01.zip", "malformed symbol 'btcusdt'"),
        ("..-4h-2024-01.zip", "malformed symbol '..'"),
        ("BTCUSDT-1s-2024-01.zip", "unknown interval '1s'"),
        ("BTCUSDT-4h-2024-02-30.zip", "malformed date '2024-02-30'"),
        ("BTCUSDT-4h-24-01.zip", "malformed date '24-01'"),
        ("BTCUSDT-4h.zip", "is not a kline archive name"),
        ("BTCUSDT_4H.csv", "unknown interval '4H'"),
        ("BTC USDT_4h.csv", "malformed symbol 'BTC USDT'"),
        ("BTCUSDT_4h.txt", "is not an OHLCV CSV name"),
    ],
)
def test_malformed_names_are_rejected(filename: str, message: str) -> None:
    parse = ArchiveName.parse if filename.endswith(".zip") else CsvName.parse
    with pytest.raises(InvalidName, match=message.replace(".", r"\.").replace("'", "'")):
        parse(filename)


def test_archives_between_covers_every_month_or_day_touched() -> None:
    months = archives_between(
        ["BTCUSDT"], ["1d", "4h"], date(2024, 11, 15), date(2025, 1, 2), "monthly"
    )
    assert [a.filename for a in months] == [
        "BTCUSDT-1d-2024-11.zip",
        "BTCUSDT-1d-2024-12.zip",
        "BTCUSDT-1d-2025-01.zip",
        "BTCUSDT-4h-2024-11.zip",
        "BTCUSDT-4h-2024-12.zip",
        "BTCUSDT-4h-2025-01.zip",
    ]
    days = archives_between(["ETHUSDT"], ["1h"], date(2024, 2, 28), date(2024, 3, 1), "daily")
    assert [a.date_label for a in days] == ["2024-02-28", "2024-02-29", "2024-03-01"]
    with pytest.raises(ValueError, match="before start"):
        archives_between(["ETHUSDT"], ["1h"], date(2024, 3, 2), date(2024, 3, 1), "daily")
    with pytest.raises(InvalidName, match="unknown period"):
        archives_between(["ETHUSDT"], ["1h"], date(2024, 3, 1), date(2024, 3, 1), "weekly")


def test_checksum_files_are_parsed_strictly() -> None:
    sha = "a" * 64
    assert parse_checksum(f"{sha}  X.zip\n".encode(), "X.zip") == sha
    assert parse_checksum(sha.upper().encode(), "X.zip") == sha
    with pytest.raises(ChecksumError, match="names another file"):
        parse_checksum(f"{sha}  Y.zip".encode(), "X.zip")
    with pytest.raises(ChecksumError, match="malformed"):
        parse_checksum(b"<html>not found</html>", "X.zip")


def test_local_archives_and_landing_rescan(tmp_path: Path, lake_settings: Settings) -> None:
    name = archive("BTCUSDT-1d-2024-03.zip")
    data = kline_zip(name, header=True)
    local = write_local(tmp_path / "in", name.filename, data, checksum_for(data, name.filename))
    first = ingest_paths([tmp_path / "in"], lake_settings)
    assert [(r.source, r.outcome, r.rows) for r in first.results] == [
        (name.source_file, Outcome.INGESTED, 31)
    ]
    landing = Path(lake_settings.landing_root)
    assert (landing / name.source_file).read_bytes() == local.read_bytes()
    assert (landing / name.checksum_file).read_bytes() == checksum_for(data, name.filename)
    # scanning the landing zone itself finds the landed archive, unchanged
    rescan = ingest_paths([landing], lake_settings)
    assert [(r.source, r.outcome) for r in rescan.results] == [
        (name.source_file, Outcome.UNCHANGED)
    ]

    # a bad file dropped inside the landing zone is moved (not copied) to quarantine
    dropped = landing / "binance/spot/monthly/klines/BTCUSDT/1d/BTCUSDT-1d-2024-04.zip"
    dropped.write_bytes(b"not a zip")
    report = ingest_paths([landing], lake_settings)
    assert [r.outcome for r in report.results] == [Outcome.UNCHANGED, Outcome.QUARANTINED]
    assert not dropped.exists()
    kept = quarantine_path(
        lake_settings, str(dropped.relative_to(landing)), sha256_hex(b"not a zip")[:16]
    )
    assert Path(kept).read_bytes() == b"not a zip"
    conn = connect(lake_settings)
    assert conn.execute("select count(*) from landing.files").fetchone() == (1,)
    conn.close()


def test_bundled_csv_files_land_with_exact_row_counts(built_lake: Settings) -> None:
    conn = connect(built_lake)
    rows = conn.execute(
        "select source_file, provider, period, row_count from landing.files order by 1"
    ).fetchall()
    first = conn.execute(
        "select open_time, close_time, open, close from silver_klines "
        "where symbol = 'BTCUSDT' and interval = '4h' order by open_time limit 1"
    ).fetchone()
    conn.close()
    assert rows == [
        ("csv/BTCUSDT/1d/BTCUSDT_1d.csv.gz", "csv", "file", 3065),
        ("csv/BTCUSDT/4h/BTCUSDT_4h.csv.gz", "csv", "file", 18371),
        ("csv/ETHUSDT/1d/ETHUSDT_1d.csv.gz", "csv", "file", 3065),
        ("csv/ETHUSDT/4h/ETHUSDT_4h.csv.gz", "csv", "file", 18371),
    ]
    assert first is not None
    assert str(first[0]) == "2017-08-17 04:00:00"
    assert str(first[1]) == "2017-08-17 07:59:59.999000"
    assert first[2:] == (4261.48, 4349.99)
