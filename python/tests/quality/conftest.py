"""Fixtures of the quality tests: the checkpoint (GX is imported once, here) and lakes
built from the defect fixtures in ``fixtures/``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from defect_lakes import FIXTURES, DefectLake, build_defect_lake


@pytest.fixture(scope="session")
def checkpoint() -> Callable[..., Any]:
    """:func:`hermes.quality.run_checkpoint`, imported once (GX takes seconds to import)."""
    from hermes.quality import run_checkpoint

    return run_checkpoint


@pytest.fixture(scope="session")
def warn_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DefectLake]:
    """Lake of ``fixtures/warn``: a duplicated candle, a gap and a stale series."""
    yield build_defect_lake(FIXTURES / "warn", tmp_path_factory.mktemp("warn") / "lake")


@pytest.fixture(scope="session")
def error_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DefectLake]:
    """Lake of ``fixtures/error``: a high below the close and a negative volume, landed
    unchecked (ingest refuses both now; the data tests must still catch them)."""
    yield build_defect_lake(
        FIXTURES / "error", tmp_path_factory.mktemp("error") / "lake", unchecked=True
    )
