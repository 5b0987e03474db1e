"""Incremental refresh equals a full rebuild, and no feature looks ahead (real data, dbt).

On the two-step lake with truncated series of :mod:`fixtures.refreshed_lake`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from fixtures.lake_reads import read_frame
from fixtures.refreshed_lake import SPLIT

from hermes.config import Settings
from hermes.lake import connect

NOT_FEATURES = ["ingested_at"]
INCREMENTAL = ("gold_features", "gold_recursive_indicators", "gold_ml_features")
"""The incremental models compared with the lake built at once (every interval is an ML one)."""


def _assert_same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Bit-identical frames, window sums included: DuckDB computes every window frame from
    its own rows (``hermes.lake.WINDOW_MODE``), whatever other series the query holds."""
    assert list(actual.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(actual, expected, check_exact=True)


Refreshed = tuple[Settings, dict[str, Any]]


@pytest.fixture
def refreshed(refreshed_lake: Refreshed) -> Refreshed:
    return refreshed_lake


def test_incremental_refresh_equals_full_rebuild(
    refreshed: Refreshed, built_lake: Settings
) -> None:
    settings, info = refreshed
    models = {n.name: n.status for n in info["nodes"]}
    assert models["gold_features"] == models["gold_ml_features"] == "success"
    query = (
        "select * exclude (ingested_at) from {table} where symbol in ('BTCUSDT', 'ETHUSDT') "
        "order by symbol, interval, open_time"
    )
    for table in INCREMENTAL:
        incremental = read_frame(settings, query.format(table=table))
        full = read_frame(built_lake, query.format(table=table))
        assert len(full) == len(incremental) > 40_000
        assert (incremental["open_time"] >= pd.Timestamp(SPLIT)).sum() > 2_000
        _assert_same(incremental, full)


def test_refresh_writes_only_new_bars(refreshed: Refreshed) -> None:
    settings, info = refreshed
    for table in INCREMENTAL:
        conn = connect(settings)
        try:
            changes = conn.execute(
                """
                select change_type, symbol, interval, count(*), min(open_time)
                from lake.table_changes(?, ?, ?)
                group by all order by all
                """,
                [table, info["first"] + 1, info["last"]],
            ).fetchall()
            new_bars = conn.execute(
                "select symbol, interval, count(*), min(open_time) from silver_klines "
                "where open_time >= ? and symbol in ('BTCUSDT', 'ETHUSDT') "
                "group by all order by all",
                [SPLIT],
            ).fetchall()
        finally:
            conn.close()
        # the refresh only inserted the new bars of the refreshed series, and deleted nothing
        assert changes == [("insert", *row) for row in new_bars], table


def test_no_feature_looks_ahead(refreshed: Refreshed) -> None:
    settings, info = refreshed
    cuts: dict[str, tuple[str, str]] = info["cuts"]
    assert len(cuts) >= 20
    store = read_frame(
        settings, "select * from gold_feature_store order by symbol, interval, open_time"
    )
    assert "mtf_confluence" in store.columns and "momentum_score_20" in store.columns
    compared = 0
    for cut_symbol, (symbol, t) in cuts.items():
        for interval in ("4h", "1d"):
            truncated = store[(store.symbol == cut_symbol) & (store.interval == interval)]
            if truncated.empty:
                continue
            last = truncated.iloc[-1]
            if interval == "4h":
                assert last["open_time"] == pd.Timestamp(t)
            full = store[
                (store.symbol == symbol)
                & (store.interval == interval)
                & (store.open_time == last["open_time"])
            ]
            assert len(full) == 1
            columns = [c for c in store.columns if c not in ("symbol", *NOT_FEATURES)]
            _assert_same(
                truncated.iloc[[-1]][columns].reset_index(drop=True),
                full[columns].reset_index(drop=True),
            )
            compared += 1
    assert compared >= 40


def test_higher_timeframe_uses_the_last_closed_daily_candle(refreshed: Refreshed) -> None:
    settings, _ = refreshed
    bars = read_frame(
        settings,
        """
        select store.open_time, store.close_time, store.htf_open_time, store.htf_rsi_14
        from gold_feature_store as store
        where symbol = 'BTCUSDT' and interval = '4h'
        order by open_time
        """,
    )
    daily = read_frame(
        settings,
        """
        select open_time, close_time, rsi_14
        from gold_features where symbol = 'BTCUSDT' and interval = '1d' order by open_time
        """,
    )
    expected = pd.merge_asof(
        bars[["close_time"]],
        daily,
        left_on="close_time",
        right_on="close_time",
        direction="backward",
    )
    pd.testing.assert_series_equal(bars["htf_open_time"], expected["open_time"], check_names=False)
    pd.testing.assert_series_equal(bars["htf_rsi_14"], expected["rsi_14"], check_names=False)
    # a bar never sees a daily candle that closes after it
    after = bars["htf_open_time"] + pd.Timedelta(days=1) - pd.Timedelta(milliseconds=1)
    assert after.notna().sum() > 18_000
    assert (after[after.notna()] <= bars.loc[after.notna(), "close_time"]).all()
    # the 20:00 bar closes with its day; the 00:00 bar sees the previous day only
    assert (
        bars.loc[bars.open_time.dt.hour == 20, "htf_open_time"].dt.date
        == bars.loc[bars.open_time.dt.hour == 20, "open_time"].dt.date
    ).all()
