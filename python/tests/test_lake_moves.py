"""A lake is a folder you can move: a copy (``cp -a``) reads and writes its own files only,
and never contacts the Prefect server the original lake recorded."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fixtures.bundled_lake import BUNDLED_DATA, make_settings

from hermes.config import Settings
from hermes.dbt_runner import run_dbt
from hermes.flows.server import STATE_FILE, prefect_home, running_server, stop_server
from hermes.ingest import ingest_paths
from hermes.lake import connect
from hermes.maintenance import tidy_lake


class Health(BaseHTTPRequestHandler):
    """A stand-in Prefect API that answers its health check and counts every request."""

    calls: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        Health.calls.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def original_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The original lake's "server": a live API on a free port and a live process (its pid)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    process = subprocess.Popen(["sleep", "300"], start_new_session=True)
    Health.calls = []
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/api", process
    finally:
        process.kill()
        process.wait()
        httpd.shutdown()
        httpd.server_close()


def fingerprint(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative path -> SHA-256 of its bytes)."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def lake_files(settings: Settings) -> list[str]:
    """The data files the catalog of ``settings`` resolves (every table, at its snapshot)."""
    with connect(settings, read_only=True) as conn:
        tables = conn.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = 'lake'"
        ).fetchall()
        return sorted(
            row[0]
            for schema, table in tables
            for row in conn.execute(
                "select data_file from ducklake_list_files('lake', ?, schema => ?)",
                [table, schema],
            ).fetchall()
        )


def test_a_copied_lake_reads_and_writes_only_its_own_files(
    tmp_path: Path,
    original_server: tuple[str, subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PREFECT_HOME", raising=False)  # each lake's own <lake>/_prefect
    url, process = original_server
    original = make_settings(tmp_path / "original" / "lake")
    ingest_paths([BUNDLED_DATA / "BTCUSDT_1d.csv.gz"], original)
    with connect(original, read_only=True) as conn:
        btc = conn.execute("select row_count from landing.files").fetchall()
    home = prefect_home(original)
    home.mkdir(parents=True)
    record = {"url": url, "pid": process.pid, "home": str(home)}
    (home / STATE_FILE).write_text(json.dumps(record))
    assert running_server(home) is not None and Health.calls == ["/api/health"]
    Health.calls.clear()
    before = fingerprint(original.lake_root)

    copy = make_settings(tmp_path / "copy" / "lake")
    copy.lake_root.parent.mkdir()
    subprocess.run(["cp", "-a", str(original.lake_root), str(copy.lake_root)], check=True)
    ingest_paths([BUNDLED_DATA / "ETHUSDT_1d.csv.gz"], copy)
    run_dbt(["run", "--select", "bronze_klines"], copy, target_path=tmp_path / "target")

    with connect(copy, read_only=True) as conn:
        rows = conn.execute(
            "select symbol, count(*) from bronze_klines group by all order by all"
        ).fetchall()
        decoded = conn.execute("select decoded_file from landing.files order by 1").fetchall()
    assert [symbol for symbol, _ in rows] == ["BTCUSDT", "ETHUSDT"]
    assert rows[0][1] == btc[0][0]
    assert all(name.startswith("_decoded/") for (name,) in decoded)
    files = lake_files(copy)
    assert files and all(f.startswith(f"{copy.lake_root}/data/") for f in files)

    # maintenance of the copy deletes its own unreferenced files, and only those
    stale = Path(copy.landing_root) / "_decoded" / f"{'0' * 64}.parquet"
    stale.write_bytes(b"not referenced")
    tidied = tidy_lake(copy, timedelta(0))
    assert tidied.deleted_decoded_files == 1 and not stale.exists()
    assert all((Path(copy.landing_root) / name).is_file() for (name,) in decoded)

    assert fingerprint(original.lake_root) == before  # byte for byte
    assert running_server(prefect_home(copy)) is None
    assert stop_server(prefect_home(copy)) is None
    assert process.poll() is None  # the original's server process was left alone
    assert Health.calls == []  # and never contacted
    assert json.loads((home / STATE_FILE).read_text()) == record
    assert os.path.exists(home / STATE_FILE) and not (prefect_home(copy) / STATE_FILE).exists()
