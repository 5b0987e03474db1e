"""Stages run by dbt: bronze, silver and gold feature models, one selection at a time.

Each repetition restores the lake state left by the previous stage, then times
``dbt run --select <selection>`` end to end (project parsing included, as a user would
see it) and also reports dbt's own execution time for the selected models.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.lakes import count_rows, snapshot_tree, use_lake


def run(
    work: str,
    select: str,
    table: str,
    target_path: str,
    restore_from: str | None = None,
    save_to: str | None = None,
    exclude: str | None = None,
    setup: list[list[str]] | None = None,
    vars: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Time ``dbt run --select select [--exclude exclude]`` on the restored lake.

    ``setup`` commands (e.g. ``["seed", "--select", "strategies"]``) run first, untimed.
    """
    from hermes.dbt_runner import run_dbt

    lake = Path(work)
    if restore_from:
        snapshot_tree(Path(restore_from), lake)
    settings = use_lake(lake)
    for command in setup or []:
        run_dbt(command, settings, target_path=Path(target_path))
    args = ["run", "--select", select] + (["--exclude", exclude] if exclude else [])
    started = time.perf_counter()
    _, nodes = run_dbt(args, settings, target_path=Path(target_path), vars=vars)
    seconds = time.perf_counter() - started
    rows = count_rows(settings, table)
    if save_to:
        snapshot_tree(lake, Path(save_to))
    return {
        "seconds": seconds,
        "rows": rows,
        "model_seconds": sum(n.execution_time for n in nodes),
        "models": sorted(n.name for n in nodes),
    }
