"""Shared fixtures: throw-away lakes, and one lake built from the bundled real data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hermes.config import PROJECT_ROOT, Settings

BUNDLED_DATA = PROJECT_ROOT / "data" / "binance-ohlcv"


def make_settings(root: Path) -> Settings:
    return Settings(lake_root=root)


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

    from hermes.dbt_runner import run_dbt
    from hermes.ingest import ingest_paths

    root = tmp_path_factory.mktemp("built") / "lake"
    previous = {k: os.environ.get(k) for k in ("HERMES_LAKE_ROOT", "HERMES_TARGET")}
    os.environ["HERMES_LAKE_ROOT"] = str(root)
    os.environ["HERMES_TARGET"] = "local"
    settings = make_settings(root)
    ingest_paths(sorted(BUNDLED_DATA.glob("*.csv.gz")), settings)
    run_dbt(["build"], settings, target_path=root.parent / "target")
    yield settings
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
