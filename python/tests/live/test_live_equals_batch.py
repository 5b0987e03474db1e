"""Live == batch: 14 days of 4h bars of BTCUSDT and ETHUSDT replayed through the live path.

The live engine starts warm from the built lake's history before the replay's first bar,
then the fake exchange (a real HTTP server) publishes the bundled candles of the last 14 days
one bar close at a time, on an injected clock (nothing sleeps). Each step's features,
signals, feed decisions and paper ledger are compared with what the batch computed from the
same candles (``dbt build`` of the bundled lake, the paper ledger of ``compute_ledgers`` and
``hermes paper --verify``), exactly: same bits, same orders, same equity.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from fixtures.webhook_server import webhook
from live_helpers import STEP_MS, SYMBOLS, assert_same_bits, batch_features

from hermes.backtest.config import BacktestConfig
from hermes.backtest.engine import simulate
from hermes.config import Settings
from hermes.lake import pinned
from hermes.live.client import KlinesClient
from hermes.live.engine import LiveEngine, StepReport, utc
from hermes.live.fake_exchange import FakeExchange, ManualClock, SeriesData
from hermes.paper.activation import activation_of
from hermes.paper.feed import FINGERPRINT, compute_feed, decide
from hermes.paper.ledger import compute_ledgers, extend_ledgers
from hermes.paper.verify import verify_ledgers
from hermes.signals.registry import list_strategies
from hermes.signals.source import SignalSource

pytestmark = pytest.mark.untraced  # every line it runs, other files measure (fixtures/children.py)

DAYS = 14


@dataclass
class Replay:
    engine: LiveEngine
    reports: list[StepReport]
    first_bar: Any
    ledger: duckdb.DuckDBPyConnection
    posts: list[dict]


@pytest.fixture(scope="module")
def replay(
    built_lake: Settings,
    features_sql: dict[str, str],
    bundled_4h: dict[tuple[str, str], SeriesData],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Replay]:
    series = bundled_4h
    last_open = int(series[("BTCUSDT", "4h")].open_time[-1])
    first_open = last_open - DAYS * 86_400_000
    clock = ManualClock(first_open)
    live_lake = Settings(lake_root=tmp_path_factory.mktemp("live") / "lake")
    with FakeExchange(series, clock) as exchange, webhook() as (url, posts):
        client = KlinesClient(exchange.url)
        engine = LiveEngine(
            built_lake, client, series=list(series), sync=False, until=utc(first_open),
            features_sql=features_sql, webhook_url=url, output=live_lake,
        )  # fmt: skip
        ledger = duckdb.connect()
        reports = []
        for open_ms in range(first_open, last_open + 1, STEP_MS):
            clock.set(open_ms + STEP_MS)  # the bar's close: it is published now
            report = engine.step()
            extend_ledgers(ledger, report.ledgers, snapshot=engine.snapshot)
            reports.append(report)
        yield Replay(engine, reports, utc(first_open), ledger, posts)
        client.close()


def _batch(reader: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> pa.Table:
    return reader.execute(sql, params).to_arrow_table()


def test_every_bar_is_landed_once_and_on_its_own_close(replay: Replay) -> None:
    bars = DAYS * 6 + 1
    assert len(replay.reports) == bars
    for report in replay.reports:
        assert report.landed == {(s, "4h"): 1 for s in SYMBOLS}
        assert report.alerts == []
        # every active strategy x series (the ML one is experimental here: test_live_ml.py)
        assert len(report.feed) == 3 * len(SYMBOLS)
        assert {r["open_time"] for r in report.feed} == {report.server_time - timedelta(hours=4)}


def test_features_equal_the_batch_bit_for_bit(replay: Replay, built_lake: Settings) -> None:
    for key in [(s, "4h") for s in SYMBOLS]:
        live = replay.engine.warm.features(key)
        live = live.filter(pa.compute.greater_equal(live.column("open_time"), replay.first_bar))
        batch = batch_features(built_lake, key, replay.first_bar)
        assert live.num_rows == DAYS * 6 + 1
        assert_same_bits(live, batch)


def test_signals_equal_the_batch(replay: Replay, built_lake: Settings) -> None:
    with pinned(built_lake) as (reader, _):
        for strategy in replay.engine.warm.strategies:
            table = f"gold_signals_{strategy.strategy_id}"
            # every column but ingested_at: when the candle landed (API vs archive), no decision
            sql = (
                f"select * exclude (ingested_at) from {table} "  # noqa: S608
                "where interval = '4h' and open_time >= ? order by symbol, open_time"
            )
            live = replay.engine.warm.conn.execute(sql, [replay.first_bar]).to_arrow_table()
            batch = _batch(reader, sql, [replay.first_bar])
            assert live.num_rows == 2 * (DAYS * 6 + 1)
            assert live.to_pylist() == batch.to_pylist(), strategy.strategy_id
    assert {s.strategy_id for s in replay.engine.warm.strategies} == {
        "smart_momentum", "donchian_breakout", "bollinger_reversion",
    }  # fmt: skip


def test_feed_decisions_equal_the_batch_on_every_bar(replay: Replay, built_lake: Settings) -> None:
    live = {
        (r["strategy_id"], r["symbol"], r["open_time"]): r
        for report in replay.reports
        for r in report.feed
    }
    decided = 0
    with pinned(built_lake) as (reader, snapshot):
        for strategy in list_strategies(reader):
            if strategy.strategy_id not in {s.strategy_id for s in replay.engine.warm.strategies}:
                continue
            source = SignalSource(reader, strategy, "gold_feature_store")
            activation = activation_of(strategy)
            config = activation.config if activation else BacktestConfig()
            for symbol in SYMBOLS:
                series = source.series(symbol, "4h", end=None, parameters=strategy.parameters)
                sim = simulate(series.prices, series.entries, series.exits, config)
                for i in np.flatnonzero(series.open_time >= np.datetime64(replay.first_bar)):
                    row = live[(strategy.strategy_id, symbol, series.open_time[i].astype(object))]
                    held = bool(sim.position[i] > 0)
                    expected = decide(held, bool(series.entries[i]), bool(series.exits[i]))
                    assert (row["decision"], row["position_before"]) == (expected, float(held))
                    assert row["price"] == series.prices["close"][i]
                    decided += row["decision"] != "hold"
        # the last step's feed is the batch's feed, field for field (but when it was computed)
        batch = compute_feed(reader, snapshot=snapshot, now=replay.reports[-1].server_time)
    last = {(r["strategy_id"], r["symbol"]): r for r in replay.reports[-1].feed}
    skip = {"snapshot_id", "computed_at", FINGERPRINT}  # the batch's bookkeeping
    for row in [r for r in batch if r["interval"] == "4h"]:
        if (row["strategy_id"], row["symbol"]) in last:
            ours = last[(row["strategy_id"], row["symbol"])]
            assert {k: v for k, v in ours.items() if k not in skip} == {
                k: v for k, v in row.items() if k not in skip
            }
    assert decided > 0  # the replay does enter and exit
    assert len(replay.posts) == sum(1 for r in replay.reports if r.decisions)
    assert all(p["details"]["decisions"] for p in replay.posts)


def test_paper_orders_equal_the_batch_and_verify(replay: Replay, built_lake: Settings) -> None:
    with pinned(built_lake) as (reader, snapshot):
        batch = compute_ledgers(reader, snapshot=snapshot)
        verdicts = verify_ledgers(replay.ledger, reader, snapshot=snapshot)
    assert {(v.strategy_id, v.symbol) for v in verdicts} == {("smart_momentum", s) for s in SYMBOLS}
    assert all(v.difference is None for v in verdicts), [v.line for v in verdicts]
    for ledger in batch:
        sid, _, symbol, interval = ledger.key
        where = "strategy_id = ? and symbol = ? and interval = ?"
        for table, expected in (("orders", ledger.orders), ("equity", ledger.equity)):
            live = replay.ledger.execute(
                f"select * exclude (snapshot_id) from gold_paper_{table} where {where} "  # noqa: S608
                "order by all",
                [sid, symbol, interval],
            ).to_arrow_table()
            assert live.num_rows == expected.num_rows > 0
            assert (
                live.to_pylist()
                == expected.sort_by([(c, "ascending") for c in expected.column_names])
                .select(live.column_names)
                .to_pylist()
            ), (table, symbol)
    extended = replay.ledger.execute(
        "select symbol, count(*) from gold_paper_equity where open_time >= ? group by symbol "
        "order by symbol",
        [replay.first_bar],
    ).fetchall()
    assert extended == [(s, DAYS * 6 + 1) for s in SYMBOLS]  # one ledger row per replayed bar
    orders = replay.ledger.execute("select count(*) from gold_paper_orders").fetchone()
    assert orders is not None and orders[0] > 0


def test_feed_files_hold_the_last_decisions(replay: Replay) -> None:
    path = Path(replay.engine.settings.storage_root) / "signals" / "feed.csv"
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + 3 * len(SYMBOLS)
    assert all(
        f"{replay.reports[-1].feed[0]['open_time'].isoformat()}" in line for line in lines[1:]
    )
