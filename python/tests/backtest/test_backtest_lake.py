"""Backtests on real data in a lake that moves on: results, reports, reproduction, bad input.

One module-scoped lake: the bundled 4h data cut at 2023-01-01 is ingested and built, the
backtests run, then the full files are ingested and the features rebuilt (the lake moves on).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from hermes.backtest.config import BacktestConfig
from hermes.backtest.reproduce import reproduce
from hermes.backtest.runs import run_backtests
from hermes.config import PROJECT_ROOT, Settings
from hermes.dbt_runner import run_dbt
from hermes.lake import DataError, connect
from hermes.maintenance import tidy_lake
from hermes.report import write_report
from hermes.report.render import PLOTLY_JS
from hermes.signals.registry import StrategyError

DATA = PROJECT_ROOT / "data" / "binance-ohlcv"
CUT = "2023-01-01"
SELECT = [
    "--select",
    "+gold_signals_smart_momentum",
    "+gold_signals_ml_lightgbm",
    "--exclude",
    "resource_type:seed",
]


def _truncated(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    out = []
    for name in ("BTCUSDT_4h.csv.gz", "ETHUSDT_4h.csv.gz"):
        with gzip.open(DATA / name, "rt") as handle:
            lines = [line for line in handle if line.startswith("timestamp") or line < CUT]
        path = folder / name
        with gzip.open(path, "wt") as handle:
            handle.writelines(lines)
        out.append(path)
    return out


@pytest.fixture(scope="module")
def moving_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    from hermes.ingest import ingest_paths

    base = tmp_path_factory.mktemp("moving")
    settings = Settings(lake_root=base / "lake")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HERMES_LAKE_ROOT", str(settings.lake_root))
        patch.setenv("HERMES_TARGET", "local")
        ingest_paths(_truncated(base / "cut"), settings)
        run_dbt(["seed"], settings, target_path=base / "target")
        run_dbt(["run", *SELECT], settings, target_path=base / "target")
        run_ids = run_backtests(settings, "smart_momentum", ["BTCUSDT", "ETHUSDT"], ["4h"])
        ml_run_ids = run_backtests(settings, "ml_lightgbm", ["BTCUSDT", "ETHUSDT"], ["4h"])
        ingest_paths([DATA / "BTCUSDT_4h.csv.gz", DATA / "ETHUSDT_4h.csv.gz"], settings)
        run_dbt(["run", *SELECT], settings, target_path=base / "target")
        yield {"settings": settings, "run_ids": run_ids, "ml_run_ids": ml_run_ids}


def _fetch(settings: Settings, sql: str, params: list[object] | None = None) -> list[tuple]:
    conn = connect(settings)
    try:
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()


def test_runs_hold_metrics_trades_and_equity(moving_lake: dict) -> None:
    settings, run_ids = moving_lake["settings"], moving_lake["run_ids"]
    for run_id in run_ids:
        (run,) = _fetch(
            settings,
            "select rows, last_open_time, final_equity, trades, open_trades, total_return, "
            "parameters, snapshot_id, git_commit, package_versions from gold_backtest_runs "
            "where run_id = ?",
            [run_id],
        )
        rows, last, final, trades, open_trades, total, params, snapshot, _commit, versions = run
        assert last < datetime(2023, 1, 1) and rows > 11_000
        assert json.loads(params)["ema_fast"] == 12 and snapshot > 0
        assert "vectorbt" in json.loads(versions)
        equity = _fetch(
            settings,
            "select equity, position from gold_backtest_equity where run_id = ? order by open_time",
            [run_id],
        )
        assert len(equity) == rows and equity[-1][0] == final
        assert total == pytest.approx(final / 10_000 - 1, rel=1e-12)
        pnl = _fetch(
            settings,
            "select pnl, status from gold_backtest_trades where run_id = ? order by trade_id",
            [run_id],
        )
        assert sum(1 for _, s in pnl if s == "closed") == trades > 0
        assert sum(1 for _, s in pnl if s == "open") == open_trades
        # with no open position at the end, equity is the cash: initial cash + closed pnl
        if open_trades == 0:
            assert final == pytest.approx(10_000 + sum(p for p, _ in pnl), rel=1e-9)
        held = np.array([p for _, p in equity]) > 0
        exposure = _fetch(
            settings, "select exposure from gold_backtest_runs where run_id = ?", [run_id]
        )
        assert exposure[0][0] == held.mean()


def test_reproduce_after_the_lake_moved_on(moving_lake: dict) -> None:
    settings, run_ids = moving_lake["settings"], moving_lake["run_ids"]
    # maintenance expires every old snapshot except those the runs recorded
    report = tidy_lake(settings, timedelta(0))
    assert report.expired_snapshots > 0 and report.kept_for_runs >= 1
    for run_id in run_ids:
        result = reproduce(settings, run_id)
        assert result.identical, result.differences
    # the same backtest today reads the new bars and measures something else
    (new_id,) = run_backtests(settings, "smart_momentum", ["BTCUSDT"], ["4h"])
    (old, new) = (
        _fetch(
            settings, "select rows, data_fingerprint from gold_backtest_runs where run_id = ?", [r]
        )[0]
        for r in (run_ids[0], new_id)
    )
    assert new[0] > old[0] and new[1] != old[1]


def test_an_ml_strategy_run_reproduces_after_the_models_were_retrained(moving_lake: dict) -> None:
    settings, run_ids = moving_lake["settings"], moving_lake["ml_run_ids"]
    # the refresh predicted the new bars with new models and re-predicted the last block
    (models,) = _fetch(
        settings,
        "select count(distinct model_version) filter (where open_time >= '2023-01-01') "
        "from gold_ml_predictions where symbol = 'BTCUSDT' and interval = '4h'",
    )
    assert models[0] > 0
    for run_id in run_ids:
        (trades,) = _fetch(
            settings, "select trades from gold_backtest_runs where run_id = ?", [run_id]
        )
        assert trades[0] > 10
        result = reproduce(settings, run_id)
        assert result.identical, result.differences


def test_report_is_a_self_contained_page(moving_lake: dict) -> None:
    settings, run_ids = moving_lake["settings"], moving_lake["run_ids"]
    path = write_report(settings, run_ids[0])
    assert path.parent == settings.reports_root
    page = path.read_text()
    assert run_ids[0] in page and "Monthly returns" in page and "sharpe" in page.lower()
    # its one script is the shared local copy of plotly, next to the page: nothing fetched
    assert page.count("<script src=") == 1 and f'<script src="assets/{PLOTLY_JS}">' in page
    assert (path.parent / "assets" / PLOTLY_JS).stat().st_size > 1_000_000


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"strategy_id": "nope"}, StrategyError, "unknown strategy"),
        ({"overrides": {"ema_fast": 26}}, StrategyError, "must be smaller"),
        ({"overrides": {"rsi_high": 120}}, StrategyError, "rsi_high=120 is outside its range"),
        ({"strategy_id": "Robert'); drop table x"}, StrategyError, "not a safe identifier"),
        ({"symbols": ["DOGEUSDT"]}, DataError, "DOGEUSDT"),
        ({"start": datetime(2030, 1, 1)}, DataError, "no BTCUSDT 4h data"),
        ({"start": datetime(2021, 1, 1), "end": datetime(2020, 1, 1)}, DataError, "empty period"),
    ],
)
def test_bad_input_fails_before_anything_is_written(
    moving_lake: dict, kwargs: dict, error: type[Exception], message: str
) -> None:
    settings = moving_lake["settings"]
    before = _fetch(settings, "select count(*) from gold_backtest_runs")
    call = {"strategy_id": "smart_momentum", "symbols": ["BTCUSDT"], "intervals": ["4h"], **kwargs}
    with pytest.raises(error, match=message):
        run_backtests(settings, **call)
    assert _fetch(settings, "select count(*) from gold_backtest_runs") == before


def test_fill_convention_and_costs_change_the_result(moving_lake: dict) -> None:
    settings = moving_lake["settings"]
    ids = [
        run_backtests(settings, "smart_momentum", ["BTCUSDT"], ["4h"], config=config)[0]
        for config in (
            BacktestConfig(fees=0.0, slippage=0.0),
            BacktestConfig(fees=0.0, slippage=0.0, fill="same_close"),
            BacktestConfig(fees=0.001, slippage=0.0),
        )
    ]
    rows = {
        r[0]: r[1:]
        for r in _fetch(
            settings,
            "select run_id, final_equity, trades from gold_backtest_runs "
            "where list_contains(?, run_id)",
            [ids],
        )
    }
    next_open, same_close, with_fees = (rows[i] for i in ids)
    assert next_open[0] != same_close[0]
    assert with_fees[0] < next_open[0] and with_fees[1] == next_open[1]


def test_cli_commands(moving_lake: dict) -> None:
    from typer.testing import CliRunner

    from hermes.cli import app

    settings, run_ids = moving_lake["settings"], moving_lake["run_ids"]
    runner = CliRunner()
    bad = runner.invoke(app, ["backtest", "--symbol", "DOGEUSDT"])
    assert bad.exit_code == 2 and "DOGEUSDT" in bad.output
    assert runner.invoke(app, ["reproduce", run_ids[1]]).exit_code == 0
    shown = runner.invoke(app, ["report", run_ids[1]])
    assert shown.exit_code == 0 and "sharpe" in shown.output.lower()
    assert (settings.reports_root / f"{run_ids[1]}.html").exists()
    made = runner.invoke(app, ["signals", "generate", "--interval", "4h", "--chunk-rows", "4000"])
    assert made.exit_code == 0, made.output
    (count,) = _fetch(
        settings,
        "select count(*) from gold_strategy_signals s join gold_signals_smart_momentum m "
        "using (symbol, interval, open_time) where s.buy_signal = m.buy_signal "
        "and s.sell_signal = m.sell_signal",
    )
    (total,) = _fetch(settings, "select count(*) from gold_signals_smart_momentum")
    assert count == total
