"""What the live modules share about the project: a series' key, the ML predictions'
table name and dbt_project.yml's vars (one place, imported by the sources and the ML path)."""

from __future__ import annotations

from typing import Any

from hermes.config import project_vars as _all_vars

SeriesKey = tuple[str, str]
"""A series of the live path: (symbol, interval)."""
PREDICTIONS = "gold_ml_predictions"
"""The ML predictions' table, which the ML strategy's signal model reads."""


def project_vars(prefix: str) -> dict[str, Any]:
    """The vars of dbt_project.yml whose name starts with ``prefix``."""
    return {k: v for k, v in _all_vars().items() if k.startswith(prefix)}
