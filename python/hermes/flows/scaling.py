"""How the daily job's heavy stages scale with Dask workers, measured on a lake's series.

``python -m hermes.flows.scaling 1 2`` (on the lake of ``HERMES_LAKE_ROOT``) backtests every
active strategy on every 4h series of the lake that the universe lists (``HERMES_UNIVERSE``,
:func:`hermes.universe.listed_series`), then computes those runs' statistics and
writes their pages, with the daily job's own subflows (:mod:`hermes.flows.backtests`,
:mod:`hermes.flows.statistics`, :mod:`hermes.flows.pages`) sent to a fresh local cluster of 1,
then 2 single-threaded worker processes, each on a copy of the lake (a stored run would
otherwise be reused, not run again). Set ``PREFECT_API_URL`` to a running server first (for
instance the lake's, ``hermes server start``), or each subflow starts a temporary one. The
machine's load average is printed with each figure: a figure measured under load is an
upper bound.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from hermes.config import Settings
from hermes.flows.backtests import backtest_partitions
from hermes.flows.pages import write_pages
from hermes.flows.statistics import score_runs
from hermes.lake import connect, current_snapshot
from hermes.universe import listed_series


def universe_series(settings: Settings, interval: str) -> tuple[int, list[tuple[str, str]]]:
    """The lake's current snapshot and its ``interval`` series that the universe lists."""
    with connect(settings, read_only=True) as conn:
        snapshot = current_snapshot(conn)
        held = conn.execute(
            "select distinct symbol, interval from gold_feature_store where interval = ? "
            "order by all",
            [interval],
        ).fetchall()
    listed = set(listed_series())
    return snapshot, [(str(s), str(i)) for s, i in held if (s, i) in listed]


def stage_seconds(settings: Settings, address: str, interval: str = "4h") -> dict[str, float]:
    """Seconds of backtests, statistics and pages of every ``interval`` series of the lake
    that the universe lists, with the work sent to the scheduler at ``address``."""
    snapshot, series = universe_series(settings, interval)
    started = time.perf_counter()
    runs = backtest_partitions(settings, series, snapshot, dask_address=address)
    backtests = time.perf_counter()
    score_runs(settings, runs, dask_address=address)
    statistics = time.perf_counter()
    write_pages(settings, runs, dask_address=address)
    pages = time.perf_counter()
    return {
        "series": float(len(series)),
        "runs": float(len(runs)),
        "backtests": backtests - started,
        "statistics": statistics - backtests,
        "pages": pages - statistics,
    }


def measure(settings: Settings, workers: int) -> dict[str, float]:
    """:func:`stage_seconds` on a copy of the lake and a new cluster of ``workers`` processes
    (imports and numba compilation included, as a cluster started for one job pays them)."""
    from distributed import LocalCluster

    figures = {"workers": float(workers), "load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="hermes-scaling-") as scratch:
        copy = Path(scratch) / "lake"
        shutil.copytree(settings.lake_root, copy, symlinks=True)
        started = time.perf_counter()
        with LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            figures["cluster_start"] = time.perf_counter() - started
            on_copy = Settings(lake_root=copy, universe=settings.universe)
            figures |= stage_seconds(on_copy, cluster.scheduler_address)
    figures["load_after"] = os.getloadavg()[0]
    return figures


if __name__ == "__main__":
    import sys

    for count in sys.argv[1:] or ["1", "2"]:
        measured = measure(Settings.from_env(), int(count))
        print(" ".join(f"{k}={v:.2f}" for k, v in measured.items()), flush=True)
