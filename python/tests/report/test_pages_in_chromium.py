"""The pages looked at in headless Chromium: they load without console errors or requests
outside the page, and every chart is drawn with data.

Needs Debian's ``chromium`` (``make test`` installs it when it can). Without it the tests are
skipped with that reason on a workstation, and fail under CI, where it must be there.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from report.conftest import Research

from hermes.report import write_report
from hermes.report.browser import Browser, check_page, open_browser, screenshot
from hermes.report.charts import SCREEN_POINTS
from hermes.report.grid_page import write_grid_page
from hermes.report.site import write_site
from hermes.report.walk_forward_page import write_walk_forward_page


def _charts(check: object) -> dict[str, list[int]]:
    return {c["id"]: c["points"] for c in check.charts if c["drawn"]}  # type: ignore[attr-defined]


def test_tearsheet_in_chromium(research: Research, browser: Browser) -> None:
    path = write_report(research.settings, research.runs[0])
    check = check_page(browser, path.resolve().as_uri())
    assert check.errors == [] and check.external_requests == []
    assert check.title.startswith("smart_momentum on BTCUSDT 1d")
    charts = _charts(check)
    assert set(charts) == {
        "chart-growth",
        "chart-drawdown",
        "chart-price",
        "chart-monthly",
        "chart-yearly",
        "chart-rolling-sharpe",
        "chart-distribution",
    }
    # 3,065 bars drawn at screen resolution: the low and high of each of 1,500 buckets
    growth = charts["chart-growth"]
    assert all(1_500 <= points <= SCREEN_POINTS for points in growth)
    # close, the signal table's ema_fast / ema_slow lines, entries, exits, rsi and st_dir
    price = charts["chart-price"]
    assert len(price) == 7 and 1_500 <= price[0] <= SCREEN_POINTS and min(price[1:3]) > 1_400
    assert all(points > 0 for points in sum(charts.values(), []))


def test_long_tearsheet_loads_its_shared_script_offline(
    research: Research, browser: Browser
) -> None:
    path = write_report(research.settings, research.long_run)
    check = check_page(browser, path.resolve().as_uri())
    assert check.errors == [] and check.external_requests == []
    charts = _charts(check)
    assert len(charts) == 7  # plotly loaded from assets/ drew every chart
    assert all(1_500 <= points <= SCREEN_POINTS for points in charts["chart-growth"])


def test_quiet_run_tearsheet_in_chromium(research: Research, browser: Browser) -> None:
    path = write_report(research.settings, research.quiet_run)
    check = check_page(browser, path.resolve().as_uri())
    assert check.errors == [] and check.external_requests == []
    charts = _charts(check)
    assert "chart-rolling-sharpe" not in charts  # shorter than the window: said in words
    assert charts["chart-growth"] == [31, 31]  # short: every bar
    assert charts["chart-price"][3:5] == [0, 0]  # no entry, no exit


def test_study_pages_and_index_in_chromium(research: Research, browser: Browser) -> None:
    grid = write_grid_page(research.settings, research.grid)
    check = check_page(browser, grid.resolve().as_uri())
    assert check.errors == [] and check.external_requests == []
    charts = _charts(check)
    assert charts["chart-heatmap"] == [4, 1]  # 2 fast x 2 slow cells, and the chosen mark
    assert charts["chart-sharpes"][0] > 0
    walk = write_walk_forward_page(research.settings, research.walk_forward)
    check = check_page(browser, walk.resolve().as_uri())
    assert check.errors == [] and set(_charts(check)) == {
        f"chart-{kind}-{symbol}-1d"
        for kind in ("growth", "folds")
        for symbol in ("BTCUSDT", "ETHUSDT")
    }  # one stitched curve and one fold chart per series
    index = write_site(research.settings).index
    check = check_page(browser, index.resolve().as_uri())
    assert check.errors == [] and check.external_requests == []
    assert check.title.startswith("Hermes research")
    assert _charts(check)["chart-completeness"][0] > 0


def test_screenshot_is_a_png_of_the_page(
    research: Research, browser: Browser, tmp_path: Path
) -> None:
    path = write_report(research.settings, research.runs[1])
    out = screenshot(browser, path.resolve().as_uri(), tmp_path / "tearsheet.png", 800, 600)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (800, 600)


def test_screenshot_command(
    research: Research, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hermes.report.browser import main

    for key, value in research.settings.dbt_env().items():  # `--latest` of this lake
        monkeypatch.setenv(key, value)
    assert main([]) == 2
    out = tmp_path / "latest.png"
    assert main(["--latest", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_chromium_leaves_no_temporary_folder(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chromium's single-instance socket folder (``org.chromium.Chromium.*`` in the system's
    temporary folder, which Chromium leaves behind when stopped) is removed with the profile.
    (``browser``: skipped or failed like the other page tests.)"""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the profile goes to tmp_path
    with open_browser() as running:
        assert running.call("Browser.getVersion")["product"]
        (profile,) = tmp_path.glob("hermes-chromium-*")
        socket = Path(os.readlink(profile / "SingletonSocket"))
        assert socket.parent.name.startswith("org.chromium.Chromium."), socket
        assert socket.is_socket()
    assert not socket.parent.exists()
    assert list(tmp_path.iterdir()) == []
