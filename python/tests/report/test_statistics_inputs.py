"""The statistics step reads every run's equity curve in one query; each run's row is the one
computed from its own curve read alone, value for value (real bundled data: smart_momentum
on BTCUSDT and ETHUSDT 1d, BTCUSDT 4h, a one-month run and a portfolio)."""

from __future__ import annotations

import json

import numpy as np
from report.conftest import Research

from hermes.backtest.statistics import (
    RunEquity,
    equity_curves,
    run_statistics,
    score_run,
    statistics_inputs,
)
from hermes.lake import connect


def test_runs_read_together_score_as_each_run_read_alone(research: Research) -> None:
    settings = research.settings
    ids = [*research.runs, research.long_run, research.quiet_run, research.portfolio]
    alone = []
    with connect(settings) as conn:
        for run_id in sorted(ids):
            row = conn.execute(
                "select symbol, interval, config, rows from gold_backtest_runs where run_id = ?",
                [run_id],
            ).fetchone()
            assert row is not None
            symbol, interval, config, bars = row
            equity = conn.execute(
                "select equity from gold_backtest_equity where run_id = ? order by open_time",
                [run_id],
            ).fetchnumpy()["equity"]
            assert len(equity) == bars
            cash = float(json.loads(config)["init_cash"])
            alone.append(RunEquity(run_id, symbol, interval, equity, cash, 0))
        assert equity_curves(conn, ["bt-none"]) == {}
    together = statistics_inputs(settings, list(reversed(ids)))
    assert [r.run_id for r in together] == sorted(ids)
    for read, single in zip(together, alone, strict=True):
        assert (read.symbol, read.interval, read.init_cash, read.trials) == (
            single.symbol, single.interval, single.init_cash, single.trials,
        )  # fmt: skip
        assert read.equity.dtype == np.float64 and np.array_equal(read.equity, single.equity)
    rows = run_statistics(settings, ids).drop(["created_at"]).to_pylist()
    expected = [score_run(run).drop(["created_at"]).to_pylist()[0] for run in alone]
    assert rows == expected
    long = next(r for r in rows if r["study_id"] == research.long_run)
    assert long["observations"] == 18_371 and long["bootstrap_block_bars"] == 27
