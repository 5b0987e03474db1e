"""A lake shared by a team: files on S3, the DuckLake catalog in a live PostgreSQL server.

The catalog's password reaches libpq through ``PGPASSWORD`` only: the catalog URL holds
none, and the password must appear in no output, artifact, catalog row or object.
"""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

import duckdb
import pytest
from s3.local_s3 import LocalS3
from s3.test_secret_leak import files_containing

from catalog.conftest import BUNDLED_DATA, hermes_cli
from catalog.local_postgres import LocalPostgres
from hermes.config import Settings
from hermes.lake import connect, current_snapshot

# Candles per bundled file (one a line), the same for both symbols.
ROWS = {"1d": 3065, "4h": 18371}
SERIES = [(s, i) for s in ("BTCUSDT", "ETHUSDT") for i in ("1d", "4h")]
COUNTS = "select symbol, interval, count(*) from silver_klines group by all order by all"


def _counts(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    return [(str(s), str(i), int(n)) for s, i, n in conn.execute(COUNTS).fetchall()]


def _cli_log(settings: Settings) -> Path:
    return settings.lake_root.parent / "cli.log"


def _sql_csv(query: str, env: dict[str, str], settings: Settings) -> list[list[str]]:
    """``hermes sql --csv`` in another process (an analyst's machine): the rows, header first."""
    result = hermes_cli(["sql", "--csv", query], env, _cli_log(settings))
    assert result.returncode == 0, result.stderr
    return list(csv.reader(io.StringIO(result.stdout)))


def test_catalog_lives_in_postgres_and_records_the_s3_data_path(
    pg_lake: Settings, pg_env: dict[str, str], local_postgres: LocalPostgres, local_s3: LocalS3
) -> None:
    tables = local_postgres.psql(
        "select table_name from information_schema.tables "
        "where table_schema = 'public' and table_name like 'ducklake%' order by 1",
        database="hermes",
    ).split()
    assert {"ducklake_metadata", "ducklake_snapshot", "ducklake_data_file"} <= set(tables)
    data_path = local_postgres.psql(
        "select value from ducklake_metadata where key = 'data_path'", database="hermes"
    ).strip()
    assert data_path == pg_lake.data_path
    inlining = local_postgres.psql(
        "select value from ducklake_metadata where key = 'data_inlining_row_limit'",
        database="hermes",
    ).strip()
    assert inlining == "0"
    # Every data file the catalog lists is an object in the bucket; nothing is local.
    assert pg_lake.s3 is not None
    keys = set(local_s3.keys(f"{pg_lake.s3.prefix}/data/"))
    conn = connect(pg_lake)
    try:
        assert _counts(conn) == [(s, i, ROWS[i]) for s, i in SERIES]
        files = [
            path
            for (path,) in conn.execute(
                "select data_file from ducklake_list_files('lake', 'silver_klines')"
            ).fetchall()
        ]
    finally:
        conn.close()
    assert files
    assert {path.removeprefix(f"s3://{pg_lake.s3.bucket}/") for path in files} <= keys
    assert not pg_lake.catalog_path.exists()
    assert [p for p in pg_lake.lake_root.rglob("*") if p.is_file()] == []


def test_hermes_sql_in_another_process_reads_the_shared_lake(
    pg_lake: Settings, pg_env: dict[str, str]
) -> None:
    rows = _sql_csv(
        "select symbol, interval, count(*) as candles, min(open_time) as first_open, "
        "max(open_time) as last_open from published.silver_klines group by all order by all",
        pg_env,
        pg_lake,
    )
    # The same figures read straight from the bundled files.
    source = duckdb.connect()
    expected = []
    for symbol, interval in SERIES:
        stats = source.execute(
            "select count(*), min(timestamp::timestamp), max(timestamp::timestamp) "
            "from read_csv(?, header = true)",
            [str(BUNDLED_DATA / f"{symbol}_{interval}.csv.gz")],
        ).fetchone()
        assert stats is not None
        expected.append([symbol, interval, *map(str, stats)])
    assert rows == [["symbol", "interval", "candles", "first_open", "last_open"], *expected]


def test_a_wrong_password_names_the_server_and_never_the_password(
    pg_lake: Settings, pg_env: dict[str, str]
) -> None:
    wrong = "pgWrongMarker7c1e5"
    result = hermes_cli(["sql", "select 1"], pg_env | {"PGPASSWORD": wrong}, _cli_log(pg_lake))
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert 'password authentication failed for user "hermes"' in output
    assert pg_lake.catalog_url is not None
    assert pg_lake.catalog_url.removeprefix("postgres:") in output
    assert wrong not in output


def test_an_analyst_sees_only_committed_snapshots_while_the_lake_is_written(
    pg_lake: Settings, pg_env: dict[str, str]
) -> None:
    full = [(s, i, ROWS[i]) for s, i in SERIES]
    without_eth_1d = [row for row in full if row[:2] != ("ETHUSDT", "1d")]
    analyst = connect(pg_lake)  # a second DuckDB instance, attached before the write
    writer = connect(pg_lake)
    try:
        before = current_snapshot(writer)
        assert _counts(analyst) == full
        analyst.begin()  # a long read: one snapshot for the whole transaction
        assert _counts(analyst) == full

        writer.begin()
        writer.execute(
            "delete from silver_klines where symbol = ? and interval = ?", ["ETHUSDT", "1d"]
        )
        assert _counts(writer) == without_eth_1d  # the writer sees its own change
        # Uncommitted: neither the open analyst nor a new process sees any of it; a second
        # process can attach at all because the catalog is a server, not a locked file.
        assert _counts(analyst) == full
        assert _sql_csv(COUNTS, pg_env, pg_lake)[1:] == [[s, i, str(n)] for s, i, n in full]
        writer.commit()
        committed = current_snapshot(writer)
        assert committed == before + 1

        assert _counts(analyst) == full  # still inside its transaction: the old snapshot
        analyst.commit()
        assert _counts(analyst) == without_eth_1d  # the next read sees the commit
        assert current_snapshot(analyst) == committed
        assert _sql_csv(COUNTS, pg_env, pg_lake)[1:] == [
            [s, i, str(n)] for s, i, n in without_eth_1d
        ]
        # Time travel to the snapshot before the write, from the other instance.
        assert analyst.execute(
            "select count(*) from silver_klines at (version => ?) "
            "where symbol = 'ETHUSDT' and interval = '1d'",
            [before],
        ).fetchone() == (ROWS["1d"],)
    finally:
        # Leave the shared lake as it was: put the deleted candles back from the old snapshot.
        writer.execute(
            "insert into silver_klines select * from silver_klines at (version => ?) "
            "where symbol = ? and interval = ?",
            [before, "ETHUSDT", "1d"],
        )
        analyst.close()
        writer.close()
    check = connect(pg_lake)
    try:
        assert _counts(check) == full
    finally:
        check.close()


@pytest.mark.parametrize("where", ["outputs", "catalog", "objects"])
def test_the_password_is_in_no_output_catalog_or_object(
    where: str, pg_lake: Settings, local_postgres: LocalPostgres, local_s3: LocalS3
) -> None:
    password = local_postgres.password
    work = pg_lake.lake_root.parent
    if where == "outputs":
        # What the ingest, the build and every `hermes sql` printed, dbt's target/ (compiled
        # SQL, manifest, run_results, logs), the lake folder, and the server's own log.
        assert (work / "build.log").stat().st_size > 0
        assert (work / "target" / "run_results.json").is_file()
        assert files_containing(password, [work, local_postgres.log_file.parent]) == []
    elif where == "catalog":
        # Every row of the catalog database, as pg_dump writes it.
        dump = subprocess.run(
            [
                str(local_postgres.bin / "pg_dump"),
                "-h",
                str(local_postgres.folder),
                "-p",
                str(local_postgres.port),
                "-U",
                "postgres",
                "hermes",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        assert pg_lake.data_path in dump and "silver_klines" in dump
        assert password not in dump
    else:
        assert pg_lake.s3 is not None
        client = local_s3.client()
        keys = local_s3.keys(f"{pg_lake.s3.prefix}/")
        assert len(keys) > 20
        for key in keys:
            body = client.get_object(Bucket=local_s3.bucket, Key=key)["Body"].read()
            assert password.encode() not in body, key


def test_a_shared_catalog_needs_the_s3_target(monkeypatch: pytest.MonkeyPatch) -> None:
    # the local dbt target keeps its catalog in the lake folder: refuse rather than split
    monkeypatch.setenv("HERMES_TARGET", "local")
    monkeypatch.setenv("HERMES_CATALOG_URL", "postgres:dbname=hermes host=db user=hermes")
    with pytest.raises(
        ValueError,
        match=r"HERMES_CATALOG_URL \(a shared catalog\) needs "
        r"HERMES_TARGET=s3",
    ):
        Settings.from_env()


def test_the_catalog_refuses_another_data_path(
    pg_lake: Settings, pg_env: dict[str, str], local_s3: LocalS3
) -> None:
    other = Settings(
        lake_root=pg_lake.lake_root,
        target="s3",
        s3=local_s3.s3_settings("another-prefix"),
        catalog_url=pg_lake.catalog_url,
    )
    with pytest.raises(duckdb.Error, match="does not match existing data path"):
        connect(other)
