"""A stored run whose inputs' fingerprint is unchanged is what a full recompute gives, bit for
bit; a series with one more bar is recomputed, and only it."""

from __future__ import annotations

import numpy as np
from report.conftest import Research

from hermes.backtest.config import BacktestConfig
from hermes.backtest.inputs import load_slice
from hermes.backtest.request import BacktestRequest, open_request
from hermes.backtest.reuse import KEY, input_key, split_reusable, stored_runs
from hermes.backtest.runs import execute, load_run
from hermes.backtest.statistics import record_run_statistics
from hermes.lake import connect


def test_reused_run_equals_a_full_recompute_and_only_changed_series_run(
    research: Research,
) -> None:
    settings = research.settings
    record_run_statistics(settings, [research.long_run])  # a finished run
    with connect(settings) as conn:
        stored_run = load_run(conn, research.long_run)
        equity = conn.execute(
            "select equity, position, buy_signal, sell_signal from gold_backtest_equity "
            "where run_id = ? order by open_time",
            [research.long_run],
        ).fetchnumpy()
        trades = conn.execute(
            "select entry_time, exit_time, entry_price, exit_price, pnl from "
            "gold_backtest_trades where run_id = ? order by trade_id",
            [research.long_run],
        ).fetchall()
        stored = stored_runs(conn, ["smart_momentum"])
    config = BacktestConfig()
    request = BacktestRequest("smart_momentum", ["BTCUSDT"], ["4h"], config=config)
    with open_request(settings, request) as opened:  # the lake as it is now
        whole = load_slice(opened.signals, "BTCUSDT", "4h", start=None, end=None)
        last = whole.open_time[-1].astype("datetime64[us]").astype(object)
        shorter = load_slice(opened.signals, "BTCUSDT", "4h", start=None, end=last)
        context = opened.context
    keys = [
        input_key(context.strategy, d, config, context.signal_model_hash) for d in (whole, shorter)
    ]
    assert keys[0] == tuple(str(stored_run[c]) for c in KEY)  # same inputs, same fingerprint
    assert keys[1] != keys[0] and shorter.rows == whole.rows - 1
    todo, reused = split_reusable(keys, stored)
    assert todo == [1] and reused == {0: research.long_run}  # one series recomputed
    fresh = execute(context.but(snapshot=int(stored_run["snapshot_id"])), whole)
    volatile = {"run_id", "created_at", "git_commit", "git_dirty", "package_versions"}
    for column, value in fresh.run.items():
        if column not in volatile:
            assert value == stored_run[column] or (
                isinstance(value, float) and np.isnan(value) and np.isnan(stored_run[column])
            ), column
    for column in ("equity", "position", "buy_signal", "sell_signal"):
        assert np.array_equal(fresh.equity[column].to_numpy(), np.asarray(equity[column]))
    recomputed = [
        (r["entry_time"], r["exit_time"], r["entry_price"], r["exit_price"], r["pnl"])
        for r in fresh.trades.to_pylist()
    ]
    assert recomputed == trades
