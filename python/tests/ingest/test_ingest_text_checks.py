"""Byte-level checks and candle rules on the bundled real text, one function at a time."""

from __future__ import annotations

import gzip

import polars as pl
import pytest
from fixtures.binance import BUNDLED

from hermes.ingest.candles import Grid, check_candles, grid_of, open_time_label
from hermes.ingest.errors import DecodeError
from hermes.ingest.quarantine import MAX_REASON_CHARS, clip_reason
from hermes.ingest.text_checks import check_encoding, check_line_lengths, gunzip

TEXT = gzip.decompress((BUNDLED / "ETHUSDT_1d.csv.gz").read_bytes()).decode()[:3000]


@pytest.mark.parametrize(
    ("encoding", "message"),
    [
        ("utf-16", "encoding: the file is UTF-16 (little-endian, with BOM) text; expected UTF-8"),
        ("utf-32", "encoding: the file is UTF-32 (little-endian, with BOM) text; expected UTF-8"),
        ("utf-16-le", "encoding: the file is UTF-16 (little-endian) text (no BOM); expected UTF-8"),
        ("utf-16-be", "encoding: the file is UTF-16 (big-endian) text (no BOM); expected UTF-8"),
        ("utf-32-le", "encoding: the file is UTF-32 (little-endian) text (no BOM); expected UTF-8"),
        ("utf-32-be", "encoding: the file is UTF-32 (big-endian) text (no BOM); expected UTF-8"),
    ],
)
def test_utf16_and_utf32_are_named(encoding: str, message: str) -> None:
    with pytest.raises(DecodeError) as raised:
        check_encoding(TEXT.encode(encoding))
    assert str(raised.value) == message


def test_big_endian_boms_are_named() -> None:
    with pytest.raises(DecodeError, match=r"UTF-16 \(big-endian, with BOM\)"):
        check_encoding(b"\xfe\xff" + TEXT.encode("utf-16-be"))
    with pytest.raises(DecodeError, match=r"UTF-32 \(big-endian, with BOM\)"):
        check_encoding(b"\x00\x00\xfe\xff" + TEXT.encode("utf-32-be"))


def test_utf8_passes_and_stray_nul_bytes_are_garbled() -> None:
    check_encoding(TEXT.encode())
    check_encoding(b"\xef\xbb\xbf" + TEXT.encode())  # a UTF-8 BOM is fine
    with pytest.raises(DecodeError, match=r"^garbled CSV: contains NUL bytes$"):
        check_encoding(TEXT.encode()[:500] + b"\x00\x00\x00" + TEXT.encode()[500:])
    with pytest.raises(DecodeError, match=r"^garbled CSV: contains NUL bytes$"):
        check_encoding(b"\x00a")


def test_line_lengths_are_bounded() -> None:
    check_line_lengths(TEXT.encode())
    lines = TEXT.splitlines()
    lines[2] = lines[2] + "," + "9" * 2000
    with pytest.raises(DecodeError) as raised:
        check_line_lengths("\n".join(lines).encode())
    assert str(raised.value) == (
        f"line 3: line too long ({len(lines[2])} bytes; the limit is 1024 bytes per line)"
    )
    with pytest.raises(DecodeError, match=r"^line 1: line too long \(1025 bytes"):
        check_line_lengths(b"x" * 1025)  # no line break at all


def test_reasons_are_one_line_of_bounded_length() -> None:
    assert clip_reason("a\nb  c") == "a b c"
    long = clip_reason("x" * 5000)
    assert len(long) == MAX_REASON_CHARS and long.endswith(" ... [cut]")


def test_grids_of_the_intervals() -> None:
    assert grid_of("4h") == Grid(14_400)
    assert grid_of("1d") == Grid(86_400)
    assert grid_of("3d") == Grid(86_400)  # longer than a day: midnight UTC
    assert grid_of("1w") == Grid(604_800, 345_600)  # Mondays


def test_open_times_are_labelled_to_the_precision_they_carry() -> None:
    assert open_time_label(1_704_081_600_000, 1000) == "2024-01-01 04:00 UTC"
    assert open_time_label(1_704_081_630_000, 1000) == "2024-01-01 04:00:30 UTC"
    assert open_time_label(1_704_081_600_250, 1000) == "2024-01-01 04:00:00.250 UTC"
    assert open_time_label(1_735_689_600_000_001, 1_000_000) == "2025-01-01 00:00:00.000001 UTC"


def test_microsecond_candles_are_checked_on_their_grid() -> None:
    hour_us = 3_600_000_000
    frame = pl.DataFrame(
        {
            "line_number": [1, 2],
            "open_time": [1_735_689_600_000_000, 1_735_689_600_000_000 + hour_us + 1],
            "open": [1.0, 1.0],
            "high": [2.0, 2.0],
            "low": [0.5, 0.5],
            "close": [1.5, 1.5],
            "volume": [0.0, 0.0],
        }
    )
    with pytest.raises(DecodeError) as raised:
        check_candles(frame, "1h", "us")
    assert str(raised.value) == (
        "line 2 (open time 2025-01-01 01:00:00.000001 UTC): open time is off the 1h grid"
    )


def test_gzip_files_expand_within_a_limit() -> None:
    data = TEXT.encode()
    assert gunzip(gzip.compress(data[:1000]) + gzip.compress(data[1000:])) == data
    bomb = gzip.compress(b"0" * 5_000_000)  # 5 MB of zeros in about 5 KB
    assert len(bomb) < 10_000
    with pytest.raises(DecodeError, match=r"^the gzip file expands to more than 1000000 bytes$"):
        gunzip(bomb, limit=1_000_000)
    with pytest.raises(DecodeError, match=r"^corrupt gzip file: the file ends inside"):
        gunzip(gzip.compress(data)[:-100])
    with pytest.raises(DecodeError, match=r"^corrupt gzip file: "):
        gunzip(b"not gzip at all")
