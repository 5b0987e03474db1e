"""``HERMES_UNIVERSE`` is a setting (:attr:`hermes.config.Settings.universe`): checked where
settings are read (a missing or malformed file is one line naming it), read by
:mod:`hermes.universe`, and followed by dbt's ``silver_universe`` (the same rows as Python's
:func:`hermes.universe.listed_series`), on the lake built from the bundled real data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hermes.cli import app
from hermes.config import UNIVERSE_SEED, Settings
from hermes.dbt_runner import run_dbt
from hermes.lake import connect
from hermes.universe import UniverseError, listed_series, load_universe, universe_csv

HEADER = "symbol,intervals,listed_on,delisted_on,status\n"
CUSTOM = (
    "BTCUSDT,4h,2017-08-17,,active",
    "MATICUSDT,4h|1d,2019-04-26,2024-09-10,delisted",
    "ETHUSDT,1d|,2017-08-17,,active",
)
SILVER_UNIVERSE = "select symbol, interval from silver_universe order by all"


def write_universe(folder: Path, *rows: str, header: str = HEADER) -> Path:
    path = folder / "universe.csv"
    path.write_text(header + "".join(f"{row}\n" for row in rows))
    return path


def test_the_setting_defaults_to_the_seed_and_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HERMES_UNIVERSE", raising=False)
    assert Settings.from_env().universe == UNIVERSE_SEED == universe_csv()
    assert Settings.from_env().dbt_env()["HERMES_UNIVERSE"] == str(UNIVERSE_SEED)

    path = write_universe(tmp_path, *CUSTOM)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HERMES_UNIVERSE", "universe.csv")  # relative to the current folder
    assert Settings.from_env().universe == path.resolve() == universe_csv()
    assert Settings.from_env().dbt_env()["HERMES_UNIVERSE"] == str(path.resolve())
    assert listed_series() == [
        ("BTCUSDT", "4h"),
        ("ETHUSDT", "1d"),
        ("MATICUSDT", "1d"),
        ("MATICUSDT", "4h"),
    ]

    missing = tmp_path / "missing.csv"
    monkeypatch.setenv("HERMES_UNIVERSE", str(missing))
    with pytest.raises(ValueError, match=f"^HERMES_UNIVERSE: {missing}: No such file"):
        Settings.from_env()
    monkeypatch.setenv("HERMES_UNIVERSE", str(write_universe(tmp_path, header="pair,days\n")))
    with pytest.raises(ValueError, match="the header must be symbol,intervals,.*, not pair,days$"):
        Settings.from_env()
    binary = tmp_path / "universe.parquet"
    binary.write_bytes(b"PAR1\xff\xfe\x00\x15")
    monkeypatch.setenv("HERMES_UNIVERSE", str(binary))
    with pytest.raises(ValueError, match=f"^HERMES_UNIVERSE: {binary}: not a CSV file"):
        Settings.from_env()
    quoted = tmp_path / "it's.csv"
    shutil.copy(path, quoted)
    monkeypatch.setenv("HERMES_UNIVERSE", str(quoted))
    with pytest.raises(ValueError, match="must not contain a quote"):
        Settings.from_env()


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (
            "BTCUSDT,4h,2017-08-17,,active\nBTCUSDT,1d,2017-08-17,,active",
            "row 3: BTCUSDT is listed on row 2",
        ),
        ("BTCUSDT,4h|7h,2017-08-17,,active", "row 2: interval '7h' is not one the lake accepts"),
        ("BTCUSDT,4h,2017-08-17,active", "row 2: 5 fields expected"),
        ("BTCUSDT,4h,2017-08-17,,active,x", "row 2: 5 fields expected"),
        ("BTCUSDT,4h,2017-13-01,,active", "row 2: listed_on '2017-13-01' is not a YYYY-MM-DD"),
    ],
)
def test_a_malformed_row_is_named_with_its_file(tmp_path: Path, row: str, problem: str) -> None:
    path = write_universe(tmp_path, row)
    with pytest.raises(UniverseError, match=f"^{path}: {problem}"):
        load_universe(path)


def test_a_command_ends_in_one_line_naming_the_universe_file(
    built_lake: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HERMES_LAKE_ROOT", str(built_lake.lake_root))
    runner = CliRunner()
    missing = tmp_path / "missing.csv"
    monkeypatch.setenv("HERMES_UNIVERSE", str(missing))
    for args in (["sql", "select 1"], ["refresh"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, result.output
        assert result.output == f"error: HERMES_UNIVERSE: {missing}: No such file or directory\n"
    bad = write_universe(tmp_path, "BTCUSDT,4h,2017-08-17,,delisted")
    monkeypatch.setenv("HERMES_UNIVERSE", str(bad))
    result = runner.invoke(app, ["backtest", "--symbol", "BTCUSDT"])
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        f"error: {bad}: row 2: status 'delisted' does not match delisted_on (empty)"
    ]


def test_silver_universe_holds_the_series_python_reads(
    built_lake: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HERMES_UNIVERSE", raising=False)
    with connect(built_lake, read_only=True) as conn:  # built with the seed
        assert conn.execute(SILVER_UNIVERSE).fetchall() == listed_series()
        assert len(listed_series()) == 41  # 20 pairs at 4h and 1d, BCHUSDT at 1d

    settings = Settings(lake_root=tmp_path / "lake", universe=write_universe(tmp_path, *CUSTOM))
    shutil.copytree(built_lake.lake_root, settings.lake_root, symlinks=True)
    monkeypatch.setenv("HERMES_LAKE_ROOT", str(settings.lake_root))
    monkeypatch.setenv("HERMES_UNIVERSE", str(settings.universe))
    _, nodes = run_dbt(["build", "--select", "silver_universe"], settings, target_path=tmp_path)
    assert {n.name: n.status for n in nodes if n.resource_type == "model"} == {
        "silver_universe": "success"
    }
    assert sum(n.status == "pass" for n in nodes) == 7  # its data tests
    with connect(settings, read_only=True) as conn:
        rows = conn.execute(SILVER_UNIVERSE).fetchall()
        matic = conn.execute(
            "select distinct listed_on::varchar, delisted_on::varchar, status "
            "from silver_universe where symbol = 'MATICUSDT'"
        ).fetchall()
    assert (
        rows
        == listed_series()
        == [
            ("BTCUSDT", "4h"),
            ("ETHUSDT", "1d"),
            ("MATICUSDT", "1d"),
            ("MATICUSDT", "4h"),
        ]
    )
    assert matic == [("2019-04-26", "2024-09-10", "delisted")]
