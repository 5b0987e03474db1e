"""Portfolio, A/B, grid and walk-forward runs stored in a lake built from the bundled data.

One module-scoped lake: the bundled BTCUSDT/ETHUSDT 4h and 1d candles, with the feature
store built with the experimental features (``use_test_features: true``).
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hermes.backtest.ab import run_ab
from hermes.backtest.config import BacktestConfig
from hermes.backtest.grid import parse_axis, run_grid_backtest
from hermes.backtest.portfolio import run_portfolio
from hermes.backtest.reproduce import reproduce
from hermes.backtest.request import BacktestRequest
from hermes.backtest.runs import run_backtests
from hermes.backtest.walk_forward import run_walk_forward
from hermes.config import Settings
from hermes.dbt_runner import run_dbt
from hermes.lake import DataError, connect
from hermes.signals.registry import StrategyError

TEST_FEATURES = ["--vars", "{use_test_features: true}"]


@pytest.fixture(scope="module")
def lake(built_lake: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """This module's copy of the session's ``built_lake`` (the bundled data, built), its
    feature store view rebuilt with the experimental features: tests may write to it."""
    base = tmp_path_factory.mktemp("studies")
    settings = Settings(lake_root=base / "lake")
    shutil.copytree(built_lake.lake_root, settings.lake_root, symlinks=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HERMES_LAKE_ROOT", str(settings.lake_root))
        patch.setenv("HERMES_TARGET", "local")
        select = ["--select", "gold_feature_store"]
        result = run_dbt(["run", *select, *TEST_FEATURES], settings, target_path=base / "target")
        assert result[0].success
        yield settings


def fetch(settings: Settings, sql: str, params: list[object] | None = None) -> list[tuple]:
    conn = connect(settings)
    try:
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()


def test_portfolio_shares_one_cash_pool_with_equal_weights(lake: Settings) -> None:
    (run_id,) = run_portfolio(lake, BacktestRequest("smart_momentum", intervals=["4h"]))
    ((symbol, kind, rows, final, total, trades),) = fetch(
        lake,
        "select symbol, run_kind, rows, final_equity, total_return, trades "
        "from gold_backtest_runs where run_id = ?",
        [run_id],
    )
    assert (symbol, kind) == ("BTCUSDT,ETHUSDT", "portfolio")
    equity = fetch(
        lake,
        "select open_time, equity, position from gold_backtest_equity "
        "where run_id = ? order by open_time",
        [run_id],
    )
    assert len(equity) == rows and equity[-1][1] == final
    times = np.array([e[0] for e in equity], dtype="datetime64[us]")
    closes = {
        s: dict(
            fetch(
                lake,
                "select open_time, close from silver_klines where symbol = ? and interval = '4h'",
                [s],
            )
        )
        for s in ("BTCUSDT", "ETHUSDT")
    }
    trades_rows = fetch(
        lake,
        "select symbol, entry_time, entry_price, size, entry_fees, exit_time, exit_price, "
        "exit_fees, status from gold_backtest_trades where run_id = ? order by entry_time",
        [run_id],
    )
    assert {t[0] for t in trades_rows} == {"BTCUSDT", "ETHUSDT"}
    assert sum(t[-1] == "closed" for t in trades_rows) == trades
    # the first entry, with nothing held, invests half the cash (fees included)
    first = trades_rows[0]
    assert first[2] * first[3] + first[4] == pytest.approx(10_000 / 2, rel=1e-12)
    # every bar: equity = cash rebuilt from the trades + each symbol's units at its close
    cash = np.full(len(times), 10_000.0)
    value = np.zeros(len(times))
    held = np.zeros(len(times))
    for sym, entry, price, size, fee, exit_time, exit_price, exit_fee, status in trades_rows:
        start = np.searchsorted(times, np.datetime64(entry, "us"))
        stop = (
            len(times)
            if status == "open"
            else np.searchsorted(times, np.datetime64(exit_time, "us"))
        )
        cash[start:] -= price * size + fee
        if status == "closed":
            cash[stop:] += exit_price * size - exit_fee
        close = np.array([closes[sym][t.astype(object)] for t in times[start:stop]])
        value[start:stop] += size * close
        held[start:stop] += 1
    np.testing.assert_allclose([e[1] for e in equity], cash + value, rtol=1e-9)
    assert [e[2] for e in equity] == held.tolist()
    assert held.max() == 2  # both symbols were held at once
    assert total == pytest.approx(final / 10_000 - 1, rel=1e-12)


def test_ab_compares_both_variants_on_the_same_bars(lake: Settings) -> None:
    request = BacktestRequest("smart_momentum", intervals=["4h"])
    comparison = run_ab(lake, request, filter_name="mtf_confluence")
    rows = fetch(
        lake,
        "select symbol, variant, features_table, entry_filter, first_open_time, "
        "last_open_time, rows, buy_signals, run_id, total_return from gold_backtest_ab "
        "where ab_id = ? order by symbol, variant",
        [comparison.ab_id],
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("BTCUSDT", "A", "gold_features"),
        ("BTCUSDT", "B", "gold_feature_store"),
        ("ETHUSDT", "A", "gold_features"),
        ("ETHUSDT", "B", "gold_feature_store"),
    ]
    for a, b in (rows[0:2], rows[2:4]):
        assert a[4:7] == b[4:7]  # same first bar, last bar, bar count
        # independent count of each variant's entries, in SQL over the lake
        ((expected_a, expected_b),) = fetch(
            lake,
            "select count(*) filter (where s.buy_signal), "
            "count(*) filter (where s.buy_signal and f.mtf_confluence > 0) "
            "from gold_signals_smart_momentum s join gold_feature_store f "
            "using (symbol, interval, open_time) where symbol = ? and interval = '4h'",
            [a[0]],
        )
        assert (a[7], b[7]) == (expected_a, expected_b) and 0 < expected_b < expected_a
        params_b = json.loads(
            fetch(lake, "select parameters from gold_backtest_runs where run_id = ?", [b[8]])[0][0]
        )
        assert params_b["entry_filter"] == "mtf_confluence"
    # variant A is the plain backtest on the production features
    (plain,) = run_backtests(lake, "smart_momentum", ["BTCUSDT"], ["4h"])
    (plain_return,) = fetch(
        lake, "select total_return from gold_backtest_runs where run_id = ?", [plain]
    )[0]
    assert plain_return == rows[0][9]


def axes(*texts: str) -> list:
    return [parse_axis(t) for t in texts]


@pytest.mark.parametrize(
    ("strategy", "grid", "source"),
    [
        ("smart_momentum", ("ema_fast=12,20", "ema_slow=26,50", "rsi_low:rsi_high=45:55,40:60"), "accelerator"),  # noqa: E501
        ("donchian_breakout", ("entry_period=20,35", "exit_period=10,15,20,30"), "sql"),
        ("bollinger_reversion", ("bb_period=20,30", "bb_stddevs=2,2.5", "rsi_max=35,45"), "sql"),
    ],
)  # fmt: skip
def test_grid_rows_equal_single_runs_of_the_signal_model(
    lake: Settings, strategy: str, grid: tuple[str, ...], source: str
) -> None:
    request = BacktestRequest(strategy, ["ETHUSDT"], ["4h"])
    (result,) = run_grid_backtest(lake, request, axes(*grid))
    stored = fetch(
        lake,
        "select parameters, total_return, sharpe, trades, rows, signal_source "
        "from gold_backtest_grid where grid_id = ? order by combination",
        [result.grid_id],
    )
    assert len(stored) == 8 and {r[4] for r in stored} == {result.rows}
    assert {r[5] for r in stored} == {source}
    assert sum(r[3] for r in stored) > 0
    # the registry defaults (read from the signal table) and a set evaluated in process
    for parameters in (stored[0][0], stored[-1][0]):
        overrides = json.loads(parameters)
        (run_id,) = run_backtests(lake, strategy, ["ETHUSDT"], ["4h"], overrides=overrides)
        single = fetch(
            lake,
            "select total_return, sharpe, trades from gold_backtest_runs where run_id = ?",
            [run_id],
        )[0]
        (row,) = [r for r in stored if r[0] == parameters]
        assert row[1:4] == single


def test_walk_forward_persists_reproducible_out_of_sample_runs(lake: Settings) -> None:
    (result,) = run_walk_forward(
        lake,
        BacktestRequest("smart_momentum", ["BTCUSDT"], ["4h"]),
        axes("ema_fast=8,12", "ema_slow=26,50", "rsi_low:rsi_high=45:55,35:65"),
        in_sample_days=1095,
        out_of_sample_days=365,
    )
    folds = fetch(
        lake,
        "select fold, in_sample_start, in_sample_end, out_of_sample_start, out_of_sample_end, "
        "parameters, run_id, total_return, combinations from gold_backtest_walk_forward "
        "where walk_forward_id = ? order by fold",
        [result.walk_forward_id],
    )
    assert len(folds) == 5  # 2017-08-17 .. 2026-01: 3 years in-sample, then 5 full years
    for fold, nxt in zip(folds, folds[1:], strict=False):
        assert fold[2] == fold[3] and nxt[3] == fold[4]  # OOS follows IS; OOS windows abut
    for fold in folds:
        assert fold[8] == 8
        (kind, start, end, params, total) = fetch(
            lake,
            "select run_kind, period_start, period_end, parameters, total_return "
            "from gold_backtest_runs where run_id = ?",
            [fold[6]],
        )[0]
        assert (kind, start, end, params, total) == (
            "walk_forward",
            fold[3],
            fold[4],
            fold[5],
            fold[7],
        )
    again = reproduce(lake, folds[-1][6])
    assert again.identical, again.differences


def test_walk_forward_of_a_sql_only_strategy_reproduces(lake: Settings) -> None:
    (result,) = run_walk_forward(
        lake,
        BacktestRequest("donchian_breakout", ["ETHUSDT"], ["4h"]),
        axes("entry_period=20,40,60", "exit_period=10,20"),
        in_sample_days=1095,
        out_of_sample_days=365,
        objective="total_return",
    )
    assert len(result.folds) == 5
    chosen = {r["parameters"] for r in result.folds.to_dict("records")}
    assert all(json.loads(p)["entry_period"] in (20, 40, 60) for p in chosen)
    for run_id in result.folds["run_id"]:
        again = reproduce(lake, run_id)
        assert again.identical, again.differences


def test_bad_study_input_fails_before_writing(lake: Settings) -> None:
    def count(table: str) -> int:
        try:
            return fetch(lake, f"select count(*) from {table}")[0][0]  # noqa: S608 (constant)
        except Exception:  # the table does not exist yet
            return 0

    before = {t: count(t) for t in ("gold_backtest_grid", "gold_backtest_runs")}
    sm = BacktestRequest("smart_momentum")
    with pytest.raises(DataError, match="DOGEUSDT"):
        run_grid_backtest(
            lake, BacktestRequest("smart_momentum", ["DOGEUSDT"], ["4h"]), axes("ema_fast=8")
        )
    with pytest.raises(StrategyError, match="no valid parameter set"):
        run_grid_backtest(lake, sm, axes("ema_fast=60", "ema_slow=50"))
    with pytest.raises(StrategyError, match=r"entry_period=1 is outside its range \[2, 500\]"):
        run_grid_backtest(lake, BacktestRequest("donchian_breakout"), axes("entry_period=1,20"))
    with pytest.raises(StrategyError, match="give at least one --param"):
        run_grid_backtest(lake, BacktestRequest("donchian_breakout"), [])
    with pytest.raises(StrategyError, match="rsi_period is compiled into the model as 14"):
        run_backtests(lake, "bollinger_reversion", overrides={"rsi_period": 21})
    with pytest.raises(StrategyError, match="unknown A/B entry filter"):
        run_ab(lake, sm, filter_name="moon_phase")
    with pytest.raises(StrategyError, match="reads parameter.s. rsi_low, rsi_high"):
        run_ab(lake, BacktestRequest("donchian_breakout"), filter_name="vol_adjusted_rsi")
    with pytest.raises(StrategyError, match="objective"):
        run_walk_forward(lake, sm, axes("ema_fast=8"), objective="luck")
    with pytest.raises(DataError, match="needs 4000"):
        run_walk_forward(lake, sm, axes("ema_fast=8"), in_sample_days=4000)
    assert {t: count(t) for t in before} == before


def test_study_commands_print_their_tables(lake: Settings) -> None:
    from typer.testing import CliRunner

    from hermes.cli import app

    runner = CliRunner()
    grid = runner.invoke(
        app,
        ["grid", "--strategy", "donchian_breakout", "--symbol", "BTCUSDT", "--interval", "4h"]
        + ["--param", "entry_period=20,30", "--param", "exit_period=10,20", "--top", "3"],
    )
    assert grid.exit_code == 0, grid.output
    assert "BTCUSDT" in grid.output and "4 combinations" in grid.output.replace("\n", " ")
    # the chosen set's overfitting statistics: printed, stored with the grid, on its page
    assert "deflated Sharpe ratio" in grid.output and "over 4 trials" in grid.output
    (page,) = [line.split(": ", 1)[1] for line in grid.output.splitlines() if "report: " in line]
    assert "Deflated Sharpe ratio" in Path(page.strip()).read_text()
    grid_id = Path(page.strip()).stem
    conn = connect(lake)
    try:
        stored = conn.execute(
            "select trials, pbo_splits from gold_backtest_overfitting where study_id = ?",
            [grid_id],
        ).fetchall()
    finally:
        conn.close()
    assert stored == [(4, 12_870)]
    bad = runner.invoke(app, ["grid", "--symbol", "BTCUSDT", "--param", "ema_fast=x"])
    assert bad.exit_code == 2 and "is not a number" in bad.output
    walk = runner.invoke(
        app,
        ["walk-forward", "--symbol", "ETHUSDT", "--interval", "4h", "--param", "ema_fast=8,12"]
        + ["--param", "rsi_low:rsi_high=40:60", "--in-sample-days", "900"]
        + ["--out-of-sample-days", "365"],
    )
    assert walk.exit_code == 0, walk.output
    assert "ETHUSDT" in walk.output and "IS deflated" in walk.output.replace("\n", " ")
    assert "report: " in walk.output
    quiet = runner.invoke(
        app,
        ["grid", "--strategy", "donchian_breakout", "--symbol", "BTCUSDT", "--interval", "4h"]
        + ["--param", "entry_period=20,30", "--no-report"],
    )
    assert quiet.exit_code == 0 and "report: " not in quiet.output
    ab = runner.invoke(app, ["ab", "--symbol", "BTCUSDT", "--interval", "4h"])
    assert ab.exit_code == 0, ab.output
    assert "mtf_confluence" in ab.output


def test_max_positions_holds_one_symbol_at_a_time(
    lake: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from hermes.cli import app

    request = BacktestRequest("smart_momentum", intervals=["4h"])
    (free_id,) = run_portfolio(lake, request)
    one = BacktestRequest(
        "smart_momentum", intervals=["4h"], config=BacktestConfig(max_positions=1)
    )
    (one_id,) = run_portfolio(lake, one)
    held = {
        run_id: [p for (p,) in fetch(
            lake, "select position from gold_backtest_equity where run_id = ?", [run_id]
        )]
        for run_id in (free_id, one_id)
    }  # fmt: skip
    assert max(held[free_id]) == 2 and max(held[one_id]) == 1
    trades = {
        run_id: fetch(
            lake,
            "select symbol, entry_time, exit_time from gold_backtest_trades where run_id = ? "
            "order by entry_time, symbol",
            [run_id],
        )
        for run_id in (free_id, one_id)
    }
    # no entry while the other symbol is held: each trade starts after the previous one ends
    for before, after in itertools.pairwise(trades[one_id]):
        assert before[2] is not None and after[1] >= before[2]
    assert len(trades[one_id]) < len(trades[free_id])
    ((config,),) = fetch(lake, "select config from gold_backtest_runs where run_id = ?", [one_id])
    assert json.loads(config)["max_positions"] == 1

    monkeypatch.setenv("HERMES_LAKE_ROOT", str(lake.lake_root))
    runner = CliRunner()
    single = runner.invoke(app, ["backtest", "--interval", "4h", "--max-positions", "1"])
    assert single.exit_code == 2
    assert "--max-positions applies to --portfolio runs" in single.output
    orphan = runner.invoke(app, ["backtest", "--portfolio", "--halt-bars", "5"])
    assert orphan.exit_code == 2
    assert "backtest option halt_bars=5 needs max_drawdown_halt" in orphan.output
