"""Registry mistakes are one line naming the line, the strategy and the field, before dbt runs.

Each case is the real ``seeds/strategies.csv`` with one mistake a user makes: a row missing a
column, an extra column, invalid JSON, an id holding SQL characters, a repeated id, an
unknown status. ``hermes build``, ``hermes run`` and ``hermes backtest`` refuse it with that
line and exit 1, without starting dbt or Prefect.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hermes.cli import app
from hermes.config import Settings
from hermes.lake import connect
from hermes.signals import registry_file
from hermes.signals.registry_file import SEED_FILE, RegistryError, check_registry

REAL = SEED_FILE.read_text(encoding="utf-8")
HEADER = REAL.splitlines()[0]
ROW = 'sma_cross,SMA Cross,0.1.0,"{""band"": 0.0}","{""band"": [0, 0.2]}",Trend,sma,active,,,\n'
SAFE = "lower-case letters, digits and underscores, starting with a letter, at most 63 characters"

CASES = {
    # case -> (registry text, message after "<file> ")
    "row_missing_a_column": (
        REAL + ROW.replace(",,,\n", ",,\n"),
        "line 6 (strategy 'sma_cross'): 10 fields, expected 11 (a missing field, or a comma "
        "outside double quotes)",
    ),
    "header_missing_a_column": (
        REAL.replace(",paper_config\n", "\n", 1),
        f"line 1 (header): missing column(s) paper_config (expected: {HEADER})",
    ),
    "extra_column": (
        REAL.replace("paper_config\n", "paper_config,owner\n", 1),
        f"line 1 (header): unexpected column(s) 'owner' (expected: {HEADER})",
    ),
    "invalid_json_parameters": (
        REAL + ROW.replace('""band"": 0.0}', '""band"": 0.0,}', 1),
        "line 6 (strategy 'sma_cross'): parameters is not valid JSON: Expecting property name "
        "enclosed in double quotes at char 13 ('{\"band\": 0.0,}')",
    ),
    "invalid_json_ranges": (
        REAL + ROW.replace("[0, 0.2]", "[0, 0.2", 1),
        "line 6 (strategy 'sma_cross'): parameter_ranges is not valid JSON: Expecting ',' "
        "delimiter at char 16 ('{\"band\": [0, 0.2}')",
    ),
    "invalid_json_paper_config": (
        REAL + ROW.replace(",,,\n", ',,,"{intervals: 4h}"\n'),
        "line 6 (strategy 'sma_cross'): paper_config is not valid JSON: Expecting property "
        "name enclosed in double quotes at char 1 ('{intervals: 4h}')",
    ),
    "parameters_not_an_object": (
        REAL + ROW.replace('"{""band"": 0.0}"', '"[12, 26]"', 1),
        "line 6 (strategy 'sma_cross'): parameters is not a JSON object ('[12, 26]')",
    ),
    "id_with_sql_characters": (
        REAL + ROW.replace("sma_cross", "x; drop table strategies --", 1),
        "line 6 (strategy 'x; drop table strategies --'): strategy_id 'x; drop table "
        f"strategies --' is not a safe identifier ({SAFE})",
    ),
    "id_with_capitals": (
        REAL + ROW.replace("sma_cross", "SmaCross", 1),
        f"line 6 (strategy 'SmaCross'): strategy_id 'SmaCross' is not a safe identifier ({SAFE})",
    ),
    "duplicate_id": (
        REAL + ROW.replace("sma_cross", "donchian_breakout", 1),
        "line 6 (strategy 'donchian_breakout'): strategy_id repeats line 3",
    ),
    "unknown_status": (
        REAL + ROW.replace(",active,", ",live,", 1),
        "line 6 (strategy 'sma_cross'): status 'live' is not one of active, experimental, retired",
    ),
    "empty_name": (
        REAL + ROW.replace("SMA Cross", "", 1),
        "line 6 (strategy 'sma_cross'): name is empty",
    ),
    "unclosed_quote": (
        REAL + ROW.replace('"{""band"": 0.0}"', '"{""band"": 0.0}', 1),
        "line 6: not valid CSV: ',' expected after '\"'",
    ),
}


@pytest.fixture
def broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the registry is read from in this test (a copy to break)."""
    path = tmp_path / "strategies.csv"
    monkeypatch.setattr(registry_file, "SEED_FILE", path)
    return path


def test_the_real_registry_passes() -> None:
    rows = check_registry()
    assert [row["strategy_id"] for row in rows] == [
        "smart_momentum",
        "donchian_breakout",
        "bollinger_reversion",
        "ml_lightgbm",
    ]


@pytest.mark.parametrize("case_id", list(CASES))
def test_each_mistake_is_one_line_naming_row_and_field(broken: Path, case_id: str) -> None:
    text, message = CASES[case_id]
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError) as raised:
        check_registry()
    assert str(raised.value) == f"{broken} {message}"


def test_a_registry_that_is_not_utf8_is_named(broken: Path) -> None:
    broken.write_bytes(REAL.encode("utf-16"))
    with pytest.raises(RegistryError, match=r"strategies.csv: not UTF-8 text \(byte offset 0\)$"):
        check_registry()


def _hermes(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=400)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "command",
    [("build",), ("run",), ("backtest", "--strategy", "smart_momentum"), ("strategies",)],
)
def test_commands_refuse_a_broken_registry_before_dbt(
    broken: Path, lake_settings: Settings, command: tuple[str, ...]
) -> None:
    text, message = CASES["id_with_sql_characters"]
    broken.write_text(text, encoding="utf-8")
    connect(lake_settings).close()  # an existing, empty lake
    exit_code, output = _hermes(*command)
    assert exit_code == 1
    assert output.splitlines()[-1] == f"error: {broken} {message}", output
    assert "starting the local Prefect server" not in output
    conn = connect(lake_settings)
    try:  # nothing was built: dbt never loaded the seed
        tables = conn.execute(
            "select table_name from information_schema.tables where table_name = 'strategies'"
        ).fetchall()
    finally:
        conn.close()
    assert tables == []


def test_empty_missing_and_repeated_header_files_are_named(broken: Path) -> None:
    with pytest.raises(RegistryError, match=r"strategies.csv: cannot read: No such file"):
        check_registry()
    broken.write_text("", encoding="utf-8")
    with pytest.raises(RegistryError, match=r"strategies.csv: the file is empty \(expected"):
        check_registry()
    broken.write_text(REAL.replace("tags,", "tags,tags,", 1), encoding="utf-8")
    with pytest.raises(RegistryError, match=r"line 1 \(header\): repeated column\(s\) tags \("):
        check_registry()


def test_blank_lines_and_column_order_do_not_matter(broken: Path) -> None:
    rows = list(csv.reader(io.StringIO(REAL + ROW)))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([list(reversed(r)) for r in rows])
    broken.write_text(out.getvalue().replace("\n", "\n\n", 1), encoding="utf-8")
    assert check_registry() == [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
