"""The klines client against the fake exchange (a real local HTTP server, bundled candles)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hermes.live.client import (
    CandleError,
    ExchangeError,
    KlinesClient,
    RetryableError,
    base_url,
    validate,
)
from hermes.live.fake_exchange import FakeExchange, Faults, ManualClock, load_bundled

STEP = 4 * 3600 * 1000
BTC = load_bundled("BTCUSDT", "4h")
LAST = int(BTC.open_time[-1])  # 2026-01-06 12:00


@pytest.fixture
def exchange() -> Iterator[FakeExchange]:
    with FakeExchange({("BTCUSDT", "4h"): BTC}, ManualClock(LAST + STEP)) as fake:
        yield fake


def test_only_closed_candles_are_returned(exchange: FakeExchange) -> None:
    client = KlinesClient(exchange.url)
    exchange.clock.set(LAST + STEP // 2)  # type: ignore[attr-defined]  # the last bar is forming
    now = client.server_time()
    assert now == LAST + STEP // 2
    candles = client.closed_candles("BTCUSDT", "4h", after=LAST - 3 * STEP, server_time=now)
    # the forming bar (served by the API, as Binance does) is left out
    assert [c.open_time for c in candles] == [LAST - 2 * STEP, LAST - STEP]
    assert (candles[-1].open, candles[-1].close) == tuple(BTC.ohlcv[-2][[0, 3]])
    exchange.clock.set(LAST + STEP)  # type: ignore[attr-defined]
    closed = client.closed_candles("BTCUSDT", "4h", after=LAST - STEP, server_time=LAST + STEP)
    assert [c.close for c in closed] == [93826.28]
    client.close()


def test_pages_through_a_long_catch_up(exchange: FakeExchange) -> None:
    client = KlinesClient(exchange.url)
    after = LAST - 2500 * STEP
    candles = client.closed_candles("BTCUSDT", "4h", after=after, server_time=LAST + STEP)
    times = [c.open_time for c in candles]
    expected = [int(t) for t in BTC.open_time if t > after]  # the exchange's own gaps kept
    assert times == expected and len(times) > 2000


def test_rate_limit_is_retried_after_the_exchange_says(exchange: FakeExchange) -> None:
    exchange.faults.rate_limited["BTCUSDT"] = 2
    client = KlinesClient(exchange.url)
    before = exchange.requests
    candles = client.closed_candles("BTCUSDT", "4h", after=LAST - STEP, server_time=LAST + STEP)
    assert len(candles) == 1 and exchange.requests - before == 3
    exchange.faults.rate_limited["BTCUSDT"] = 10
    with pytest.raises(RetryableError, match=r"GET /api/v3/klines: HTTP 429"):
        client.closed_candles("BTCUSDT", "4h", after=LAST - STEP, server_time=LAST + STEP)
    assert exchange.faults.rate_limited["BTCUSDT"] == 6  # four attempts, then given up


def test_malformed_candle_names_series_and_candle() -> None:
    faults = Faults(malformed={("BTCUSDT", "4h", LAST)})
    with FakeExchange({("BTCUSDT", "4h"): BTC}, ManualClock(LAST + STEP), faults) as fake:
        client = KlinesClient(fake.url)
        with pytest.raises(CandleError) as error:
            client.closed_candles("BTCUSDT", "4h", after=LAST - STEP, server_time=LAST + STEP)
    assert str(error.value) == (
        "BTCUSDT 4h candle 2026-01-06 12:00: OHLC inconsistent "
        "(open 93839.99 high 93784.3 low 93981.1 close 93826.28)"
    )


def test_missing_and_late_candles() -> None:
    faults = Faults(
        missing={("BTCUSDT", "4h", LAST - STEP)}, late_ms={("BTCUSDT", "4h", LAST): 60_000}
    )
    clock = ManualClock(LAST + STEP)
    with FakeExchange({("BTCUSDT", "4h"): BTC}, clock, faults) as fake:
        client = KlinesClient(fake.url)
        after = LAST - 3 * STEP
        got = client.closed_candles("BTCUSDT", "4h", after=after, server_time=clock.ms)
        assert [c.open_time for c in got] == [LAST - 2 * STEP]  # missing one, late one not yet
        clock.set(LAST + STEP + 60_000)
        got = client.closed_candles("BTCUSDT", "4h", after=after, server_time=clock.ms)
        assert [c.open_time for c in got] == [LAST - 2 * STEP, LAST]
        assert fake.published_ms("BTCUSDT", "4h", LAST) == LAST + STEP + 60_000


def test_unknown_symbol_and_unreachable_api() -> None:
    with FakeExchange({}, ManualClock(LAST)) as fake:
        client = KlinesClient(fake.url)
        with pytest.raises(ExchangeError, match=r"HTTP 400: .*Invalid symbol"):
            client.closed_candles("NOPEUSDT", "4h", after=None, server_time=LAST)
        url = fake.url
    with pytest.raises(RetryableError, match=r"GET /api/v3/time: ConnectionError"):
        KlinesClient(url, timeout=0.5).server_time()


CANDLE = "BTCUSDT 4h candle 2026-01-06 12:00"
ROW = [LAST, "1", "2", "0.5", "1.5", "10", LAST + STEP - 1, "0", 0, "0", "0", "0"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"code": 1}, "BTCUSDT 4h: the klines response is not a list: {'code': 1}"),
        ([[LAST, "1"]], "BTCUSDT 4h: kline #0 is malformed: [1767700800000, '1']"),
        ([[*ROW[:1], "x", *ROW[2:]]], "BTCUSDT 4h: kline #0 is malformed"),
        ([[*ROW[:1], "nan", *ROW[2:]]], "BTCUSDT 4h: kline #0 holds a non-finite number"),
        ([ROW, ROW], "BTCUSDT 4h candle 2026-01-06 12:00: duplicated"),
        (
            [ROW, [LAST - STEP, *ROW[1:6], LAST - 1, *ROW[7:]]],
            "BTCUSDT 4h candle 2026-01-06 08:00: out of order",
        ),
        (
            [[*ROW[:6], LAST + 3_600_000 - 1, *ROW[7:]]],
            "BTCUSDT 4h candle 2026-01-06 12:00: not a 4h candle",
        ),
        (
            [[*ROW[:3], "0", *ROW[4:]]],
            "BTCUSDT 4h candle 2026-01-06 12:00: price 0.0 is not positive",
        ),
        ([[*ROW[:5], "-1", *ROW[6:]]], "BTCUSDT 4h candle 2026-01-06 12:00: negative volume -1.0"),
    ],
)
def test_validation_refuses_bad_rows(rows: object, message: str) -> None:
    with pytest.raises(CandleError) as error:
        validate("BTCUSDT", "4h", rows, after=None)
    assert str(error.value).startswith(message)


def test_base_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HERMES_LIVE_BASE_URL", raising=False)
    assert base_url() == "https://api.binance.com"
    monkeypatch.setenv("HERMES_LIVE_BASE_URL", "http://127.0.0.1:9/")
    assert base_url() == "http://127.0.0.1:9"
    monkeypatch.setenv("HERMES_LIVE_BASE_URL", "ftp://example")
    with pytest.raises(ValueError, match="HERMES_LIVE_BASE_URL must be an http"):
        base_url()
