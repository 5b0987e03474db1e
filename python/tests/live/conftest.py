"""The live tests' fixtures: the compiled feature SQL (one dbt compile per session) and the
bundled 4h series the fake exchange serves."""

from __future__ import annotations

import pytest
from live_helpers import SYMBOLS

from hermes.config import Settings
from hermes.live.fake_exchange import SeriesData, load_bundled
from hermes.live.sources import compile_features_sql


@pytest.fixture(scope="session")
def features_sql(built_lake: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return compile_features_sql(built_lake, tmp_path_factory.mktemp("live_target"))


@pytest.fixture(scope="session")
def bundled_4h() -> dict[tuple[str, str], SeriesData]:
    return {(s, "4h"): load_bundled(s, "4h") for s in SYMBOLS}
