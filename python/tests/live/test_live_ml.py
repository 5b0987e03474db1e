"""The ML strategy in the live path: live == batch, and a block without its model held back.

A copy of the built bundled lake with ``ml_lightgbm`` active and paper traded (what
``dbt seed`` writes once its row of ``seeds/strategies.csv`` says so) is replayed through
the live path across the first bar of the series' last walk-forward block (bar 18,000 of
the bundled 4h series: ``ml_retrain_every`` 500), on an injected clock. The bars'
predictions, ML signals, feed decisions, webhook posts and paper ledger equal what the batch
built from the same candles, bit for bit. Then the same replay with BTCUSDT's block model
not recorded yet (the daily refresh has not trained it): one alert names the series, its
ML is held back while everything else carries on, and once the block's model is recorded
the held bars are predicted and followed again, still equal to the batch.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from fixtures.webhook_server import webhook
from live_helpers import STEP_MS, SYMBOLS

from hermes.backtest.engine import simulate
from hermes.config import Settings
from hermes.lake import connect, pinned
from hermes.live.client import KlinesClient
from hermes.live.engine import LiveEngine, StepReport, utc
from hermes.live.fake_exchange import FakeExchange, ManualClock, SeriesData
from hermes.paper.activation import activation_of
from hermes.paper.feed import decide
from hermes.paper.ledger import compute_ledgers, extend_ledgers
from hermes.paper.verify import verify_ledgers
from hermes.signals.registry import load_strategy
from hermes.signals.source import SignalSource

ML = "ml_lightgbm"
PAPER = '{"intervals": ["4h"], "fees": 0.001, "slippage": 0.0005}'
PREDICTIONS = (
    "select symbol, interval, open_time, block_start, probability_up, model_version "
    "from gold_ml_predictions where interval = '4h' and open_time >= ? and open_time < ? "
    "order by all"
)
SIGNALS = (  # every column but ingested_at: when the candle landed, no decision
    "select * exclude (ingested_at) from gold_signals_ml_lightgbm where interval = '4h' "
    "and open_time >= ? and open_time < ? order by all"
)
BEFORE, AFTER = 6, 4
"""Bars replayed before the block's first bar, and from it on: the ML strategy enters
ETHUSDT on the first, exits it on the block's first bar, and enters BTCUSDT on the last."""


@dataclass
class Replay:
    engine: LiveEngine
    reports: list[StepReport]
    first_bar: datetime
    block: datetime
    lake: Settings
    posts: list[dict]
    ledger: duckdb.DuckDBPyConnection


def ml_lake(built_lake: Settings, folder: Path) -> Settings:
    """A copy of the built lake where the ML strategy is active and paper traded."""
    root = folder / "lake"
    shutil.copytree(built_lake.lake_root, root, symlinks=True)
    settings = Settings(lake_root=root)
    conn = connect(settings)
    try:
        conn.execute(
            "update strategies set status = 'active', paper_since = '2025-10-01', "
            "paper_capital = 10000, paper_config = ? where strategy_id = ?",
            [PAPER, ML],
        )
    finally:
        conn.close()
    return settings


def last_block(settings: Settings) -> datetime:
    """The first bar of BTCUSDT 4h's last walk-forward block, checked to be bar 18,000."""
    with pinned(settings) as (reader, _):
        row = reader.execute(
            "select max(block_start) from gold_ml_predictions "
            "where symbol = 'BTCUSDT' and interval = '4h'"
        ).fetchone()
        assert row is not None
        bars = reader.execute(
            "select count(*) from gold_ml_features where symbol = 'BTCUSDT' and interval = '4h' "
            "and open_time < ?",
            [row[0]],
        ).fetchone()
    assert bars == (36 * 500,)  # blocks count bars from the series' first
    return row[0]


def replay(
    lake: Settings,
    series: dict[tuple[str, str], SeriesData],
    features_sql: dict[str, str],
    output: Path,
    block: datetime,
    before_step: Callable[[datetime], None] = lambda bar: None,
) -> Replay:
    """The live path started warm before the replayed bars around ``block`` (the first bar
    of a walk-forward block), then stepped at each close."""
    block_ms = int((block - datetime(1970, 1, 1)) / timedelta(milliseconds=1))
    first_ms = block_ms - BEFORE * STEP_MS
    clock = ManualClock(first_ms)
    with FakeExchange(series, clock) as exchange, webhook() as (url, posts):
        client = KlinesClient(exchange.url)
        try:
            engine = LiveEngine(
                lake, client, series=list(series), sync=False, until=utc(first_ms),
                features_sql=features_sql, webhook_url=url, output=Settings(lake_root=output),
            )  # fmt: skip
            ledger = duckdb.connect()
            reports = []
            for open_ms in range(first_ms, block_ms + AFTER * STEP_MS, STEP_MS):
                before_step(utc(open_ms))
                clock.set(open_ms + STEP_MS)  # the bar's close: it is published now
                report = engine.step()
                extend_ledgers(ledger, report.ledgers, snapshot=engine.snapshot)
                reports.append(report)
        finally:
            client.close()
    return Replay(engine, reports, utc(first_ms), block, lake, posts, ledger)


@pytest.fixture(scope="module")
def active(
    built_lake: Settings,
    features_sql: dict[str, str],
    bundled_4h: dict[tuple[str, str], SeriesData],
    tmp_path_factory: pytest.TempPathFactory,
) -> Replay:
    folder = tmp_path_factory.mktemp("ml_active")
    lake = ml_lake(built_lake, folder)
    return replay(lake, bundled_4h, features_sql, folder / "out", last_block(lake))


def _rows(conn: duckdb.DuckDBPyConnection, sql: str, since: datetime) -> list[dict[str, Any]]:
    """The rows of the replayed bars from ``since`` on."""
    until = since + timedelta(hours=4 * (BEFORE + AFTER))
    return conn.execute(sql, [since, until]).to_arrow_table().to_pylist()


def _bits(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows with each float as its bits (NaN and -0.0 compared exactly)."""
    return [
        tuple(np.float64(v).view(np.int64) if isinstance(v, float) else v for v in r.values())
        for r in rows
    ]


def batch_decisions(lake: Settings, since: datetime) -> dict[tuple[str, Any], tuple[str, float]]:
    """(symbol, bar) -> the ML strategy's feed decision and position before it, from the
    batch's signals simulated over the whole history (as the feed simulates them)."""
    out = {}
    with pinned(lake) as (reader, _):
        strategy = load_strategy(ML, conn=reader)
        source = SignalSource(reader, strategy, "gold_feature_store")
        config = activation_of(strategy).config  # type: ignore[union-attr]
        for symbol in SYMBOLS:
            series = source.series(symbol, "4h", end=None, parameters=strategy.parameters)
            sim = simulate(series.prices, series.entries, series.exits, config)
            for i in np.flatnonzero(series.open_time >= np.datetime64(since)):
                held = bool(sim.position[i] > 0)
                decision = decide(held, bool(series.entries[i]), bool(series.exits[i]))
                out[(symbol, series.open_time[i].astype(datetime))] = (decision, float(held))
    return out


def test_live_predictions_and_signals_equal_the_batch_bit_for_bit(active: Replay) -> None:
    conn = active.engine.warm.conn
    with pinned(active.lake) as (reader, _):
        for sql, rows in ((PREDICTIONS, 2), (SIGNALS, 2)):
            live = _rows(conn, sql, active.first_bar)
            batch = _rows(reader, sql, active.first_bar)
            assert len(live) == rows * (BEFORE + AFTER)
            assert _bits(live) == _bits(batch)
    blocks = conn.execute(
        "select distinct block_start from live_ml_predictions where open_time >= ? order by all",
        [active.first_bar],
    ).fetchall()
    assert blocks[-1] == (active.block,) and len(blocks) == 2  # the replay crossed a block
    probabilities = [r["probability_up"] for r in _rows(conn, PREDICTIONS, active.first_bar)]
    assert all(p is not None and 0 < p < 1 for p in probabilities)


def test_ml_feed_rows_and_webhook_move_at_each_close(active: Replay) -> None:
    expected = batch_decisions(active.lake, active.first_bar)
    decisions = []
    for report in active.reports:
        assert report.alerts == []
        assert len(report.feed) == 4 * len(SYMBOLS)  # the 3 rule strategies and the ML one
        mine = [r for r in report.feed if r["strategy_id"] == ML]
        assert len(mine) == len(SYMBOLS)
        for row in mine:
            bar = row["open_time"]
            assert bar == report.server_time - timedelta(hours=4)
            assert (row["decision"], row["position_before"]) == expected[(row["symbol"], bar)]
        decisions += [line for line in report.decisions if ML in line]
    made = [line.split(" at the open after ") for line in decisions]
    assert [(what, datetime.fromisoformat(when[:16])) for what, when in made] == [
        (f"{d} {ML} {symbol} 4h", bar)
        for (symbol, bar), (d, _) in sorted(expected.items(), key=lambda x: x[0][::-1])
        if d != "hold" and bar < active.first_bar + timedelta(hours=4 * (BEFORE + AFTER))
    ]
    assert [what for what, _ in made] == [
        f"enter {ML} ETHUSDT 4h", f"exit {ML} ETHUSDT 4h", f"enter {ML} BTCUSDT 4h",
    ]  # fmt: skip
    posted = [line for post in active.posts for line in post["details"]["decisions"]]
    assert [line for line in posted if ML in line] == decisions  # at each bar's close


def test_ml_paper_ledger_equals_the_batch_and_verifies(active: Replay) -> None:
    with pinned(active.lake) as (reader, snapshot):
        end = active.first_bar + timedelta(hours=4 * (BEFORE + AFTER))  # the replay's end
        ledgers = compute_ledgers(reader, snapshot=snapshot, end=end)
        batch = [x for x in ledgers if x.key[0] == ML]
        verdicts = verify_ledgers(active.ledger, reader, snapshot=snapshot)
    assert {(v.strategy_id, v.symbol) for v in verdicts if v.strategy_id == ML} == {
        (ML, s) for s in SYMBOLS
    }
    assert all(v.difference is None for v in verdicts), [v.line for v in verdicts]
    assert len(batch) == len(SYMBOLS)
    for ledger in batch:
        _, _, symbol, _ = ledger.key
        for table, expected in (("orders", ledger.orders), ("equity", ledger.equity)):
            live = active.ledger.execute(
                f"select * exclude (snapshot_id) from gold_paper_{table} "  # noqa: S608
                "where strategy_id = ? and symbol = ? order by all",
                [ML, symbol],
            ).to_arrow_table()
            assert live.num_rows == expected.num_rows > 0
            ordered = expected.sort_by([(c, "ascending") for c in expected.column_names])
            assert live.to_pylist() == ordered.select(live.column_names).to_pylist()


# -- a block whose model the daily refresh has not trained yet


HELD_STEPS = 2
"""Steps of BTCUSDT's block before its model is recorded (the daily refresh ran)."""


@pytest.fixture(scope="module")
def held(
    built_lake: Settings,
    features_sql: dict[str, str],
    bundled_4h: dict[tuple[str, str], SeriesData],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Replay, pa.Table]]:
    folder = tmp_path_factory.mktemp("ml_held")
    lake = ml_lake(built_lake, folder)
    block = last_block(lake)
    where = "symbol = 'BTCUSDT' and interval = '4h' and block_start = ?"
    conn = connect(lake)
    try:  # the lake before the daily refresh trained the block: no row of it
        trained = conn.execute(
            f"select * from gold_ml_predictions where {where}",  # noqa: S608
            [block],
        ).to_arrow_table()
        conn.execute(f"delete from gold_ml_predictions where {where}", [block])  # noqa: S608
    finally:
        conn.close()
    resume = block + timedelta(hours=4 * HELD_STEPS)

    def refresh(bar: datetime) -> None:
        if bar == resume:  # the daily refresh recorded the block's model and predictions
            writer = connect(lake)
            try:
                writer.register("trained", trained)
                writer.execute("insert into gold_ml_predictions select * from trained")
            finally:
                writer.close()

    yield replay(lake, bundled_4h, features_sql, folder / "out", block, refresh), trained


def test_a_block_without_its_model_holds_that_series_ml_back(
    held: tuple[Replay, pa.Table],
) -> None:
    run, _ = held
    steps = {r.server_time - timedelta(hours=4): r for r in run.reports}
    alerts = [(bar, line) for bar, r in steps.items() for line in r.alerts]
    assert alerts == [
        (
            run.block,
            f"hermes live: BTCUSDT 4h: ML held back from the bar {run.block:%Y-%m-%d %H:%M}: "
            "its walk-forward block has no recorded model yet (the daily refresh trains it); "
            f"its ML strategies ({ML}) wait for it on this series, every other strategy "
            "carries on "
            "(series skipped this bar)",
        )
    ]  # one alert, naming the series and the block
    for bar, report in steps.items():
        assert report.landed == {(s, "4h"): 1 for s in SYMBOLS}
        followed = {(r["strategy_id"], r["symbol"]) for r in report.feed}
        is_held = run.block <= bar < run.block + timedelta(hours=4 * HELD_STEPS)
        assert ((ML, "BTCUSDT") not in followed) == is_held
        assert len(followed) == 4 * len(SYMBOLS) - is_held  # the rest carries on
    held_rows = run.engine.warm.conn.execute(
        "select count(*) from live_ml_predictions where symbol = 'BTCUSDT' and open_time >= ?",
        [run.block],
    ).fetchone()
    assert held_rows == (AFTER,)  # the held bars were predicted once the model was there


def test_once_the_model_is_recorded_the_held_series_equals_the_batch(
    held: tuple[Replay, pa.Table],
) -> None:
    run, trained = held
    conn = run.engine.warm.conn
    with pinned(run.lake) as (reader, _):
        for sql in (PREDICTIONS, SIGNALS):
            assert _bits(_rows(conn, sql, run.first_bar)) == _bits(
                _rows(reader, sql, run.first_bar)
            )
    live = conn.execute(
        "select probability_up from live_ml_predictions where symbol = 'BTCUSDT' "
        "and open_time >= ? order by open_time",
        [run.block],
    ).fetchall()
    first = trained.sort_by("open_time").column("probability_up").to_pylist()[:AFTER]
    assert [p for (p,) in live] == first
    expected = batch_decisions(run.lake, run.block)
    resumed = [
        r for report in run.reports for r in report.feed
        if r["strategy_id"] == ML and r["symbol"] == "BTCUSDT" and r["open_time"] >= run.block
    ]  # fmt: skip
    assert len(resumed) == AFTER - HELD_STEPS
    for row in resumed:
        assert (row["decision"], row["position_before"]) == expected[("BTCUSDT", row["open_time"])]
    assert any(r["decision"] == "enter" for r in resumed)


# -- the pieces alone


def _live_ml(recorded: dict[Any, Any], lookup: Any) -> Any:
    from hermes.live.ml import COLUMNS, LiveMl, MlSources

    empty = pa.table({name: pa.array([], pa.string()) for name in COLUMNS})
    sources = MlSources(empty, recorded, lookup)
    return LiveMl(duckdb.connect(), sources, "select 1", [ML])


def test_a_model_of_other_ml_settings_or_an_unreadable_lake_is_not_used() -> None:
    from hermes.live.ml import ml_config

    block = ("BTCUSDT", "4h", datetime(2025, 11, 5, 20))
    other = "0123456789ab-0123456789abcdef"
    assert not other.startswith(ml_config().config_hash())
    ml = _live_ml({block: (other, None)}, lambda wanted: {})
    reason = ml._model(block)
    assert reason == (
        f"the model of its walk-forward block ({other}) was trained with other ml_* settings "
        "(the daily refresh trains it again)"
    )

    def busy(wanted: list[Any]) -> dict[Any, Any]:
        raise duckdb.IOException("Could not set lock on file lake.ducklake")

    ml = _live_ml({}, busy)
    later = ("BTCUSDT", "4h", datetime(2025, 11, 6))
    ml._look_up([later])  # logged, not raised: the block is asked again at the next bar
    assert ml._model(later) == (
        "its walk-forward block has no recorded model yet (the daily refresh trains it)"
    )
    # a block recorded without a model (too few rows): its bars have no probability
    ml = _live_ml({}, lambda wanted: {b: (None, None) for b in wanted})
    ml._look_up([later])
    empty = ml._model(later)
    assert empty.booster is None and empty.model_version is None


def test_lightgbm_is_imported_without_scikit_learn() -> None:
    code = (
        "import sys, numpy as np\n"
        "from hermes.live.ml import import_lightgbm\n"
        "import_lightgbm()\n"
        "import lightgbm as lgb\n"
        "print('sklearn' in sys.modules)\n"
        "x = np.arange(200.0).reshape(100, 2)\n"
        "params = {'objective': 'binary', 'verbosity': -1, 'min_data_in_leaf': 5}\n"
        "booster = lgb.train(params, lgb.Dataset(x, label=x[:, 0] > 99), num_boost_round=3)\n"
        "print(booster.predict(x[:1], num_threads=1)[0] < 0.5)\n"
        "import sklearn\n"  # still importable afterwards
        "print('sklearn' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["False", "True", "True"]
