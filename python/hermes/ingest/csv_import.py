"""Decode generic OHLCV CSV files (the bundled sample's format) into the landing schema.

Format: ``<SYMBOL>_<INTERVAL>.csv`` or ``.csv.gz``, header
``timestamp,open,high,low,close,volume``; ``timestamp`` is the candle's open time in UTC,
``YYYY-MM-DD HH:MM:SS`` (intraday files) or ``YYYY-MM-DD`` (daily files). Every line ends
with a line break, the last one included (a file cut short is refused, see
:func:`check_complete`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pyarrow as pa

from hermes.ingest.candles import check_candles
from hermes.ingest.decode import (
    check_column_count,
    parse_columns,
    text_lines,
    to_decoded_table,
)
from hermes.ingest.errors import DecodeError
from hermes.ingest.layout import CsvName
from hermes.ingest.text_checks import check_encoding, gunzip

CSV_COLUMNS: tuple[str, ...] = ("timestamp", "open", "high", "low", "close", "volume")
OHLCV_COLUMNS = CSV_COLUMNS[1:]
EARLIEST_MS = int(datetime(2009, 1, 3, tzinfo=UTC).timestamp() * 1000)
"""No crypto market candle opens before the first Bitcoin block."""


def check_complete(data: bytes) -> None:
    """A CSV must end with a line break: a last line without one is what a partial download
    or copy leaves (``...,14223.`` for ``...,14223.8953``), so the file is refused whole."""
    if data and not data.endswith((b"\n", b"\r")):
        last = data.rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace")
        line_number = data.count(b"\n") + 1
        raise DecodeError(
            f"line {line_number}: truncated: the file ends inside a line ({last[-60:]!r}, no "
            "final line break), as a partial download or copy leaves it"
        )


def decode_ohlcv_csv(data: bytes, name: CsvName, *, now: datetime | None = None) -> pa.Table:
    """Decode a generic OHLCV CSV (optionally gzip-compressed) as
    :func:`hermes.landing.decoded_schema`."""
    if name.filename.endswith(".gz"):
        data = gunzip(data)
    check_encoding(data)  # a UTF-16 file is named as such, not as "truncated"
    check_complete(data)
    lines = text_lines(data)
    if not lines:
        raise DecodeError("the CSV is empty")
    header = tuple(field.strip().lower() for field in lines[0].split(","))
    if header != CSV_COLUMNS:
        raise DecodeError(
            f"line 1: expected header {','.join(CSV_COLUMNS)!r}, found {lines[0][:120]!r}"
        )
    rows = lines[1:]
    if not rows:
        raise DecodeError("the CSV has no candle rows")
    check_column_count(rows, len(CSV_COLUMNS), 2)
    frame = parse_columns(rows, CSV_COLUMNS, 2, (), OHLCV_COLUMNS)
    stamp = pl.col("timestamp").str.strip_chars()
    frame = frame.with_columns(
        pl.coalesce(
            stamp.str.strptime(
                pl.Datetime("ms", "UTC"), "%Y-%m-%d %H:%M:%S", strict=False, exact=True
            ),
            stamp.str.strptime(pl.Datetime("ms", "UTC"), "%Y-%m-%d", strict=False, exact=True),
        )
        .dt.epoch("ms")
        .alias("open_time")
    )
    unparsed = frame.filter(pl.col("open_time").is_null())
    if unparsed.height:
        row = unparsed.row(0, named=True)
        raise DecodeError(
            f"line {row['line_number']}: timestamp {row['timestamp']!r} is not "
            "YYYY-MM-DD HH:MM:SS or YYYY-MM-DD"
        )
    latest_ms = int((now or datetime.now(UTC)).timestamp() * 1000)
    outside = frame.filter((pl.col("open_time") < EARLIEST_MS) | (pl.col("open_time") > latest_ms))
    if outside.height:
        row = outside.row(0, named=True)
        raise DecodeError(
            f"line {row['line_number']}: timestamp {row['timestamp']!r} is out of range "
            "(before 2009-01-03 or in the future)"
        )
    check_candles(frame, name.interval, "ms")
    return to_decoded_table(frame.with_columns(pl.lit("ms").alias("time_unit")))
