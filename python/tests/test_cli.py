"""The general commands: `hermes sql`, `hermes build`, `hermes maintain`."""

from __future__ import annotations

import csv
import io

import pytest
from typer.testing import CliRunner

from hermes.cli import app
from hermes.config import PROJECT_ROOT, Settings
from hermes.ingest import ingest_paths
from hermes.lake import connect

BUNDLED = PROJECT_ROOT / "data" / "binance-ohlcv"
COUNTS = "select symbol, interval, count(*) as candles from silver_klines group by all order by all"


def test_sql_prints_a_table_or_csv_and_fails_clearly(
    built_lake: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in built_lake.dbt_env().items():  # the lake, as a user exports it
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    as_csv = runner.invoke(app, ["sql", COUNTS, "--csv"])
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.reader(io.StringIO(as_csv.output)))
    assert rows == [
        ["symbol", "interval", "candles"],
        ["BTCUSDT", "1d", "3065"],
        ["BTCUSDT", "4h", "18371"],
        ["ETHUSDT", "1d", "3065"],
        ["ETHUSDT", "4h", "18371"],
    ]
    table = runner.invoke(app, ["sql", COUNTS, "--max-rows", "2"])
    assert table.exit_code == 0, table.output
    assert "BTCUSDT" in table.output and "18371" in table.output
    assert "2 more rows" in table.output
    broken = runner.invoke(app, ["sql", "select * from no_such_table"])
    assert broken.exit_code == 1
    assert "no_such_table" in broken.output


def test_build_then_maintain_keeps_every_row(lake_settings: Settings) -> None:
    ingest_paths(sorted(BUNDLED.glob("*_1d.csv.gz")), lake_settings)
    runner = CliRunner()
    selection = "path:models/bronze path:models/silver"
    built = runner.invoke(app, ["build", "--selector", "silver"])  # = selection, its tests too
    assert built.exit_code == 0, built.output
    rebuilt = runner.invoke(app, ["build", "--select", selection, "--full-refresh"])
    assert rebuilt.exit_code == 0, rebuilt.output

    def state() -> list[tuple]:
        conn = connect(lake_settings)
        try:
            return (
                conn.execute(COUNTS).fetchall()
                + conn.execute("select count(*) from silver_kline_gaps").fetchall()
            )
        finally:
            conn.close()

    before = state()
    assert before[:2] == [("BTCUSDT", "1d", 3065), ("ETHUSDT", "1d", 3065)]
    files_before = sorted((lake_settings.lake_root / "data").rglob("*.parquet"))
    tidied = runner.invoke(app, ["maintain", "--retention-days", "0"])
    assert tidied.exit_code == 0, tidied.output
    assert "expired" in tidied.output
    # the full refresh left the first build's files behind; maintenance deleted them
    assert len(sorted((lake_settings.lake_root / "data").rglob("*.parquet"))) < len(files_before)
    assert state() == before
