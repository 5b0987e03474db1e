"""A lake on S3 whose catalog lives in the session's PostgreSQL server (``local_postgres``,
in the root conftest: the scale-out flow test uses the same server)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3.local_s3 import LocalS3, captured_output, exported, unique_prefix

from catalog.local_postgres import LocalPostgres
from hermes.config import PROJECT_ROOT, Settings

BUNDLED_DATA = PROJECT_ROOT / "data" / "binance-ohlcv"


@pytest.fixture(scope="session")
def pg_lake(
    local_postgres: LocalPostgres, local_s3: LocalS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """The bundled data ingested, built and published on S3, with the PostgreSQL catalog.

    The password is given to libpq the standard way (``PGPASSWORD``) during the build only;
    all that was printed is kept in ``build.log``, dbt's artifacts and logs in ``target/``.
    Session-scoped: tests that write must leave the lake as they found it.
    """
    from hermes.dbt_runner import run_dbt
    from hermes.ingest import ingest_paths
    from hermes.lake import connect
    from hermes.publish import publish

    root = tmp_path_factory.mktemp("pg-lake") / "lake"
    settings = Settings(
        lake_root=root,
        target="s3",
        s3=local_s3.s3_settings(unique_prefix("pg")),
        catalog_url=local_postgres.catalog_url,
    )
    env = settings.dbt_env() | {"PGPASSWORD": local_postgres.password}
    with exported(env), captured_output(root.parent / "build.log"):
        report = ingest_paths(sorted(BUNDLED_DATA.glob("*.csv.gz")), settings)
        run_dbt(["build"], settings, target_path=root.parent / "target")
        conn = connect(settings)
        try:
            publish(conn, "catalog-tests", "data")  # the audited state, as the daily flow does
        finally:
            conn.close()
    assert [r.reason for r in report.results if r.reason is not None] == []
    yield settings


@pytest.fixture
def pg_env(
    pg_lake: Settings, local_postgres: LocalPostgres, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The environment an analyst exports to reach the shared lake (also set for the test)."""
    env = pg_lake.dbt_env() | {"PGPASSWORD": local_postgres.password}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def hermes_cli(args: list[str], env: dict[str, str], log: Path) -> subprocess.CompletedProcess[str]:
    """Run ``hermes <args>`` in its own process; its output is also appended to ``log``."""
    result = subprocess.run(
        [sys.executable, "-m", "hermes.cli", *args],
        env={**os.environ, **env, "COLUMNS": "1000"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    with open(log, "a", encoding="utf-8") as out:
        out.write(result.stdout + result.stderr)
    return result
