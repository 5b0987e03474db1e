"""`hermes quality`: exit status and messages on the lake of ``fixtures/warn``."""

from __future__ import annotations

import pytest
from defect_lakes import DefectLake
from typer.testing import CliRunner

from hermes.cli import app


@pytest.fixture
def in_warn_lake(warn_lake: DefectLake, monkeypatch: pytest.MonkeyPatch) -> DefectLake:
    monkeypatch.setenv("HERMES_LAKE_ROOT", str(warn_lake.settings.lake_root))
    monkeypatch.setenv("HERMES_TARGET", "local")
    return warn_lake


def test_a_failed_expectation_exits_1_with_its_message(in_warn_lake: DefectLake) -> None:
    result = CliRunner().invoke(app, ["quality", "--table", "silver_klines"])
    assert result.exit_code == 1
    assert "24 expectations on silver_klines, silver_partitions, silver_freshness: 1 failed, " in (
        result.output
    )
    assert "error: silver_freshness" in result.output
    assert "partition=BTCUSDT 1d, lag_hours=240" in result.output


def test_a_longer_allowed_lag_passes_with_the_gap_warning(in_warn_lake: DefectLake) -> None:
    result = CliRunner().invoke(app, ["quality", "-t", "silver_klines", "--max-lag-hours", "240"])
    assert result.exit_code == 0, result.output
    assert "0 failed, 1 warnings" in result.output
    assert "warning: silver_partitions" in result.output
    docs = in_warn_lake.settings.lake_root / "quality" / "data_docs" / "index.html"
    assert f"data docs: {docs}" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "yesterday"], "as-of 'yesterday' is not 'now' or an ISO date/time"),
        (["--table", "bronze_klines"], "no quality suite for table(s) ['bronze_klines']"),
    ],
)
def test_bad_options_exit_2(in_warn_lake: DefectLake, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["quality", *args])
    assert result.exit_code == 2
    assert message in result.output
