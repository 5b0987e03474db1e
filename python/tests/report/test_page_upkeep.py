"""Pages stay small (one shared plotly.js, long series at screen resolution, exact tables) and
the reports folder keeps only the pages someone reads: latest per series, studies, pins."""

from __future__ import annotations

import numpy as np
import pytest
from plotly.offline import get_plotlyjs
from report.conftest import Research, page_tables
from typer.testing import CliRunner

from hermes.cli import app
from hermes.lake import connect
from hermes.report import write_report
from hermes.report.charts import screen
from hermes.report.keep import pinned, prune_pages
from hermes.report.pages import write_any
from hermes.report.render import PLOTLY_JS

MB = 1_000_000


def test_screen_keeps_every_peak_and_trough_of_each_bucket() -> None:
    rng = np.random.default_rng(7)
    values = np.cumsum(rng.normal(size=20_000))
    values[12_345] = 1_000.0  # a one-bar spike and crash must survive
    values[777] = -1_000.0
    values[5_000:5_100] = np.nan
    times = np.arange(20_000)
    x, y = screen(times, values, points=2_000)
    assert len(x) == len(y) <= 2_000 and np.all(np.diff(x) > 0)
    assert np.array_equal(y, values[x], equal_nan=True)  # real points, not averages
    for start, end in zip(
        np.linspace(0, 20_000, 1_001).astype(int)[:-1],
        np.linspace(0, 20_000, 1_001).astype(int)[1:],
        strict=True,
    ):
        bucket = values[start:end]
        if np.isnan(bucket).all():
            continue
        shown = y[(x >= start) & (x < end)]
        assert np.nanmax(shown) == np.nanmax(bucket) and np.nanmin(shown) == np.nanmin(bucket)
    short = np.arange(10.0)
    assert screen(short, short)[1] is not None and len(screen(short, short)[1]) == 10


def test_long_tearsheet_is_small_shares_plotly_and_keeps_exact_tables(research: Research) -> None:
    path = write_report(research.settings, research.long_run)
    text = path.read_text(encoding="utf-8")
    assert len(text.encode()) <= MB
    assert f'<script src="assets/{PLOTLY_JS}"></script>' in text
    assert "Plotly.register" not in text  # the bundle is not inlined
    asset = path.parent / "assets" / PLOTLY_JS
    assert asset.read_text(encoding="utf-8") == get_plotlyjs()
    conn = connect(research.settings)
    try:
        trades, bars = conn.execute(  # type: ignore[misc]
            "select (select count(*) from gold_backtest_trades where run_id = ?), "
            "(select count(*) from gold_backtest_equity where run_id = ?)",
            [research.long_run, research.long_run],
        ).fetchone()
    finally:
        conn.close()
    assert bars > 12_000  # the 4h series is longer than a chart draws
    assert len(page_tables(path).tables["trades-table"].rows) == trades  # every trade listed
    mtime = asset.stat().st_mtime_ns
    write_report(research.settings, research.runs[0])
    assert asset.stat().st_mtime_ns == mtime  # written once per folder


def test_maintain_keeps_latest_study_and_pinned_pages(
    research: Research, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = research.settings
    conn = connect(settings)
    try:
        btc_daily = [
            r[0]
            for r in conn.execute(
                "select run_id from gold_backtest_runs where run_kind = 'single' and symbol = "
                "'BTCUSDT' and interval = '1d' order by created_at, run_id"
            ).fetchall()
        ]
        wf_runs = {
            r[0] for r in conn.execute("select run_id from gold_backtest_walk_forward").fetchall()
        }
    finally:
        conn.close()
    superseded = [r for r in btc_daily[:-1] if r != research.runs[0]]
    pages = [research.runs[0], btc_daily[-1], research.long_run, *superseded, *sorted(wf_runs)]
    for run_id in pages:
        write_report(settings, run_id)
    study = write_any(settings, research.grid)
    for key, value in settings.dbt_env().items():
        monkeypatch.setenv(key, value)
    pin = CliRunner().invoke(app, ["report", research.runs[0], "--pin"])
    assert pin.exit_code == 0, pin.output
    assert f"pinned (1 in all, kept by hermes maintain): {research.runs[0]}" in pin.output
    assert research.runs[0] in pinned(settings)
    deleted = prune_pages(settings, recent=0)
    assert deleted == sorted(superseded) and len(deleted) >= 8  # quiet run, grid reruns
    reports = settings.reports_root
    for kept in (research.runs[0], btc_daily[-1], research.long_run, *wf_runs):
        assert (reports / f"{kept}.html").exists(), kept
    assert study.exists()  # study pages are never pruned
    assert prune_pages(settings, recent=0) == []  # nothing left to delete
    for run_id in superseded:  # the other tests read these pages
        write_report(settings, run_id)
