"""Benchmark lakes: one fixed working folder per data set (a DuckLake catalog records
absolute paths), its state after each stage saved beside it and restored before each run of
the next (immutable files hard-linked, the catalog copied); the pipeline's stages on them."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path
from typing import Any

from bench.measure import stopwatch
from hermes.config import Settings
from hermes.lake import connect, identifier

IMMUTABLE, STRATEGIES = (".parquet", ".zip", ".CHECKSUM", ".gz"), ("seed", "--select", "strategies")


def _link_or_copy(src: str, dst: str) -> str:
    try:
        os.link(src, dst) if src.endswith(IMMUTABLE) else shutil.copy2(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def snapshot_tree(source: Path | str, destination: Path | str) -> None:
    shutil.rmtree(destination, ignore_errors=True)
    shutil.copytree(source, destination, copy_function=_link_or_copy)


def use_lake(work: Path | str, restore_from: str | None = None, fresh: bool = False) -> Settings:
    """Point this process and dbt at the lake ``work`` (emptied, or restored from a state)."""
    if fresh:
        shutil.rmtree(work, ignore_errors=True)
    if restore_from:
        snapshot_tree(restore_from, work)
    os.environ["HERMES_LAKE_ROOT"], os.environ["HERMES_TARGET"] = str(work), "local"
    return Settings(lake_root=Path(work))


def dbt(settings: Settings, target_path: str, *args: str, **options: Any) -> tuple[float, Any]:
    """``dbt args`` on the lake: (wall seconds, the nodes it ran)."""
    from hermes.dbt_runner import run_dbt

    elapsed = stopwatch()
    _, nodes = run_dbt(list(args), settings, target_path=Path(target_path), **options)
    return elapsed(), nodes


def build(work: str, target_path: str, sources: list[str], commands: list[list[str]],
          save_to: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A new lake: ``sources`` (files or folders) ingested, then each dbt command; a file
    that ingest rejects fails the stage."""
    from hermes.ingest import ingest_paths

    settings, elapsed = use_lake(work, fresh=True), stopwatch()
    report, ingested = ingest_paths([Path(s) for s in sources], settings), elapsed()
    if not report.ok:
        problems = "; ".join(f"{p.source}: {p.reason}" for p in report.problems[:5])
        raise RuntimeError(f"ingest rejected benchmark input: {problems}")
    dbt_seconds = sum(dbt(settings, target_path, *command)[0] for command in commands)
    if save_to:
        snapshot_tree(work, save_to)
    return {"seconds": ingested + dbt_seconds, "ingest_seconds": ingested, "dbt_seconds":
            dbt_seconds, "files": len(report.results), "rows": report.rows_ingested}  # fmt: skip


def dbt_run(work: str, target_path: str, select: str, table: str = "", exclude: str = "",
            restore_from: str | None = None, save_to: str | None = None, setup: bool = False,
            vars: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """``dbt run --select select`` on the restored lake (the registry seeded first: ``setup``);
    rows: those of ``table`` (``select``'s by default)."""
    settings = use_lake(work, restore_from)
    if setup:
        dbt(settings, target_path, *STRATEGIES)
    excluded = ("--exclude", exclude) if exclude else ()
    seconds, nodes = dbt(settings, target_path, "run", "--select", select, *excluded, vars=vars)
    if save_to:
        snapshot_tree(work, save_to)
    with connect(settings) as conn:
        rows: Any = conn.execute(f"select count(*) from {identifier(table or select)}").fetchone()  # noqa: S608
    return {"seconds": seconds, "rows": rows[0],
            "models": sorted(n.name for n in nodes),
            "model_seconds": sum(n.execution_time for n in nodes)}  # fmt: skip


def signals(work: str, target_path: str, restore_from: str, chunk_rows: int) -> dict[str, Any]:
    """``generate_signals`` of Smart Momentum over every series of the feature store."""
    from hermes.signals.run import generate_signals

    dbt(settings := use_lake(work, restore_from), target_path, *STRATEGIES)
    elapsed = stopwatch()
    summaries = generate_signals(settings, "smart_momentum", chunk_rows=chunk_rows)
    return {"seconds": elapsed(), "chunk_rows": chunk_rows} | {
        k: sum(getattr(s, k) for s in summaries) for k in ("rows", "buy_signals", "sell_signals")
    }


def split_day(files: list[Path], day: str, base: Path, new_of: Path | None = None) -> list[Path]:
    """``base``/history: each CSV file without ``day``'s rows; ``base``/new: ``day``'s rows
    as ``<name>.csv.gz`` (of the files in ``new_of`` only, when given)."""
    for folder in (history := base / "history", new := base / "new"):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for path in files:
        text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else None
        header, *rows = (text or path.read_text()).splitlines()
        name, of_day = path.name.removesuffix(".gz"), [r for r in rows if r.startswith(day)]
        (history / name).write_text("\n".join([header, *(r for r in rows if r < day)]) + "\n")
        if of_day and new_of in (None, path.parent):
            (new / f"{name}.gz").write_bytes(
                gzip.compress("\n".join([header, *of_day, ""]).encode())
            )
    return sorted(history.iterdir())
