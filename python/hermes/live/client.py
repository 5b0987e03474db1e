"""Closed candles from Binance's public REST market-data API (``/api/v3/klines``).

The exchange's own REST endpoint rather than ccxt: two GET endpoints are all live signals
need, the response carries every field the archives carry (close time, quote volume,
trades, taker volumes, so API and archive candles compare field for field), and the fake
exchange of the tests serves exactly that format.

* No API key: market data is public; nothing secret is read or stored.
* Base URL from ``HERMES_LIVE_BASE_URL`` (default Binance's public API).
* Only **closed** candles: a candle whose close time has not passed the exchange's server
  time (``/api/v3/time``) is the one still forming and is never returned.
* Bounded retries with exponential backoff (tenacity) on timeouts, connection errors, HTTP
  5xx and the rate limits 429/418, waiting what the ``Retry-After`` header says (capped:
  one series never holds the others past the latency budget).
* Every response is validated (:func:`validate`): a malformed, out-of-order, duplicated,
  wrong-interval, zero-price or OHLC-inconsistent candle raises :class:`CandleError` with one
  line naming the series and the candle; the caller alerts and skips that series.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from hermes.intervals import interval_seconds

BASE_URL_ENV = "HERMES_LIVE_BASE_URL"
DEFAULT_BASE_URL = "https://api.binance.com"
TIMEOUT_SECONDS = 5.0
ATTEMPTS = 4
MAX_WAIT_SECONDS = 2.0
"""Longest wait between two attempts, whatever ``Retry-After`` asks (the latency budget)."""
KLINES_LIMIT = 1000  # Binance's maximum per request
FIELDS = 12


class ExchangeError(RuntimeError):
    """The API could not be reached or refused the request (after the retries)."""


class RetryableError(ExchangeError):
    """A failure worth retrying (timeout, connection, HTTP 429/418/5xx)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CandleError(ValueError):
    """A candle the API returned that cannot be used (named, with the series)."""


@dataclass(frozen=True)
class Candle:
    """One closed kline, in the archives' units (epoch milliseconds, floats as given)."""

    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    close_time: int
    quote_asset_volume: float
    number_of_trades: int
    taker_buy_base_asset_volume: float
    taker_buy_quote_asset_volume: float

    @property
    def opened(self) -> datetime:
        return datetime.fromtimestamp(self.open_time / 1000, UTC).replace(tzinfo=None)


def base_url() -> str:
    """``HERMES_LIVE_BASE_URL`` or Binance's public API, without a trailing slash."""
    url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{BASE_URL_ENV} must be an http(s) URL, not {url!r}")
    return url.rstrip("/")


def _wait(state: RetryCallState) -> float:
    """``Retry-After`` when the exchange gave one, else exponential backoff; both capped."""
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    if isinstance(error, RetryableError) and error.retry_after is not None:
        return min(error.retry_after, MAX_WAIT_SECONDS)
    return float(wait_exponential(multiplier=0.05, max=MAX_WAIT_SECONDS)(state))


class KlinesClient:
    """A client of ``/api/v3/time`` and ``/api/v3/klines`` (one HTTP session, kept alive)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        timeout: float = TIMEOUT_SECONDS,
        attempts: int = ATTEMPTS,
        session: requests.Session | None = None,
    ) -> None:
        self.url = (url or base_url()).rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self._get = retry(
            retry=retry_if_exception_type(RetryableError),
            stop=stop_after_attempt(attempts),
            wait=_wait,
            reraise=True,
        )(self._get_once)

    def close(self) -> None:
        self.session.close()

    def _get_once(self, path: str, params: dict[str, Any]) -> Any:
        where = f"GET {path}"
        try:
            response = self.session.get(self.url + path, params=params, timeout=self.timeout)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise RetryableError(f"{where}: {type(exc).__name__}") from None
        if response.status_code in (418, 429) or response.status_code >= 500:
            raise RetryableError(
                f"{where}: HTTP {response.status_code}", _retry_after(response.headers)
            )
        if response.status_code != 200:
            raise ExchangeError(f"{where}: HTTP {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError:
            raise ExchangeError(f"{where}: the response is not JSON") from None

    def server_time(self) -> int:
        """The exchange's clock, epoch milliseconds."""
        body = self._get("/api/v3/time", {})
        if not isinstance(body, dict) or not isinstance(body.get("serverTime"), int):
            raise ExchangeError(f"GET /api/v3/time: no integer serverTime in {str(body)[:100]}")
        return int(body["serverTime"])

    def closed_candles(
        self, symbol: str, interval: str, *, after: int | None, server_time: int
    ) -> list[Candle]:
        """Closed candles of the series opening after ``after`` (epoch ms; None: the latest
        page), validated, up to ``server_time``; pages until the forming candle is reached."""
        out: list[Candle] = []
        step = interval_seconds(interval) * 1000
        start = None if after is None else after + step
        while True:
            params: dict[str, Any] = {"symbol": symbol, "interval": interval}
            params["limit"] = KLINES_LIMIT
            if start is not None:
                params["startTime"] = start
            rows = self._get("/api/v3/klines", params)
            page = validate(symbol, interval, rows, after=after if not out else out[-1].open_time)
            closed = [c for c in page if c.close_time < server_time]
            out += closed
            if len(rows) < KLINES_LIMIT or len(closed) < len(page) or not closed:
                return out
            start = closed[-1].open_time + step


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


def validate(symbol: str, interval: str, rows: Any, *, after: int | None) -> list[Candle]:
    """The klines of one response as candles, checked; :class:`CandleError` names the first bad
    one (series and open time) and what is wrong with it."""
    series = f"{symbol} {interval}"
    if not isinstance(rows, list):
        raise CandleError(f"{series}: the klines response is not a list: {str(rows)[:80]}")
    step = interval_seconds(interval) * 1000
    out: list[Candle] = []
    previous = after
    for index, row in enumerate(rows):
        candle = _candle(series, index, row)
        where = f"{series} candle {candle.opened:%Y-%m-%d %H:%M}"
        if previous is not None and candle.open_time == previous:
            raise CandleError(f"{where}: duplicated (the same open time twice)")
        if previous is not None and candle.open_time < previous:
            raise CandleError(f"{where}: out of order (opens before the previous candle)")
        if candle.close_time - candle.open_time != step - 1 or candle.open_time % step:
            raise CandleError(f"{where}: not a {interval} candle (close time or alignment)")
        prices = (candle.open, candle.high, candle.low, candle.close)
        if min(prices) <= 0:
            raise CandleError(f"{where}: price {min(prices)} is not positive")
        if candle.high < max(candle.open, candle.close) or candle.low > min(
            candle.open, candle.close
        ):
            raise CandleError(
                f"{where}: OHLC inconsistent (open {candle.open} high {candle.high} "
                f"low {candle.low} close {candle.close})"
            )
        if candle.volume < 0:
            raise CandleError(f"{where}: negative volume {candle.volume}")
        out.append(candle)
        previous = candle.open_time
    return out


def _candle(series: str, index: int, row: Any) -> Candle:
    if not isinstance(row, list) or len(row) < FIELDS - 1:
        raise CandleError(f"{series}: kline #{index} is malformed: {str(row)[:80]}")
    try:
        open_time, close_time, trades = int(row[0]), int(row[6]), int(row[8])
        numbers = [float(row[i]) for i in (1, 2, 3, 4, 5, 7, 9, 10)]
    except (TypeError, ValueError):
        raise CandleError(f"{series}: kline #{index} is malformed: {str(row)[:80]}") from None
    if not all(math.isfinite(n) for n in numbers) or isinstance(row[0], bool):
        raise CandleError(f"{series}: kline #{index} holds a non-finite number: {str(row)[:80]}")
    o, h, low, c, v, quote, taker_base, taker_quote = numbers
    return Candle(open_time, o, h, low, c, v, close_time, quote, trades, taker_base, taker_quote)
