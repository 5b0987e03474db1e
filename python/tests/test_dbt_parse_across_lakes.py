"""dbt parses the project once for every lake: the lake's path is no part of the profile dbt
hashes (``hermes.dbt_plugin`` gives it to each connection), so a new lake starts from the
newest saved parse (``hermes.dbt_runner``), and each lake's build still reads and writes that
lake only."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import Any

import pytest
from fixtures.bundled_lake import BUNDLED_DATA, make_settings

from hermes.dbt_runner import PARSE_FILE, run_dbt
from hermes.ingest import ingest_paths
from hermes.lake import connect

FULL_PARSE = "Unable to do partial parsing"


def candles(name: str) -> int:
    """Candles of a bundled CSV file (one per row after the header)."""
    with gzip.open(BUNDLED_DATA / name, "rt") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def bronze(root: Path) -> list[tuple[str, str, int]]:
    with connect(make_settings(root), read_only=True) as conn:
        return [
            (str(symbol), str(interval), int(rows))
            for symbol, interval, rows in conn.execute(
                "select symbol, interval, count(*) from bronze_klines group by all order by all"
            ).fetchall()
        ]


def data_files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in (root / "data").rglob("*.parquet")}


def test_a_new_lake_reuses_the_parse_and_builds_into_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "shared"))  # dbt's default folder
    lakes = {"BTCUSDT": tmp_path / "one" / "lake", "ETHUSDT": tmp_path / "two" / "lake"}
    for symbol, root in lakes.items():
        ingest_paths([BUNDLED_DATA / f"{symbol}_1d.csv.gz"], make_settings(root))

    bronze_only = ["run", "--select", "bronze_klines"]
    run_dbt(bronze_only, make_settings(lakes["BTCUSDT"]), target_path=tmp_path / "one" / "target")
    assert (tmp_path / "shared" / PARSE_FILE).is_file()  # the newest parse, shared
    first_files = data_files(lakes["BTCUSDT"])
    # the same project on another lake, with a target folder of its own: no parse saved yet
    second = tmp_path / "two" / "target"
    run_dbt(bronze_only, make_settings(lakes["ETHUSDT"]), target_path=second)
    second_run = (second / "logs" / "dbt.log").read_text()

    assert FULL_PARSE not in second_run, [s for s in second_run.splitlines() if FULL_PARSE in s]
    # only the file reading the lake's landing zone (through env_var) was parsed again
    assert "Partial parsing: updated file: hermes://models/bronze/bronze_klines.sql" in second_run
    assert (second / PARSE_FILE).is_file()
    # each build read its own landing zone and wrote its own lake, nothing of the other's
    assert bronze(lakes["BTCUSDT"]) == [("BTCUSDT", "1d", candles("BTCUSDT_1d.csv.gz"))]
    assert bronze(lakes["ETHUSDT"]) == [("ETHUSDT", "1d", candles("ETHUSDT_1d.csv.gz"))]
    assert data_files(lakes["BTCUSDT"]) == first_files
    assert data_files(lakes["ETHUSDT"]) and not data_files(lakes["ETHUSDT"]) & first_files


def test_each_dbt_connection_spills_inside_its_own_lake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hermes.dbt_plugin import Plugin

    plugin = Plugin("hermes", {})
    for name in ("one", "two"):
        monkeypatch.setenv("HERMES_LAKE_ROOT", str(tmp_path / name))
        config: dict[str, Any] = {"memory_limit": "2GB"}
        plugin.update_connection_config(None, config)
        spill = str(tmp_path / name / ".duckdb_tmp")
        assert config == {"memory_limit": "2GB", "temp_directory": spill}


def test_a_shared_folder_that_cannot_be_written_is_only_a_missed_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hermes.dbt_runner import _saved_parse_args, _share_saved_parse

    own = tmp_path / "target"
    own.mkdir()
    (own / PARSE_FILE).write_bytes(b"a saved parse")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the shared target folder should be")
    monkeypatch.setenv("DBT_TARGET_PATH", str(blocked))
    _share_saved_parse(own)  # no error: the run that saved it is not failed by the cache
    assert blocked.read_text() == "a file where the shared target folder should be"
    assert _saved_parse_args(tmp_path / "new") == []  # nothing shared: dbt parses in full

    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "shared"))
    _share_saved_parse(own)
    assert (tmp_path / "shared" / PARSE_FILE).read_bytes() == b"a saved parse"
    assert _saved_parse_args(own) == []  # a folder with its own parse keeps it
    shared = str(tmp_path / "shared" / PARSE_FILE)
    assert _saved_parse_args(tmp_path / "new") == ["--partial-parse-file-path", shared]
