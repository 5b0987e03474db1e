"""A daily run stores only the equity rows that changed; every reader sees whole curves.

The daily backtests run on the lake built in two steps (:mod:`fixtures.refreshed_lake`: the
bundled BTCUSDT and ETHUSDT history up to 2023-03-01, then the rest landed and an incremental
``dbt run``): once as of the first step, once as of the second. Each run of the second names
the first run of its strategy and series as its base and stores only the bars that landed
since; its curve, read back through :func:`hermes.backtest.equity.read_equity`, equals the
whole curve recomputed (and ``hermes reproduce``) bit for bit. A re-landed older candle (a
changed close) stores from that bar on; a curve already read from ``MAX_CHAIN`` runs is
stored whole again. Maintenance keeps every curve; a missing base is an
error, not a shorter curve.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from fixtures.bundled_lake import make_settings

from hermes.backtest import equity, inputs
from hermes.backtest.equity import COMPARED, CURVES_VIEW, read_equity
from hermes.backtest.reproduce import reproduce
from hermes.backtest.request import BacktestRequest, open_request
from hermes.backtest.runs import execute
from hermes.config import Settings
from hermes.flows import backtests
from hermes.flows.backtests import backtest_partitions
from hermes.flows.scale_out import DASK_ADDRESS_ENV
from hermes.lake import connect
from hermes.maintenance import tidy_lake

PARTITIONS = [("BTCUSDT", "4h"), ("ETHUSDT", "4h"), ("ETHUSDT", "1d")]
SPLIT = datetime(2023, 3, 1)  # the first bar of the second step (fixtures.refreshed_lake)
RELANDED = ("BTCUSDT", "4h", 12_000)  # a series and the bar whose candle lands again
Runs = dict[tuple[str, ...], dict[str, Any]]
"""(strategy, symbol, interval) -> a run's row."""


@pytest.fixture
def two_step_lake(
    refreshed_lake: tuple[Settings, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, dict]:
    """A test's own copy of the two-step lake (the shared one is read only)."""
    settings, info = refreshed_lake
    root = tmp_path / "lake"
    shutil.copytree(settings.lake_root, root, symlinks=True)
    monkeypatch.setenv("HERMES_LAKE_ROOT", str(root))
    monkeypatch.setenv("HERMES_TARGET", "local")
    monkeypatch.delenv(DASK_ADDRESS_ENV, raising=False)
    return make_settings(root), info


def _runs(settings: Settings, run_ids: list[str]) -> Runs:
    """(strategy, symbol, interval) -> the runs row of each of ``run_ids`` with the number of
    equity rows it stored."""
    with connect(settings) as conn:
        cursor = conn.execute(
            "select r.*, (select count(*) from gold_backtest_equity as e "
            "where e.run_id = r.run_id) as stored "
            "from gold_backtest_runs as r where list_contains(?, r.run_id)",
            [run_ids],
        )
        names = [d[0] for d in cursor.description or []]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {(r["strategy_id"], r["symbol"], r["interval"]): r for r in rows}


def _bits(table: pa.Table) -> list[np.ndarray]:
    """Every column of an equity curve as exact values (floats as their bits)."""
    out = []
    for name in COMPARED:
        column = table.column(name)
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.timestamp("us"))
        values = column.to_numpy()
        out.append(values.view(np.int64) if values.dtype.kind in "fM" else values)
    return out


def _assert_whole(settings: Settings, runs: Runs, snapshot: int) -> None:
    """Each run's curve as read equals its whole curve recomputed at ``snapshot``, bit for bit."""
    with connect(settings) as conn:
        read = read_equity(conn, [r["run_id"] for r in runs.values()])
    ids = read.column("run_id").to_numpy(zero_copy_only=False)
    for strategy_id in sorted({key[0] for key in runs}):
        with open_request(settings, BacktestRequest(strategy_id), snapshot=snapshot) as opened:
            for data in inputs.whole_series(opened.signals, PARTITIONS):
                run = runs[(strategy_id, data.symbol, data.interval)]
                again = execute(opened.context, data, run_id=run["run_id"]).equity
                mine = read.filter(pa.array(ids == run["run_id"]))
                assert mine.num_rows == again.num_rows == run["rows"]
                for stored, whole in zip(_bits(mine), _bits(again), strict=True):
                    assert np.array_equal(stored, whole)


def test_second_daily_run_stores_only_the_new_bars(two_step_lake: tuple[Settings, dict]) -> None:
    settings, info = two_step_lake
    first = _runs(settings, backtest_partitions(settings, PARTITIONS, info["first"]))
    second = _runs(settings, backtest_partitions(settings, PARTITIONS, info["last"]))
    assert len(first) == len(second) == 3 * len(PARTITIONS)
    for key, run in second.items():
        base = first[key]
        new_bars = run["rows"] - base["rows"]
        assert new_bars > 0 and base["last_open_time"] < SPLIT <= run["last_open_time"]
        assert run["stored"] == new_bars, key
        assert base["stored"] == base["rows"]  # a first run stores its whole curve
    assert sum(r["stored"] for r in second.values()) == 3 * (2 * 6_256 + 1_043)  # 2023-03-01 on
    assert sum(r["stored"] for r in first.values()) == 3 * (2 * 12_115 + 2_022)  # up to 2023-03-01


def test_curves_read_whole_and_a_relanded_candle_stores_from_its_bar(
    two_step_lake: tuple[Settings, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, info = two_step_lake
    first = _runs(settings, backtest_partitions(settings, PARTITIONS, info["first"]))
    second = _runs(settings, backtest_partitions(settings, PARTITIONS, info["last"]))
    for key, run in second.items():
        assert run["equity_base_run_id"] == first[key]["run_id"]
        assert run["equity_from"] >= SPLIT
        assert first[key]["equity_base_run_id"] is None
    _assert_whole(settings, second, info["last"])
    _assert_whole(settings, first, info["first"])
    one = min(r["run_id"] for k, r in second.items() if k[1:] == ("ETHUSDT", "1d"))
    assert reproduce(settings, one).identical

    symbol, interval, bar = RELANDED
    read = inputs.whole_series

    def relanded(*args: Any, **kwargs: Any) -> list[inputs.MarketSlice]:
        """The series as read, the candle of one bar landed again with another close."""
        slices = read(*args, **kwargs)
        for data in slices:
            if (data.symbol, data.interval) == (symbol, interval):
                data.prices["close"] = data.prices["close"].copy()
                data.prices["close"][bar] *= 1.001
                data.data_fingerprint += "-relanded"
        return slices

    monkeypatch.setattr(backtests, "whole_series", relanded)
    third = _runs(settings, backtest_partitions(settings, PARTITIONS, info["last"]))
    assert sorted(third) == sorted(second)  # without statistics, no run is reused
    for key, run in third.items():
        assert run["equity_base_run_id"] == second[key]["run_id"]
        relanded_here = key[1:] == (symbol, interval)
        assert run["stored"] == (run["rows"] - bar if relanded_here else 0), key
    monkeypatch.setattr(inputs, "whole_series", relanded)
    _assert_whole(settings, third, info["last"])  # a chain: third -> second -> first

    monkeypatch.setattr(equity, "MAX_CHAIN", 3)  # third's curve reads three runs: start again
    fourth = _runs(settings, backtest_partitions(settings, PARTITIONS, info["last"]))
    for key, run in fourth.items():
        assert run["equity_base_run_id"] is None and run["stored"] == run["rows"], key
    _assert_whole(settings, fourth, info["last"])
    monkeypatch.undo()

    later = {(n,) + k: v for n, runs in (("3", third), ("4", fourth)) for k, v in runs.items()}
    every = [*first.values(), *second.values(), *later.values()]
    ids = [r["run_id"] for r in every]
    with connect(settings) as conn:
        before = read_equity(conn, ids)
        assert before.num_rows == sum(r["rows"] for r in every)
        view = conn.execute(  # what SQL readers see: the same whole curves
            f"select * from {CURVES_VIEW} where list_contains(?, run_id) "  # noqa: S608
            "order by run_id, open_time",
            [ids],
        ).to_arrow_table()
        assert view.equals(before)
    tidy_lake(settings, retention=timedelta(0))
    with connect(settings) as conn:
        assert read_equity(conn, ids).equals(before)
        conn.execute("delete from gold_backtest_runs where run_id = ?", [first[key]["run_id"]])
        with pytest.raises(LookupError, match="does not hold"):
            read_equity(conn, [third[key]["run_id"]])
