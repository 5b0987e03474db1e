"""One bad series cannot stop the others; a killed live process resumes and catches up.

The last four 4h bars of the bundled BTCUSDT and ETHUSDT series are published by the fake
exchange (a real HTTP server) on an injected clock; the exchange misbehaves on one series.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from fixtures.webhook_server import webhook
from live_helpers import STEP_MS, SYMBOLS, assert_same_bits, batch_features

from hermes.config import Settings
from hermes.live.client import KlinesClient
from hermes.live.engine import LiveEngine, utc
from hermes.live.fake_exchange import FakeExchange, Faults, ManualClock, SeriesData

BTC, ETH = ("BTCUSDT", "4h"), ("ETHUSDT", "4h")


def _engine(
    lake: Settings, url: str, first: int, out: Path, sql: dict[str, str], hook: str | None = None
) -> LiveEngine:
    return LiveEngine(
        lake, KlinesClient(url), series=[BTC, ETH], sync=False, until=utc(first),
        output=Settings(lake_root=out), features_sql=sql, webhook_url=hook,
    )  # fmt: skip


def test_one_bad_series_is_alerted_and_skipped(
    built_lake: Settings,
    features_sql: dict[str, str],
    bundled_4h: dict[tuple[str, str], SeriesData],
    tmp_path: Path,
) -> None:
    first = int(bundled_4h[BTC].open_time[-1]) - 3 * STEP_MS  # 2026-01-06 00:00
    faults = Faults(malformed={(*ETH, first)})
    clock = ManualClock(first + STEP_MS)
    with FakeExchange(bundled_4h, clock, faults) as exchange, webhook() as (url, posts):
        engine = _engine(built_lake, exchange.url, first, tmp_path / "out", features_sql, url)
        report = engine.step()
        assert report.landed == {BTC: 1}
        line = (
            "ETHUSDT 4h candle 2026-01-06 00:00: OHLC inconsistent (open 3224.99 high 3203.34 "
            "low 3247.3 close 3225.1)"
        )
        assert report.alerts == [f"hermes live: {line} (series skipped this bar)"]
        assert {(r["symbol"], r["open_time"]) for r in report.feed} == {("BTCUSDT", utc(first))}
        assert posts[-1]["success"] is False and line in posts[-1]["text"]
        status = engine.store.read_status()
        assert status is not None
        assert status["series"]["ETHUSDT 4h"]["last_error"] == line
        assert status["series"]["BTCUSDT 4h"]["last_error"] is None
        assert status["series"]["ETHUSDT 4h"]["lag_bars"] == 1

        # the exchange corrects the candle: ETHUSDT catches up both bars at once
        faults.malformed.clear()
        clock.set(first + 2 * STEP_MS)
        report = engine.step()
        assert report.landed == {BTC: 1, ETH: 2} and report.alerts == []
        assert {r["open_time"] for r in report.feed} == {utc(first + STEP_MS)}

        # rate limited past the retries: ETHUSDT alerted and skipped, BTCUSDT carries on
        faults.rate_limited["ETHUSDT"] = 10
        clock.set(first + 3 * STEP_MS)
        report = engine.step()
        assert report.landed == {BTC: 1}
        assert report.alerts == [
            "hermes live: ETHUSDT 4h: GET /api/v3/klines: HTTP 429 (series skipped this bar)"
        ]
        exchange.faults.rate_limited.clear()
    for key in (BTC, ETH):  # what was landed equals the batch, bit for bit
        live = engine.warm.features(key)
        live = live.filter(pa.compute.greater_equal(live.column("open_time"), utc(first)))
        batch = batch_features(built_lake, key, utc(first))
        assert_same_bits(live, batch.slice(0, live.num_rows))


def test_a_killed_process_resumes_from_the_last_landed_bar(
    built_lake: Settings,
    features_sql: dict[str, str],
    bundled_4h: dict[tuple[str, str], SeriesData],
    tmp_path: Path,
) -> None:
    first = int(bundled_4h[BTC].open_time[-1]) - 3 * STEP_MS
    clock = ManualClock(first + STEP_MS)
    out = tmp_path / "out"
    with FakeExchange(bundled_4h, clock) as exchange:
        killed = _engine(built_lake, exchange.url, first, out, features_sql)
        assert killed.step().landed == {BTC: 1, ETH: 1}
        clock.set(first + 2 * STEP_MS)
        assert killed.step().landed == {BTC: 1, ETH: 1}
        del killed  # no shutdown: the store holds what was landed
        clock.set(first + 4 * STEP_MS)  # two more bars closed while it was down
        restarted = _engine(built_lake, exchange.url, first, out, features_sql)
        for key in (BTC, ETH):
            assert restarted.warm.last_open_ms(key) == first + STEP_MS  # from the store
        report = restarted.step()
    assert report.landed == {BTC: 2, ETH: 2}
    assert {r["open_time"] for r in report.feed} == {utc(first + 3 * STEP_MS)}
    for key in (BTC, ETH):
        live = restarted.warm.features(key)
        live = live.filter(pa.compute.greater_equal(live.column("open_time"), utc(first)))
        assert live.num_rows == 4
        assert_same_bits(live, batch_features(built_lake, key, utc(first)))
    stored = restarted.store.candles(BTC)
    assert [c.open_time for c in stored] == [first + i * STEP_MS for i in range(4)]


@pytest.mark.parametrize("symbols", [SYMBOLS])
def test_status_command_reads_the_store(
    symbols: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from hermes.cli import app
    from hermes.cli.app import console
    from hermes.live.store import LiveStore
    from hermes.storage import write_bytes_atomic

    root = tmp_path / "lake"
    monkeypatch.setenv("HERMES_LAKE_ROOT", str(root))
    monkeypatch.setattr(console, "width", 160)
    settings = Settings(lake_root=root)
    write_bytes_atomic(settings, str(settings.catalog_path), b"")  # a lake exists there
    runner = CliRunner()
    result = runner.invoke(app, ["live", "status"])
    assert result.exit_code == 1 and "hermes live has not run" in result.output
    LiveStore(settings).write_status(
        {
            "updated_at": "2026-01-06 16:00:00",
            "pending_lake_sync": True,
            "series": {
                f"{symbols[0]} 4h": {
                    "last_closed_bar": "2026-01-06 12:00:00",
                    "latency_seconds": 0.4,
                    "lag_bars": 0,
                    "last_error": None,
                },
                f"{symbols[1]} 4h": {
                    "last_closed_bar": "2026-01-06 08:00:00",
                    "lag_bars": 1,
                    "last_error": "ETHUSDT 4h: HTTP 429",
                },
            },
        }  # fmt: skip
    )
    result = runner.invoke(app, ["live", "status"])
    assert result.exit_code == 1  # a series is failing
    assert "BTCUSDT 4h" in result.output and "2026-01-06 12:00:00" in result.output
    assert "ETHUSDT 4h: HTTP 429" in result.output and "lake sync pending" in result.output
