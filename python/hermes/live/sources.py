"""What the warm live path starts from: the lake's series at one snapshot, the registry, and
the batch's own compiled SQL (``gold_features``, ``gold_feature_store``, each rule
strategy's signal model), read once when the live process starts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import yaml

from hermes.config import PROJECT_ROOT, Settings
from hermes.indicators.recursive_features import RecursiveParams
from hermes.signals.models import SIGNAL_MODELS_TABLE

SeriesKey = tuple[str, str]
"""A series of the live path: (symbol, interval)."""
LIVE_TABLES = ("silver_klines", "gold_recursive_indicators", "gold_features", "gold_feature_store")
"""The lake's tables the warm path holds, as views of its own tables."""
COMPILE = ["compile", "--select", "gold_features", "gold_feature_store", "--full-refresh"]
_REFERENCE = re.compile(r'"lake"\."main"\."([a-z0-9_]+)"')


class LiveSetupError(RuntimeError):
    """The lake lacks what the live path needs (a built lake, compiled SQL)."""


@dataclass
class Sources:
    """What the warm path starts from, read from the lake at one snapshot."""

    klines: pa.Table
    recursive: pa.Table
    strategies: pa.Table
    signal_models: pa.Table
    features_sql: dict[str, str]
    snapshot: int


def read_sources(
    reader: duckdb.DuckDBPyConnection,
    snapshot: int,
    series: list[SeriesKey],
    features_sql: dict[str, str],
    *,
    until: datetime | None = None,
) -> Sources:
    """The series' candles and recursive rows (those opening before ``until``, if given), the
    registry and the compiled signal SQL."""
    pairs = pa.table({"symbol": [s for s, _ in series], "interval": [i for _, i in series]})
    reader.register("live_pairs", pairs)
    try:
        klines = reader.execute(
            "select * from silver_klines semi join live_pairs using (symbol, interval) "
            "where ?::timestamp is null or open_time < ? order by symbol, interval, open_time",
            [until, until],
        ).to_arrow_table()
        recursive = reader.execute(
            "select * from gold_recursive_indicators semi join live_pairs "
            "using (symbol, interval) where ?::timestamp is null or open_time < ? "
            "order by symbol, interval, open_time",
            [until, until],
        ).to_arrow_table()
    finally:
        reader.unregister("live_pairs")
    strategies = reader.execute("select * from strategies").to_arrow_table()
    models = reader.execute(
        f"select * from {SIGNAL_MODELS_TABLE} "  # noqa: S608 (constant)
        "qualify row_number() over (partition by strategy_id order by built_at desc) = 1"
    ).to_arrow_table()
    return Sources(klines, recursive, strategies, models, features_sql, snapshot)


def compile_features_sql(settings: Settings, target_path: Path) -> dict[str, str]:
    """The compiled full-build SQL of ``gold_features`` and ``gold_feature_store``.

    ``dbt compile`` runs in a child process (this module's ``__main__``): dbt's imports would
    otherwise stay in the live process's memory for good."""
    env = {**os.environ, **settings.dbt_env()}
    done = subprocess.run(
        [sys.executable, "-m", "hermes.live.sources", str(target_path)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise LiveSetupError(f"dbt compile of gold_features failed: {tail}")
    folder = target_path / "compiled" / "hermes" / "models" / "gold" / "features"
    return {name: (folder / f"{name}.sql").read_text() for name in LIVE_TABLES[2:]}


def is_rule(sql: str) -> bool:
    """Whether a signal model reads only what the live path computes (the feature store and
    the registry): rule strategies; the ML strategy reads its recorded predictions."""
    return set(_REFERENCE.findall(sql)) <= {"gold_feature_store", "strategies"}


def recursive_params() -> RecursiveParams:
    """The recursive indicators' parameters, from the ``feature_*`` vars of dbt_project.yml."""
    variables = feature_vars()
    return RecursiveParams.from_config(lambda key: variables.get(f"feature_{key}"))


def feature_vars() -> dict[str, Any]:
    """The ``feature_*`` vars of dbt_project.yml (the features' parameters)."""
    with open(PROJECT_ROOT / "dbt_project.yml", encoding="utf-8") as handle:
        variables = yaml.safe_load(handle)["vars"]
    return {k: v for k, v in variables.items() if k.startswith("feature_")}


def largest_integer(value: Any) -> int:
    """The largest integer inside a (nested) parameter value: a bound of every window length."""
    if isinstance(value, dict):
        return max([largest_integer(v) for v in value.values()], default=0)
    if isinstance(value, list | tuple):
        return max([largest_integer(v) for v in value], default=0)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return 0


if __name__ == "__main__":  # the child process of compile_features_sql
    from hermes.dbt_runner import run_dbt

    run_dbt(COMPILE, Settings.from_env(), target_path=Path(sys.argv[1]))
