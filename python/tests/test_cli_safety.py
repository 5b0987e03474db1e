"""Safe defaults of `hermes`: reads never create a lake, `hermes sql` is read-only and kept
to the lake's files, and every failure is one line (the traceback only with --debug).

Commands run in child processes, as a user runs them, on real lakes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fixtures.documentation import documentation

from hermes.cli.errors import one_line
from hermes.config import PROJECT_ROOT, Settings
from hermes.ingest import ingest_paths
from hermes.lake import connect

HERMES = str(Path(sys.executable).with_name("hermes"))
BUNDLED = PROJECT_ROOT / "data" / "binance-ohlcv"
COUNTS = "select symbol, interval, count(*) as candles from silver_klines group by all order by all"


def hermes(args: list[str], lake: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "HERMES_DEBUG"}
    environment |= {"HERMES_LAKE_ROOT": str(lake), "HERMES_TARGET": "local", "COLUMNS": "120"}
    environment |= env
    return subprocess.run(
        [HERMES, *args], capture_output=True, text=True, env=environment, timeout=600
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed with exactly one line on stderr, and no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture(scope="module")
def small_lake(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A lake of its own (the 1d files landed, nothing built): tests may write to it."""
    settings = Settings(lake_root=tmp_path_factory.mktemp("small") / "lake")
    report = ingest_paths(sorted(BUNDLED.glob("*_1d.csv.gz")), settings)
    assert report.ok
    return settings


@pytest.mark.parametrize(
    "args",
    [
        ["sql", "select 1"],
        ["report", "bt-0123456789ab"],
        ["reproduce", "bt-0123456789ab"],
        ["quality"],
        ["maintain"],
        ["build"],
        ["backtest", "--interval", "4h"],
        ["signals", "generate"],
        ["signals", "latest"],
    ],
)
def test_a_mistyped_lake_root_is_an_error_not_a_new_lake(args: list[str], tmp_path: Path) -> None:
    typo = tmp_path / "typo"
    line = one_error_line(hermes(args, typo))
    assert line == (
        f"error: no lake at {typo} (HERMES_LAKE_ROOT): there is no catalog hermes.ducklake in "
        "it; check the path, or create the lake with `hermes ingest <files>` (or `hermes run`)"
    )
    assert not typo.exists()


def test_sql_prints_the_lake_and_cuts_wide_cells(built_lake: Settings) -> None:
    lake = built_lake.lake_root
    as_csv = hermes(["sql", COUNTS, "--csv"], lake)
    assert as_csv.returncode == 0, as_csv.stderr
    assert list(csv.reader(io.StringIO(as_csv.stdout))) == [
        ["symbol", "interval", "candles"],
        ["BTCUSDT", "1d", "3065"],
        ["BTCUSDT", "4h", "18371"],
        ["ETHUSDT", "1d", "3065"],
        ["ETHUSDT", "4h", "18371"],
    ]
    wide = (
        "select source_file, source_sha256, decoded_file, repeat('x', 500) as long "
        "from landing.files"
    )
    table = hermes(["sql", wide], lake)
    assert table.returncode == 0, table.stderr
    widths = [len(line) for line in table.stdout.splitlines()]
    assert 100 < max(widths) <= 4 * 43 + 1, table.stdout
    assert "x" * 39 + "…" in table.stdout and "x" * 40 not in table.stdout
    narrow = hermes(["sql", wide, "--max-width", "12"], lake)
    # cells cut to 12 characters; the header source_sha256 (13) sets its column's width
    assert max(len(line) for line in narrow.stdout.splitlines()) == 3 * 15 + 16 + 1
    as_json = hermes(["sql", wide + " order by source_file", "--json"], lake)
    records = json.loads(as_json.stdout)
    assert [r["source_file"] for r in records] == [
        "csv/BTCUSDT/1d/BTCUSDT_1d.csv.gz",
        "csv/BTCUSDT/4h/BTCUSDT_4h.csv.gz",
        "csv/ETHUSDT/1d/ETHUSDT_1d.csv.gz",
        "csv/ETHUSDT/4h/ETHUSDT_4h.csv.gz",
    ]
    assert records[0]["long"] == "x" * 500 and len(records[0]["source_sha256"]) == 64
    few = hermes(["sql", COUNTS, "--max-rows", "2"], lake)
    assert "BTCUSDT" in few.stdout and "18371" in few.stdout
    assert "... 2 more rows" in few.stdout


def test_sql_is_read_only_and_kept_to_the_lake(built_lake: Settings, tmp_path: Path) -> None:
    lake = built_lake.lake_root
    outside = tmp_path / "outside.csv"
    outside.write_text("secret\nhunter2\n")
    data = lake / "data"
    files_before = sorted(p for p in lake.rglob("*") if p.is_file())
    refused = {
        "drop table silver_klines": "DROP statements are refused",
        "delete from silver_klines": "DELETE statements are refused",
        "create table lake.main.x as select 1": "CREATE statements are refused",
        "select 1; drop table silver_klines": "DROP statements are refused",
        f"copy (select 1) to '{data}/planted.csv'": "COPY statements are refused",
        f"attach '{tmp_path}/other.duckdb' as other": "ATTACH statements are refused",
        "set enable_external_access = true": "SET statements are refused",
        "install httpfs": "LOAD statements are refused",
        f"select * from read_csv('{outside}')": f'Cannot access file "{outside}"',  # noqa: S608
        "select * from read_text('/etc/passwd')": 'Cannot access file "/etc/passwd"',
    }
    for query, message in refused.items():
        line = one_error_line(hermes(["sql", query], lake))
        assert message in line, (query, line)
    assert "hermes sql --write runs it" in one_error_line(hermes(["sql", "drop view x"], lake))
    assert "--external-access lifts this" in one_error_line(
        hermes(["sql", f"select * from '{outside}'"], lake)  # noqa: S608
    )
    assert sorted(p for p in lake.rglob("*") if p.is_file()) == files_before
    still = hermes(["sql", "select count(*) from silver_klines", "--csv"], lake)
    assert still.stdout.splitlines() == ["count_star()", "42872"]
    # the published state and the lake's own parquet files remain readable
    query = f"select count(*) > 0 from '{data}/**/*.parquet'"  # noqa: S608
    parquet = hermes(["sql", query, "--csv"], lake)
    assert parquet.stdout.splitlines()[1] == "True", parquet.stderr


def test_sql_write_and_external_access_are_opt_in(small_lake: Settings, tmp_path: Path) -> None:
    lake = small_lake.lake_root
    outside = tmp_path / "outside.csv"
    outside.write_text("a,b\n1,2\n")
    read = hermes(
        ["sql", f"select * from read_csv('{outside}')", "--external-access", "--csv"],  # noqa: S608
        lake,
    )
    assert read.stdout.splitlines() == ["a,b", "1,2"], read.stderr
    made = hermes(["sql", "--write", "create table lake.main.scratch as select 42 as answer"], lake)
    assert made.returncode == 0, made.stderr
    back = hermes(["sql", "select answer from scratch", "--csv"], lake)
    assert back.stdout.splitlines() == ["answer", "42"]
    copy = hermes(["sql", "--write", f"copy (select 1) to '{tmp_path}/out.csv'"], lake)
    assert "Cannot access file" in one_error_line(copy)
    assert not (tmp_path / "out.csv").exists()


@contextmanager
def holding(lake: Path, folder: Path, *, read_only: bool) -> Iterator[int]:
    """Another process with the lake open (for writing, or read-only); yields its PID."""
    holder = folder / "hold_lake.py"
    holder.write_text(
        "import sys\n"
        "from pathlib import Path\n"
        "from hermes.config import Settings\n"
        "from hermes.lake import connect\n"
        f"conn = connect(Settings(lake_root=Path(sys.argv[1])), read_only={read_only})\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"
    )
    process = subprocess.Popen(
        [sys.executable, str(holder), str(lake)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield process.pid
    finally:
        process.communicate(timeout=60)


@pytest.fixture
def lake_held(small_lake: Settings, tmp_path: Path) -> Iterator[int]:
    with holding(small_lake.lake_root, tmp_path, read_only=False) as pid:
        yield pid


@pytest.mark.parametrize(
    "args",
    [
        ["sql", "select count(*) from landing.files"],
        ["ingest", str(BUNDLED / "BTCUSDT_1d.csv.gz")],
        ["maintain"],
        ["build"],
    ],
)
def test_a_locked_lake_is_one_line_naming_the_holder(
    args: list[str], small_lake: Settings, lake_held: int
) -> None:
    line = one_error_line(hermes(args, small_lake.lake_root))
    assert line == (
        f"error: the lake at {small_lake.lake_root} is in use by process {lake_held} "
        f"(hold_lake.py {small_lake.lake_root}), which holds its catalog hermes.ducklake: "
        "wait for it to finish, or stop it, then run the command again"
    )


def test_debug_shows_the_traceback(small_lake: Settings) -> None:
    query = "select * from no_such_table"
    line = one_error_line(hermes(["sql", query], small_lake.lake_root))
    assert line.startswith("error: Catalog Error: Table with name no_such_table does not exist")
    for debug in (hermes(["--debug", "sql", query], small_lake.lake_root),
                  hermes(["sql", query], small_lake.lake_root, HERMES_DEBUG="1")):  # fmt: skip
        assert debug.returncode == 1
        assert "Traceback" in debug.stderr and "no_such_table" in debug.stderr


def test_a_bad_setting_is_one_line(small_lake: Settings) -> None:
    line = one_error_line(hermes(["sql", "select 1"], small_lake.lake_root, HERMES_TARGET="s4"))
    assert line == "error: HERMES_TARGET must be one of local, s3, not 's4'"


def test_readers_share_the_lake(small_lake: Settings, tmp_path: Path) -> None:
    """While a reader has the lake open, `hermes sql` reads it too; a writer must wait."""
    lake = small_lake.lake_root
    with holding(lake, tmp_path, read_only=True) as pid:
        read = hermes(["sql", "select count(*) from landing.files", "--csv"], lake)
        assert read.stdout.splitlines() == ["count_star()", "2"], read.stderr
        line = one_error_line(hermes(["ingest", str(BUNDLED / "BTCUSDT_1d.csv.gz")], lake))
        assert f"is in use by process {pid}" in line
    conn = connect(small_lake)  # once the reader is gone, a writer gets in
    conn.close()


def test_unexpected_errors_point_to_debug() -> None:
    assert (
        one_line(KeyError("rsi_low")) == "KeyError: 'rsi_low' (hermes --debug shows the traceback)"
    )
    assert one_line(ZeroDivisionError()) == (
        "ZeroDivisionError (hermes --debug shows the traceback)"
    )
    assert one_line(ValueError("fees=2 is out of range\n  (0 <= fees < 1)")) == (
        "fees=2 is out of range (0 <= fees < 1)"
    )
    # a holder that is gone by the time the message is written: DuckDB's program name
    gone = (
        'Could not set lock on file "/srv/lake/hermes.ducklake": Conflicting lock is held in '
        "/usr/bin/python3.11 (PID 999999999). See also https://duckdb.org/docs"
    )
    assert one_line(RuntimeError(gone)) == (
        "the lake at /srv/lake is in use by process 999999999 (/usr/bin/python3.11), which "
        "holds its catalog hermes.ducklake: wait for it to finish, or stop it, then run the "
        "command again"
    )


def test_the_readme_sql_commands_run_as_printed(built_lake: Settings) -> None:
    """Every `hermes sql` line of the documentation's shell blocks, through bash in the project
    root."""
    text = documentation()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    lines = [
        line.split("  #", 1)[0].rstrip()
        for block in blocks
        for line in block.splitlines()
        if re.match(r"(\.venv/bin/)?hermes sql ", line)
    ]
    assert len(lines) >= 3
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HERMES_", "AWS_"))}
    env |= {
        "HERMES_LAKE_ROOT": str(built_lake.lake_root),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    }
    for line in lines:
        result = subprocess.run(
            ["bash", "-c", line], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, (line, result.stderr)
        assert "BTCUSDT" in result.stdout and "ETHUSDT" in result.stdout, line


def test_a_terminal_too_narrow_for_the_table_gets_one_block_per_row() -> None:
    from rich.console import Console

    from hermes.query import QueryResult, print_table

    result = QueryResult(
        ["source_file", "source_sha256", "row_count"],
        [("csv/BTCUSDT/1d/BTCUSDT_1d.csv.gz", "ab" * 32, 3065), ("x.csv", None, 1)],
    )
    wide = io.StringIO()
    print_table(result, Console(file=wide, width=200, force_terminal=True, color_system=None),
                max_rows=200, max_width=40)  # fmt: skip
    assert wide.getvalue().splitlines()[3] == (
        "│ csv/BTCUSDT/1d/BTCUSDT_1d.csv.gz │ " + "ab" * 19 + "a… │      3065 │"
    )
    narrow = io.StringIO()
    print_table(result, Console(file=narrow, width=60, force_terminal=True, color_system=None),
                max_rows=1, max_width=40)  # fmt: skip
    lines = [line.rstrip() for line in narrow.getvalue().splitlines()]
    assert lines[1:5] == [
        " row 1",
        " source_file    csv/BTCUSDT/1d/BTCUSDT_1d.csv.gz",
        " source_sha256  " + "ab" * 19 + "a…",
        " row_count      3065",
    ]
    assert lines[-1] == "... 1 more rows (--max-rows, or --csv / --json for all)"
    assert max(len(line) for line in lines) <= 60
