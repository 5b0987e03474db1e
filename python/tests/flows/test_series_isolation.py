"""Write-audit-publish per series, on real candles of real pairs (two of them delisted).

One lake lives through two ``hermes run``-style refreshes (the bundled-refresh flow on local
files, no backtests so that the test stays short), against the session's Prefect server:

1. BTCUSDT, ETHUSDT, MATICUSDT and XMRUSDT at 4h, real candles from 2024-01-01. XMRUSDT ends
   at its delisting (2024-02-20): the universe seed takes it out of the freshness check, so
   it is published. ETHUSDT stops 3 days before the others (stale: held back by the
   ``silver_freshness`` expectation); MATICUSDT carries one candle with its high below its
   close (held back by the ``silver_klines_ohlc_consistent`` data test). BTCUSDT and XMRUSDT
   are published; the run ends ``partial``, names both held series and notifies a failure.
2. ETHUSDT's missing days land (published now), MATICUSDT is not fixed (retried, held
   again), and BTCUSDT gets a new day whose first candle is broken: BTCUSDT is held back and
   readers still see exactly what run 1 published for it (silver and gold, every column).
3. XMRUSDT's 1d candles land and the run is killed after its backtests, before publishing
   their results (the statistics step raises); the next run, with nothing new landed,
   completes it: it reuses the recorded backtests and publishes them (not "nothing new").
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from fixtures.lake_reads import read_frame
from fixtures.webhook_server import webhook
from prefect import task

from hermes.config import PROJECT_ROOT, Settings
from hermes.flows import refresh
from hermes.flows.daily_refresh import bundled_refresh
from hermes.flows.steps import record_statistics
from hermes.flows.summary import RefreshFailed, RefreshSummary
from hermes.ingest import csv_import

START, END = "2024-01-01 00:00:00", "2024-03-01 00:00:00"
ETH_STOPS = "2024-02-27 00:00:00"  # three days before the others: stale
BTC_NEXT_DAY = "2024-03-02 00:00:00"


def real_rows(symbol: str, first: str, last: str, interval: str = "4h") -> tuple[str, list[str]]:
    """Header and the real rows ``first`` <= open time < ``last`` of ``symbol``."""
    folder = "binance-ohlcv" if symbol in ("BTCUSDT", "ETHUSDT") else "universe"
    path = PROJECT_ROOT / "data" / folder / f"{symbol}_{interval}.csv.gz"
    header, *rows = gzip.decompress(path.read_bytes()).decode().splitlines()
    return header, [r for r in rows if first <= r.split(",", 1)[0] < last]


def broken(row: str) -> str:
    """The row with its high set below its close."""
    cells = row.split(",")
    cells[2] = str(float(cells[4]) - 1.0)
    return ",".join(cells)


def write(folder: Path, symbol: str, header: str, rows: list[str], interval: str = "4h") -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{symbol}_{interval}.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return str(path)


@dataclass
class Runs:
    settings: Settings
    summaries: list[RefreshSummary] = field(default_factory=list)
    published: list[dict[str, pd.DataFrame]] = field(default_factory=list)
    notifications: list[dict] = field(default_factory=list)
    killed_runs: list[str] = field(default_factory=list)
    resumed_runs: list[str] = field(default_factory=list)


def published_state(settings: Settings) -> dict[str, pd.DataFrame]:
    """What readers see: every published silver and gold feature row, in key order."""
    return {
        table: read_frame(
            settings,
            f"select * from published.{table} order by symbol, interval, open_time",  # noqa: S608
        )
        for table in ("silver_klines", "gold_features")
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("isolation")
    settings = Settings(lake_root=root / "lake")
    state = Runs(settings)
    header, btc = real_rows("BTCUSDT", START, END)
    _, eth = real_rows("ETHUSDT", START, END)
    _, matic = real_rows("MATICUSDT", START, END)
    _, xmr = real_rows("XMRUSDT", START, END)
    assert xmr[-1].startswith("2024-02-20 00:00:00")  # the delisting: no later candle
    matic[100] = broken(matic[100])
    with pytest.MonkeyPatch.context() as env, webhook() as (hook_url, received):
        # ingest refuses a broken candle first; landed unchecked (as data landed by other means
        # would be), the data tests are the second line of defence whose isolation this tests
        env.setattr(csv_import, "check_candles", lambda *args, **kwargs: None)
        env.setenv("HERMES_LAKE_ROOT", str(settings.lake_root))
        env.setenv("HERMES_TARGET", "local")
        env.setenv("HERMES_NOTIFY_WEBHOOK", hook_url)

        def run(files: list[str], intervals: tuple[str, ...] = ()) -> None:
            try:
                state.summaries.append(
                    bundled_refresh(paths=files, backtest_intervals=list(intervals))
                )
            except RefreshFailed as exc:
                state.summaries.append(exc.summary)
            state.published.append(published_state(settings))

        first = root / "first"
        run(
            [
                write(first, "BTCUSDT", header, btc),
                write(first, "ETHUSDT", header, [r for r in eth if r < ETH_STOPS]),
                write(first, "MATICUSDT", header, matic),
                write(first, "XMRUSDT", header, xmr),
            ]
        )
        _, next_day = real_rows("BTCUSDT", END, BTC_NEXT_DAY)
        second = root / "second"
        run(
            [
                write(second, "BTCUSDT", header, btc + [broken(next_day[0]), *next_day[1:]]),
                write(second, "ETHUSDT", header, eth),
            ]
        )
        # 3. killed after the backtests, before their results are published
        _, xmr_1d = real_rows("XMRUSDT", "2024-02-01", END, "1d")
        killed = write(root / "third", "XMRUSDT", header, xmr_1d, "1d")
        env.setattr(refresh, "record_statistics", killed_here)
        with pytest.raises(Killed):
            bundled_refresh(paths=[killed], backtest_intervals=["1d"])
        env.setattr(refresh, "record_statistics", record_statistics)
        state.killed_runs = read_frame(
            settings, "select run_id from lake.gold_backtest_runs order by run_id"
        )["run_id"].tolist()
        run([killed], ("1d",))
        state.resumed_runs = read_frame(
            settings, "select run_id from published.gold_backtest_runs order by run_id"
        )["run_id"].tolist()
        state.notifications = list(received)
    yield state


class Killed(RuntimeError):
    """The run stops here, as if killed."""


@task(name="record-statistics")
def killed_here(settings: Settings, run_ids: list[str]) -> int:
    raise Killed("killed after the backtests")


def series(frame: pd.DataFrame) -> list[str]:
    return sorted(set(frame["symbol"] + "/" + frame["interval"]))


def test_healthy_series_are_published_and_the_held_ones_named(runs: Runs) -> None:
    summary = runs.summaries[0]
    assert summary.status == "partial", summary.lines()
    assert [h.split(":", 1)[0] for h in summary.held] == ["ETHUSDT/4h", "MATICUSDT/4h"]
    assert "gx silver_freshness" in summary.held[0]
    assert "silver_klines_ohlc_consistent" in summary.held[1]
    assert "held back ETHUSDT/4h" in summary.headline
    assert "held back MATICUSDT/4h" in summary.headline
    published = runs.published[0]
    # the delisted pair is published with its history; the held ones are not visible
    assert series(published["silver_klines"]) == ["BTCUSDT/4h", "XMRUSDT/4h"]
    assert series(published["gold_features"]) == ["BTCUSDT/4h", "XMRUSDT/4h"]
    assert len(published["silver_klines"]) == 360 + 301
    assert runs.notifications[0]["success"] is False
    assert "MATICUSDT/4h" in runs.notifications[0]["text"]


def test_next_run_retries_held_series_and_holds_a_newly_broken_one(runs: Runs) -> None:
    summary = runs.summaries[1]
    assert summary.status == "partial", summary.lines()
    # ETHUSDT's days landed: published; MATICUSDT retried (still pending), held again
    assert "MATICUSDT/4h" in summary.partitions and "ETHUSDT/4h" in summary.partitions
    assert [h.split(":", 1)[0] for h in summary.held] == ["BTCUSDT/4h", "MATICUSDT/4h"]
    published = runs.published[1]
    assert series(published["silver_klines"]) == ["BTCUSDT/4h", "ETHUSDT/4h", "XMRUSDT/4h"]
    eth = published["silver_klines"].query("symbol == 'ETHUSDT'")
    assert len(eth) == 360 and str(eth["open_time"].max()) == "2024-02-29 20:00:00"


def test_a_held_series_reads_exactly_as_last_published(runs: Runs) -> None:
    for table in ("silver_klines", "gold_features"):
        before = runs.published[0][table].query("symbol == 'BTCUSDT'").reset_index(drop=True)
        after = runs.published[1][table].query("symbol == 'BTCUSDT'").reset_index(drop=True)
        assert len(before) == 360
        pd.testing.assert_frame_equal(after, before, check_exact=True)


def test_results_of_a_killed_run_are_completed_by_the_next(runs: Runs) -> None:
    summary = runs.summaries[2]
    assert runs.killed_runs, "the killed run recorded its backtests before stopping"
    # nothing new landed: the stranded results are published, the held series retried
    assert summary.ingested == [] and summary.status == "partial", summary.lines()
    assert summary.runs == runs.killed_runs  # reused, not run twice
    assert runs.resumed_runs == runs.killed_runs
    assert [h.split(":", 1)[0] for h in summary.held] == ["BTCUSDT/4h", "MATICUSDT/4h"]
