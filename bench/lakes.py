"""Benchmark lakes: one working folder per data set, saved states, and how stages build them.

A DuckLake catalog records absolute paths, so a lake cannot simply be copied elsewhere:
each data set has one fixed working folder, its state after a stage is saved beside it and
restored into that folder before each repetition of the next stage. Parquet and archive
files never change once written, so they are hard-linked; the catalog is copied.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from hermes.config import Settings
from hermes.lake import connect, identifier

IMMUTABLE_SUFFIXES = (".parquet", ".zip", ".CHECKSUM", ".gz")
INPUT_SUFFIXES = (".zip", ".csv", ".gz")


def _link_or_copy(src: str, dst: str) -> str:
    if src.endswith(IMMUTABLE_SUFFIXES):
        try:
            os.link(src, dst)
            return dst
        except OSError:
            pass
    return str(shutil.copy2(src, dst))


def snapshot_tree(source: Path | str, destination: Path | str) -> None:
    """Replace ``destination`` with a copy of ``source`` (immutable files hard-linked)."""
    shutil.rmtree(destination, ignore_errors=True)
    shutil.copytree(source, destination, copy_function=_link_or_copy)


def use_lake(work: Path | str, restore_from: str | None = None, fresh: bool = False) -> Settings:
    """Point this process (and dbt, which reads the environment) at the lake ``work``: empty
    when ``fresh``, else first restored from the saved state ``restore_from`` when given."""
    if fresh:
        shutil.rmtree(work, ignore_errors=True)
    if restore_from:
        snapshot_tree(restore_from, work)
    os.environ["HERMES_LAKE_ROOT"], os.environ["HERMES_TARGET"] = str(work), "local"
    return Settings(lake_root=Path(work))


def count_rows(settings: Settings, table: str) -> int:
    """Rows in a lake table (``table`` is a fixed name chosen by the benchmark)."""
    with connect(settings) as conn:
        row = conn.execute(f"select count(*) from {identifier(table)}").fetchone()  # noqa: S608
    return int(row[0]) if row else 0


def inputs(sources: list[str]) -> list[Path]:
    """The files of ``sources`` (files, or folders searched for archives and CSV files)."""
    found = [Path(s) for s in sources if Path(s).is_file()]
    found += [p for s in sources if Path(s).is_dir() for p in Path(s).rglob("*")]
    return sorted(p for p in found if p.name.endswith(INPUT_SUFFIXES))


def ingest(settings: Settings, paths: list[Path]) -> Any:
    """``hermes.ingest`` of ``paths``; a rejected file fails the stage, naming it."""
    from hermes.ingest import ingest_paths

    report = ingest_paths(paths, settings)
    if not report.ok:
        problems = "; ".join(f"{p.source}: {p.reason}" for p in report.problems[:5])
        raise RuntimeError(f"ingest rejected benchmark input: {problems}")
    return report


def dbt(settings: Settings, target_path: str, *args: str, **options: Any) -> tuple[float, Any]:
    """``dbt args`` on the lake: (wall seconds, the nodes it ran)."""
    from hermes.dbt_runner import run_dbt

    started = time.perf_counter()
    _, nodes = run_dbt(list(args), settings, target_path=Path(target_path), **options)
    return time.perf_counter() - started, nodes


def build(
    work: str, target_path: str, sources: list[str], commands: list[list[str]],
    save_to: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A stage: a new lake at ``work``, ``sources`` ingested, then each dbt command; saved to
    ``save_to``. Seconds of both parts (``seconds`` is their sum)."""
    settings, paths = use_lake(work, fresh=True), inputs(sources)
    started = time.perf_counter()
    report = ingest(settings, paths)
    ingested = time.perf_counter() - started
    dbt_seconds = sum(dbt(settings, target_path, *command)[0] for command in commands)
    if save_to:
        snapshot_tree(work, save_to)
    return {"seconds": ingested + dbt_seconds, "ingest_seconds": ingested} | {
        "dbt_seconds": dbt_seconds,
        "rows": report.rows_ingested,
        "files": len(paths),
    }
