"""The Prefect flow ``hermes-live`` against the session's Prefect server and the fake exchange.

The flow replays the last bundled day of ETHUSDT 4h from the local fake exchange (a real HTTP
server, compressed clock) on a copy of the built lake, for two bar closes: the run completes,
every live strategy's feed row is a replayed bar at its real close, and the operator's status
names the series without an error. A failing step fails the run.
"""

from __future__ import annotations

import csv
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from hermes.config import Settings
from hermes.flows.live import live_signals
from hermes.live.fake_exchange import load_bundled
from hermes.live.store import LiveStore, replay_output


@pytest.fixture
def lake_copy(built_lake: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    root = tmp_path / "lake"
    shutil.copytree(built_lake.lake_root, root, symlinks=True)
    monkeypatch.setenv("HERMES_LAKE_ROOT", str(root))
    return Settings(lake_root=root)


def test_the_flow_replays_bars_into_the_feed(lake_copy: Settings) -> None:
    state = live_signals(
        symbols=["ETHUSDT"], intervals=["4h"], fake_exchange=True, replay_days=1,
        max_steps=2, speed=50_000.0, return_state=True,
    )  # fmt: skip
    assert state.is_completed(), state
    assert state.result() == 0
    bundled = load_bundled("ETHUSDT", "4h")
    closes = dict(zip(bundled.open_time.tolist(), bundled.ohlcv[:, 3].tolist(), strict=True))
    first_replayed = int(bundled.open_time[-1]) - 86_400_000
    output = replay_output(lake_copy)
    with open(Path(output.storage_root) / "signals" / "feed.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["strategy_id"] for r in rows) == [
        "bollinger_reversion", "donchian_breakout", "smart_momentum",
    ]  # fmt: skip
    for row in rows:
        opened = int(np.datetime64(datetime.fromisoformat(row["open_time"]), "ms").astype(int))
        assert (row["symbol"], row["interval"]) == ("ETHUSDT", "4h")
        assert opened >= first_replayed - 4 * 3_600_000
        assert float(row["price"]) == closes[opened]  # the real candle's close
    status = LiveStore(output).read_status()
    assert status is not None
    assert status["series"]["ETHUSDT 4h"].get("last_error") is None
    assert status["series"]["ETHUSDT 4h"]["last_closed_bar"] == rows[0]["open_time"].replace(
        "T", " "
    )
