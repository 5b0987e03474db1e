"""Benchmark lakes: one working lake folder per data set, with saved states to restore.

A DuckLake catalog records absolute paths, so a lake cannot simply be copied elsewhere.
Instead each data set has one fixed working folder; after a stage, its state is saved next
to it, and every repetition of the next stage first restores that state into the working
folder. Parquet and archive files never change once written, so saves and restores
hard-link them; the catalog (a DuckDB file, changed in place) is copied.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hermes.config import Settings
from hermes.lake import connect, identifier

IMMUTABLE_SUFFIXES = (".parquet", ".zip", ".CHECKSUM", ".gz")


def _link_or_copy(src: str, dst: str) -> str:
    if src.endswith(IMMUTABLE_SUFFIXES):
        try:
            os.link(src, dst)
            return dst
        except OSError:
            pass
    return str(shutil.copy2(src, dst))


def snapshot_tree(source: Path, destination: Path) -> None:
    """Replace ``destination`` with a copy of ``source`` (immutable files hard-linked)."""
    shutil.rmtree(destination, ignore_errors=True)
    shutil.copytree(source, destination, copy_function=_link_or_copy)


def use_lake(lake_root: Path, restore_from: str | None = None) -> Settings:
    """Point this process (and dbt, which reads the environment) at ``lake_root``, first
    restored from the saved state ``restore_from`` when given."""
    if restore_from:
        snapshot_tree(Path(restore_from), lake_root)
    os.environ["HERMES_LAKE_ROOT"] = str(lake_root)
    os.environ["HERMES_TARGET"] = "local"
    return Settings(lake_root=lake_root)


def count_rows(settings: Settings, table: str) -> int:
    """Rows in a lake table (``table`` is a fixed name chosen by the benchmark)."""
    with connect(settings) as conn:
        row = conn.execute(f"select count(*) from {identifier(table)}").fetchone()  # noqa: S608
    return int(row[0]) if row else 0
