"""The research index of a 200-symbol universe: under 2 MB, and its strategy x series matrix
sorts and filters in Chromium with no network.

The lake here is an in-memory DuckDB database attached as ``lake`` holding the tables the
index reads, at a universe's size: 200 symbols x (4h, 1d) x 4 strategies, eight years of
monthly data health, a signal table per strategy, and the runs' equity curves.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest
from report.conftest import page_tables

from hermes.report.browser import Browser, check_page
from hermes.report.site import read_site, write_index
from hermes.report.universe import equal_weight
from hermes.universe import UNIVERSE_ENV, listed_series

SYMBOLS, STRATEGIES = 200, ("alpha", "beta", "gamma", "delta")
MB = 1_000_000
UNIVERSE_SQL = """
create table strategies as select s as strategy_id, s as name, 'v1' as version,
  'trend' as tags, 'active' as status, 'a test strategy' as description
  from unnest(?::varchar[]) t(s);
create table series as select 'S' || lpad(i::varchar, 3, '0') || 'USDT' as symbol, interval
  from range(?) r(i), (values ('4h'), ('1d')) v(interval);
create table gold_backtest_runs as
select 'bt-' || md5(strategy_id || symbol || interval)[:12] as run_id, 'single' as run_kind,
  strategy_id, 'v1' as strategy_version, symbol, interval,
  null::timestamp as period_start, null::timestamp as period_end,
  timestamp '2026-01-01' + to_minutes(row_number() over ()) as created_at,
  '{"init_cash": 10000.0}' as config, 17520 as rows, 40 as trades,
  (hash(symbol || strategy_id) % 300)::double / 100 - 1 as sharpe,
  (hash(symbol || interval || strategy_id) % 500)::double / 100 - 1 as total_return,
  (hash(symbol) % 400)::double / 100 - 1 as buy_and_hold_return,
  (hash(strategy_id || symbol) % 90)::double / 100 as max_drawdown
from strategies, series;
create table gold_backtest_equity as
select run_id, timestamp '2018-01-01' + to_days(d) as open_time,
  10000 * (1 + d * sharpe / 5000) as equity, 10000 * (1 + d / 9000) as buy_and_hold_equity
from gold_backtest_runs, range(0, 2920, 7) w(d);
create table silver_quality as
select symbol, interval, timestamp '2018-01-01' + to_months(m) as month,
  timestamp '2018-01-01' + to_months(m + 1) as last_open_time, 180 as present_candles,
  0 as missing_candles, 180 as expected_candles, 0 as anomaly_count,
  100.0 as completeness_pct
from series, range(96) r(m);
"""


def universe_lake() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("attach ':memory:' as lake")
    conn.execute("use lake")
    for statement in UNIVERSE_SQL.split(";")[:-1]:
        params: list[object] | None = [list(STRATEGIES)] if "unnest" in statement else None
        params = [SYMBOLS] if "range(?)" in statement else params
        conn.execute(statement, params)
    for strategy in STRATEGIES:
        conn.execute(
            f"create table gold_signals_{strategy} as select symbol, interval, "  # noqa: S608
            "timestamp '2026-01-01' + to_hours(4 * h) as open_time, h % 5 = 0 as buy_signal, "
            "h % 7 = 0 as sell_signal from series, range(6) r(h)"
        )
    return conn


@pytest.fixture(scope="module")
def universe_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    conn = universe_lake()
    try:
        content = read_site(conn)
    finally:
        conn.close()
    linked = {cell["run_id"] for r in content["matrix"].rows for cell in r["cells"]}
    folder = tmp_path_factory.mktemp("universe")
    return write_index(folder / "index.html", content, linked, [], "a test universe")


def test_universe_index_is_under_2_mb_with_every_series(universe_index: Path) -> None:
    assert universe_index.stat().st_size <= 2 * MB
    tables = page_tables(universe_index).tables
    assert len(tables["matrix"].rows) == SYMBOLS * 2
    assert len(tables["matrix"].head) == 1 + 3 * len(STRATEGIES)
    assert len(tables["universe-summary"].rows) == 2 * len(STRATEGIES)
    assert len(tables["latest-signals"].rows) == 2 * SYMBOLS * len(STRATEGIES)


def test_the_site_shows_the_series_of_the_universe_in_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    universe = tmp_path / "universe.csv"
    universe.write_text(
        "symbol,intervals,listed_on,delisted_on,status\n"
        "S000USDT,4h|1d,2018-01-01,,active\nS007USDT,1d,2018-01-01,,active\n"
    )
    monkeypatch.setenv(UNIVERSE_ENV, str(universe))
    conn = universe_lake()
    try:
        content = read_site(conn, listed_series())
    finally:
        conn.close()
    shown = [("S000USDT", "1d"), ("S000USDT", "4h"), ("S007USDT", "1d")]
    assert [r["series"] for r in content["matrix"].rows] == [f"{s} {i}" for s, i in shown]
    assert sorted((r["symbol"], r["interval"]) for r in content["latest"]) == sorted(shown * 4)
    assert len(content["signals"]) == 3 * len(STRATEGIES)
    assert [s["series"] for s in content["summary"] if s["strategy_id"] == "alpha"] == [2, 1]
    assert len(content["recent"]) == 3 * len(STRATEGIES)  # every run of the shown series
    assert {(r["symbol"], r["interval"]) for r in content["recent"]} == set(shown)
    assert [(r["symbol"], r["interval"]) for r in content["health"]["series"]] == shown


def test_equal_weight_portfolio_is_the_mean_of_the_series_growth() -> None:
    conn = universe_lake()
    try:
        runs = [
            r[0]
            for r in conn.execute(
                "select run_id from gold_backtest_runs where strategy_id = 'alpha' "
                "and interval = '1d' order by run_id limit 3"
            ).fetchall()
        ]
        portfolio = equal_weight(conn, runs)
        last = conn.execute(
            "select arg_max(equity, open_time) / 10000 from gold_backtest_equity "
            "where list_contains(?, run_id) group by run_id",
            [runs],
        ).fetchall()
    finally:
        conn.close()
    assert portfolio["strategy"].iloc[-1] == pytest.approx(np.mean([r[0] for r in last]), 1e-12)
    assert portfolio["benchmark"].iloc[0] == pytest.approx(1.0, abs=1e-3)


SORT_BY_BETA_SHARPE = """
(() => {
  const table = document.getElementById('matrix');
  const heads = Array.from(table.tHead.rows[0].cells);
  const th = heads.find(h => h.textContent === 'beta: Sharpe');
  th.click();  // first click: highest first
  const column = heads.indexOf(th);
  return Array.from(table.tBodies[0].rows).map(r => parseFloat(r.cells[column].dataset.v));
})()
"""
FILTER = """
(() => {
  const input = document.getElementById('matrix-filter');
  input.value = 'S007USDT';
  input.dispatchEvent(new Event('input'));
  return Array.from(document.getElementById('matrix').tBodies[0].rows)
    .filter(r => !r.hidden).map(r => r.cells[0].textContent);
})()
"""


def test_universe_matrix_sorts_and_filters_in_chromium(
    universe_index: Path, browser: Browser
) -> None:
    check = check_page(browser, universe_index.resolve().as_uri())
    assert check.errors == [] and check.external_requests == []
    drawn = {c["id"]: c["points"] for c in check.charts if c["drawn"]}
    assert len(drawn["chart-universe"]) == 2 * len(STRATEGIES) + 2  # + buy and hold per interval
    session = browser.open(universe_index.resolve().as_uri())
    values = browser.evaluate(session, SORT_BY_BETA_SHARPE)
    assert len(values) == SYMBOLS * 2 and values == sorted(values, reverse=True)
    assert browser.evaluate(session, FILTER) == ["S007USDT 1d", "S007USDT 4h"]
