"""Benchmark lakes: one working lake folder per data set, with saved states to restore.

A DuckLake catalog records absolute paths (its data path, and the manifest's decoded
files), so a lake cannot simply be copied elsewhere. Instead each data set has one fixed
working folder; after a stage, its state is saved next to it, and every repetition of the
next stage first restores that state into the working folder. Parquet and archive files
never change once written, so saves and restores hard-link them; the catalog (a DuckDB
file, changed in place) is copied.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from hermes.config import Settings
from hermes.ingest.decode import KLINE_COLUMNS
from hermes.lake import connect
from hermes.landing import DECODED_SCHEMA, LANDING_SCHEMA, ensure_landing_tables

IMMUTABLE_SUFFIXES = (".parquet", ".zip", ".CHECKSUM", ".gz")


def _link_or_copy(src: str, dst: str) -> str:
    if src.endswith(IMMUTABLE_SUFFIXES):
        try:
            os.link(src, dst)
            return dst
        except OSError:
            pass
    return shutil.copy2(src, dst)


def snapshot_tree(source: Path, destination: Path) -> None:
    """Replace ``destination`` with a copy of ``source`` (immutable files hard-linked)."""
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(source, destination, copy_function=_link_or_copy)


def settings_for(lake_root: Path) -> Settings:
    return Settings(lake_root=lake_root)


def use_lake(lake_root: Path) -> Settings:
    """Point this process (and dbt, which reads the environment) at ``lake_root``."""
    os.environ["HERMES_LAKE_ROOT"] = str(lake_root)
    os.environ["HERMES_TARGET"] = "local"
    return settings_for(lake_root)


def decode_archive(path: Path) -> pa.Table:
    """A Binance monthly/daily kline archive as a table of :data:`DECODED_SCHEMA` columns."""
    with zipfile.ZipFile(path) as zf:
        (member,) = zf.namelist()
        data = zf.read(member)
    frame = pl.read_csv(
        io.BytesIO(data),
        has_header=False,
        new_columns=list(KLINE_COLUMNS),
        schema_overrides={
            "open_time": pl.Int64,
            "close_time": pl.Int64,
            "number_of_trades": pl.Int64,
        },
    )
    unit = "us" if frame["open_time"][0] > 10**14 else "ms"
    frame = frame.drop("ignore").with_columns(
        pl.int_range(1, frame.height + 1, dtype=pl.Int32).alias("line_number"),
        pl.lit(unit).alias("time_unit"),
    )
    return frame.select(DECODED_SCHEMA.names).to_arrow().cast(DECODED_SCHEMA)


def land_decoded(settings: Settings, archives: list[Path], archive_root: Path) -> int:
    """Put ``archives`` into the lake's landing zone as decoded files plus manifest rows.

    This is the benchmark's fast path for building large lakes: it writes what ingest
    would write (``_decoded/<sha256>.parquet`` and ``landing.files`` rows) without ingest's
    checks. Ingest itself is measured separately, on the same archives. Returns rows landed.
    """
    landing = Path(settings.landing_root)
    decoded_dir = landing / "_decoded"
    decoded_dir.mkdir(parents=True, exist_ok=True)
    manifest = []
    total = 0
    now = datetime.now(UTC).replace(tzinfo=None)
    for path in archives:
        raw = path.read_bytes()
        sha = hashlib.sha256(raw).hexdigest()
        relative = path.relative_to(archive_root).as_posix()
        target = landing / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        table = decode_archive(path)
        decoded = decoded_dir / f"{sha}.parquet"
        pq.write_table(table, decoded)
        parts = relative.split("/")  # binance/spot/<period>/klines/<SYMBOL>/<interval>/<file>
        manifest.append(
            {
                "source_file": relative,
                "source_sha256": sha,
                "decoded_file": str(decoded),
                "provider": parts[0],
                "market": parts[1],
                "symbol": parts[4],
                "interval": parts[5],
                "period": parts[2],
                "row_count": table.num_rows,
                "ingested_at": now,
            }
        )
        total += table.num_rows
    conn = connect(settings)
    try:
        ensure_landing_tables(conn)
        rows = pa.Table.from_pylist(manifest)  # noqa: F841 (read by duckdb's replacement scan)
        columns = ", ".join(manifest[0])
        conn.execute(f"insert into {LANDING_SCHEMA}.files ({columns}) select {columns} from rows")  # noqa: S608 (fixed column names)
    finally:
        conn.close()
    return total


def count_rows(settings: Settings, table: str) -> int:
    """Rows in a lake table (``table`` is a fixed name chosen by the benchmark)."""
    if not table.replace("_", "").replace(".", "").isalnum():
        raise ValueError(f"not a table name: {table!r}")
    conn = connect(settings)
    try:
        row = conn.execute(f"select count(*) from {table}").fetchone()  # noqa: S608 (checked above)
        return int(row[0]) if row else 0
    finally:
        conn.close()
