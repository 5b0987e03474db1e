"""The Prefect flows end to end against a local copy of the Binance public data site.

One lake lives through four runs, against the session's Prefect server:

1. backfill 2023-12-29..2024-02-05: December's monthly archive is not published, so its
   dailies are fetched instead (ETH's are missing too: not yet available); January monthly
   and February dailies land; everything is built, audited, published and backtested in
   the flow's process (no scheduler named);
2. daily refresh of 2024-02-06..08 with faults: one archive answers 503 once (retried), one
   is not published (404), one fails its checksum (quarantined); the rest is published and
   backtested, scored and reported on a Dask scheduler given by address (HERMES_DASK_ADDRESS);
3. the same daily refresh again: a no-op (nothing ingested, built or published);
4. a daily refresh whose BTCUSDT archive holds a candle with its high below its close: the
   dbt test fails for that series only; BTCUSDT is held back (``published`` still shows step
   2's BTCUSDT), ETHUSDT's new day is published, and the run ends partial (exit non-zero).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from distributed import LocalCluster
from fixtures.binance import archive, candles_for, checksum_for, kline_csv, kline_zip, publish
from fixtures.binance import serve_site as serve_site_
from fixtures.webhook_server import webhook

from hermes.config import Settings
from hermes.flows.daily_refresh import backfill, daily_refresh
from hermes.flows.summary import RefreshFailed, RefreshSummary
from hermes.lake import connect
from hermes.publication import attach_published
from hermes.signals.registry import active_strategies

ACTIVE = len(active_strategies())  # the flow backtests every active strategy

SYMBOLS = ["BTCUSDT", "ETHUSDT"]
FAST_RETRIES = 2
FAST_BACKOFF = 0.01
UNREACHABLE = "/data/spot/daily/klines/ETHUSDT/4h/ETHUSDT-4h-2023-12-31.zip.CHECKSUM"


def daily(symbol: str, day: str) -> str:
    return f"{symbol}-4h-2024-02-{day}.zip" if len(day) == 2 else f"{symbol}-4h-{day}.zip"


def put(site: Path, name: str, data: bytes | None = None, checksum: bytes | None = None) -> None:
    parsed = archive(name)
    publish(site, parsed, data if data is not None else kline_zip(parsed), checksum)


def candles(names: list[str]) -> set[tuple[str, datetime, float]]:
    """(symbol, open_time, close) of the real candles the archives hold."""
    return {
        (archive(n).symbol, c.open_time.replace(tzinfo=None), float(c.close))
        for n in names
        for c in candles_for(archive(n))
    }


def with_defect(name: str) -> bytes:
    """The archive with its first candle's high set below its close (a real-format zip)."""
    lines = kline_csv(archive(name)).decode().splitlines()
    cells = lines[0].split(",")
    cells[2] = str(float(cells[4]) - 1.0)  # high = close - 1
    lines[0] = ",".join(cells)
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{archive(name).stem}.csv", "\n".join(lines) + "\n")
    return buffer.getvalue()


@dataclass
class Lake:
    """What each run returned and what readers saw after it."""

    settings: Settings
    summaries: dict[str, RefreshSummary] = field(default_factory=dict)
    requests: dict[str, list[str]] = field(default_factory=dict)
    heads: dict[str, list[str]] = field(default_factory=dict)
    silver: dict[str, dict[str, Any]] = field(default_factory=dict)
    notifications: list[dict] = field(default_factory=list)
    dask_tasks: dict[str, dict[str, int]] = field(default_factory=dict)
    dbt_logs: dict[str, str] = field(default_factory=dict)
    """What dbt logged during each run (the lake's ``target/logs/dbt.log``)."""


def read_state(settings: Settings) -> dict[str, Any]:
    conn = connect(settings)
    try:
        attach_published(conn)
        published = conn.execute("select symbol, open_time, close from published.silver_klines")
        return {
            "published": set(published.fetchall()),
            "working": conn.execute("select count(*) from lake.silver_klines").fetchall()[0][0],
            "runs": conn.execute(
                "select run_id, symbol, interval, snapshot_id, rows "
                "from published.gold_backtest_runs"
            ).fetchall(),
        }
    finally:
        conn.close()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    root = tmp_path_factory.mktemp("refresh")
    site = root / "site"
    settings = Settings(lake_root=root / "lake")
    state = Lake(settings)
    with (
        pytest.MonkeyPatch.context() as env,
        serve_site_(site) as (base_url, control),
        webhook() as (hook_url, received),
    ):
        env.setenv("HERMES_LAKE_ROOT", str(settings.lake_root))
        env.setenv("HERMES_TARGET", "local")
        env.setenv("HERMES_NOTIFY_WEBHOOK", hook_url)
        env.delenv("HERMES_DASK_ADDRESS", raising=False)

        dbt_log = settings.lake_root / "target" / "logs" / "dbt.log"

        def run(step: str, call: Any) -> None:
            seen, heads = len(control.requests), len(control.heads)
            logged = dbt_log.stat().st_size if dbt_log.exists() else 0
            try:
                state.summaries[step] = call()
            except RefreshFailed as exc:
                state.summaries[step] = exc.summary
            state.requests[step] = control.requests[seen:]
            state.heads[step] = control.heads[heads:]
            state.silver[step] = read_state(settings)
            written = dbt_log.read_bytes()[logged:] if dbt_log.exists() else b""
            state.dbt_logs[step] = written.decode(errors="replace")

        # 1. backfill
        put(site, "BTCUSDT-4h-2024-01.zip")
        put(site, "ETHUSDT-4h-2024-01.zip")
        for day in ("2023-12-29", "2023-12-30", "2023-12-31"):
            put(site, daily("BTCUSDT", day))
        for symbol in SYMBOLS:
            for day in ("01", "02", "03", "04", "05"):
                put(site, daily(symbol, day))
        # the exchange keeps failing for one file (its existence check, then every
        # download attempt): retried, then reported, never fatal
        control.failures[UNREACHABLE] = 1 + FAST_RETRIES + 1
        run(
            "backfill",
            lambda: backfill(
                start=date(2023, 12, 29),
                end=date(2024, 2, 5),
                symbols=SYMBOLS,
                intervals=["4h"],
                base_url=base_url,
                today=date(2024, 2, 6),
                download_retries=FAST_RETRIES,
                retry_backoff_seconds=FAST_BACKOFF,
            ),
        )

        # 2. daily refresh with faults, backtests on a Dask scheduler given by address
        for symbol in SYMBOLS:
            for day in ("06", "07"):
                put(site, daily(symbol, day))
        good = kline_zip(archive(daily("ETHUSDT", "08")))
        eth_08 = daily("ETHUSDT", "08")
        put(site, eth_08, good[:-40] + bytes(40), checksum_for(good, eth_08))  # damaged in transit
        checksum_path = "/data/spot/daily/klines/BTCUSDT/4h/BTCUSDT-4h-2024-02-07.zip.CHECKSUM"
        control.failures[checksum_path] = 2  # the existence check, then the first download
        with LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster:
            env.setenv("HERMES_DASK_ADDRESS", cluster.scheduler_address)
            refresh = lambda: daily_refresh(  # noqa: E731
                day=date(2024, 2, 8),
                symbols=SYMBOLS,
                intervals=["4h"],
                lookback_days=3,
                base_url=base_url,
                download_retries=FAST_RETRIES,
                retry_backoff_seconds=FAST_BACKOFF,
            )
            run("daily", refresh)
            state.dask_tasks = {
                name: dict(prefix.state_counts)
                for name, prefix in cluster.scheduler.task_prefixes.items()
            }
            env.delenv("HERMES_DASK_ADDRESS")

            # 3. the same day again
            run("again", refresh)

        # 4. a candle breaking the OHLC invariant holds its series back, the other publishes.
        # Ingest refuses such a file; landed unchecked (as a Hermes from before that rule
        # did), the data tests are the second line of defence.
        put(site, daily("BTCUSDT", "09"), with_defect(daily("BTCUSDT", "09")))
        put(site, daily("ETHUSDT", "09"))
        with mock.patch("hermes.ingest.decode.check_candles"):
            run(
                "defect",
                lambda: daily_refresh(
                    day=date(2024, 2, 9),
                    symbols=SYMBOLS,
                    intervals=["4h"],
                    lookback_days=1,
                    base_url=base_url,
                    download_retries=FAST_RETRIES,
                    retry_backoff_seconds=FAST_BACKOFF,
                ),
            )
        state.notifications = list(received)
    yield state


BACKFILLED = (
    [daily("BTCUSDT", d) for d in ("2023-12-29", "2023-12-30", "2023-12-31")]
    + ["BTCUSDT-4h-2024-01.zip", "ETHUSDT-4h-2024-01.zip"]
    + [daily(s, d) for s in SYMBOLS for d in ("01", "02", "03", "04", "05")]
)
DAILY = [daily(s, d) for s in SYMBOLS for d in ("06", "07")]


def test_backfill_ingests_publishes_and_backtests_the_range(lake: Lake) -> None:
    summary = lake.summaries["backfill"]
    assert summary.status == "published", summary.lines()
    assert sorted(s.split("/")[-1].split(" ")[0] for s in summary.ingested) == sorted(BACKFILLED)
    # December's monthly archive is not published: its dailies were asked for instead
    assert sorted(s.split(":")[0].split("/")[-1] for s in summary.not_available) == [
        daily("ETHUSDT", d) for d in ("2023-12-29", "2023-12-30", "2023-12-31")
    ]
    requests = lake.requests["backfill"]
    # December's monthly archive was found missing by its existence check: never downloaded
    december = "/data/spot/monthly/klines/BTCUSDT/4h/BTCUSDT-4h-2023-12.zip.CHECKSUM"
    assert december in lake.heads["backfill"] and december not in requests
    # ETH's December dailies too, except the one whose check failed (503): that one was tried
    assert not [r for r in requests if "ETHUSDT-4h-2023-12-2" in r]
    reasons = sorted(s.split(".zip: ")[1] for s in summary.not_available)
    assert reasons[-1] == "unreachable after 3 attempt(s): HTTP 503"
    assert reasons[0].startswith("not published: ")
    assert requests.count(UNREACHABLE) == 3
    rows = len(candles(BACKFILLED))
    assert rows == 18 + 2 * 186 + 2 * 30
    assert summary.rows_added["bronze"] == rows
    assert summary.tests_failed == [] and summary.tests_passed > 0
    state = lake.silver["backfill"]
    assert state["published"] == candles(BACKFILLED)
    assert summary.partitions == ["BTCUSDT/4h", "ETHUSDT/4h"]
    # every active strategy of the registry, on each changed partition
    assert sorted((r[1], r[2], r[3], r[4]) for r in state["runs"]) == sorted(
        [("BTCUSDT", "4h", summary_data_snapshot(lake, "backfill"), 18 + 186 + 30)] * ACTIVE
        + [("ETHUSDT", "4h", summary_data_snapshot(lake, "backfill"), 186 + 30)] * ACTIVE
    )
    assert sorted(r[0] for r in state["runs"]) == sorted(summary.runs)
    assert [Path(p).name for p in summary.reports] == [f"{r}.html" for r in summary.runs]
    assert all(Path(p).stat().st_size > 10_000 for p in summary.reports)
    # after publishing: each run's statistics next to it, and the research site linking it
    conn = connect(lake.settings)
    try:
        studied = conn.execute(
            "select study_id from gold_backtest_overfitting where study_kind = 'run'"
        ).fetchall()
    finally:
        conn.close()
    assert set(summary.runs) <= {r[0] for r in studied}
    assert summary.site == str(lake.settings.reports_root / "index.html")
    index = Path(summary.site).read_text()
    assert all(f'href="{r}.html"' in index for r in summary.runs)


def summary_data_snapshot(lake: Lake, step: str) -> int:
    """The snapshot the step's audit published first (what its backtests read)."""
    conn = connect(lake.settings)
    try:
        row = conn.execute(
            "select snapshot_id from hermes_publications where flow_run = ? and stage = 'data'",
            [lake.summaries[step].flow_run],
        ).fetchone()
    finally:
        conn.close()
    assert row is not None
    return int(row[0])


def test_daily_refresh_retries_reports_missing_and_quarantines_corrupt(lake: Lake) -> None:
    summary = lake.summaries["daily"]
    assert summary.status == "published", summary.lines()
    assert sorted(s.split("/")[-1].split(" ")[0] for s in summary.ingested) == sorted(DAILY)
    assert [s.split(":")[0] for s in summary.not_available] == [
        "binance/spot/daily/klines/BTCUSDT/4h/BTCUSDT-4h-2024-02-08.zip"
    ]
    assert len(summary.quarantined) == 1
    assert summary.quarantined[0].startswith(
        "binance/spot/daily/klines/ETHUSDT/4h/ETHUSDT-4h-2024-02-08.zip: "
    )
    assert "checksum" in summary.quarantined[0].lower()
    # the 503 was retried: the checksum was asked for twice, then the archive once
    requests = lake.requests["daily"]
    btc_07 = "/data/spot/daily/klines/BTCUSDT/4h/BTCUSDT-4h-2024-02-07.zip"
    assert (requests.count(f"{btc_07}.CHECKSUM"), requests.count(btc_07)) == (2, 1), requests
    # January's monthly archive had landed: not asked for again
    assert not [r for r in requests if "/monthly/" in r]
    assert summary.rows_added["bronze"] == 4 * 6
    assert lake.silver["daily"]["published"] == candles(BACKFILLED + DAILY)
    assert len(summary.runs) == 2 * ACTIVE and len(lake.silver["daily"]["runs"]) == 4 * ACTIVE
    # the backtests, their statistics and pages ran on the scheduler named by
    # HERMES_DASK_ADDRESS
    assert {name: counts["memory"] for name, counts in lake.dask_tasks.items()} == {
        "simulate_slice": 2 * ACTIVE,
        "score": 2 * ACTIVE,
        "render_page": 2 * ACTIVE,
    }


def test_same_day_again_is_a_no_op(lake: Lake) -> None:
    summary = lake.summaries["again"]
    assert summary.status == "no-op", summary.lines()
    assert summary.ingested == [] and summary.runs == [] and summary.rows_added == {}
    assert summary.published_snapshot == lake.summaries["daily"].published_snapshot
    assert "dbt build" not in summary.step_seconds
    # only the two files still missing were checked; the one the site has (the corrupt
    # one) was downloaded again, the unpublished one was not; nothing landed was asked for
    assert sorted(lake.heads["again"]) == [
        "/data/spot/daily/klines/BTCUSDT/4h/BTCUSDT-4h-2024-02-08.zip.CHECKSUM",
        "/data/spot/daily/klines/ETHUSDT/4h/ETHUSDT-4h-2024-02-08.zip.CHECKSUM",
    ]
    assert sorted(set(lake.requests["again"])) == [
        "/data/spot/daily/klines/ETHUSDT/4h/ETHUSDT-4h-2024-02-08.zip",
        "/data/spot/daily/klines/ETHUSDT/4h/ETHUSDT-4h-2024-02-08.zip.CHECKSUM",
    ]
    assert lake.silver["again"] == lake.silver["daily"]


def test_failing_data_test_holds_its_series_back_and_publishes_the_others(lake: Lake) -> None:
    summary = lake.summaries["defect"]
    assert summary.status == "partial", summary.lines()
    assert [t.split(":")[0] for t in summary.tests_failed][0] == "silver_klines_ohlc_consistent"
    assert [h.split(":")[0] for h in summary.held] == ["BTCUSDT/4h"]
    assert "dbt test silver_klines_ohlc_consistent" in summary.held[0]
    assert "held back BTCUSDT/4h" in summary.headline
    before, after = lake.silver["daily"], lake.silver["defect"]

    def of(rows: set, symbol: str) -> set:
        return {r for r in rows if r[0] == symbol}

    # readers still see BTCUSDT exactly as step 2 published it; ETHUSDT's new day is published
    assert of(after["published"], "BTCUSDT") == of(before["published"], "BTCUSDT")
    eth_09 = candles([daily("ETHUSDT", "09")])
    assert of(after["published"], "ETHUSDT") == of(before["published"], "ETHUSDT") | eth_09
    # only the healthy series was backtested; step 2's runs are all still there
    assert set(before["runs"]) <= set(after["runs"])
    assert {r[1] for r in set(after["runs"]) - set(before["runs"])} == {"ETHUSDT"}
    assert after["working"] == before["working"] + 12
    # the webhook heard about every run, the last one as a failure naming the test
    assert [n["success"] for n in lake.notifications] == [True, True, True, False]
    assert "silver_klines_ohlc_consistent" in lake.notifications[-1]["text"]


def test_each_run_parses_the_project_once(lake: Lake) -> None:
    """The run's dbt commands (parse, build of the models, data tests) share one parse: dbt
    logs its parse (full or partial) in one invocation only."""
    for step in ("backfill", "daily", "defect"):
        invocations = lake.dbt_logs[step].split("Running with dbt=")[1:]
        parsed = [i for i in invocations if "partial parsing" in i.lower()]
        assert (len(invocations), len(parsed)) == (3, 1), step
    # the next runs of the lake kept the parse its first run saved
    assert "Unable to do partial parsing" not in lake.dbt_logs["daily"]
    assert lake.dbt_logs["again"] == ""  # nothing new: dbt never ran


def test_publication_rows_of_a_finished_run_say_how_it_ended(lake: Lake) -> None:
    summary = lake.summaries["daily"]
    conn = connect(lake.settings)
    try:
        rows = conn.execute(
            "select stage, summary from hermes_publications where flow_run = ? order by stage",
            [summary.flow_run],
        ).fetchall()
    finally:
        conn.close()
    import json

    assert [stage for stage, _ in rows] == ["data", "results"]
    for _, body in rows:
        recorded = json.loads(body)
        assert recorded["status"] == "published"
        assert recorded["runs"] == summary.runs and len(recorded["runs"]) == 2 * ACTIVE
        assert recorded["published_snapshot"] == summary.published_snapshot
