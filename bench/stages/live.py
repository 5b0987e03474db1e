"""Stage: live signals, from a candle at the fake exchange (a local server on a compressed
clock) to its feed row and webhook POST, the warm engine stepped at each bar close."""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from bench.lakes import build as build_lake
from bench.lakes import use_lake
from bench.measure import stopwatch
from bench.stages.daily_job import serving
from bench.synthetic import SyntheticSpec

START = int(datetime(2025, 5, 1, tzinfo=UTC).timestamp() * 1000)  # history: May-June
LIVE_START = int(datetime(2025, 7, 1, tzinfo=UTC).timestamp() * 1000)  # = paper_since
OHLCV = ("open", "high", "low", "close", "volume")


def _frames(symbols: int, live_bars: int) -> dict[tuple[str, str], Any]:
    """Synthetic candles per (symbol, interval): history and the bars published live."""
    end = LIVE_START + (live_bars + 1) * 3_600_000
    specs = [SyntheticSpec(symbols, "2025-05", "2025-06", interval) for interval in ("1h", "4h")]
    return {(name, spec.interval): spec.frame(i, (end - START) // spec.step_ms)
            for spec in specs for i, name in enumerate(spec.symbol_names(), 1)}  # fmt: skip


def _arrays(symbols: int, live_bars: int) -> dict[tuple[str, str], tuple[Any, Any]]:
    """:func:`_frames` as numpy arrays (open times; open/high/low/close/volume)."""
    return {key: (f["open_time"].to_numpy(), f.select(OHLCV).to_numpy())
            for key, f in _frames(symbols, live_bars).items()}  # fmt: skip


def build(work: str, target_path: str, symbols: int, live_bars: int) -> dict[str, Any]:
    """Land the history (before the live start) of every series and run ``dbt build``."""
    import polars as pl

    folder = Path(work).parent / "inputs"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    stamp = pl.from_epoch("open_time", time_unit="ms").dt.strftime("%Y-%m-%d %H:%M:%S")
    for (symbol, interval), frame in _frames(symbols, live_bars).items():
        history = frame.filter(pl.col("open_time") < LIVE_START)
        history.select(stamp.alias("timestamp"), *OHLCV).write_csv(
            folder / f"{symbol}_{interval}.csv"
        )
    dbt_build = ["build", "--exclude", "path:models/gold/ml", "gold_signals_ml_lightgbm"]
    return build_lake(work, target_path, [str(folder)], [dbt_build])


def measure(work: str, target_path: str, symbols: int, live_bars: int, speed: float) -> Any:
    """Step the warm live engine at each bar close of the fake exchange; latency per candle."""
    from hermes.config import Settings
    from hermes.live.client import KlinesClient
    from hermes.live.engine import LiveEngine, next_close_ms, utc
    from hermes.live.fake_exchange import CompressedClock, FakeExchange, SeriesData

    # the candles are made in a child process: the generator's libraries (polars) are the
    # bench's, not the live process's, and would otherwise count in its memory
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as child:
        arrays = child.submit(_arrays, symbols, live_bars).result()
    data = {key: SeriesData(times, values) for key, (times, values) in arrays.items()}
    settings = use_lake(work)
    output = Path(work).parent / "live-output"  # the live store and feed files, fresh each run
    shutil.rmtree(output, ignore_errors=True)
    clock, feed, posted = CompressedClock(LIVE_START, speed), [], []
    stages: dict[str, list[float]] = {}
    with FakeExchange(data, clock) as exchange, serving() as url:
        client, elapsed = KlinesClient(exchange.url), stopwatch()
        engine = LiveEngine(
            settings, client, series=sorted(data), until=utc(LIVE_START),
            webhook_url=f"{url}/hook", target_path=Path(target_path), sync=False,
            output=Settings(lake_root=output),
        )  # fmt: skip
        startup, clock.started = elapsed(), time.monotonic()
        for _ in range(live_bars):
            close = next_close_ms(engine.series, clock.now_ms())
            time.sleep(max(0.0, clock.real_seconds_until(close)) + 0.005)
            report = engine.step(now=time.monotonic)
            for name, seconds in report.stages.items():
                stages.setdefault(name, []).append(seconds)
            if report.feed_written_at is None:
                continue
            for key in report.landed:
                last = engine.warm.last_open_ms(key)
                assert last is not None
                available = clock.real_time_of(exchange.published_ms(*key, last))
                feed.append(report.feed_written_at - available)
                if report.posted_at is not None:
                    posted.append(report.posted_at - available)
        client.close()
        steady = psutil.Process().memory_info().rss / 2**20
    return {
        "series": len(data), "strategies": [s.strategy_id for s in engine.warm.strategies],
        "steps": live_bars, "candles": len(feed), "startup_seconds": startup,
        "feed_latency": _percentiles(feed), "webhook_latency": _percentiles(posted),
        "stage_seconds": {k: _percentiles(v) for k, v in stages.items()},
        "steady_rss_mb": steady,
    }  # fmt: skip


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    p50, p99 = np.percentile(values, [50, 99])
    return {"p50": float(p50), "p99": float(p99), "max": float(max(values)), "n": len(values)}
