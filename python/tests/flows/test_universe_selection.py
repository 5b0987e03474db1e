"""The universe (``HERMES_UNIVERSE``, default the seed) says which series the daily job
backtests and paper trades: a series the lake holds but the universe does not list is left
out and named, on real candles (a copy of the bundled lake: BTCUSDT and ETHUSDT)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fixtures.lake_reads import read_frame

from hermes.config import Settings
from hermes.flows.refresh import backtest_targets
from hermes.flows.summary import RefreshSummary
from hermes.lake import connect, current_snapshot
from hermes.paper.run import refresh_paper
from hermes.universe import UNIVERSE_ENV, load_universe, universe_csv

HEADER = "symbol,intervals,listed_on,delisted_on,status\n"


def write_universe(folder: Path, *rows: str) -> Path:
    path = folder / "universe.csv"
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows))
    return path


def test_the_setting_names_the_universe_and_a_missing_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(UNIVERSE_ENV, raising=False)
    assert universe_csv().name == "universe.csv" and len(load_universe()) == 21  # the seed
    path = write_universe(tmp_path, "SYN001USDT,4h|1d,2024-01-01,,active")
    monkeypatch.setenv(UNIVERSE_ENV, str(path))
    assert [(x.symbol, x.intervals) for x in load_universe()] == [("SYN001USDT", ("4h", "1d"))]
    pending = [("BTCUSDT", "4h"), ("SYN001USDT", "1d"), ("SYN001USDT", "4h"), ("SYN002USDT", "4h")]
    targets, outside = backtest_targets(pending, ["4h"], {("SYN001USDT", "1d"): "stale"})
    assert targets == [("SYN001USDT", "4h")]
    assert outside == [("BTCUSDT", "4h"), ("SYN002USDT", "4h")]
    assert backtest_targets(pending, [], {}) == ([], [])  # no interval to backtest: none
    summary = RefreshSummary("run", unlisted=["BTCUSDT/4h"])
    assert "  not in the universe (not backtested): BTCUSDT/4h" in summary.lines()
    monkeypatch.setenv(UNIVERSE_ENV, str(tmp_path / "missing.csv"))
    with pytest.raises(ValueError, match=r"^HERMES_UNIVERSE: .*missing\.csv: No such file"):
        load_universe()


def test_paper_trades_only_the_series_the_universe_lists(
    built_lake: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(lake_root=tmp_path / "lake")
    shutil.copytree(built_lake.lake_root, settings.lake_root, symlinks=True)
    monkeypatch.setenv("HERMES_LAKE_ROOT", str(settings.lake_root))
    universe = write_universe(tmp_path, "BTCUSDT,4h|1d,2017-08-17,,active")
    monkeypatch.setenv(UNIVERSE_ENV, str(universe))
    with connect(settings) as conn:
        snapshot = current_snapshot(conn)
    summary = refresh_paper(settings, snapshot, write_files=False)
    assert summary.unlisted == ["ETHUSDT/1d", "ETHUSDT/4h"]
    assert summary.series == 1 and summary.ledger_orders > 0
    ledgers = read_frame(settings, "select distinct symbol, interval from gold_paper_orders")
    assert ledgers.values.tolist() == [["BTCUSDT", "4h"]]
