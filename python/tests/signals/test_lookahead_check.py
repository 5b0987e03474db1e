"""The automatic lookahead and recursion check of signal models, as a user meets it.

In a copy of the project (as ``test_add_a_strategy`` does): a strategy deciding with the next
bar's close (``lead(close)``) and one deciding on a running mean since the series' first bar
(a value that depends on how much history precedes it). ``hermes check`` refuses each with
one line and exit 1; ``hermes backtest`` refuses the peeking one before writing anything;
the verdict is recorded once per compiled model. On the bundled lake, every registered
strategy passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import numpy as np
import pytest
from fixtures.children import unmeasured
from fixtures.project_copy import BIN, copy_project, run

from hermes.config import PROJECT_ROOT, Settings
from hermes.lake import connect
from hermes.signals.lookahead import STORE_WARMUP, check_model, plan_copies
from hermes.signals.models import open_model
from hermes.signals.registry import list_strategies, load_strategy

PEEK = """
select
    strategy_id, strategy_version, parameters, symbol, interval, open_time, close,
    coalesce(lead(close) over bars > close, false) as buy_signal,
    coalesce(lead(close) over bars < close, false) as sell_signal
from {{ ref('gold_feature_store') }}
cross join ({{ strategy_parameters({}) }})
window bars as (partition by symbol, interval order by open_time)
"""
DRIFT = """
select
    strategy_id, strategy_version, parameters, symbol, interval, open_time, close,
    coalesce(close > avg(close) over bars, false) as buy_signal,
    coalesce(close < avg(close) over bars, false) as sell_signal
from {{ ref('gold_feature_store') }}
cross join ({{ strategy_parameters({}) }})
window bars as (partition by symbol, interval order by open_time)
"""
CHURN = """
select
    strategy_id, strategy_version, parameters, symbol, interval, open_time, close,
    close > open as buy_signal,
    close < open as sell_signal
from {{ ref('gold_feature_store') }}
cross join ({{ strategy_parameters({}) }})
"""
ROWS = "".join(
    f'{sid},{sid},0.1.0,"{{}}","{{}}",test strategy,{tags},experimental,,,\n'
    for sid, tags in (("peek", "test"), ("drift", "test"), ("churn", "test|walk-forward"))
)
PEEK_LINE = (
    "lookahead: gold_signals_peek decides BTCUSDT 4h 2017-08-17 04:00 differently once later "
    "bars are removed (buy_signal true -> false)"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A project copy with the two strategies, BTCUSDT 4h ingested and their models built."""
    base = tmp_path_factory.mktemp("lookahead")
    copy, env = copy_project(base)
    with open(copy / "seeds" / "strategies.csv", "a", encoding="utf-8") as handle:
        handle.write(ROWS)
    (copy / "models/gold/signals/gold_signals_peek.sql").write_text(PEEK)
    (copy / "models/gold/signals/gold_signals_drift.sql").write_text(DRIFT)
    (copy / "models/gold/signals/gold_signals_churn.sql").write_text(CHURN)
    data = str(PROJECT_ROOT / "data/binance-ohlcv/BTCUSDT_4h.csv.gz")
    run(str(BIN / "hermes"), "ingest", data, env=env)
    models = (
        "+gold_signals_peek +gold_signals_drift +gold_signals_donchian_breakout +gold_signals_churn"
    )
    dbt = (str(BIN / "dbt"), "build", "--select", models, "--project-dir", str(copy))
    exclude = ("--exclude", "silver_candles_accounted_for")  # its gap model is not built
    # a build that succeeds: Hermes code the in-process builds run (fixtures.children); the
    # ingest, checks and backtests stay measured
    run(*dbt, *exclude, env=unmeasured(env))
    env["PROJECT_DIR"] = str(copy)
    yield env


def checks_recorded(env: dict[str, str], strategy_id: str) -> list[str]:
    done = run(
        str(BIN / "hermes"),
        "sql",
        "--csv",
        "select passed, verdict from hermes_lookahead_checks "  # noqa: S608 a test's constant
        f"where strategy_id = '{strategy_id}' order by checked_at",
        env=env,
    )
    return done.stdout.splitlines()[1:]


def test_a_peeking_strategy_is_refused_in_one_line(project: dict[str, str]) -> None:
    hermes = str(BIN / "hermes")
    backtest = run(hermes, "backtest", "--strategy", "peek", env=project, ok=False)
    assert backtest.stderr.strip() == f"error: {PEEK_LINE}"
    # the verdict is kept per compiled model: grids and backtests read it, check once
    grid = run(hermes, "grid", "--strategy", "donchian_breakout", "--param",
               "entry_period=10,20", env=project)  # fmt: skip
    assert "2 combinations" in grid.stdout.replace("\n", " ")
    run(hermes, "backtest", "--strategy", "donchian_breakout", env=project)
    assert checks_recorded(project, "donchian_breakout") == [
        'True,"passed: gold_signals_donchian_breakout decides 172,211 bars of 23 truncated and '
        '4 later-starting histories as on the full history"'
    ]
    assert checks_recorded(project, "peek") == [f"False,{PEEK_LINE}"]
    runs = run(
        hermes, "sql", "--csv",
        "select strategy_id, count(*) from gold_backtest_runs group by all order by 1",
        env=project,
    )  # fmt: skip
    assert runs.stdout.splitlines()[1:] == ["donchian_breakout,1"]
    check = run(hermes, "check", "--strategy", "peek", env=project, ok=False)
    assert check.stderr.strip() == f"error: {PEEK_LINE}"
    assert checks_recorded(project, "peek") == [f"False,{PEEK_LINE}"] * 2


def test_a_value_depending_on_the_history_before_it_is_refused(project: dict[str, str]) -> None:
    check = run(str(BIN / "hermes"), "check", "--strategy", "drift", env=project, ok=False)
    assert check.stderr.strip() == (
        "error: recursive: gold_signals_drift decides BTCUSDT 4h 2018-01-17 12:00 differently "
        "when its history starts 200 bars later (buy_signal true -> false)"
    )


def test_hermes_check_prints_the_verdict_and_its_time(project: dict[str, str]) -> None:
    done = run(str(BIN / "hermes"), "check", "--strategy", "donchian_breakout", env=project)
    first, second = done.stdout.splitlines()[:2]
    assert first.startswith("passed: gold_signals_donchian_breakout decides ")
    assert "truncated and" in first and "later-starting histories" in first
    assert second.startswith("model gold_signals_donchian_breakout (sql ")
    seconds = float(second.rsplit(" in ", 1)[1].removesuffix(" s"))
    assert 0 < seconds < 60


def test_a_walk_forward_strategy_losing_to_cash_is_marked(project: dict[str, str]) -> None:
    """Every decision of a strategy tagged walk-forward is out of sample: the scorecard
    says whether it beats cash after costs (this one trades every candle's colour)."""
    hermes = str(BIN / "hermes")
    run(hermes, "backtest", "--strategy", "churn", env=project)
    folder = project["PROJECT_DIR"]
    scorecard = ("build", "--select", "gold_strategy_scorecard", "--project-dir", folder)
    run(str(BIN / "dbt"), *scorecard, env=unmeasured(project))  # the view over the runs table
    card = run(
        hermes, "sql", "--csv",
        "select strategy_id, status, round(total_return, 4), trades, verdict "
        "from gold_strategy_scorecard where strategy_id = 'churn' "
        "union all select distinct strategy_id, status, null, null, verdict "
        "from gold_strategy_scorecard where strategy_id = 'donchian_breakout'",
        env=project,
    )  # fmt: skip
    assert card.stdout.splitlines()[1:] == [
        "churn,experimental,-1.0,4989,loses to cash",  # 4,989 round trips: fees ate it all
        "donchian_breakout,active,,,in sample",  # its rules were chosen in sample
    ]
    listed = run(hermes, "strategies", "--tag", "walk-forward", env=project)
    assert "loses to cash" in listed.stdout and "churn" in listed.stdout


@pytest.mark.parametrize("strategy_id", [s.strategy_id for s in list_strategies()])
def test_every_bundled_strategy_passes(built_lake: Settings, strategy_id: str) -> None:
    conn = connect(built_lake, read_only=True)
    try:
        strategy = load_strategy(strategy_id, conn=conn)
        verdict = check_model(conn, strategy, open_model(conn, strategy))
    finally:
        conn.close()
    assert verdict.passed, verdict.line
    # four series: each cut at >= 8 sampled bars plus its edges, and started 1, 200 bars later
    assert verdict.cuts >= 4 * 12 and verdict.shifts >= 4 * 2
    assert verdict.compared > 400_000


def test_cut_points_hold_the_edges_and_the_bars_around_gaps() -> None:
    start = np.datetime64("2020-01-01T00:00", "us")
    step = np.timedelta64(4, "h")
    times = start + step * np.r_[np.arange(300), np.arange(301, 600)]  # one bar missing
    copies = plan_copies({("BTCUSDT", "4h"): times}, STORE_WARMUP, cuts=3, shifts=1, seed=7)
    full, cuts = copies[0], [c for c in copies if c.kind == "cut"]
    assert (full.kind, full.first, full.last) == ("full", datetime(2020, 1, 1), _at(times, 598))
    last = [c.last for c in cuts]
    for i in (0, 1, STORE_WARMUP - 1, STORE_WARMUP, STORE_WARMUP + 1, 299, 300, 597, 598):
        assert _at(times, i) in last, i  # first bars, warm-up, around the gap, the last bars
    assert len(cuts) == 9 + 3
    shifts = [c for c in copies if c.kind == "shift"]
    assert [c.skipped for c in shifts] == [1, 116, STORE_WARMUP]  # 1, the warm-up, one drawn
    for c in shifts:
        assert c.first == _at(times, c.skipped)
        assert c.compare_from == _at(times, c.skipped + STORE_WARMUP)


def _at(times: np.ndarray, i: int) -> datetime:
    return times[i].astype(datetime)


def test_a_prediction_from_a_model_trained_on_later_labels_is_refused() -> None:
    import duckdb

    from hermes.signals.lookahead import _prediction_leak

    conn = duckdb.connect()
    conn.execute(
        "create table predictions as select * from (values "
        "('BTCUSDT', '4h', timestamp '2020-01-02 00:00', timestamp '2020-01-02 00:00', "
        "timestamp '2020-01-01 00:00', 0.6), "
        "('BTCUSDT', '4h', timestamp '2020-01-03 04:00', timestamp '2020-01-03 00:00', "
        "timestamp '2020-01-03 08:00', 0.7)) "
        "as t(symbol, interval, open_time, block_start, train_label_until, probability_up)"
    )
    relations = {"predictions": [d[0] for d in conn.execute("describe predictions").fetchall()]}
    assert _prediction_leak(conn, "gold_signals_x", relations) == (
        "lookahead: gold_signals_x reads the BTCUSDT 4h 2020-01-03 04:00 prediction of "
        "predictions, from a model trained on labels known only at 2020-01-03 08:00"
    )
    conn.execute("delete from predictions where train_label_until > block_start")
    assert _prediction_leak(conn, "gold_signals_x", relations) is None


def test_a_recorded_verdict_is_read_back_and_a_failed_one_refuses(lake_settings: Settings) -> None:
    from hermes.lake import connect as connect_lake
    from hermes.signals.lookahead import Verdict
    from hermes.signals.models import SignalModel
    from hermes.signals.verdicts import (
        LookaheadError,
        check_each,
        record,
        require_passed,
        stored_verdict,
    )

    failed = Verdict("peek", "gold_signals_peek", "f00d" * 8, False, PEEK_LINE, 3, 1, 42, 0.5)
    conn = connect_lake(lake_settings)
    try:
        assert stored_verdict(conn, "0" * 32) is None  # no table yet
        record(conn, failed)
        assert stored_verdict(conn, failed.sql_hash) == failed
        model = SignalModel("peek", "gold_signals_peek", (), (), {}, failed.sql_hash)
        with pytest.raises(LookaheadError, match="^lookahead: gold_signals_peek decides"):
            require_passed(conn, model)
        require_passed(conn, SignalModel("x", "gold_signals_x", (), (), {}, ""))
    finally:
        conn.close()
    # a strategy without a built model is left to the commands' own checks (they name it)
    assert check_each(lake_settings, ["smart_momentum", "Bad-Name"]) == {}
