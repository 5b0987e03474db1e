"""The signal feed on the built lake, the drift band on synthetic strategies, the orders
document against its schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import jsonschema
import numpy as np
import pytest

from hermes.backtest.config import BacktestConfig
from hermes.backtest.engine import simulate
from hermes.config import Settings
from hermes.lake import pinned
from hermes.paper.broker import SCHEMA_VERSION, PaperBroker, orders_document, schema
from hermes.paper.drift import drift, max_drawdown
from hermes.paper.feed import as_csv, as_json, compute_feed, decide, new_decisions
from hermes.signals.registry import active_strategies, load_strategy
from hermes.signals.source import SignalSource

LAST_4H = datetime(2026, 1, 6, 12)


@pytest.fixture(scope="module")
def feed(built_lake: Settings) -> Iterator[tuple[list[dict], dict]]:
    with pinned(built_lake) as (reader, snapshot):
        now = LAST_4H + timedelta(hours=5)  # one hour after the last 4h bar closed
        rows = compute_feed(reader, snapshot=snapshot, now=now)
        strategy = load_strategy("smart_momentum", conn=reader)
        series = SignalSource(reader, strategy, "gold_feature_store").series(
            "BTCUSDT", "4h", end=None, parameters=strategy.parameters
        )
        yield rows, {"series": series, "snapshot": snapshot}


def test_one_row_per_active_strategy_and_series(feed: tuple[list[dict], dict]) -> None:
    rows, _ = feed
    keys = sorted((r["strategy_id"], r["symbol"], r["interval"]) for r in rows)
    assert keys == sorted(
        (s, sym, i)
        for s in active_strategies()
        for sym in ("BTCUSDT", "ETHUSDT")
        for i in ("1d", "4h")
    )


def test_the_feed_row_is_the_last_bar_as_the_engine_holds_it(
    feed: tuple[list[dict], dict],
) -> None:
    rows, seen = feed
    row = next(
        r
        for r in rows
        if (r["strategy_id"], r["symbol"], r["interval"]) == ("smart_momentum", "BTCUSDT", "4h")
    )
    series = seen["series"]
    assert row["open_time"] == LAST_4H == series.open_time[-1].astype(datetime)
    assert row["close_time"] == LAST_4H + timedelta(hours=4)
    assert row["price"] == 93826.28  # the bundled last close
    flags = json.loads(row["flags"])
    assert flags == {k: bool(v[-1]) for k, v in series.flags.items()}
    assert set(flags) == {"ema_cross", "rsi_neutral", "st_bullish", "st_exit"}
    config = BacktestConfig(fees=0.001, slippage=0.0005, init_cash=10_000.0)  # registry's paper
    held = simulate(series.prices, series.entries, series.exits, config).position[-1] > 0
    assert row["position_before"] == float(held)
    assert row["decision"] == decide(held, series.entries[-1], series.exits[-1])
    assert (row["bar_age_seconds"], row["bar_age_intervals"], row["stale"]) == (3600, 0.25, False)
    day = next(r for r in rows if r["interval"] == "1d")
    assert day["stale"] is False and day["bar_age_intervals"] == pytest.approx(-7 / 24)


def test_decisions() -> None:
    assert decide(False, True, False) == "enter"
    assert decide(True, False, True) == "exit"
    assert decide(True, True, False) == "hold"  # no pyramiding
    assert decide(False, False, True) == "hold"
    assert decide(False, True, True) == "hold"  # both at once: the engine ignores both


def test_new_entries_and_exits_are_the_ones_not_shown_before(
    feed: tuple[list[dict], dict],
) -> None:
    rows, _ = feed
    entered = [{**rows[0], "decision": "enter"}, {**rows[1], "decision": "exit"}, rows[2]]
    before = {(r["strategy_id"], r["symbol"], r["interval"]): r for r in entered[1:2]}
    lines = new_decisions(before, entered)
    assert len(lines) == (1 if rows[2]["decision"] == "hold" else 2)
    assert lines[0].startswith(f"enter {rows[0]['strategy_id']} {rows[0]['symbol']}")


def test_feed_files(feed: tuple[list[dict], dict]) -> None:
    rows, _ = feed
    csv_lines = as_csv(rows).splitlines()
    assert csv_lines[0].startswith("strategy_id,strategy_version,parameters,symbol,interval")
    assert len(csv_lines) == len(rows) + 1
    assert [r["decision"] for r in json.loads(as_json(rows))] == [r["decision"] for r in rows]


def synthetic_equity(returns: np.ndarray) -> np.ndarray:
    return 10_000.0 * np.cumprod(np.r_[1.0, 1.0 + returns])


def test_a_strategy_that_keeps_its_distribution_stays_inside() -> None:
    rng = np.random.default_rng(7)
    returns = rng.normal(0.0005, 0.01, 2000)
    result = drift(synthetic_equity(returns[:1500]), synthetic_equity(returns[1500:1700]))
    assert result.status == "inside", result.reason
    assert result.band_low is not None and result.band_high is not None
    assert result.band_low < result.live_return < result.band_high
    assert (result.live_bars, result.reference_bars) == (200, 1500)


def test_a_strategy_that_drifts_on_purpose_leaves_the_band() -> None:
    rng = np.random.default_rng(7)
    reference = rng.normal(0.0005, 0.01, 1500)
    drifting = rng.normal(-0.004, 0.01, 200)  # the edge turned into a steady loss
    result = drift(synthetic_equity(reference), synthetic_equity(drifting))
    assert result.status == "outside"
    assert "total return" in result.reason and "outside" in result.reason
    assert "max drawdown" in result.reason
    assert result.live_max_drawdown > (result.drawdown_band or 0)


def test_drift_band_is_seeded_and_thin_records_are_insufficient() -> None:
    rng = np.random.default_rng(3)
    reference = synthetic_equity(rng.normal(0.0, 0.01, 500))
    live = synthetic_equity(rng.normal(0.0, 0.01, 50))
    assert drift(reference, live) == drift(reference, live)
    assert drift(reference, live[:2]).status == "insufficient"
    assert drift(np.full(100, 10_000.0), live).status == "insufficient"  # never traded
    assert drift(reference[:20], live).reason.startswith("live record (50 bars) longer")


def test_max_drawdown_by_hand() -> None:
    assert max_drawdown(np.array([[1.0, 1.2, 0.9, 1.3, 1.04]]))[0] == pytest.approx(0.25)


ORDER = {
    "strategy_id": "smart_momentum",
    "paper_since": datetime(2025, 7, 1).date(),
    "symbol": "BTCUSDT",
    "interval": "4h",
    "order_id": 0,
    "decided_at": datetime(2025, 8, 23),
    "filled_at": datetime(2025, 8, 23, 4),
    "side": "buy",
    "order_type": "market",
    "quantity": 0.0864,
    "fill_price": 115626.55,
    "fees": 9.99,
    "snapshot_id": 3,
}


def test_the_orders_document_is_valid_and_versioned() -> None:
    document = orders_document([ORDER])
    jsonschema.validate(document, schema())
    assert (
        document["schema_version"]
        == SCHEMA_VERSION
        == schema()["properties"]["schema_version"]["const"]
    )
    assert document["orders"][0]["filled_at"] == "2025-08-23T04:00:00"
    assert "snapshot_id" not in document["orders"][0]  # lake bookkeeping is not handed over
    broker = PaperBroker()
    assert broker.submit(document) == ["paper-smart_momentum-BTCUSDT-4h-0"]
    assert broker.received == document["orders"]


def test_the_paper_broker_refuses_an_order_outside_the_schema() -> None:
    document = orders_document([{**ORDER, "side": "short"}])
    with pytest.raises(jsonschema.ValidationError, match="'short' is not one of"):
        PaperBroker().submit(document)
