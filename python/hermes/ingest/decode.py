"""Decode Binance kline archives (zip holding one 12-column CSV) into the landing schema.

The archive format: one CSV entry named like the archive, 12 columns (open_time, open,
high, low, close, volume, close_time, quote_asset_volume, number_of_trades,
taker_buy_base_asset_volume, taker_buy_quote_asset_volume, ignore), with or without a
header line; times are epoch milliseconds, or microseconds in spot archives from
2025-01-01. Any defect raises :class:`DecodeError` naming the line and the value.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import PurePosixPath

import polars as pl
import pyarrow as pa

from hermes.ingest.candles import check_candles
from hermes.ingest.errors import DecodeError
from hermes.ingest.layout import INTERVAL_SECONDS, ArchiveName
from hermes.ingest.text_checks import MAX_TEXT_BYTES, check_encoding, check_line_lengths
from hermes.landing import decoded_schema

KLINE_COLUMNS: tuple[str, ...] = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_asset_volume",
    "number_of_trades",
    "taker_buy_base_asset_volume",
    "taker_buy_quote_asset_volume",
    "ignore",
)
INTEGER_COLUMNS = ("open_time", "close_time", "number_of_trades")
FLOAT_COLUMNS = (
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_asset_volume",
    "taker_buy_base_asset_volume",
    "taker_buy_quote_asset_volume",
)
MAX_ENTRY_BYTES = MAX_TEXT_BYTES
"""Largest CSV entry accepted (a month of 1s candles is well below)."""

_US_THRESHOLD = 10**14
"""open_time values at or above this are microseconds (10**14 ms would be year 5138)."""
_HEADER_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_ ]*")


def decode_kline_archive(data: bytes, archive: ArchiveName) -> pa.Table:
    """Decode a kline zip archive into a table with :func:`hermes.landing.decoded_schema`."""
    return decode_kline_csv(read_single_csv(data), archive)


def read_single_csv(data: bytes) -> bytes:
    """The one CSV entry of a zip archive, after checking entry names and CRCs."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise DecodeError(f"corrupt zip archive: {exc}") from None
    with archive:
        entries = archive.infolist()
        for entry in entries:
            check_entry_name(entry.filename)
        files = [e for e in entries if not e.is_dir()]
        if len(files) != 1 or not files[0].filename.lower().endswith(".csv"):
            names = ", ".join(repr(e.filename) for e in files) or "none"
            raise DecodeError(f"expected exactly one .csv entry in the archive, found: {names}")
        entry = files[0]
        if entry.file_size > MAX_ENTRY_BYTES:
            raise DecodeError(
                f"zip entry {entry.filename!r} is too large ({entry.file_size} bytes)"
            )
        try:
            return archive.read(entry)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise DecodeError(f"corrupt zip entry {entry.filename!r}: {exc}") from None


def check_entry_name(name: str) -> None:
    """Reject zip entries whose path would leave the archive's folder when extracted."""
    path = PurePosixPath(name.replace("\\", "/"))
    first = path.parts[0] if path.parts else ""
    if path.is_absolute() or ".." in path.parts or ":" in first or "\x00" in name:
        raise DecodeError(f"zip entry {name!r} escapes the archive folder")


def decode_kline_csv(raw: bytes, archive: ArchiveName) -> pa.Table:
    """Decode the 12-column kline CSV of ``archive`` (header optional, ms or us times)."""
    lines = text_lines(raw)
    first_line = 1
    if lines and not lines[0][:1].isdigit():
        check_header(lines[0], len(KLINE_COLUMNS))
        lines = lines[1:]
        first_line = 2
    if not lines:
        raise DecodeError("the CSV has no candle rows")
    check_column_count(lines, len(KLINE_COLUMNS), first_line)
    frame = parse_columns(lines, KLINE_COLUMNS, first_line, INTEGER_COLUMNS, FLOAT_COLUMNS)
    unit = "us" if frame["open_time"][0] >= _US_THRESHOLD else "ms"
    check_kline_times(frame, archive, unit)
    check_candles(frame, archive.interval, unit)
    return to_decoded_table(frame.drop("ignore").with_columns(pl.lit(unit).alias("time_unit")))


def check_kline_times(frame: pl.DataFrame, archive: ArchiveName, unit: str) -> None:
    """Every candle must open inside the archive's period and close before the next one."""
    scale = 1000 if unit == "us" else 1
    start_ms, end_ms = archive.time_bounds_ms()
    low, high = start_ms * scale, end_ms * scale
    length = INTERVAL_SECONDS[archive.interval] * 1000 * scale
    unit_name = "microseconds" if scale > 1 else "milliseconds"
    outside = frame.filter((pl.col("open_time") < low) | (pl.col("open_time") >= high))
    if outside.height:
        row = outside.row(0, named=True)
        raise DecodeError(
            f"line {row['line_number']}: open_time {row['open_time']} is out of range: "
            f"outside {archive.date_label} when read in {unit_name} like the first row"
        )
    bad_close = frame.filter(
        (pl.col("close_time") <= pl.col("open_time"))
        | (pl.col("close_time") >= pl.col("open_time") + length)
    )
    if bad_close.height:
        row = bad_close.row(0, named=True)
        raise DecodeError(
            f"line {row['line_number']}: close_time {row['close_time']} is out of range for a "
            f"{archive.interval} candle opening at {row['open_time']}"
        )


def text_lines(raw: bytes) -> list[str]:
    """Non-empty-terminated lines of a UTF-8 CSV (a BOM and trailing blank lines removed).

    The encoding is checked first, then the length of every line, before any splitting.
    """
    check_encoding(raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"garbled CSV: not UTF-8 text (byte offset {exc.start})") from None
    check_line_lengths(raw)
    if "\x00" in text:
        raise DecodeError("garbled CSV: contains NUL bytes")
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def check_header(line: str, expected: int) -> None:
    fields = line.split(",")
    if len(fields) != expected or not all(_HEADER_FIELD_RE.fullmatch(f.strip()) for f in fields):
        raise DecodeError(f"line 1: unrecognised header {line[:120]!r}")


def check_column_count(lines: list[str], expected: int, first_line: int) -> None:
    """Every row must have ``expected`` comma-separated fields (a cut line has fewer)."""
    for index, line in enumerate(lines):
        found = line.count(",") + 1
        if found != expected:
            raise DecodeError(
                f"line {index + first_line}: expected {expected} columns, found {found} "
                f"({line[:80]!r})"
            )


def parse_columns(
    lines: list[str],
    names: tuple[str, ...],
    first_line: int,
    integer_columns: tuple[str, ...],
    float_columns: tuple[str, ...],
) -> pl.DataFrame:
    """Split rows into string columns, then cast strictly; the first bad value is reported."""
    frame = pl.read_csv(
        io.StringIO("\n".join(lines)),
        has_header=False,
        new_columns=list(names),
        infer_schema=False,
        quote_char=None,
    ).with_row_index("line_number", offset=first_line)
    casts = [pl.col(c).str.strip_chars().cast(pl.Int64, strict=False) for c in integer_columns]
    casts += [pl.col(c).str.strip_chars().cast(pl.Float64, strict=False) for c in float_columns]
    typed = frame.with_columns(casts)
    for column in (*integer_columns, *float_columns):
        is_float = column in float_columns
        bad = typed[column].is_null()
        if is_float:
            bad = bad | ~typed[column].is_finite().fill_null(False)
        if bad.any():
            index = int(bad.arg_max() or 0)
            value = frame[column][index]
            kind = "a finite number" if is_float else "an integer"
            raise DecodeError(f"line {index + first_line}: {column} value {value!r} is not {kind}")
    return typed.with_columns(pl.col("line_number").cast(pl.Int32))


def to_decoded_table(frame: pl.DataFrame) -> pa.Table:
    """Arrange ``frame`` as :func:`hermes.landing.decoded_schema` (missing columns become null)."""
    columns = [
        pl.col(name) if name in frame.columns else pl.lit(None).alias(name)
        for name in decoded_schema().names
    ]
    return frame.select(columns).to_arrow().cast(decoded_schema())
