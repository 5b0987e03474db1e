"""What the warm live path starts from: the lake's series at one snapshot, the registry, and
the batch's own compiled SQL (``gold_features``, ``gold_feature_store``, ``gold_ml_features``,
each strategy's signal model), read once when the live process starts; with an active ML
strategy also its recorded walk-forward predictions and models (:mod:`hermes.live.ml`)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from hermes.config import Settings
from hermes.indicators.recursive_features import RecursiveParams
from hermes.live.project import PREDICTIONS, SeriesKey, project_vars
from hermes.signals.models import SIGNAL_MODELS_TABLE, tables_read
from hermes.signals.registry import Strategy, strategies_of

if TYPE_CHECKING:
    from hermes.live.ml import MlSources

LIVE_TABLES = ("silver_klines", "gold_recursive_indicators", "gold_features", "gold_feature_store")
"""The lake's tables the warm path holds, as views of its own tables."""
ML_FEATURES = "gold_ml_features"
"""The ML layer's features model, compiled with the feature models (the ML strategy's input)."""
COMPILE = ["compile", "--select", *LIVE_TABLES[2:], ML_FEATURES, "--full-refresh"]


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
    ml: MlSources | None = None
    """The ML strategy's recorded predictions and models (None: no active ML strategy)."""


def read_sources(
    reader: duckdb.DuckDBPyConnection,
    snapshot: int,
    series: list[SeriesKey],
    features_sql: dict[str, str],
    *,
    until: datetime | None = None,
    lake: Settings | None = None,
) -> Sources:
    """The series' candles and recursive rows (those opening before ``until``, if given), the
    registry and the compiled signal SQL; when an active strategy's signal model reads the
    ML predictions, their rows before ``until`` and the models of their last blocks
    (``lake``: where a later block's model is looked up once the daily refresh trained it)."""
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
    strategies = reader.execute("select * from strategies order by strategy_id").to_arrow_table()
    models = reader.execute(
        f"select * from {SIGNAL_MODELS_TABLE} "  # noqa: S608 (constant)
        "qualify row_number() over (partition by strategy_id order by built_at desc) = 1"
    ).to_arrow_table()
    ml = None
    registry = registry_of(strategies)
    if lake is not None and ML_FEATURES in features_sql and _ml_active(registry, models):
        from hermes.live.ml import read_ml_sources

        ml = read_ml_sources(reader, lake, series, until)
    return Sources(klines, recursive, strategies, models, features_sql, snapshot, ml)


def registry_of(strategies: pa.Table) -> list[Strategy]:
    """The strategies of the registry rows the sources hold (read from the lake once, when
    the live path starts)."""
    return strategies_of(strategies.to_pylist())


def _ml_active(registry: list[Strategy], models: pa.Table) -> bool:
    """Whether an active strategy's recorded signal model reads the ML predictions."""
    ids, texts = models["strategy_id"].to_pylist(), models["compiled_sql"].to_pylist()
    sql = dict(zip(ids, texts, strict=True))
    return any(
        s.status == "active" and reads_predictions(sql.get(s.strategy_id, "")) for s in registry
    )


def compile_features_sql(settings: Settings, target_path: Path) -> dict[str, str]:
    """The compiled full-build SQL of ``gold_features``, ``gold_feature_store`` and
    ``gold_ml_features``.

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
    folder = target_path / "compiled" / "hermes" / "models" / "gold"
    out = {name: (folder / "features" / f"{name}.sql").read_text() for name in LIVE_TABLES[2:]}
    out[ML_FEATURES] = (folder / "ml" / f"{ML_FEATURES}.sql").read_text()
    return out


def is_rule(sql: str) -> bool:
    """Whether a signal model reads only what the live path computes (the feature store and
    the registry): rule strategies; the ML strategy reads its recorded predictions."""
    return tables_read(sql) <= {"gold_feature_store", "strategies"}


def reads_predictions(sql: str) -> bool:
    """Whether a signal model reads the ML predictions and otherwise only what the live path
    computes (the ML strategy): the live path predicts its bars (:mod:`hermes.live.ml`)."""
    tables = tables_read(sql)
    return PREDICTIONS in tables and tables <= {"gold_feature_store", "strategies", PREDICTIONS}


def recursive_params() -> RecursiveParams:
    """The recursive indicators' parameters, from the ``feature_*`` vars of dbt_project.yml."""
    variables = feature_vars()
    return RecursiveParams.from_config(lambda key: variables.get(f"feature_{key}"))


def feature_vars() -> dict[str, Any]:
    """The ``feature_*`` vars of dbt_project.yml (the features' parameters)."""
    return project_vars("feature_")


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
