"""Tearsheets written as one batch (what the daily job does): the same pages as one at a time,
the trust table read from the statistics the statistics step stored, exact values from the
lake, <= 1 MB, drawn in Chromium with no network; and every chart a valid plotly figure."""

from __future__ import annotations

import math
import re
import shutil
from functools import partial
from html import unescape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from report.conftest import Research, page_tables

from hermes.backtest.statistics import record_run_statistics
from hermes.config import Settings
from hermes.lake import connect
from hermes.report import charts, tearsheet_data, write_report, write_reports
from hermes.report.browser import Browser, check_page
from hermes.report.labels import HEADLINE, METRICS, format_metric
from hermes.report.tearsheet_data import read_rows
from hermes.stats.metrics import longest_underwater

MB = 1_000_000


@pytest.fixture(scope="module")
def copied(research: Research, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the research lake (which other tests only read) with stored run statistics."""
    root = tmp_path_factory.mktemp("batch") / "lake"
    shutil.copytree(research.settings.lake_root, root, ignore=shutil.ignore_patterns("reports"))
    settings = Settings(lake_root=root)
    assert record_run_statistics(settings, [*research.runs, research.long_run]) == 3
    return settings


def test_a_batch_writes_the_pages_one_at_a_time_writes(
    research: Research, copied: Settings
) -> None:
    run_ids = [*research.runs, research.long_run, research.portfolio, research.quiet_run]
    paths = write_reports(copied, run_ids)
    assert paths == [copied.reports_root / f"{r}.html" for r in run_ids]
    for run_id, path in zip(run_ids, paths, strict=True):
        alone = page_tables(write_report(research.settings, run_id)).tables
        batched = page_tables(path).tables
        assert set(batched) == set(alone)
        for name, table in alone.items():  # stored statistics == recomputed, bit for bit
            assert (batched[name].head, batched[name].rows) == (table.head, table.rows), name
    assert write_reports(copied, []) == []
    with pytest.raises(LookupError, match="bt-missing"):
        write_reports(copied, [research.runs[0], "bt-missing"])


def test_every_batch_is_read_on_one_connection(
    research: Research, copied: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs read two at a time (three batches) open one lake connection, not one a batch;
    the pages are those of one batch."""
    run_ids = [*research.runs, research.long_run, research.portfolio, research.quiet_run]
    whole = {p.name: p.read_text() for p in write_reports(copied, run_ids)}
    opened, batches = [], []

    def counted_connect(*args: Any, **kwargs: Any) -> Any:
        opened.append(args)
        return connect(*args, **kwargs)

    def counted_rows(conn: Any, ids: Any) -> Any:
        batches.append(list(ids))
        return read_rows(conn, ids)

    monkeypatch.setattr(tearsheet_data, "connect", counted_connect)
    monkeypatch.setattr(tearsheet_data, "read_rows", counted_rows)
    monkeypatch.setattr(tearsheet_data, "batches", partial(tearsheet_data.batches, size=2))
    paths = write_reports(copied, run_ids)
    assert len(batches) == 3 and len(opened) == 1
    assert [p.name for p in paths] == list(whole)
    written = "Written by hermes [0-9: -]+ UTC"
    for path in paths:
        assert re.sub(written, "", path.read_text()) == re.sub(written, "", whole[path.name])


def test_a_batch_page_holds_the_lake_values_and_opens_offline(
    research: Research, copied: Settings, browser: Browser
) -> None:
    run_id = research.long_run
    (path,) = write_reports(copied, [run_id])
    assert path.stat().st_size <= MB
    with connect(copied) as conn:
        run = conn.execute("select * from gold_backtest_runs where run_id = ?", [run_id]).df()
        stored = conn.execute(
            "select * from gold_backtest_overfitting where study_kind = 'run' and study_id = ?",
            [run_id],
        ).df()
        trades = conn.execute(
            "select entry_price from gold_backtest_trades where run_id = ? order by trade_id",
            [run_id],
        ).fetchnumpy()["entry_price"]
    tables = page_tables(path).tables
    shown = {r[0]: r[1] for r in tables["metrics"].rows}
    for name in HEADLINE:
        value = run[name][0]
        expected = format_metric(name, None if pd.isna(value) else float(value))
        assert shown[METRICS[name].label] == expected
    trust = dict(tables["trust"].rows)
    low, high = (format_metric("sharpe", stored[f"sharpe_ci_{k}"][0]) for k in ("low", "high"))
    assert trust["Sharpe ratio, 95% interval"] == f"{low} .. {high}"
    assert trust["Probability the true Sharpe ratio is above 0 (PSR)"] == format_metric(
        "psr", stored["psr"][0]
    )
    rows = tables["trades-table"].rows
    assert len(rows) == len(trades) > 20  # every trade, its exact entry price
    assert [r[3] for r in rows] == [f"{p:,.2f}" for p in trades]
    check = check_page(browser, path.resolve().as_uri())
    assert check.errors == [] and check.external_requests == []
    drawn = {c["id"]: c["points"] for c in check.charts if c["drawn"]}
    assert len(drawn) == 7
    assert all(1_500 <= points <= charts.SCREEN_POINTS for points in drawn["chart-growth"])
    assert len(drawn["chart-price"]) == 7 and drawn["chart-price"][3] == len(trades)


def test_unreadable_indicator_lines_stay_a_note_on_their_own_page(
    research: Research, tmp_path: Path
) -> None:
    """A run whose snapshot is gone, or whose strategy the registry no longer holds, still
    gets its page (with a note); the other pages of the batch keep their lines."""
    settings = Settings(lake_root=tmp_path / "lake")
    shutil.copytree(research.settings.lake_root, settings.lake_root)
    gone, unknown, fine = research.runs[0], research.runs[1], research.long_run
    with connect(settings) as conn:
        conn.execute("update gold_backtest_runs set snapshot_id = 999999 where run_id = ?", [gone])
        conn.execute(
            "update gold_backtest_runs set strategy_id = 'retired' where run_id = ?", [unknown]
        )
    run_ids = [gone, unknown, fine]
    pages = dict(zip(run_ids, write_reports(settings, run_ids), strict=True))
    notes = {
        run_id: [unescape(n.split("</p>")[0]) for n in path.read_text().split('class="note">')[1:]]
        for run_id, path in pages.items()
    }
    assert notes[gone][0].startswith("indicator lines not shown:") and "999999" in notes[gone][0]
    assert notes[unknown][0].startswith("indicator lines not shown: unknown strategy 'retired'")
    assert notes[fine] == []
    assert (
        page_tables(pages[gone]).tables["trust"].rows
        == page_tables(write_report(research.settings, gone)).tables["trust"].rows
    )  # no stored row in this copy: computed, the same
    with pytest.raises(LookupError, match="no backtest yet"):
        write_reports(Settings(lake_root=tmp_path / "empty"), ["bt-none"])


def test_every_chart_is_a_valid_plotly_figure() -> None:
    """The figures are plain dicts: plotly's own validators accept every property."""
    rng = np.random.default_rng(3)
    times = np.arange("2020-01-01", "2022-01-01", dtype="datetime64[D]").astype("datetime64[ns]")
    values = 1_000 * np.cumprod(1 + rng.normal(0, 0.01, len(times)))
    trades = pd.DataFrame(
        {
            "entry_time": times[[10, 300]],
            "entry_price": values[[10, 300]],
            "exit_time": times[[50, 400]],
            "exit_price": values[[50, 400]],
            "status": ["closed", "open"],
        }
    )
    months = pd.DataFrame(rng.normal(0, 0.05, (2, 12)), index=[2020, 2021], columns=range(1, 13))
    months.iloc[0, 0] = math.nan
    curves = [("strategy", values, charts.STRATEGY), ("buy and hold", values, charts.BENCHMARK)]
    figures = [
        charts.growth(times, curves, 1_000.0, "growth"),
        charts.drawdowns(times, curves, "drawdown"),
        charts.price(times, values, trades, {"ema": values}, {"rsi": values, "dir": values}, "p"),
        charts.price(times, values, trades.iloc[:0], {}, {}, "no panels, no trades"),
        charts.monthly_heatmap(months, "monthly"),
        charts.bars(["2020", "2021"], [("strategy", [0.1, None], charts.STRATEGY)], "y", "r"),
        charts.lines(times, curves, "rolling", "Sharpe ratio"),
        charts.histogram([("strategy", np.diff(values), charts.STRATEGY)], "h", "r"),
        charts.heatmap(months.to_numpy(), list("abcdefghijkl"), ["x", "y"], "t", "a", "b", "v"),
        charts.heatmap(np.ones((1, 1)), ["a"], ["b"], "t", "a", "b", "v", chosen=("a", "b")),
    ]
    for figure in figures:
        checked = go.Figure(figure).to_plotly_json()  # raises on a property plotly lacks
        assert len(checked["data"]) == len(figure["data"])
    price = figures[2]["layout"]
    assert price["xaxis"]["matches"] == "x3" and price["yaxis3"]["title"]["text"] == "dir"
    bottom, top = price["yaxis3"]["domain"], price["yaxis"]["domain"]
    assert bottom[0] == 0 and top[1] == 1 and top[0] == pytest.approx(0.436)


def test_underwater_runs_equal_a_bar_by_bar_count() -> None:
    rng = np.random.default_rng(11)
    for shape in [(1,), (7,), (2_000,), (2_000, 5), (1, 3)]:
        for share in (0.0, 0.5, 0.97, 1.0):
            dd = (rng.random(shape) < share) * rng.random(shape)
            flat = (dd > 0).reshape(shape[0], -1)
            best, run = np.zeros(flat.shape[1], dtype=int), np.zeros(flat.shape[1], dtype=int)
            for row in flat:
                run = np.where(row, run + 1, 0)
                best = np.maximum(best, run)
            expected = best.reshape(shape[1:]) if len(shape) > 1 else best[0]
            assert np.array_equal(longest_underwater(dd), expected)


def test_a_figure_is_written_with_its_arrays_packed(tmp_path: Path) -> None:
    from hermes.report.render import figure_html

    x = np.arange(5, dtype=float)
    html = figure_html(charts.lines(x, [("a", x, charts.STRATEGY)], "t", "y"), "chart-a")
    assert 'id="chart-a"' in html and '"bdata":"AAAAAAAAAAAAAAAAAADwPw' in html
