"""A fake exchange: a real local HTTP server answering ``/api/v3/time`` and ``/api/v3/klines``
as Binance does, from real candles (the bundled ``data/binance-ohlcv`` files), on a clock the
caller controls.

The clock is injected (:class:`ManualClock` for tests, which move time without sleeping;
:class:`CompressedClock` for the benchmark, where an hour passes in seconds). A candle is
published at its close (``close_time + 1 ms``), and the klines answer also carries the candle
still forming, as Binance's does, so a client that does not filter it would be caught.

Faults (:class:`Faults`) make the exchange misbehave on purpose: a candle that is never
published (an outage), one published late, HTTP 429 answers with ``Retry-After``, and a
malformed row.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from hermes.config import PROJECT_ROOT
from hermes.intervals import interval_seconds

BUNDLED = PROJECT_ROOT / "data" / "binance-ohlcv"
logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
SeriesKey = tuple[str, str]
CandleKey = tuple[str, str, int]  # symbol, interval, open time (epoch ms)


class Clock(Protocol):
    def now_ms(self) -> int: ...


@dataclass
class ManualClock:
    """Time that moves only when told to (tests: no sleeping)."""

    ms: int

    def now_ms(self) -> int:
        return self.ms

    def set(self, ms: int) -> None:
        self.ms = ms


@dataclass
class CompressedClock:
    """Exchange time starting at ``start_ms`` and running ``speed`` times faster than real time."""

    start_ms: int
    speed: float
    started: float = field(default_factory=time.monotonic)

    def now_ms(self) -> int:
        return self.start_ms + int((time.monotonic() - self.started) * self.speed * 1000)

    def real_time_of(self, ms: int) -> float:
        """The ``time.monotonic()`` at which exchange time is ``ms``."""
        return self.started + (ms - self.start_ms) / 1000 / self.speed

    def real_seconds_until(self, ms: int) -> float:
        """Real seconds until exchange time ``ms``."""
        return self.real_time_of(ms) - time.monotonic()


@dataclass
class Faults:
    """What the exchange gets wrong on purpose."""

    missing: set[CandleKey] = field(default_factory=set)
    """Candles never published (the exchange's outage)."""
    late_ms: dict[CandleKey, int] = field(default_factory=dict)
    """Candles published this long after their close."""
    rate_limited: dict[str, int] = field(default_factory=dict)
    """Symbol -> how many of its next klines requests answer HTTP 429."""
    retry_after: str = "0.05"
    malformed: set[CandleKey] = field(default_factory=set)
    """Candles served with a high below their low."""


@dataclass
class SeriesData:
    """One series' candles, oldest first: open time (epoch ms) and OHLCV."""

    open_time: np.ndarray
    ohlcv: np.ndarray  # (n, 5) float64


def load_bundled(symbol: str, interval: str, folder: Path = BUNDLED) -> SeriesData:
    """A bundled ``<symbol>_<interval>.csv.gz`` file (timestamp, open, high, low, close, volume)."""
    with gzip.open(folder / f"{symbol}_{interval}.csv.gz", "rt") as handle:
        _, *lines = handle.read().splitlines()
    stamps = np.array([line.split(",", 1)[0] for line in lines], dtype="datetime64[ms]")
    values = np.array([[float(v) for v in line.split(",")[1:6]] for line in lines])
    return SeriesData(stamps.astype(np.int64), values)


def _number(value: float) -> str:
    """A price as Binance writes it (a decimal string), exact for the double read back."""
    return repr(float(value))


class FakeExchange:
    """The server; ``url`` is its base URL. Use as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        series: dict[SeriesKey, SeriesData],
        clock: Clock,
        faults: Faults | None = None,
        *,
        on_request: Callable[[str], None] | None = None,
    ) -> None:
        self.series = series
        self.clock = clock
        self.faults = faults or Faults()
        self.on_request = on_request
        self.requests = 0
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeExchange:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def published_ms(self, symbol: str, interval: str, open_time: int) -> int:
        """When the candle becomes available at the API (exchange time, epoch ms)."""
        step = interval_seconds(interval) * 1000
        return open_time + step + self.faults.late_ms.get((symbol, interval, open_time), 0)

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.requests += 1
        if self.on_request is not None:
            self.on_request(request.path)
        if request.path == "/api/v3/time":
            response = _json({"serverTime": self.clock.now_ms()})
        elif request.path == "/api/v3/klines":
            response = self._klines(request.args)
        else:
            response = _json({"code": -1, "msg": "not found"}, 404)
        return response(environ, start_response)

    def _klines(self, args: Any) -> Response:
        symbol, interval = args.get("symbol", ""), args.get("interval", "")
        data = self.series.get((symbol, interval))
        if data is None:
            return _json({"code": -1121, "msg": "Invalid symbol."}, 400)
        with self._lock:
            left = self.faults.rate_limited.get(symbol, 0)
            if left > 0:
                self.faults.rate_limited[symbol] = left - 1
                response = _json({"code": -1003, "msg": "Too many requests."}, 429)
                response.headers["Retry-After"] = self.faults.retry_after
                return response
        now = self.clock.now_ms()
        step = interval_seconds(interval) * 1000
        limit = min(int(args.get("limit", 500)), 1000)
        times = data.open_time
        visible = times <= now  # published, or the one still forming
        start = args.get("startTime")
        if start is not None:
            visible &= times >= int(start)
        rows = []
        for i in np.flatnonzero(visible):
            key = (symbol, interval, int(times[i]))
            closed = times[i] + step <= now
            if key in self.faults.missing or (
                closed and self.published_ms(*key) > now and key in self.faults.late_ms
            ):
                continue
            rows.append(self._row(key, data.ohlcv[i], step))
        rows = rows[:limit] if start is not None else rows[-limit:]
        return _json(rows)

    def _row(self, key: CandleKey, ohlcv: np.ndarray, step: int) -> list[Any]:
        open_, high, low, close, volume = (float(v) for v in ohlcv)
        if key in self.faults.malformed:
            high, low = low, high
        open_time = key[2]
        return [
            open_time,
            _number(open_),
            _number(high),
            _number(low),
            _number(close),
            _number(volume),
            open_time + step - 1,
            "0",
            0,
            "0",
            "0",
            "0",
        ]


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
