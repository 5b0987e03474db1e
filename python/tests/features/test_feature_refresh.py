"""Incremental refresh equals a full rebuild, and no feature looks ahead (real data, dbt).

On the two-step lake with truncated series of :mod:`fixtures.refreshed_lake`, and on a copy
of the bundled lake whose BTCUSDT 4h file is landed again with fewer candles.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fixtures.lake_reads import read_frame, read_frames
from fixtures.refreshed_lake import SPLIT

from hermes.config import Settings
from hermes.dbt_runner import run_dbt
from hermes.ingest import ingest_paths
from hermes.lake import connect
from hermes.quality.checkpoint import run_checkpoint
from hermes.signals.registry import list_strategies, signal_model

pytestmark = pytest.mark.untraced  # every line it runs, other files measure (fixtures/children.py)

NOT_FEATURES = ["ingested_at"]
INCREMENTAL = ("gold_features", "gold_recursive_indicators", "gold_ml_features")
"""The incremental models compared with the lake built at once (every interval is an ML one)."""
NEW_BARS_ONLY = (
    *INCREMENTAL,
    "gold_features_test_momentum_score",
    "gold_features_test_vol_adjusted_rsi",
)
"""The incremental models a refresh of new bars only inserts rows into."""
REWRITTEN = ("gold_ml_labels", "gold_features_test_mtf_confluence")
"""The incremental models whose last rows a new bar changes: a label looks ahead up to its
horizon; a 4h bar's daily candle may be the one the new bars start."""
COMPARED = (*NEW_BARS_ONLY, *REWRITTEN)
SIGNALS = tuple(signal_model(s.strategy_id) for s in list_strategies())
"""The signal models, incremental over the changed series' new bars too."""


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
        "order by all"
    )
    queries = {table: query.format(table=table) for table in COMPARED}
    incrementals, fulls = read_frames(settings, queries), read_frames(built_lake, queries)
    for table in COMPARED:
        incremental, full = incrementals[table], fulls[table]
        assert len(full) == len(incremental) > 18_000, table
        assert (incremental["open_time"] >= pd.Timestamp(SPLIT)).sum() > 2_000
        _assert_same(incremental, full)


def test_refresh_writes_only_new_bars(refreshed: Refreshed) -> None:
    settings, info = refreshed
    assert {"gold_signals_smart_momentum", "gold_signals_ml_lightgbm"} <= set(SIGNALS)
    conn = connect(settings)
    try:
        new_bars = conn.execute(
            "select symbol, interval, count(*), min(open_time) from silver_klines "
            "where open_time >= ? and symbol in ('BTCUSDT', 'ETHUSDT') "
            "group by all order by all",
            [SPLIT],
        ).fetchall()
        assert len(new_bars) == 4  # both symbols, 4h and 1d
        for table in (*NEW_BARS_ONLY, *SIGNALS):
            changes = conn.execute(
                """
                select change_type, symbol, interval, count(*), min(open_time)
                from lake.table_changes(?, ?, ?)
                group by all order by all
                """,
                [table, info["first"] + 1, info["last"]],
            ).fetchall()
            # the refresh only inserted the new bars of the refreshed series, deleted nothing
            assert changes == [("insert", *row) for row in new_bars], table
    finally:
        conn.close()


def test_refresh_rewrites_only_the_bars_that_change(refreshed: Refreshed) -> None:
    """Besides the new bars, a refresh writes again the labels of the last `horizon` bars
    before them (their horizon reaches the new bars) and the 4h bars of the day before them
    (a new daily candle may align onto them), and nothing else."""
    settings, info = refreshed
    split = pd.Timestamp(SPLIT)
    bars = read_frame(
        settings,
        "select symbol, interval, open_time from silver_klines "
        "where symbol in ('BTCUSDT', 'ETHUSDT') order by all",
    )
    rewritten = {
        "gold_ml_labels": bars[bars.open_time < split].groupby(["symbol", "interval"]).tail(6),
        "gold_features_test_mtf_confluence": bars[
            (bars.interval == "4h")
            & (bars.open_time < split)
            & (bars.open_time >= split - pd.Timedelta(days=1))
        ],
    }
    for table, old in rewritten.items():
        expected = []
        for (symbol, interval), rows in old.groupby(["symbol", "interval"]):
            new = bars[(bars.symbol == symbol) & (bars.interval == interval)]
            new = new[new.open_time >= split]
            assert len(rows) == 6 and len(new) > 100
            first = rows.open_time.min().to_pydatetime()
            expected += [
                ("delete", symbol, interval, len(rows), first),
                ("insert", symbol, interval, len(rows) + len(new), first),
            ]
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
        finally:
            conn.close()
        assert changes == sorted(expected), table


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


SHRUNK = "BTCUSDT_4h.csv.gz"
"""The bundled file landed again (same name: it replaces its own rows) with fewer candles."""
EXPERIMENTAL = (
    "gold_features_test_momentum_score",
    "gold_features_test_vol_adjusted_rsi",
    "gold_features_test_mtf_confluence",
)
FOLLOWERS = (*INCREMENTAL, "gold_ml_labels", *EXPERIMENTAL, "gold_ml_predictions", *SIGNALS)
"""Every incremental model that follows silver_klines through the changed-series cursor."""
NOT_REBUILT = ["ingested_at", "snapshot_id"]
"""When a row was landed or written: the only columns a rebuild may change."""


def _models(settings: Settings, where: str) -> dict[str, pd.DataFrame]:
    """Each follower's rows of the series ``where`` selects (every column), in key order."""
    return read_frames(
        settings,
        {table: f"select * from {table} where {where} order by all" for table in FOLLOWERS},  # noqa: S608
    )


def _land_again(
    settings: Settings, folder: Path, keep: Callable[[list[str]], list[str]], name: str
) -> int:
    """Land the bundled file ``name`` again holding ``keep`` of its rows; rows kept."""
    from fixtures.refreshed_lake import BUNDLED, _write

    with gzip.open(BUNDLED / name, "rt") as handle:
        header, *rows = handle.read().splitlines()
    kept = keep(rows)
    folder.mkdir(exist_ok=True)
    report = ingest_paths(_write(folder / name, header, kept), settings)
    assert report.ok and report.rows_ingested == len(kept)
    return len(kept)


def _other_close(rows: list[str], index: int) -> list[str]:
    """``rows`` with the close of row ``index`` set to its open (inside its high-low range)."""
    fields = rows[index].split(",")
    fields[4] = fields[1]
    assert fields[4] != rows[index].split(",")[4]
    return [*rows[:index], ",".join(fields), *rows[index + 1 :]]


@pytest.mark.parametrize(
    ("name", "case", "keep"),
    [
        (SHRUNK, "last 30 days", lambda rows: rows[-30 * 6 :]),
        (SHRUNK, "one candle removed in the middle", lambda rows: rows[:9_000] + rows[9_001:]),
        (SHRUNK, "one candle landed again with another close", lambda r: _other_close(r, 9_000)),
        (
            "BTCUSDT_1d.csv.gz",
            "daily: the last 30 days, one with another close",
            lambda rows: _other_close(rows[-30:], 10),
        ),
    ],
)
def test_candles_landed_again_equal_a_full_rebuild(
    built_lake_copy: Settings,
    tmp_path: Path,
    name: str,
    case: str,
    keep: Callable[[list[str]], list[str]],
) -> None:
    settings, target = built_lake_copy, tmp_path / "target"
    interval = name.removesuffix(".csv.gz").split("_")[1]
    # a daily candle reaches the 4h bars aligned onto it (gold_features_test_mtf_confluence)
    touched = "symbol = 'BTCUSDT'" + (" and interval = '4h'" if interval == "4h" else "")
    others = f"not ({touched})"
    before = _models(settings, others)
    kept = _land_again(settings, tmp_path / "inputs", keep, name)
    selection = ["--select", "+gold_ml_predictions", *EXPERIMENTAL, *SIGNALS]
    run_dbt(["run", *selection], settings, target_path=target)
    series = f"symbol = 'BTCUSDT' and interval = '{interval}'"
    incremental = _models(settings, touched)
    silver = read_frame(settings, f"select open_time from silver_klines where {series} order by 1")  # noqa: S608
    assert len(silver) == kept, case
    # the rows of the other series are untouched (landing time and write included)
    for table, frame in _models(settings, others).items():
        _assert_same(frame, before[table])
    # a checkpoint of the series passes: no row of a removed candle, no spurious null
    quality = run_checkpoint(
        settings,
        tables=["gold_features"],
        docs_dir=tmp_path / "docs",
        partitions=[("BTCUSDT", interval)],
    )
    assert quality.failures == (), case
    assert quality.statistics["gold_features"] == kept
    landed = incremental["gold_features"].query(f"interval == '{interval}'")
    # every bar but the first has its previous bar (the bug left NULLs here)
    assert landed["return_1"].notna().sum() == kept - 1
    run_dbt(["run", "--full-refresh", "--select", *FOLLOWERS], settings, target_path=target)
    full = _models(settings, touched)
    for table in FOLLOWERS:
        rows = incremental[table]
        if table != "gold_features_test_mtf_confluence" or interval == "4h":
            landed = rows[rows["interval"] == interval]
            assert landed["open_time"].isin(silver["open_time"]).all(), table
            assert len(landed) == kept, table  # one row per candle left, none of a removed one
        _assert_same(
            rows.drop(columns=NOT_REBUILT, errors="ignore"),
            full[table].drop(columns=NOT_REBUILT, errors="ignore"),
        )
