"""``hermes live`` end to end on a copy of the built lake, against the fake exchange.

``--once`` lands a new closed candle and writes the lake (provisional landing file, feed
rows, the paper ledger extended by that bar); run again, it adds nothing.
``--fake-exchange`` replays bundled bars without touching the lake.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

import numpy as np
import pytest
from live_helpers import STEP_MS
from typer.testing import CliRunner

from hermes.cli import app
from hermes.config import Settings
from hermes.dbt_runner import run_dbt
from hermes.ingest import ingest_paths
from hermes.lake import connect
from hermes.live.fake_exchange import BUNDLED, FakeExchange, ManualClock, SeriesData

BTC = ("BTCUSDT", "4h")
NEW_BAR = datetime(2026, 1, 6, 16)


@pytest.fixture(scope="module")
def small_lake(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A lake of the last 600 bundled BTCUSDT and ETHUSDT 4h bars, built (no ML models)."""
    base = tmp_path_factory.mktemp("small")
    settings = Settings(lake_root=base / "lake")
    files = []
    for symbol in ("BTCUSDT", "ETHUSDT"):
        with gzip.open(BUNDLED / f"{symbol}_4h.csv.gz", "rt") as handle:
            header, *lines = handle.read().splitlines()
        path = base / f"{symbol}_4h.csv"
        path.write_text("\n".join([header, *lines[-600:]]) + "\n")
        files.append(path)
    ingest_paths(files, settings)
    run_dbt(
        ["build", "--exclude", "path:models/gold/ml", "gold_signals_ml_lightgbm"],
        settings,
        target_path=base / "target",
    )
    return settings


@pytest.fixture
def lake_copy(small_lake: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("HERMES_LAKE_ROOT", str(small_lake.lake_root))
    yield small_lake


def _rows(settings: Settings, sql: str) -> list[tuple]:
    conn = connect(settings)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_once_lands_a_new_bar_and_syncs_the_lake(
    lake_copy: Settings,
    bundled_4h: dict[tuple[str, str], SeriesData],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = bundled_4h[BTC]
    last = int(data.open_time[-1])
    extra = replace(  # one more bar after the bundled ones, as the exchange would publish it
        data,
        open_time=np.r_[data.open_time, last + STEP_MS],
        ohlcv=np.vstack([data.ohlcv, [93826.28, 94000.0, 93700.0, 93950.5, 250.0]]),
    )
    clock = ManualClock(last + 2 * STEP_MS)
    with FakeExchange({BTC: extra}, clock) as exchange:
        monkeypatch.setenv("HERMES_LIVE_BASE_URL", exchange.url)
        runner = CliRunner()
        first = runner.invoke(app, ["live", "--once", "-s", "BTCUSDT", "-i", "4h"])
        assert first.exit_code == 0, first.output
        again = runner.invoke(app, ["live", "--once", "-s", "BTCUSDT", "-i", "4h"])
        assert again.exit_code == 0, again.output
    assert _rows(
        lake_copy, "select source_file, provider, row_count from landing.files "
        "where provider = 'api'",
    ) == [("api/BTCUSDT/4h/BTCUSDT-4h-2026-01-06", "api", 1)]  # fmt: skip
    feed = _rows(
        lake_copy,
        "select strategy_id, open_time, price from gold_signal_feed "
        "where symbol = 'BTCUSDT' and interval = '4h' order by strategy_id",
    )
    assert feed == [
        (s, NEW_BAR, 93950.5)
        for s in ("bollinger_reversion", "donchian_breakout", "smart_momentum")
    ]
    equity = _rows(
        lake_copy,
        "select max(open_time), count(*), count(distinct open_time) from gold_paper_equity "
        "where strategy_id = 'smart_momentum' and symbol = 'BTCUSDT'",
    )
    assert equity[0][0] == NEW_BAR and equity[0][1] == equity[0][2]  # extended once, no dupes


def test_fake_exchange_replay_leaves_the_lake_alone(lake_copy: Settings) -> None:
    before = _rows(lake_copy, "select count(*) from landing.files")
    result = CliRunner().invoke(
        app,
        ["live", "--fake-exchange", "-s", "ETHUSDT", "-i", "4h", "--replay-days", "1",
         "--max-steps", "2", "--speed", "100000"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "replaying 1 days of 1 series" in result.output
    replay = lake_copy.lake_root / "live" / "replay"
    feed = (replay / "signals" / "feed.csv").read_text().splitlines()
    assert len(feed) == 1 + 3 and all(",ETHUSDT,4h," in line for line in feed[1:])
    assert _rows(lake_copy, "select count(*) from landing.files") == before
    status = CliRunner().invoke(app, ["live", "status", "--replay"])
    assert status.exit_code == 0 and "ETHUSDT 4h" in status.output
