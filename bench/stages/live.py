"""Stage: live signals, from a candle available at the (fake) exchange to its feed row and
webhook POST.

``build`` makes a lake of synthetic symbols (``bench.synthetic``: ``SYN001USDT``...) at two
intervals: their history is landed as CSV files and built with ``dbt build`` (features,
every rule strategy's signal model). ``measure`` starts the fake exchange (a real local HTTP
server) publishing the following bars on a compressed clock, and the warm live engine on
that lake, which it steps at each bar close as ``hermes live`` does. For each candle:
latency = when the feed files holding its decision were written (and, on steps with an
entry or exit, when the webhook POST returned) minus when the candle became available at
the exchange, both in real time. The process's peak memory is the steady memory bound.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from bench.lakes import use_lake

INTERVALS = {"1h": 3_600_000, "4h": 14_400_000}
START = datetime(2025, 5, 1, tzinfo=UTC)  # history: May-June, live: from July 1st
LIVE_START = datetime(2025, 7, 1, tzinfo=UTC)  # smart_momentum's paper_since: ledgers too
SEED = 20260101


def _frames(symbols: int, live_bars: int) -> dict[tuple[str, str], Any]:
    """Synthetic candles per (symbol, interval): history and the bars published live."""
    from bench.synthetic import load_source_bars, symbol_name, synthetic_frame

    sources = load_source_bars()
    start = int(START.timestamp() * 1000)
    end = int(LIVE_START.timestamp() * 1000) + (live_bars + 1) * INTERVALS["1h"]
    out = {}
    for i in range(1, symbols + 1):
        for interval, step in INTERVALS.items():
            rows = (end - start) // step
            frame = synthetic_frame(sources, i, start, rows, SEED, step)
            out[(symbol_name(i), interval)] = frame
    return out


def _arrays(symbols: int, live_bars: int) -> dict[tuple[str, str], tuple[Any, Any]]:
    """:func:`_frames` as numpy arrays: open times, and open/high/low/close/volume columns."""
    return {
        key: (
            f["open_time"].cast(int).to_numpy(),
            np.column_stack([f[c].to_numpy() for c in ("open", "high", "low", "close", "volume")]),
        )
        for key, f in _frames(symbols, live_bars).items()
    }


def build(work: str, target_path: str, symbols: int, live_bars: int) -> dict[str, Any]:
    """Land the history (before the live start) of every series and run ``dbt build``."""
    import shutil

    from hermes.dbt_runner import run_dbt
    from hermes.ingest import ingest_paths

    lake = Path(work)
    if lake.exists():
        shutil.rmtree(lake)
    settings = use_lake(lake)
    inputs = lake.parent / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    cut = int(LIVE_START.timestamp() * 1000)
    files = []
    for (symbol, interval), frame in _frames(symbols, live_bars).items():
        history = frame.filter(frame["open_time"] < cut)
        stamps = history["open_time"].cast(int).to_numpy().astype("datetime64[ms]")
        lines = ["timestamp,open,high,low,close,volume"]
        columns = [history[c].to_numpy() for c in ("open", "high", "low", "close", "volume")]
        for j, stamp in enumerate(stamps):
            text = str(stamp).replace("T", " ")[:19]
            lines.append(",".join([text, *(repr(float(c[j])) for c in columns)]))
        path = inputs / f"{symbol}_{interval}.csv"
        path.write_text("\n".join(lines) + "\n")
        files.append(path)
    started = time.perf_counter()
    ingest_paths(files, settings)
    run_dbt(
        ["build", "--exclude", "path:models/gold/ml", "gold_signals_ml_lightgbm"],
        settings,
        target_path=Path(target_path),
    )
    return {"seconds": time.perf_counter() - started, "series": len(files)}


def measure(
    work: str, target_path: str, symbols: int, live_bars: int, speed: float
) -> dict[str, Any]:
    """Step the warm live engine at each bar close of the fake exchange; latency per candle."""
    from hermes.live.client import KlinesClient
    from hermes.live.engine import LiveEngine, next_close_ms, utc
    from hermes.live.fake_exchange import CompressedClock, FakeExchange, SeriesData

    # the synthetic candles are made in a child process: the generator's libraries (polars)
    # are the bench's, not the live process's, and would otherwise count in its memory
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as child:
        arrays = child.submit(_arrays, symbols, live_bars).result()
    data = {key: SeriesData(times, values) for key, (times, values) in arrays.items()}
    import shutil

    from hermes.config import Settings

    settings = use_lake(Path(work))
    output = Path(work).parent / "live-output"  # the live store and feed files, fresh each run
    shutil.rmtree(output, ignore_errors=True)
    start = int(LIVE_START.timestamp() * 1000)
    clock = CompressedClock(start, speed)
    feed: list[float] = []
    posted: list[float] = []
    stages: dict[str, list[float]] = {}
    with FakeExchange(data, clock) as exchange, _webhook() as url:
        client = KlinesClient(exchange.url)
        started = time.perf_counter()
        engine = LiveEngine(
            settings, client, series=sorted(data), until=utc(start), webhook_url=url,
            target_path=Path(target_path), sync=False, output=Settings(lake_root=output),
        )  # fmt: skip
        startup = time.perf_counter() - started
        clock.started = time.monotonic()
        steps = 0
        for _ in range(live_bars):
            close = next_close_ms(engine.series, clock.now_ms())
            time.sleep(max(0.0, clock.real_seconds_until(close)) + 0.005)
            report = engine.step(now=time.monotonic)
            steps += 1
            for name, seconds in report.stages.items():
                stages.setdefault(name, []).append(seconds)
            written = report.feed_written_at
            if written is None:
                continue
            for key in report.landed:
                last = engine.warm.last_open_ms(key)
                assert last is not None
                available = clock.real_time_of(exchange.published_ms(*key, last))
                feed.append(written - available)
                if report.posted_at is not None:
                    posted.append(report.posted_at - available)
        client.close()
        steady = _rss_mb()
    return {
        "series": len(data),
        "strategies": [s.strategy_id for s in engine.warm.strategies],
        "steps": steps,
        "candles": len(feed),
        "startup_seconds": startup,
        "feed_latency": _percentiles(feed),
        "webhook_latency": _percentiles(posted),
        "stage_seconds": {k: _percentiles(v) for k, v in stages.items()},
        "steady_rss_mb": steady,
    }


def _rss_mb() -> float:
    """The process's resident memory now (after the steps: the steady state), in MB."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def _webhook() -> Iterator[str]:
    """A local endpoint accepting the webhook's POSTs (a real peer, as a chat service is)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    array = np.asarray(values)
    return {
        "p50": float(np.percentile(array, 50)),
        "p99": float(np.percentile(array, 99)),
        "max": float(array.max()),
        "n": float(len(array)),
    }
