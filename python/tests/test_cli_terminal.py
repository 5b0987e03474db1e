"""Terminal manners of `hermes`: help, --version, choices, dates, symbols, ingest's report.

Every command runs as a user runs it: the installed `hermes` script in a child process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import get_args

import pytest
import typer
from fixtures.binance import archive, kline_zip, publish, serve_site

from hermes import __version__
from hermes.cli import app
from hermes.cli.options import AbFilter, Objective, Period, utc_today
from hermes.config import Settings
from hermes.ingest.console import not_available_summary
from hermes.ingest.layout import PERIODS, default_end
from hermes.ingest.report import FileResult, Outcome
from hermes.lake import connect

HERMES = str(Path(sys.executable).with_name("hermes"))


def hermes(args: list[str], lake: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "HERMES_DEBUG"}
    environment |= {"HERMES_LAKE_ROOT": str(lake), "HERMES_TARGET": "local", "COLUMNS": "120"}
    environment |= env
    return subprocess.run(
        [HERMES, *args], capture_output=True, text=True, env=environment, timeout=300
    )


def _commands() -> Iterator[tuple[str, typer.core.TyperCommand]]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    yield from group.commands.items()  # type: ignore[misc]


def test_version(tmp_path: Path) -> None:
    result = hermes(["--version"], tmp_path / "lake")
    assert result.returncode == 0
    assert result.stdout.strip() == f"hermes {__version__}"
    assert not (tmp_path / "lake").exists()


def test_every_option_has_help_and_the_help_has_no_type_tags_or_rst(tmp_path: Path) -> None:
    names = [name for name, _ in _commands()]
    assert {"sql", "ingest", "backtest", "walk-forward", "ab", "build"} <= set(names)
    for name, command in _commands():
        assert command.help and "``" not in command.help, name
        for param in command.params:
            assert getattr(param, "help", None), f"hermes {name} {param.name} has no help"
    for args in [["--help"], *([name, "--help"] for name in names)]:
        result = hermes(args, tmp_path / "lake")
        assert result.returncode == 0, result.stderr
        text = result.stdout
        assert not re.search(r"<(bool|str|int|float|list\[|path|datetime)", text), (args, text)
        assert "``" not in text and ":func:" not in text, args
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize(
    ("command", "choices"),
    [
        ("backtest", "[next_open|same_close]"),
        ("grid", "[next_open|same_close]"),
        ("walk-forward", "[sharpe|sortino|calmar|total_return|cagr]"),
        ("ab", "[mtf_confluence|vol_adjusted_rsi]"),
        ("ingest", "[monthly|daily]"),
    ],
)
def test_enum_options_list_their_choices(command: str, choices: str, tmp_path: Path) -> None:
    result = hermes([command, "--help"], tmp_path / "lake", COLUMNS="200")
    assert choices in result.stdout


def test_choices_are_those_the_modules_accept() -> None:
    from hermes.backtest.ab import FILTERS
    from hermes.backtest.walk_forward import OBJECTIVES

    assert get_args(Objective) == OBJECTIVES
    assert get_args(Period) == PERIODS
    assert set(get_args(AbFilter)) == set(FILTERS)


def test_a_choice_outside_the_list_is_refused_before_anything_runs(tmp_path: Path) -> None:
    result = hermes(["ingest", "-s", "BTCUSDT", "-i", "4h", "--start", "2024-01-01",
                     "--period", "weekly"], tmp_path / "lake")  # fmt: skip
    assert result.returncode == 2
    assert "'weekly' is not one of 'monthly', 'daily'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "-s", "BTCUSDT", "-i", "4h", "--start", "2024-02-30"],
         "2024-02-30 is not a valid date: day is out of range for month"),
        (["ingest", "-s", "BTCUSDT", "-i", "4h", "--start", "2024-01-01", "--end", "2024-13-01"],
         "2024-13-01 is not a valid date: month must be in 1..12"),
        (["ingest", "-s", "BTCUSDT", "-i", "4h", "--start", "01/02/2024"],
         "'01/02/2024' is not a date: expected YYYY-MM-DD"),
        (["backtest", "--start", "2023-02-29"],
         "2023-02-29 is not a valid date and time: day is out of range for month"),
        (["grid", "--end", "2024-01-01 25:00"],
         "2024-01-01 25:00 is not a valid date and time: hour must be in 0..23"),
    ],
)  # fmt: skip
def test_dates_are_validated_as_dates(args: list[str], message: str, tmp_path: Path) -> None:
    result = hermes(args, tmp_path / "lake", COLUMNS="300")
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "lake").exists()


def test_default_end_is_the_latest_archive_the_site_publishes() -> None:
    today = date(2024, 3, 1)
    assert default_end("daily", today) == date(2024, 2, 29)
    assert default_end("monthly", today) == date(2024, 2, 29)
    assert default_end("monthly", date(2024, 3, 31)) == date(2024, 2, 29)
    assert default_end("daily", date(2024, 1, 1)) == date(2023, 12, 31)


def test_not_available_archives_are_named_as_date_ranges() -> None:
    names = [
        "BTCUSDT-4h-2024-01.zip",
        "BTCUSDT-4h-2024-02.zip",
        "BTCUSDT-4h-2024-03.zip",
        "BTCUSDT-4h-2024-06.zip",
        "ETHUSDT-1d-2024-02-28.zip",
        "ETHUSDT-1d-2024-02-29.zip",
        "ETHUSDT-1d-2024-03-01.zip",
        "ETHUSDT-1d-2024-03-03.zip",
    ]
    results = [FileResult(archive(n).source_file, Outcome.NOT_AVAILABLE) for n in reversed(names)]
    assert not_available_summary(results) == (
        "BTCUSDT 4h monthly 2024-01..2024-03, 2024-06; "
        "ETHUSDT 1d daily 2024-02-28..2024-03-01, 2024-03-03"
    )


def test_ingest_normalises_symbols_and_names_what_the_site_lacks(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for name in ("BTCUSDT-4h-2024-01.zip", "BTCUSDT-4h-2024-02.zip", "ETHUSDT-4h-2024-01.zip"):
        publish(site, archive(name), kline_zip(archive(name)))
    lake = tmp_path / "lake"
    with serve_site(site) as (url, _):
        result = hermes(
            ["ingest", "-s", "btcusdt", "-s", "EthUsdt", "-i", "4h", "--start", "2024-01-01",
             "--end", "2024-03-31", "--base-url", url],
            lake,
            COLUMNS="300",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "6 files: 3 ingested, 3 not available; 546 rows ingested" in result.stdout
    assert (
        "not available on the site (yet): BTCUSDT 4h monthly 2024-03; "
        "ETHUSDT 4h monthly 2024-02..2024-03"
    ) in result.stdout
    conn = connect(Settings(lake_root=lake))
    try:
        rows = conn.execute(
            "select symbol, count(*) from landing.files group by all order by all"
        ).fetchall()
    finally:
        conn.close()
    assert rows == [("BTCUSDT", 2), ("ETHUSDT", 1)]


def test_ingest_says_where_a_download_without_end_stops(tmp_path: Path) -> None:
    yesterday = utc_today() - timedelta(days=1)
    start = yesterday - timedelta(days=1)
    with serve_site(tmp_path / "site") as (url, _):
        result = hermes(
            ["ingest", "-s", "BTCUSDT", "-i", "1d", "--period", "daily",
             "--start", start.isoformat(), "--base-url", url],
            tmp_path / "lake",
            COLUMNS="300",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"--end not given: downloading daily archives up to {yesterday}" in result.stdout
    assert f"BTCUSDT 1d daily {start}..{yesterday}" in result.stdout
