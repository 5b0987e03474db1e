"""Stage: ingest Binance-format archives into the lake's landing zone (bronze input)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from bench.lakes import snapshot_tree, use_lake


def run(archive_root: str, work: str, save_to: str | None = None) -> dict[str, Any]:
    """Ingest every archive under ``archive_root`` into a fresh lake at ``work``."""
    from hermes.ingest import ingest_paths

    lake = Path(work)
    if lake.exists():
        shutil.rmtree(lake)
    settings = use_lake(lake)
    paths = sorted(Path(archive_root).rglob("*.zip"))
    started = time.perf_counter()
    report = ingest_paths(paths, settings)
    seconds = time.perf_counter() - started
    if not report.ok:
        problems = "; ".join(f"{p.source}: {p.reason}" for p in report.problems[:5])
        raise RuntimeError(f"ingest rejected synthetic archives: {problems}")
    if save_to:
        snapshot_tree(lake, Path(save_to))
    return {"seconds": seconds, "rows": report.rows_ingested, "files": len(paths)}
