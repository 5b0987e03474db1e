"""Shared fixtures: throw-away lakes, and one lake built from the bundled real data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.bundled_lake import BUNDLED_DATA, build_bundled_lake, make_settings
from s3.local_s3 import LocalS3, build_lake, start_local_s3, unique_prefix

from hermes.config import Settings

__all__ = ["BUNDLED_DATA", "make_settings"]


@pytest.fixture
def lake_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """An empty local lake in a temporary folder, also exported as HERMES_LAKE_ROOT."""
    root = tmp_path / "lake"
    monkeypatch.setenv("HERMES_LAKE_ROOT", str(root))
    monkeypatch.setenv("HERMES_TARGET", "local")
    return make_settings(root)


@pytest.fixture(scope="session")
def built_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A lake with the bundled BTCUSDT/ETHUSDT 4h and 1d data ingested and `dbt build` run.

    Session-scoped and shared: tests must only read it.
    """
    import os

    root = tmp_path_factory.mktemp("built") / "lake"
    previous = {k: os.environ.get(k) for k in ("HERMES_LAKE_ROOT", "HERMES_TARGET")}
    os.environ["HERMES_LAKE_ROOT"] = str(root)
    os.environ["HERMES_TARGET"] = "local"
    yield build_bundled_lake(root)
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def refreshed_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, dict]]:
    """The two-step lake with truncated series (:mod:`fixtures.refreshed_lake`); read only."""
    import os

    from fixtures.refreshed_lake import build_refreshed_lake

    saved = dict(os.environ)
    base = tmp_path_factory.mktemp("refreshed")
    os.environ["HERMES_LAKE_ROOT"] = str(base / "lake")
    os.environ["HERMES_TARGET"] = "local"
    try:
        built = build_refreshed_lake(base)
    finally:  # the other tests keep the session's environment (built_lake's)
        os.environ.clear()
        os.environ.update(saved)
    yield built


@pytest.fixture(scope="session")
def local_s3() -> Iterator[LocalS3]:
    """A live S3 endpoint for the session: moto's server on 127.0.0.1, auth on, one bucket."""
    server = start_local_s3()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def built_s3_lake(
    local_s3: LocalS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """``built_lake`` on the ``s3`` target, plus smart_momentum signals and backtests.

    The catalog is a local file; everything the build printed is kept in ``build.log`` beside
    it (for the secret-leak test). Session-scoped and shared: tests must only read it.
    """
    root = tmp_path_factory.mktemp("built-s3") / "lake"
    settings = local_s3.settings(root, unique_prefix("built"))
    with build_lake(settings, sorted(BUNDLED_DATA.glob("*.csv.gz"))):
        yield settings


@pytest.fixture(params=["local", "s3"])
def built_lake_on(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The built lake on each target: a test using it runs once on the local folder, once on S3.

    The lake's settings are exported for the test (``Settings.from_env()`` finds it).
    """
    settings = request.getfixturevalue(
        "built_lake" if request.param == "local" else "built_s3_lake"
    )
    for key, value in settings.dbt_env().items():
        monkeypatch.setenv(key, value)
    return settings


@pytest.fixture(params=["local", "s3"])
def lake_target(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """An empty lake on each target (a local folder, then S3 under a fresh key prefix).

    Its settings are also exported (``HERMES_TARGET``, ``HERMES_S3_*``), as a user would.
    """
    root = tmp_path / "lake"
    if request.param == "local":
        env = {"HERMES_LAKE_ROOT": str(root), "HERMES_TARGET": "local"}
    else:
        env = request.getfixturevalue("local_s3").env(root, unique_prefix("lake"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings.from_env()
