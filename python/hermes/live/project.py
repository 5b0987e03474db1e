"""What the live modules share about the project: a series' key, the ML predictions'
table name and dbt_project.yml's vars (one place, imported by the sources and the ML path)."""

from __future__ import annotations

from typing import Any

import yaml

from hermes.config import PROJECT_ROOT

SeriesKey = tuple[str, str]
"""A series of the live path: (symbol, interval)."""
PREDICTIONS = "gold_ml_predictions"
"""The ML predictions' table, which the ML strategy's signal model reads."""


def project_vars(prefix: str) -> dict[str, Any]:
    """The vars of dbt_project.yml whose name starts with ``prefix``."""
    with open(PROJECT_ROOT / "dbt_project.yml", encoding="utf-8") as handle:
        variables = yaml.safe_load(handle)["vars"]
    return {k: v for k, v in variables.items() if k.startswith(prefix)}
