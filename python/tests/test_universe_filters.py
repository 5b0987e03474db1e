"""What reads the lake's series follows the universe in force (``HERMES_UNIVERSE``): the
research site's recent runs and data health, ``hermes backtest``, ``hermes live`` and the
scaling measurement, on the lake built from the bundled real data (BTCUSDT and ETHUSDT at 4h
and 1d) with a universe that lists BTCUSDT only."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hermes.backtest.runs import run_backtests
from hermes.cli import app
from hermes.config import Settings
from hermes.flows.scaling import universe_series
from hermes.lake import connect
from hermes.live.engine import lake_series
from hermes.publish import publish
from hermes.report.site import data_health, published_site, read_site

HEADER = "symbol,intervals,listed_on,delisted_on,status\n"
BTC_ONLY = "BTCUSDT,4h|1d,2017-08-17,,active\n"
CANDLES = {("BTCUSDT", "1d"): 3065, ("BTCUSDT", "4h"): 18371}  # the bundled files' rows


@pytest.fixture(scope="module")
def published_lake(
    built_lake: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, dict[str, str]]]:
    """A copy of the bundled lake with smart_momentum's 4h runs of both pairs, published;
    and the run id of each symbol."""
    folder = tmp_path_factory.mktemp("universe-filters")
    settings = Settings(lake_root=folder / "lake")
    shutil.copytree(built_lake.lake_root, settings.lake_root, symlinks=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HERMES_LAKE_ROOT", str(settings.lake_root))
        patch.delenv("HERMES_UNIVERSE", raising=False)
        runs = run_backtests(settings, "smart_momentum", ["BTCUSDT", "ETHUSDT"], ["4h"])
        with connect(settings) as conn:
            publish(conn, "universe-filters", "data")
            ids = dict(
                conn.execute(
                    "select symbol, run_id from gold_backtest_runs where list_contains(?, run_id)",
                    [runs],
                ).fetchall()
            )
    yield settings, ids


@pytest.fixture
def btc_universe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "universe.csv"
    path.write_text(HEADER + BTC_ONLY)
    monkeypatch.setenv("HERMES_UNIVERSE", str(path))
    return path


def test_recent_runs_and_data_health_show_the_universe_only(
    published_lake: tuple[Settings, dict[str, str]],
    btc_universe: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings, ids = published_lake
    monkeypatch.setenv("HERMES_LAKE_ROOT", str(settings.lake_root))
    with connect(settings, read_only=True) as conn:
        everything = read_site(conn)  # no universe: every series of the lake
        months = data_health(conn, [("BTCUSDT", "4h")])["months"]
        gaps = conn.execute(
            "select symbol, interval, gap_start from silver_kline_gaps where symbol = 'BTCUSDT' "
            "order by missing_candles desc, symbol, interval limit 20"
        ).fetchall()
    assert {r["run_id"] for r in everything["recent"]} == set(ids.values())
    assert {r["symbol"] for r in everything["health"]["series"]} == {"BTCUSDT", "ETHUSDT"}

    site = published_site(settings)  # the published state, the universe in force
    assert [r["run_id"] for r in site["recent"]] == [ids["BTCUSDT"]]
    health = {(r["symbol"], r["interval"]): r["candles"] for r in site["health"]["series"]}
    assert health == CANDLES
    shown = [(g["symbol"], g["interval"], str(g["gap_start"])) for g in site["health"]["gaps"]]
    assert shown == [(s, i, str(t)) for s, i, t in gaps] and len(shown) == 8
    assert set(months["series"]) == {"BTCUSDT 4h"} and len(months) == 102
    assert [r["series"] for r in site["matrix"].rows] == ["BTCUSDT 4h"]


def test_backtest_refuses_a_symbol_outside_the_universe_unless_asked(
    built_lake_copy: Settings, btc_universe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    refused = runner.invoke(app, ["backtest", "--symbol", "ethusdt", "--interval", "4h"])
    assert refused.exit_code == 2, refused.output
    assert refused.output.splitlines() == [
        f"error: symbol ETHUSDT is not in the universe ({btc_universe}): add its row there, "
        "or pass --outside-universe"
    ]
    by_default = runner.invoke(app, ["backtest", "--interval", "4h"])
    assert by_default.exit_code == 0, by_default.output
    allowed = runner.invoke(
        app, ["backtest", "--symbol", "ETHUSDT", "--interval", "4h", "--outside-universe"]
    )
    assert allowed.exit_code == 0, allowed.output
    with connect(built_lake_copy, read_only=True) as conn:
        runs = conn.execute(
            "select symbol, interval, rows from gold_backtest_runs order by created_at"
        ).fetchall()
    assert runs == [("BTCUSDT", "4h", 18371), ("ETHUSDT", "4h", 18371)]
    elsewhere = btc_universe.parent / "elsewhere.csv"
    elsewhere.write_text(HEADER + "SOLUSDT,4h,2020-08-11,,active\n")
    monkeypatch.setenv("HERMES_UNIVERSE", str(elsewhere))
    none = runner.invoke(app, ["backtest", "--interval", "4h"])
    assert none.exit_code == 2
    assert none.output.splitlines() == [
        f"error: the lake's gold_feature_store holds no symbol of the universe ({elsewhere}); "
        "--outside-universe backtests the symbols it holds"
    ]


def test_live_and_the_scaling_measure_follow_the_universe(
    published_lake: tuple[Settings, dict[str, str]],
    btc_universe: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings, _ = published_lake
    monkeypatch.setenv("HERMES_LAKE_ROOT", str(settings.lake_root))
    assert lake_series(settings, None, None) == [("BTCUSDT", "1d"), ("BTCUSDT", "4h")]
    assert lake_series(settings, None, ["4h"]) == [("BTCUSDT", "4h")]
    outside = rf"^symbol ETHUSDT is not in the universe \({btc_universe}\)$"
    with pytest.raises(ValueError, match=outside):
        lake_series(settings, ["ETHUSDT"], None)
    result = CliRunner().invoke(app, ["live", "--symbol", "ETHUSDT", "--once"])
    assert result.exit_code == 1
    assert result.output == f"error: symbol ETHUSDT is not in the universe ({btc_universe})\n"
    assert universe_series(settings, "4h")[1] == [("BTCUSDT", "4h")]

    other = tmp_path / "other.csv"
    other.write_text(HEADER + "SOLUSDT,4h,2020-08-11,,active\n")
    monkeypatch.setenv("HERMES_UNIVERSE", str(other))
    with pytest.raises(ValueError, match="holds no series of the universe"):
        lake_series(settings, None, None)
    assert universe_series(settings, "4h")[1] == []
