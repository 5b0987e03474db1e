"""The live path against the fake exchange: the bundled candles' last days, replayed.

Shared by ``hermes live --fake-exchange`` and the Prefect flow ``hermes-live``
(``fake_exchange=True``): the engine starts warm from the lake's history before the replayed
days, the fake exchange (a real local HTTP server) publishes the bundled candles of those
days on a compressed clock, and the engine steps at each bar close as it does against the
real API. Its live store and feed files go to ``<lake>/live/replay``; the lake is not
written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from hermes.config import Settings
from hermes.live.client import KlinesClient
from hermes.live.engine import LiveEngine, run_forever, utc
from hermes.live.fake_exchange import CompressedClock, FakeExchange, load_bundled
from hermes.live.sources import SeriesKey
from hermes.live.store import replay_output

DEFAULT_SERIES = [(s, i) for s in ("BTCUSDT", "ETHUSDT") for i in ("4h", "1d")]


def replay_bundled(
    settings: Settings,
    series: list[SeriesKey] | None,
    *,
    days: int,
    speed: float,
    max_steps: int | None,
    announce: Callable[[str], None] = print,
) -> int:
    """Replay the last ``days`` of the bundled candles of ``series`` (default: the bundled
    ones) through the live path; returns 1 if a step raised an alert, else 0."""
    series = series or DEFAULT_SERIES
    data = {key: load_bundled(*key) for key in series}
    last = max(int(d.open_time[-1]) for d in data.values())
    start = last - days * 86_400_000
    clock = CompressedClock(start, speed)
    output = replay_output(settings)
    bars = max_steps or int(timedelta(days=days) / timedelta(hours=4))
    with FakeExchange(data, clock) as exchange:
        client = KlinesClient(exchange.url)
        try:
            engine = LiveEngine(
                settings, client, series=series, until=utc(start), output=output, sync=False
            )
            clock.started = time.monotonic()  # the clock starts once warm
            announce(
                f"hermes live: replaying {days} days of {len(series)} series from the fake "
                f"exchange at {exchange.url} ({speed:g}x); feed files under {output.lake_root}"
            )
            return run_forever(
                engine, max_steps=bars, grace_seconds=1.0,
                seconds_until=lambda close, _: clock.real_seconds_until(close),
            )  # fmt: skip
        finally:
            client.close()
