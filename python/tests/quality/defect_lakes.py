"""Lakes built from the defect fixtures in ``fixtures/`` (bronze and silver only)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from hermes.config import Settings
from hermes.dbt_runner import DbtError, NodeResult, run_dbt
from hermes.ingest import ingest_paths

FIXTURES = Path(__file__).parent / "fixtures"
BRONZE_AND_SILVER = ["build", "--select", "path:models/bronze path:models/silver"]
ENV_KEYS = ("HERMES_LAKE_ROOT", "HERMES_TARGET", "HERMES_DATA_PATH", "HERMES_LANDING_ROOT")


@dataclass(frozen=True)
class DefectLake:
    """A lake built from one fixture folder, and what `dbt build` said about it."""

    settings: Settings
    nodes: list[NodeResult]
    error: DbtError | None


def build_defect_lake(folder: Path, root: Path, *, unchecked: bool = False) -> DefectLake:
    """Ingest the CSV files of ``folder`` into a new lake at ``root``, build bronze and silver.

    ``unchecked``: land the files without ingest's candle rules, as a Hermes from before
    those rules did; the defects then reach silver, where the data tests (the second line of
    defence) must catch them.
    """
    previous = {key: os.environ.get(key) for key in ENV_KEYS}
    os.environ["HERMES_LAKE_ROOT"] = str(root)
    os.environ["HERMES_TARGET"] = "local"
    settings = Settings(lake_root=root)
    try:
        with contextlib.ExitStack() as stack:
            if unchecked:
                stack.enter_context(mock.patch("hermes.ingest.csv_import.check_candles"))
            report = ingest_paths(sorted(folder.glob("*.csv")), settings)
        assert report.ok, report
        error = None
        try:
            _, nodes = run_dbt(BRONZE_AND_SILVER, settings, target_path=root.parent / "target")
        except DbtError as exc:
            error = exc
            nodes = []
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return DefectLake(settings, nodes, error)
