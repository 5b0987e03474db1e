"""The pages read back what the lake holds, in readable units, and say what is missing."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from report.conftest import Research, page_tables
from typer.testing import CliRunner

from hermes.backtest.statistics import record_run_statistics, run_statistics
from hermes.cli import app
from hermes.lake import connect
from hermes.report import write_report
from hermes.report.grid_page import write_grid_page
from hermes.report.labels import HEADLINE, METRICS, TRADE_METRICS, format_metric
from hermes.report.pages import write_any
from hermes.report.render import PLOTLY_JS
from hermes.report.site import write_site
from hermes.report.tearsheet import benchmark_metrics, execution_pairs, load
from hermes.report.walk_forward_page import write_walk_forward_page
from hermes.stats import metrics
from hermes.stats.study import study_statistics


def query(research: Research, sql: str, params: list[object] | None = None) -> pd.DataFrame:
    conn = connect(research.settings)
    try:
        return conn.execute(sql, params or []).df()
    finally:
        conn.close()


def test_the_execution_table_names_the_risk_rules() -> None:
    config = {"sl_stop": 0.03, "max_positions": 2, "max_drawdown_halt": 0.15, "halt_bars": 42}
    assert execution_pairs(config) == [
        ("Stop-loss (below entry)", "3%"),
        ("Most symbols held at once", "2"),
        ("Drawdown halting new entries", "15%"),
        ("Bars entries stay halted", "42"),
    ]


def test_tearsheet_shows_the_lake_metrics_next_to_buy_and_hold(research: Research) -> None:
    run_id = research.runs[0]
    path = write_report(research.settings, run_id)
    assert path == research.settings.reports_root / f"{run_id}.html"
    page = path.read_text()
    # the only script it loads is the shared local plotly.js, next to the page
    assert page.count("<script src=") == 1 and f'<script src="assets/{PLOTLY_JS}">' in page
    assert run_id in page
    tables = page_tables(path).tables
    run, equity, trades = load(research.settings, run_id)
    bench = benchmark_metrics(equity, 10_000.0, 86_400)
    rows = {r[0]: r[1:] for r in tables["metrics"].rows}
    assert list(rows) == [METRICS[m].label for m in (*HEADLINE, *TRADE_METRICS)] + ["Final equity"]
    for name in HEADLINE:
        assert rows[METRICS[name].label] == [
            format_metric(name, run[name]),
            format_metric(name, bench[name]),
        ]
    # buy-and-hold measured by the project's metrics equals the recorded buy-and-hold return
    assert bench["total_return"] == pytest.approx(run["buy_and_hold_return"], rel=1e-12)
    assert rows["Total return"][0] == f"{run['total_return'] * 100:,.2f}%"
    assert rows["Closed trades"] == [str(run["trades"]), ""]
    # one trades-table row per trade, returns as recorded
    assert len(tables["trades-table"].rows) == len(trades) == run["trades"] + run["open_trades"]
    for row, ret in zip(tables["trades-table"].rows, trades["return"], strict=True):
        assert row[6] == format_metric("total_return", float(ret))
        assert row[9] in ("sell signal", "open at the end")
    # calendar years compound to the total return, for the strategy and buy-and-hold
    yearly = tables["yearly"].rows
    assert [r[0] for r in yearly] == [str(y) for y in sorted(equity["open_time"].dt.year.unique())]
    params = dict(tables["parameters"].rows)
    assert params["ema_fast"] == "12" and params["rsi_low"] == "45"
    provenance = dict(tables["provenance"].rows)
    assert provenance["Lake snapshot"] == str(run["snapshot_id"])
    assert provenance["Reproduce"] == f"hermes reproduce {run_id}"
    execution = dict(tables["execution"].rows)
    assert execution["Fees (share of each order)"] == "0.1%"


def test_yearly_returns_compound_to_the_total_return(research: Research) -> None:
    from hermes.report.frames import yearly_rows

    _, equity, _ = load(research.settings, research.runs[1])
    years = yearly_rows(equity, 10_000.0)
    growth = math.prod(1 + y["strategy"] for y in years)
    assert growth == pytest.approx(equity["equity"].iloc[-1] / 10_000.0, rel=1e-12)
    bench = math.prod(1 + y["benchmark"] for y in years)
    assert bench == pytest.approx(equity["buy_and_hold_equity"].iloc[-1] / 10_000.0, rel=1e-12)


def test_tearsheet_of_a_quiet_short_run_says_what_is_missing(research: Research) -> None:
    path = write_report(research.settings, research.quiet_run)
    page = path.read_text()
    tables = page_tables(path).tables
    rows = {r[0]: r[1] for r in tables["metrics"].rows}
    assert rows["Closed trades"] == "0" and rows["Sharpe ratio"] == "n/a"
    assert "No trade in this period" in page
    assert "Sharpe ratio: n/a because returns never vary (no position held)." in page
    assert "Rolling Sharpe ratio not shown: the run has 31 bars" in page
    assert "No trade: no entry signal was filled in this period." in page
    trust = dict(tables["trust"].rows)
    assert trust["Sharpe ratio, 95% interval"].startswith("n/a (no return on any bar")
    assert "trades-table" not in tables


def test_portfolio_tearsheet_splits_the_pnl_by_asset(research: Research) -> None:
    path = write_report(research.settings, research.portfolio)
    run, _, trades = load(research.settings, research.portfolio)
    rows = page_tables(path).tables["contributions-table"].rows
    assert [r[0] for r in rows] == ["BTCUSDT", "ETHUSDT"]
    assert sum(int(r[1]) for r in rows) == run["trades"]
    pnl = trades.groupby("symbol")["pnl"].sum()
    assert [r[4] for r in rows] == [format_metric("final_equity", float(pnl[s])) for s in pnl.index]


def test_run_statistics_land_in_the_lake_and_match_the_tearsheet(research: Research) -> None:
    run_id = research.runs[1]
    rows = run_statistics(research.settings, [run_id]).to_pylist()
    (row,) = rows
    _, equity, _ = load(research.settings, run_id)
    returns = metrics.bar_returns(equity["equity"].to_numpy(), 10_000.0)
    stats = study_statistics(returns, 0, 365.0)
    assert row["sharpe_ci_low"] == stats.bootstrap.sharpe.low
    assert row["total_return_ci_high"] == stats.bootstrap.total_return.high
    assert row["psr"] == stats.psr and row["dsr"] is None and row["trials"] == 1
    run = query(research, "select sharpe from gold_backtest_runs where run_id = ?", [run_id])
    assert row["sharpe"] == pytest.approx(run["sharpe"][0], rel=1e-9)
    trust = dict(page_tables(write_report(research.settings, run_id)).tables["trust"].rows)
    low, high = (format_metric("sharpe", row[f"sharpe_ci_{k}"]) for k in ("low", "high"))
    assert trust["Sharpe ratio, 95% interval"] == f"{low} .. {high}"
    with pytest.raises(LookupError, match="bt-missing"):
        run_statistics(research.settings, [run_id, "bt-missing"])
    assert record_run_statistics(research.settings, []) == 0


def test_grid_page_maps_two_parameters_and_marks_the_chosen_one(research: Research) -> None:
    path = write_grid_page(research.settings, research.grid)
    parsed = page_tables(path)
    top = parsed.tables["top"]
    grid = query(research, "select * from gold_backtest_grid where grid_id = ?", [research.grid])
    assert len(top.rows) == len(grid) == 8
    # the parameters that vary come from the parameters JSON: fast, slow and the RSI band
    assert top.head[2:6] == ["ema_fast", "ema_slow", "rsi_high", "rsi_low"]
    chosen = [r for r, c in zip(top.rows, top.classes, strict=True) if c == "chosen"]
    assert len(chosen) == 1 and int(chosen[0][1]) == research.grid_chosen
    assert top.rows[0] == chosen[0]  # ranked by Sharpe ratio, best first
    best = grid.sort_values("sharpe", ascending=False).iloc[0]
    assert chosen[0][-5] == format_metric("sharpe", best["sharpe"])
    stats = dict(parsed.tables["overfitting"].rows)
    (row,) = query(
        research,
        "select * from gold_backtest_overfitting where study_id = ?",
        [research.grid],
    ).to_dict("records")
    assert stats["Deflated Sharpe ratio"] == format_metric("dsr", row["dsr"])
    assert stats["Probability of backtest overfitting (CSCV)"] == format_metric("pbo", row["pbo"])
    assert row["trials"] == 8 and row["observations"] == len(research.grid_returns)
    assert row["pbo_splits"] == 12_870
    # what the grid stored = the statistics of the 8 single runs' returns (same bits)
    alone = study_statistics(research.grid_returns, research.grid_chosen, 365.0)
    assert row["chosen"] == research.grid_chosen == research.studies["grid"].chosen
    assert (row["dsr"], row["pbo"], row["psr"]) == (alone.dsr, alone.cscv.pbo, alone.psr)
    # the chosen column's Sharpe ratio from its returns is the grid's own
    assert row["sharpe"] == pytest.approx(best["sharpe"], rel=1e-9)
    page = path.read_text()
    assert "Sharpe ratio by ema_fast and ema_slow" in page  # the two most varied, by default
    other = write_grid_page(research.settings, research.grid, x="rsi_low", y="ema_fast")
    assert "Sharpe ratio by rsi_low and ema_fast" in other.read_text()
    with pytest.raises(ValueError, match="grid parameter 'nope' does not exist"):
        write_grid_page(research.settings, research.grid, x="nope")
    with pytest.raises(ValueError, match="grid metric"):
        write_grid_page(research.settings, research.grid, value="nope")


def test_grid_of_one_combination_says_nothing_was_compared(research: Research) -> None:
    page = write_grid_page(research.settings, research.single_grid).read_text()
    assert "One combination only: nothing was compared" in page
    assert "chart-heatmap" not in page
    # recorded all the same: the bootstrap of the one set, and why DSR and PBO are missing
    assert "deflated Sharpe ratio and PBO need at least 2 combinations" in page


def test_walk_forward_page_stitches_the_out_of_sample_folds(research: Research) -> None:
    """A walk-forward over two series: each gets its own stitched curve, folds and statistics."""
    path = write_walk_forward_page(research.settings, research.walk_forward)
    tables = page_tables(path).tables
    page = path.read_text()
    assert "not recorded" not in page
    for symbol in ("BTCUSDT", "ETHUSDT"):
        folds = query(
            research,
            "select * from gold_backtest_walk_forward where walk_forward_id = ? and symbol = ? "
            "order by fold",
            [research.walk_forward, symbol],
        )
        assert len(folds) >= 2
        suffix = f"-{symbol}-1d"
        assert [int(r[0]) for r in tables["folds" + suffix].rows] == list(folds["fold"])
        stitched = math.prod(1 + folds["total_return"]) - 1
        summary = {r[0]: r[1:] for r in tables["summary" + suffix].rows}
        assert summary["Total return"][0] == format_metric("total_return", stitched)
        for row, fold in zip(tables["folds" + suffix].rows, folds.to_dict("records"), strict=True):
            assert row[6] == format_metric("total_return", fold["total_return"])
            assert row[10] == fold["run_id"]
            if fold["trades"] == 0 and fold["open_trades"] == 0:
                assert row[7] == "n/a" and "no out-of-sample trade" in row[11]
        stored = query(
            research,
            "select * from gold_backtest_overfitting where study_kind = 'walk_forward' "
            "and study_id = ? and symbol = ? order by fold",
            [research.walk_forward, symbol],
        )  # one row per fold: the in-sample choice among the fold's 8 sets
        assert list(stored["fold"]) == list(folds["fold"]) and set(stored["trials"]) == {8}
        # the chosen set's Sharpe ratio, from its in-sample returns, is the fold's in-sample one
        assert list(stored["sharpe"]) == pytest.approx(list(folds["in_sample_sharpe"]), rel=1e-9)
        for fold in stored.to_dict("records"):
            assert f"<h3>{symbol} 1d: Fold {fold['fold']}</h3>" in page


def test_ab_page_shows_the_difference_and_its_uncertainty(research: Research) -> None:
    path = write_any(research.settings, research.ab)
    page = path.read_text()
    rows = query(
        research, "select * from gold_backtest_ab where ab_id = ? order by variant", [research.ab]
    ).to_dict("records")
    a, b = rows
    assert f"{b['buy_signals'] - a['buy_signals']:+,}" in page
    assert "Sharpe ratio, B - A, 95% interval" in page or "difference interval" in page
    for run in (a["run_id"], b["run_id"]):
        assert f'href="{run}.html"' in page


def test_site_links_every_page_it_lists(research: Research) -> None:
    result = write_site(research.settings)
    index = result.index
    assert index == research.settings.reports_root / "index.html"
    parsed = page_tables(index)
    links = {link for link in parsed.links if link.endswith(".html")}
    for target in links:
        assert (index.parent / target).exists(), target
    for study in (research.grid, research.walk_forward, research.ab, research.single_grid):
        assert f"{study}.html" in links
    latest = query(
        research,
        "select run_id, symbol || ' ' || interval as series, sharpe, total_return, "
        "buy_and_hold_return, max_drawdown from gold_backtest_runs where run_kind = 'single' "
        "and period_start is null qualify row_number() over (partition by symbol, interval "
        "order by created_at desc, run_id) = 1 order by series",
    )
    matrix = parsed.tables["matrix"]
    assert matrix.head == [
        "Series",
        "smart_momentum: Sharpe",
        "smart_momentum: vs buy and hold",
        "smart_momentum: max drawdown",
    ]
    assert matrix.rows == [
        [
            r.series,
            format_metric("sharpe", r.sharpe),
            format_metric("total_return", r.total_return - r.buy_and_hold_return),
            format_metric("max_drawdown", r.max_drawdown),
        ]
        for r in latest.itertuples()
    ]
    assert all(f'href="{r}.html"' in index.read_text() for r in latest["run_id"])
    summary = parsed.tables["universe-summary"].rows
    daily = latest[latest["series"].str.endswith(" 1d")]
    beat = int((daily["total_return"] > daily["buy_and_hold_return"]).sum())
    assert summary[0][:4] == [
        "smart_momentum",
        "1d",
        "2",
        format_metric("sharpe", float(np.median(daily["sharpe"]))),
    ]
    assert summary[0][5] == f"{100 * beat / 2:.0f}% ({beat} of 2)"
    assert [r[1:3] for r in summary] == [["1d", "2"], ["4h", "1"]]
    signals = parsed.tables["latest-signals"].rows
    last = query(
        research,
        "select symbol, interval, max(open_time) as t from gold_signals_smart_momentum "
        "group by all order by symbol, interval",
    )
    assert [r[2] for r in signals] == [str(t) for t in last["t"]]
    series = {r[0]: r for r in parsed.tables["series"].rows}
    assert series["BTCUSDT 1d"][4] == "100.000%"
    assert "chart-universe" in index.read_text()
    assert "No file was quarantined." in index.read_text()
    # pages never change once written: a second pass only rewrites the index
    assert write_site(research.settings).written == [index]


def test_cli_report_and_site(research: Research, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in research.settings.dbt_env().items():  # the commands read this lake
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    shown = runner.invoke(app, ["report", research.grid, "--x", "rsi_high", "--metric", "cagr"])
    assert shown.exit_code == 0, shown.output
    assert (
        "CAGR by rsi_high" in (research.settings.reports_root / f"{research.grid}.html").read_text()
    )
    bad = runner.invoke(app, ["report", "zz-1"])
    assert bad.exit_code == 2 and "is not a run or study id" in bad.output
    missing = runner.invoke(app, ["report", "wf-000000000000"])
    assert missing.exit_code == 2 and "no walk_forward_id 'wf-000000000000'" in missing.output
    site = runner.invoke(app, ["site"])
    assert site.exit_code == 0 and "index.html" in site.output
    chosen = json.loads(
        query(
            research,
            "select parameters from gold_backtest_grid where grid_id = ? and combination = ?",
            [research.grid, research.grid_chosen],
        )["parameters"][0]
    )
    assert np.isfinite(chosen["ema_fast"])


def test_terminal_tables_wrap_instead_of_cutting(research: Research) -> None:
    import io

    from rich.console import Console

    from hermes.report.studies import print_grid, print_walk_forward

    grid = research.studies["grid"]
    values = [format_metric("total_return", v) for v in grid.results["total_return"]]
    # piped (not a terminal): full names and values, however wide
    out = io.StringIO()
    print_grid(grid, 8, Console(file=out, width=80))
    text = out.getvalue()
    assert "…" not in text and "Sharpe ratio" in text and "ema_fast" in text
    assert all(v in text for v in values)
    # a terminal of 80 columns: the table fits, headings wrap, numbers stay whole
    screen = io.StringIO()
    print_grid(grid, 8, Console(file=screen, width=80, force_terminal=True, color_system=None))
    lines = screen.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert all(v in screen.getvalue() for v in values)
    full = io.StringIO()
    print_grid(research.studies["grid"], 8, Console(file=full, width=80), output="csv")
    lines = full.getvalue().splitlines()
    assert lines[0].split(",")[:5] == ["combination", "ema_fast", "ema_slow", "rsi_high", "rsi_low"]
    assert len(lines) == 9
    walk = io.StringIO()
    print_walk_forward(research.studies["walk_forward"], Console(file=walk, width=80))
    assert "…" not in walk.getvalue() and "OOS total return" in walk.getvalue().replace("\n", " ")
    lines_json = io.StringIO()
    print_walk_forward(
        research.studies["walk_forward"], Console(file=lines_json, width=80), output="json"
    )
    records = [json.loads(line) for line in lines_json.getvalue().splitlines()]
    assert [r["fold"] for r in records] == list(research.studies["walk_forward"].folds["fold"])
