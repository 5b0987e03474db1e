"""The daily job beyond one machine: a Dask scheduler with 2 worker processes, the lake on S3
and its catalog in PostgreSQL, publishes exactly what a run on one machine publishes.

Two ``hermes run``-style refreshes (the bundled-refresh flow) of the same real candles
(BTCUSDT and ETHUSDT at 4h, two months) against the session's Prefect server:

* on a local lake, with the default in-process Dask cluster;
* on S3 (moto's server on 127.0.0.1, authentication on) with the PostgreSQL catalog (Debian's
  server), the heavy stages sent to a ``LocalCluster`` of 2 single-threaded worker processes
  through ``HERMES_DASK_ADDRESS``. The workers get no lake setting and no credential: they
  compute on the data the flows send them.

Every published backtest run, equity curve, trade and run statistic is equal between the two
(ids and timestamps aside), and so is every tearsheet page.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from catalog.local_postgres import ROLE, LocalPostgres
from distributed import Client, LocalCluster
from fixtures.lake_reads import read_frame
from s3.local_s3 import LocalS3, unique_prefix

from hermes.config import PROJECT_ROOT, Settings
from hermes.flows.daily_refresh import bundled_refresh
from hermes.flows.scale_out import DASK_ADDRESS_ENV
from hermes.flows.summary import RefreshSummary
from hermes.signals.registry import active_strategies

pytestmark = pytest.mark.untraced  # every line it runs, other files measure (fixtures/children.py)

START, END = "2024-01-01 00:00:00", "2024-03-01 00:00:00"
SYMBOLS = ("BTCUSDT", "ETHUSDT")
DATABASE = "hermes_scale_out"
VARYING = ("run_id", "study_id", "created_at", "snapshot_id")
"""Columns that differ between two runs by nature: random ids, clocks, catalog counters."""


@dataclass
class Run:
    settings: Settings
    summary: RefreshSummary
    tables: dict[str, pd.DataFrame]
    pages: dict[tuple[str, str, str], str]


@dataclass
class Runs:
    local: Run
    distributed: Run
    tasks: dict[str, int]
    worker_pids: set[int]


def inputs(folder: Path) -> list[str]:
    """The real 4h candles START <= open time < END of each symbol, as CSV files."""
    folder.mkdir(parents=True)
    files = []
    for symbol in SYMBOLS:
        source = PROJECT_ROOT / "data" / "binance-ohlcv" / f"{symbol}_4h.csv.gz"
        header, *rows = gzip.decompress(source.read_bytes()).decode().splitlines()
        path = folder / f"{symbol}_4h.csv"
        kept = [r for r in rows if START <= r.split(",", 1)[0] < END]
        path.write_text("\n".join([header, *kept]) + "\n")
        files.append(str(path))
    return files


def published(settings: Settings) -> dict[str, pd.DataFrame]:
    """Every published result, keyed by (strategy, symbol, interval) instead of run ids."""
    queries = {
        "runs": "select * from published.gold_backtest_runs",
        "equity": "select runs.strategy_id, runs.symbol, runs.interval, rows.* "
        "from published.gold_backtest_equity as rows "
        "join published.gold_backtest_runs as runs using (run_id)",
        "trades": "select runs.strategy_id, runs.symbol, runs.interval, rows.* "
        "from published.gold_backtest_trades as rows "
        "join published.gold_backtest_runs as runs using (run_id)",
        "statistics": "select runs.strategy_id, runs.symbol, runs.interval, rows.* "
        "from published.gold_backtest_overfitting as rows "
        "join published.gold_backtest_runs as runs on runs.run_id = rows.study_id",
    }
    out = {}
    for name, sql in queries.items():
        frame = read_frame(settings, sql)
        frame = frame.drop(columns=[c for c in frame.columns if c in VARYING])
        out[name] = frame.sort_values(list(frame.columns[:4])).reset_index(drop=True)
    return out


def pages(settings: Settings, summary: RefreshSummary) -> dict[tuple[str, str, str], str]:
    """Each run's tearsheet, its run id and the time it was written masked."""
    runs = read_frame(
        settings, "select run_id, strategy_id, symbol, interval from published.gold_backtest_runs"
    )
    out = {}
    for run_id, strategy, symbol, interval in runs.itertuples(index=False):
        html = (settings.reports_root / f"{run_id}.html").read_text()
        html = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? UTC", "<time>", html)
        out[(strategy, symbol, interval)] = html.replace(run_id, "<run>")
    assert sorted(Path(p).stem for p in summary.reports) == sorted(runs["run_id"])
    return out


def refresh(settings: Settings, files: list[str]) -> Run:
    summary = bundled_refresh(paths=files, backtest_intervals=["4h"])
    return Run(settings, summary, published(settings), pages(settings, summary))


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory,
    local_s3: LocalS3,
    local_postgres: LocalPostgres,
) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("scale-out")
    files = inputs(root / "inputs")
    local_postgres.psql(f"create database {DATABASE} owner {ROLE};")
    shared = Settings(
        lake_root=root / "shared",
        target="s3",
        s3=local_s3.s3_settings(unique_prefix("scale-out")),
        catalog_url=f"postgres:dbname={DATABASE} host=127.0.0.1 port={local_postgres.port} "
        f"user={ROLE}",
    )
    with pytest.MonkeyPatch.context() as env:
        env.delenv(DASK_ADDRESS_ENV, raising=False)
        env.delenv("HERMES_NOTIFY_WEBHOOK", raising=False)
        env.delenv("HERMES_CATALOG_URL", raising=False)
        env.setenv("HERMES_LAKE_ROOT", str(root / "local"))
        env.setenv("HERMES_TARGET", "local")
        local = refresh(Settings(lake_root=root / "local"), files)
        # the workers start before the lake's settings are exported: they never see them
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            pids = set(client.run(os.getpid).values())
            for key, value in (shared.dbt_env() | {"PGPASSWORD": local_postgres.password}).items():
                env.setenv(key, value)
            env.setenv(DASK_ADDRESS_ENV, cluster.scheduler_address)
            distributed = refresh(shared, files)
            tasks = {
                name: prefix.state_counts["memory"]
                for name, prefix in cluster.scheduler.task_prefixes.items()
            }
    yield Runs(local, distributed, tasks, pids)


def test_both_runs_publish_every_series(runs: Runs) -> None:
    for run in (runs.local, runs.distributed):
        assert run.summary.status == "published", run.summary.lines()
        assert run.summary.partitions == ["BTCUSDT/4h", "ETHUSDT/4h"]
    strategies = len(active_strategies())
    assert len(runs.local.tables["runs"]) == 2 * strategies
    assert len(runs.distributed.summary.runs) == 2 * strategies
    assert runs.distributed.settings.s3 is not None and runs.distributed.settings.catalog_url


def test_heavy_stages_ran_on_two_worker_processes(runs: Runs) -> None:
    """Backtests, statistics and pages: one task per run each, on the scheduler's workers."""
    backtests = len(runs.distributed.summary.runs)
    assert runs.tasks == {"simulate_slice": backtests, "score": backtests, "render_page": backtests}
    assert len(runs.worker_pids) == 2 and os.getpid() not in runs.worker_pids


def test_published_results_equal_a_local_run(runs: Runs) -> None:
    local, distributed = runs.local.tables, runs.distributed.tables
    assert local.keys() == distributed.keys()
    for name, frame in local.items():
        assert len(frame) > 0, name
        pd.testing.assert_frame_equal(distributed[name], frame, check_exact=True, obj=name)
    # real results: some trades, a non-trivial equity curve
    assert local["trades"]["pnl"].abs().sum() > 0
    assert local["equity"]["equity"].nunique() > 100


def test_pages_equal_a_local_run(runs: Runs) -> None:
    assert runs.distributed.pages.keys() == runs.local.pages.keys()
    for key, html in runs.local.pages.items():
        assert len(html) > 10_000
        assert runs.distributed.pages[key] == html, key
