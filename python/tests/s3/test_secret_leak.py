"""The S3 secret never leaves the process environment: not in output, artifacts or the lake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from hermes.config import Settings
from hermes.report.render import PLOTLY_JS
from s3.local_s3 import LocalS3


def files_containing(marker: str, folders: list[Path]) -> list[Path]:
    """Every file under ``folders`` whose bytes contain ``marker`` (text or binary)."""
    needle = marker.encode()
    return [
        path
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file() and needle in path.read_bytes()
    ]


def test_the_scan_finds_a_planted_marker(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "run_results.json").write_text('{"x": "MarkerXYZ"}')
    (tmp_path / "a" / "catalog.bin").write_bytes(b"\x00\x01MarkerXYZ\x00")
    assert files_containing("MarkerXYZ", [tmp_path]) == [
        tmp_path / "a" / "b" / "run_results.json",
        tmp_path / "a" / "catalog.bin",
    ]


def _metadata_dump(settings: Settings) -> str:
    """Every row of every table of the DuckLake catalog (opened as a plain DuckDB file)."""
    conn = duckdb.connect(str(settings.catalog_path), read_only=True)
    try:
        tables = [
            name for (name,) in conn.execute("select table_name from duckdb_tables()").fetchall()
        ]
        assert "ducklake_data_file" in tables and "ducklake_metadata" in tables
        return "\n".join(
            repr(conn.execute(f'select * from "{name}"').fetchall())  # noqa: S608
            for name in tables
        )
    finally:
        conn.close()


def _hermes(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hermes.cli", *args],
        env={**os.environ, **env, "COLUMNS": "1000"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_secret_appears_in_no_output_artifact_or_metadata(
    built_s3_lake: Settings, local_s3: LocalS3, tmp_path: Path
) -> None:
    secret = local_s3.secret_key
    work = built_s3_lake.lake_root.parent
    s3 = built_s3_lake.s3
    assert s3 is not None
    # the research site: pages in the lake folder, copied under the bucket's reports/ prefix
    env = local_s3.env(built_s3_lake.lake_root, s3.prefix)
    site = _hermes(["site"], env)
    assert site.returncode == 0, site.stderr
    assert (built_s3_lake.reports_root / "index.html").is_file()
    published = local_s3.keys(f"{s3.prefix}/reports/")
    assert f"{s3.prefix}/reports/index.html" in published
    assert f"{s3.prefix}/reports/assets/{PLOTLY_JS}" in published  # the pages' shared script
    # What the ingest and the build printed, dbt's target/ (compiled SQL, manifest,
    # run_results, logs) and the lake folder (catalog file and its WAL, reports).
    assert (work / "build.log").stat().st_size > 0
    assert (work / "target" / "run_results.json").is_file()
    assert files_containing(secret, [work]) == []
    assert secret not in _metadata_dump(built_s3_lake)
    # The objects the lake wrote to the bucket.
    client = local_s3.client()
    keys = local_s3.keys(f"{s3.prefix}/")
    assert len(keys) > 20
    for key in keys:
        body = client.get_object(Bucket=local_s3.bucket, Key=key)["Body"].read()
        assert secret.encode() not in body, key

    # The command line, reading the lake and failing with a wrong secret.
    query = "select count(*), sum(close) from silver_klines"
    ok = _hermes(["sql", query, "--csv"], env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[1].startswith("42872,")
    wrong = "WrongSecretMarker0123456789abcdefghijklmn"
    bad = _hermes(["sql", query, "--csv"], {**env, "HERMES_S3_SECRET_KEY": wrong})
    assert bad.returncode == 1
    assert f"{local_s3.endpoint}/{local_s3.bucket}/{s3.prefix}/data/" in bad.stderr
    assert "403" in bad.stderr
    for output in (ok.stdout, ok.stderr, bad.stdout, bad.stderr):
        assert secret not in output
        assert wrong not in output


def test_profile_and_project_never_read_a_secret() -> None:
    """dbt records the env_var() values it reads; the keys must not be among them."""
    from hermes.config import PROJECT_ROOT

    for name in ("profiles.yml", "dbt_project.yml"):
        text = (PROJECT_ROOT / name).read_text()
        for variable in ("SECRET", "ACCESS_KEY", "PGPASSWORD"):
            assert f"env_var('HERMES_S3_{variable}" not in text
            assert f"env_var('AWS_{variable}" not in text
            assert f"env_var('{variable}" not in text
