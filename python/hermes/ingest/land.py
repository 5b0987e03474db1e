"""Land one source file: verify, decode, store raw + decoded files, then update the manifest.

Order matters for crash safety: the raw file and its decoded parquet are written first
(each atomically, under names nothing reads until the manifest points at them), and the
manifest row is committed last, in one DuckLake transaction. A run killed at any point
leaves the previous version in force; the next run simply lands the file again.
"""

from __future__ import annotations

import io

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from hermes import storage
from hermes.config import Settings
from hermes.ingest.checksum import ChecksumError, sha256_hex, verify_checksum
from hermes.ingest.csv_import import decode_ohlcv_csv
from hermes.ingest.decode import decode_kline_archive
from hermes.ingest.errors import DecodeError
from hermes.ingest.layout import MARKET, PROVIDER, ArchiveName, CsvName
from hermes.ingest.manifest import ManifestEntry, record_file
from hermes.ingest.quarantine import quarantine
from hermes.ingest.report import FileResult, Outcome
from hermes.landing import decoded_file, decoded_location


def decoded_path(settings: Settings, sha256: str) -> str:
    return decoded_location(settings.landing_root, decoded_file(sha256))


def land_file(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    name: ArchiveName | CsvName,
    data: bytes,
    manifest: dict[str, str],
    *,
    checksum: bytes | None = None,
    origin: str | None = None,
    pending: list[ManifestEntry] | None = None,
) -> FileResult:
    """Land ``data`` (the raw file ``name``); ``manifest`` is updated in place.

    ``checksum`` is the archive's ``.CHECKSUM`` content, verified when given. ``origin`` is
    the file's current full path when it already sits in the landing zone. With ``pending``,
    the manifest entry is appended to it for the caller to record with others
    (:func:`hermes.ingest.manifest.record_files`) instead of being recorded now.
    """
    source_file = name.source_file
    sha = sha256_hex(data)
    if manifest.get(source_file) == sha:
        return FileResult(source_file, Outcome.UNCHANGED, sha256=sha)
    try:
        if isinstance(name, ArchiveName):
            if checksum is not None:
                verify_checksum(data, checksum, name.filename)
            table = decode_kline_archive(data, name)
        else:
            table = decode_ohlcv_csv(data, name)
    except (ChecksumError, DecodeError) as exc:
        kept = quarantine(
            conn,
            settings,
            source_file,
            f"{source_file}: {exc}",
            data=data,
            sha256=sha,
            checksum=checksum,
            origin=origin,
        )
        return FileResult(source_file, Outcome.QUARANTINED, reason=kept.reason, sha256=sha)

    target = f"{settings.landing_root}/{source_file}"
    if origin != target:
        storage.write_bytes_atomic(settings, target, data)
        if checksum is not None:
            storage.write_bytes_atomic(settings, f"{target}.CHECKSUM", checksum)
    storage.write_bytes_atomic(settings, decoded_path(settings, sha), parquet_bytes(table))
    is_archive = isinstance(name, ArchiveName)
    entry = ManifestEntry(
        source_file=source_file,
        source_sha256=sha,
        decoded_file=decoded_file(sha),
        provider=PROVIDER if is_archive else "csv",
        market=MARKET,
        symbol=name.symbol,
        interval=name.interval,
        period=name.period if isinstance(name, ArchiveName) else "file",
        row_count=table.num_rows,
    )
    if pending is None:
        record_file(conn, entry)
    else:
        pending.append(entry)
    manifest[source_file] = sha
    return FileResult(source_file, Outcome.INGESTED, rows=table.num_rows, sha256=sha)


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()
