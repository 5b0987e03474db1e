"""Bad files are quarantined with a clear reason; good files still go through; nothing is lost."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fixtures.binance import (
    archive,
    bundled_candles,
    checksum_for,
    kline_csv,
    kline_zip,
    write_local,
    zip_bytes,
)
from typer.testing import CliRunner

from hermes.cli import app
from hermes.config import Settings
from hermes.ingest import ingest_paths
from hermes.ingest.quarantine import quarantine_path
from hermes.lake import connect


def _replace_line(name: str, line_index: int, column: int, value: str) -> bytes:
    parsed = archive(name)
    lines = kline_csv(parsed).decode().splitlines()
    fields = lines[line_index].split(",")
    fields[column] = value
    lines[line_index] = ",".join(fields)
    return zip_bytes({f"{parsed.stem}.csv": ("\n".join(lines) + "\n").encode()})


def _flip_byte(data: bytes) -> bytes:
    """Damage the compressed data of the entry (the zip directory stays readable)."""
    middle = len(data) // 3
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


def _truncated_csv(name: str) -> bytes:
    parsed = archive(name)
    text = kline_csv(parsed).decode()
    cut = text[: len(text) // 2].rsplit(",", 3)[0]  # the download stopped mid-row
    return zip_bytes({f"{parsed.stem}.csv": cut.encode()})


def _eleven_columns(name: str) -> bytes:
    parsed = archive(name)
    lines = [line.rsplit(",", 1)[0] for line in kline_csv(parsed).decode().splitlines()]
    return zip_bytes({f"{parsed.stem}.csv": ("\n".join(lines) + "\n").encode()})


def _foreign_month(name: str) -> bytes:
    """An archive named for August holding a September candle."""
    parsed = archive(name)
    september = kline_csv(archive("BTCUSDT-4h-2024-09.zip")).decode().splitlines()[0]
    lines = [*kline_csv(parsed).decode().splitlines(), september]
    return zip_bytes({f"{parsed.stem}.csv": ("\n".join(lines) + "\n").encode()})


def _csv(rows: list[str]) -> bytes:
    return ("timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n").encode()


@dataclass(frozen=True)
class Case:
    filename: str
    build: Callable[[str], bytes]
    reason: str  # expected in the quarantine reason
    checksum: Callable[[str, bytes], bytes] | None = None
    source_file: str | None = None  # quarantine path when the name is not recognised


GOOD_V1 = "BTCUSDT-4h-2024-01.zip"

CASES = {
    # same name as an archive already landed: the landed version must survive
    "corrupt_zip": Case(
        GOOD_V1, lambda n: b"PK\x03\x04 this is not a zip" * 20, "corrupt zip archive"
    ),
    "truncated_zip": Case(
        "BTCUSDT-4h-2024-02.zip",
        lambda n: kline_zip(archive(n))[:-200],
        "corrupt zip archive",
    ),
    "damaged_zip_data": Case(
        "BTCUSDT-4h-2024-11.zip",
        lambda n: _flip_byte(kline_zip(archive(n))),
        "corrupt zip entry 'BTCUSDT-4h-2024-11.csv'",
    ),
    "checksum_mismatch": Case(
        "BTCUSDT-4h-2024-03.zip",
        lambda n: kline_zip(archive(n)),
        "checksum mismatch for BTCUSDT-4h-2024-03.zip",
        checksum=lambda n, data: checksum_for(data + b"tampered", n),
    ),
    "truncated_csv": Case(
        "BTCUSDT-4h-2024-04.zip", _truncated_csv, "line 90: expected 12 columns, found 9"
    ),
    "garbled_csv": Case(
        "BTCUSDT-4h-2024-05.zip",
        lambda n: zip_bytes({f"{archive(n).stem}.csv": bytes(range(128, 256)) * 40}),
        "garbled CSV: not UTF-8 text",
    ),
    "wrong_column_count": Case(
        "BTCUSDT-4h-2024-06.zip", _eleven_columns, "line 1: expected 12 columns, found 11"
    ),
    "non_numeric_price": Case(
        "BTCUSDT-4h-2024-07.zip",
        lambda n: _replace_line(n, 4, 2, "62O15.5"),
        "line 5: high value '62O15.5' is not a finite number",
    ),
    "timestamp_out_of_range": Case(
        "BTCUSDT-4h-2024-08.zip",
        _foreign_month,
        "line 187: open_time 1725148800000 is out of range",
    ),
    "microseconds_mixed_with_milliseconds": Case(
        "BTCUSDT-4h-2024-10.zip",
        lambda n: _replace_line(n, 2, 0, "1727762400000000"),
        "line 3: open_time 1727762400000000 is out of range",
    ),
    "zip_entry_escapes_folder": Case(
        "BTCUSDT-4h-2024-09.zip",
        lambda n: zip_bytes({"../../BTCUSDT-4h-2024-09.csv": kline_csv(archive(n))}),
        "zip entry '../../BTCUSDT-4h-2024-09.csv' escapes the archive folder",
    ),
    "malformed_symbol": Case(
        "BTC$USDT-4h-2024-01.zip",
        lambda n: kline_zip(archive(GOOD_V1)),
        "malformed symbol 'BTC$USDT'",
        source_file="unrecognized/BTC_USDT-4h-2024-01.zip",
    ),
    "malformed_interval": Case(
        "BTCUSDT-4hours-2024-01.zip",
        lambda n: kline_zip(archive(GOOD_V1)),
        "unknown interval '4hours'",
        source_file="unrecognized/BTCUSDT-4hours-2024-01.zip",
    ),
    "malformed_date": Case(
        "BTCUSDT-4h-2024-13.zip",
        lambda n: kline_zip(archive(GOOD_V1)),
        "malformed date '2024-13'",
        source_file="unrecognized/BTCUSDT-4h-2024-13.zip",
    ),
    "csv_non_numeric_price": Case(
        "SOLUSDT_4h.csv",
        lambda n: _csv(["2024-01-01 00:00:00,101.5,102,100,n/a,5"]),
        "line 2: close value 'n/a' is not a finite number",
    ),
    "csv_garbled_timestamp": Case(
        "SOLUSDT_1d.csv.gz",
        lambda n: gzip.compress(_csv(["2024-01-01,1,2,0.5,1.5,10", "2024-02-30,1,2,0.5,1.5,10"])),
        "line 3: timestamp '2024-02-30' is not YYYY-MM-DD HH:MM:SS or YYYY-MM-DD",
    ),
    "csv_timestamp_in_future": Case(
        "XRPUSDT_1d.csv",
        lambda n: _csv(["2024-01-01,1,2,0.5,1.5,10", "2999-01-01,1,2,0.5,1.5,10"]),
        "line 3: timestamp '2999-01-01' is out of range",
    ),
    # a copy stopped inside the last value: 14223.8953 arrived as 14223. (no final newline)
    "csv_cut_in_last_value": Case(
        "LTCUSDT_1d.csv",
        lambda n: _csv(["2024-01-01,1,2,0.5,1.5,10", "2024-01-02,1.5,2,1,1.8,14223.8953"])[:-5],
        "line 3: truncated: the file ends inside a line ('2024-01-02,1.5,2,1,1.8,14223.'",
    ),
    "csv_wrong_header": Case(
        "ADAUSDT_1d.csv",
        lambda n: b"date,o,h,l,c,v\n2024-01-01,1,2,0.5,1.5,10\n",
        "line 1: expected header 'timestamp,open,high,low,close,volume'",
    ),
}

GOOD = {  # still ingested next to the bad files
    "ETHUSDT-4h-2024-01.zip": lambda: kline_zip(archive("ETHUSDT-4h-2024-01.zip"), header=True),
    "BTCUSDT_1d.csv": lambda: _csv(
        [f"{c.open_time:%Y-%m-%d},{c.open},{c.high},{c.low},{c.close},{c.volume}"
         for c in bundled_candles("BTCUSDT", "1d")[:40]]
    ),
}  # fmt: skip


@dataclass
class Run:
    settings: Settings
    exit_code: int
    output: str
    v1: bytes
    quarantine: dict[str, tuple[str | None, str]]
    manifest: dict[str, tuple[str, int]]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("bad")
    settings = Settings(lake_root=root / "lake")
    v1 = kline_zip(archive(GOOD_V1))
    first = ingest_paths(
        [write_local(root / "v1", GOOD_V1, v1, checksum_for(v1, GOOD_V1))], settings
    )
    assert first.ok and first.rows_ingested == 186

    folder = root / "incoming"
    for case in CASES.values():
        data = case.build(case.filename)
        checksum = case.checksum(case.filename, data) if case.checksum else None
        write_local(folder, case.filename, data, checksum)
    for filename, build in GOOD.items():
        write_local(folder, filename, build())

    saved = os.environ.get("HERMES_LAKE_ROOT")
    os.environ["HERMES_LAKE_ROOT"] = str(settings.lake_root)
    try:
        result = CliRunner().invoke(app, ["ingest", "--from-dir", str(folder)], terminal_width=200)
    finally:
        if saved is None:
            os.environ.pop("HERMES_LAKE_ROOT")
        else:
            os.environ["HERMES_LAKE_ROOT"] = saved
    conn = connect(settings)
    quarantine = {
        source: (sha, reason)
        for source, sha, reason in conn.execute(
            "select source_file, source_sha256, reason from landing.quarantine"
        ).fetchall()
    }
    manifest = {
        source: (sha, rows)
        for source, sha, rows in conn.execute(
            "select source_file, source_sha256, row_count from landing.files"
        ).fetchall()
    }
    conn.close()
    yield Run(settings, result.exit_code, result.output, v1, quarantine, manifest)


def _source_file(case: Case) -> str:
    if case.source_file:
        return case.source_file
    if case.filename.endswith(".zip"):
        return archive(case.filename).source_file
    symbol, interval = case.filename.split(".")[0].split("_")
    return f"csv/{symbol}/{interval}/{case.filename}"


@pytest.mark.parametrize("case_id", list(CASES))
def test_bad_file_is_quarantined_with_its_reason(run: Run, case_id: str) -> None:
    case = CASES[case_id]
    source_file = _source_file(case)
    assert source_file in run.quarantine, sorted(run.quarantine)
    sha, reason = run.quarantine[source_file]
    assert case.reason in reason
    assert case.filename in reason or source_file in reason
    landing = Path(run.settings.landing_root)
    assert sha is not None
    kept = Path(quarantine_path(run.settings, source_file, sha[:16]))
    assert kept.is_file()
    note = Path(f"{kept}.reason.txt").read_text()
    assert case.reason in note
    if case.checksum:
        assert Path(f"{kept}.CHECKSUM").is_file()
    if source_file != archive(GOOD_V1).source_file:
        assert source_file not in run.manifest
        assert not (landing / source_file).exists()


def test_every_bad_file_is_reported_and_the_command_fails(run: Run) -> None:
    assert run.exit_code == 1
    assert len(run.quarantine) == len(CASES)
    assert f"{len(CASES)} quarantined" in run.output
    assert "files not ingested" in run.output
    assert "checksum mismatch" in run.output


def test_good_files_still_go_through(run: Run) -> None:
    assert run.manifest["binance/spot/monthly/klines/ETHUSDT/4h/ETHUSDT-4h-2024-01.zip"][1] == 186
    assert run.manifest["csv/BTCUSDT/1d/BTCUSDT_1d.csv"][1] == 40
    assert "2 ingested" in run.output


def test_a_bad_new_version_leaves_the_landed_one_in_place(run: Run) -> None:
    source_file = archive(GOOD_V1).source_file
    landed = Path(run.settings.landing_root) / source_file
    assert landed.read_bytes() == run.v1
    assert run.manifest[source_file] == (checksum_for(run.v1, GOOD_V1).decode()[:64], 186)
    decoded = (
        Path(run.settings.landing_root) / "_decoded" / f"{run.manifest[source_file][0]}.parquet"
    )
    assert decoded.is_file()
