"""The pieces of per-series isolation that need no flow: attribution, stranded results, the
universe seed."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from hermes.config import Settings
from hermes.dbt_runner import NodeResult
from hermes.flows.audit import Audit, attribute_tests, failing_series
from hermes.flows.resume import recorded_runs, stranded_targets
from hermes.lake import connect
from hermes.publication import Publication
from hermes.universe import UniverseError, active_symbols, delistings, load_universe

FAILING_OHLC = (
    'select symbol, interval, open_time from "lake"."main"."silver_klines" where high < close'
)


def _node(name: str, status: str, sql: str) -> NodeResult:
    return NodeResult(name, "test", status, "Got 1 result", 0.1, sql)


def test_failing_tests_are_attributed_to_the_series_of_their_rows(
    lake_settings: Settings,
) -> None:
    conn = connect(lake_settings)
    try:
        conn.execute(
            "create table silver_klines as select * from (values "
            "('BTCUSDT', '4h', 1, 2.0, 3.0), ('ETHUSDT', '1d', 2, 5.0, 4.0), "
            "('ETHUSDT', '1d', 3, 1.0, 9.0)) as t(symbol, interval, open_time, high, close)"
        )
    finally:
        conn.close()
    reader = connect(lake_settings, read_only=True)
    try:
        assert failing_series(reader, FAILING_OHLC) == [("BTCUSDT", "4h"), ("ETHUSDT", "1d")]
        # rows naming no series, SQL that raises, no SQL: global
        assert failing_series(reader, 'select high from "lake"."main"."silver_klines"') is None
        assert failing_series(reader, "select error('half a strategy')") is None
        assert failing_series(reader, "") is None
    finally:
        reader.close()
    audit = Audit()
    attribute_tests(
        lake_settings,
        [
            _node("silver_klines_ohlc_consistent", "fail", FAILING_OHLC),
            _node("strategies_have_signal_models", "error", FAILING_OHLC),
            _node("silver_klines_one_row_per_candle", "pass", ""),
        ],
        audit,
    )
    assert audit.passed == 1
    assert audit.reasons() == {
        ("BTCUSDT", "4h"): "dbt test silver_klines_ohlc_consistent",
        ("ETHUSDT", "1d"): "dbt test silver_klines_ohlc_consistent",
    }
    # a test in error (not a plain failure) names no series: it blocks the run
    assert audit.blocking == ["strategies_have_signal_models: Got 1 result"]


def _publication(stage: str, summary: dict) -> Publication:
    return Publication(7, datetime(2026, 1, 1), "run", stage, summary)


def test_stranded_targets_are_those_of_a_data_publication_without_results() -> None:
    body = {
        "partitions": ["BTCUSDT/4h", "ETHUSDT/4h", "ETHUSDT/1d", "XRPUSDT/4h"],
        "held": ["XRPUSDT/4h: gx silver_freshness: too old"],
        "runs": [],
    }
    assert stranded_targets(_publication("data", body), ["4h"]) == [
        ("BTCUSDT", "4h"),
        ("ETHUSDT", "4h"),
    ]
    assert stranded_targets(_publication("results", body), ["4h"]) == []
    assert stranded_targets(_publication("data", body | {"runs": ["bt-1"]}), ["4h"]) == []
    assert stranded_targets(None, ["4h"]) == []


def test_recorded_runs_of_a_lake_without_backtests(lake_settings: Settings) -> None:
    conn = connect(lake_settings)
    try:
        assert recorded_runs(conn, 1, [("BTCUSDT", "4h")]) == ([], [])
        assert recorded_runs(conn, 1, []) == ([], [])
    finally:
        conn.close()


def test_the_universe_seed_lists_the_real_pairs() -> None:
    universe = load_universe()
    assert len(universe) == 21  # 20 pairs at 4h and 1d, BCHUSDT at 1d only
    assert delistings() == {"MATICUSDT": date(2024, 9, 10), "XMRUSDT": date(2024, 2, 20)}
    assert "MATICUSDT" not in active_symbols() and len(active_symbols()) == 19
    # on a day before its delisting MATICUSDT still traded; before its listing SOLUSDT did not
    on = active_symbols(date(2020, 1, 1))
    assert "MATICUSDT" in on and "XMRUSDT" in on and "SOLUSDT" not in on
    btc = next(x for x in universe if x.symbol == "BTCUSDT")
    assert btc.listed_on == date(2017, 8, 17) and btc.intervals == ("4h", "1d")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("symbol,intervals\nBTCUSDT,4h\n", "columns must be symbol, intervals"),
        (
            "symbol,intervals,listed_on,delisted_on,status\nbtc;drop,4h,2017-08-17,,active\n",
            "row 2: symbol 'btc;drop' is not a pair name",
        ),
        (
            "symbol,intervals,listed_on,delisted_on,status\nBTCUSDT,4h,2017-13-01,,active\n",
            "row 2: listed_on '2017-13-01' is not a YYYY-MM-DD date",
        ),
        (
            "symbol,intervals,listed_on,delisted_on,status\nBTCUSDT,4h,2017-08-17,,delisted\n",
            "row 2: status 'delisted' does not match delisted_on (empty)",
        ),
    ],
)
def test_a_bad_universe_row_is_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "universe.csv"
    path.write_text(text)
    with pytest.raises(UniverseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_universe(path)


def test_a_partial_run_names_what_it_held_back_and_the_steps_that_failed() -> None:
    from hermes.flows.summary import RefreshSummary

    summary = RefreshSummary(
        flow_run="run-1",
        status="partial",
        published_snapshot=12,
        held=["MATICUSDT/4h: dbt test silver_klines_ohlc_consistent"],
        steps_failed=["paper: paper ledger of smart_momentum ETHUSDT 4h differs"],
    )
    assert summary.headline == (
        "hermes refresh PARTIAL: published snapshot 12 (0 file(s) ingested, 0 quarantined, "
        "0 not yet available; 0 backtest run(s)); held back MATICUSDT/4h: dbt test "
        "silver_klines_ohlc_consistent; step paper: paper ledger of smart_momentum ETHUSDT 4h "
        "differs"
    )
    lines = summary.lines()
    assert "  held back: MATICUSDT/4h: dbt test silver_klines_ohlc_consistent" in lines
    assert "  failed step: paper: paper ledger of smart_momentum ETHUSDT 4h differs" in lines
