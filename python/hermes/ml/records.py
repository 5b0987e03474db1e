"""Model records: what each walk-forward model is, and its artifact beside the lake's data.

Every model ``hermes.ml.walk_forward`` trains is described by a :class:`ModelRecord`: the
LightGBM model text, its final parameters, the features, the importances (gain and split
counts) and the mean |SHAP| value of each feature on an even sample of its own training
rows (:func:`shap_rows`; TreeSHAP from
LightGBM's ``pred_contrib``, in log-odds), and the tuning trials run for it.

The record is written as a one-row parquet file, content-addressed by the model version:
``<lake storage root>/ml/models/<model_version>.parquet``, beside the lake's ``data/`` and
``landing/`` folders (a local folder or ``s3://bucket/prefix``). It is written and read with
DuckDB through the session's own configuration (httpfs and the S3 secret on the ``s3``
target), so the same code serves both. The artifact's model text hashes (SHA-256) to
``artifact_sha256``, whose first 16 hex digits are the model version's second half.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from hermes.lake import DataError

ARTIFACT_FOLDER = "ml/models"
VERSION = re.compile(r"^[0-9a-f]{12}-[0-9a-f]{16}$")
"""``<config hash>-<model hash>`` (:func:`hermes.ml.walk_forward.train_block`)."""
SHAP_ROWS = 300
"""At most this many training rows, evenly spaced, measure a model's mean |SHAP|."""


@dataclass(frozen=True)
class ModelRecord:
    """One trained model, independent of the series it was trained for (content only)."""

    model_version: str
    model_text: str
    params: dict[str, Any]
    features: tuple[str, ...]
    importance_gain: list[float]
    importance_split: list[int]
    mean_abs_shap: list[float]
    train_rows: int
    tuning_trials: int
    tuning_logloss: float | None
    """Best inner-validation log loss of the tuning (None without tuning)."""

    @property
    def artifact_sha256(self) -> str:
        return text_sha256(self.model_text)


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def describe(
    booster: Any,
    model: tuple[str, str],
    x_train: np.ndarray,
    params: dict[str, Any],
    tuning: tuple[int, float | None],
) -> ModelRecord:
    """The record of ``booster`` (``model``: its version and text) trained on ``x_train``
    with ``params`` (tuning: trials, score)."""
    version, text = model
    contributions = booster.predict(shap_rows(x_train), pred_contrib=True, num_threads=1)
    # the last column is the expected value (bias), not a feature
    shap = np.abs(np.asarray(contributions)[:, :-1]).mean(axis=0)
    return ModelRecord(
        model_version=version,
        model_text=text,
        params=params,
        features=tuple(booster.feature_name()),
        importance_gain=[float(v) for v in booster.feature_importance("gain")],
        importance_split=[int(v) for v in booster.feature_importance("split")],
        mean_abs_shap=[float(v) for v in shap],
        train_rows=len(x_train),
        tuning_trials=tuning[0],
        tuning_logloss=tuning[1],
    )


def shap_rows(x_train: np.ndarray) -> np.ndarray:
    """The training rows the mean |SHAP| is measured on: every k-th from the first, k the
    smallest step leaving at most :data:`SHAP_ROWS`. TreeSHAP on a whole 3,000-row window
    costs about ten trainings; an even sample of the window estimates it at a tenth."""
    step = -(-len(x_train) // SHAP_ROWS)
    return x_train[:: max(step, 1)]


ARTIFACT_SCHEMA = pa.schema(
    [
        ("model_version", pa.string()),
        ("artifact_sha256", pa.string()),
        ("model_text", pa.string()),
        ("params", pa.string()),
        ("features", pa.list_(pa.string())),
        ("importance_gain", pa.list_(pa.float64())),
        ("importance_split", pa.list_(pa.int64())),
        ("mean_abs_shap", pa.list_(pa.float64())),
        ("model_train_rows", pa.int64()),
        ("tuning_trials", pa.int32()),
        ("tuning_logloss", pa.float64()),
    ]
)


def storage_root(conn: Any, alias: str = "lake") -> str:
    """The storage root of the lake attached as ``alias`` (from its catalog's data path)."""
    row = conn.execute("select data_path from ducklake_settings(?)", [alias]).fetchone()
    data_path = str(row[0]).rstrip("/") if row else ""
    if not data_path.endswith("/data"):
        raise DataError(
            f"lake data path {data_path!r}: expected <lake root>/data (the catalog was not "
            "created by Hermes), so the ML model artifacts have no folder beside it"
        )
    return data_path.removesuffix("/data")


def artifact_root(conn: Any, alias: str = "lake") -> str:
    """``<storage root>/ml/models`` of the lake attached as ``alias`` (from its catalog)."""
    return f"{storage_root(conn, alias)}/{ARTIFACT_FOLDER}"


def relative_artifact_path(version: str) -> str:
    """Where the artifact of model ``version`` is, relative to the lake's storage root (what
    ``gold_ml_models.artifact_path`` records: a moved or copied lake finds its own file)."""
    return artifact_path(ARTIFACT_FOLDER, version)


def resolve_artifact(conn: Any, relative: str, alias: str = "lake") -> str:
    """The full location of a recorded ``artifact_path`` in the lake attached as ``alias``."""
    folder, _, name = relative.rpartition("/")
    if folder != ARTIFACT_FOLDER or not VERSION.match(name.removesuffix(".parquet")):
        raise DataError(f"artifact path {relative!r}: expected {ARTIFACT_FOLDER}/<version>.parquet")
    return f"{storage_root(conn, alias)}/{relative}"


def artifact_path(root: str, version: str) -> str:
    """Where the artifact of model ``version`` is, under :func:`artifact_root`."""
    if not VERSION.match(version):
        raise DataError(f"model version {version!r}: expected <12 hex>-<16 hex>")
    return f"{root}/{version}.parquet"


def write_artifacts(conn: Any, root: str, records: list[ModelRecord]) -> None:
    """Write each record's artifact (again when it exists: same version, same content)."""
    if not records:
        return
    if "://" not in root:
        Path(root).mkdir(parents=True, exist_ok=True)
    for record in records:
        path = artifact_path(root, record.model_version)
        conn.register("hermes_ml_artifact", _artifact_table(record))
        try:
            literal = path.replace("'", "''")
            conn.execute(f"copy hermes_ml_artifact to '{literal}' (format parquet)")
        finally:
            conn.unregister("hermes_ml_artifact")


def _exists(conn: Any, path: str) -> bool:
    """Whether the file ``path`` exists: its size is read (a look-up of that one name; a
    ``glob`` without a wildcard answers the name back on S3 without looking)."""
    import duckdb

    try:
        return bool(conn.execute("select size from read_blob(?)", [path]).fetchall())
    except duckdb.Error:  # S3: not found
        return False


def _artifact_table(record: ModelRecord) -> pa.Table:
    row = {
        "model_version": record.model_version,
        "artifact_sha256": record.artifact_sha256,
        "model_text": record.model_text,
        "params": json.dumps(record.params, sort_keys=True),
        "features": list(record.features),
        "importance_gain": record.importance_gain,
        "importance_split": record.importance_split,
        "mean_abs_shap": record.mean_abs_shap,
        "model_train_rows": record.train_rows,
        "tuning_trials": record.tuning_trials,
        "tuning_logloss": record.tuning_logloss,
    }
    return pa.Table.from_pylist([row], schema=ARTIFACT_SCHEMA)


def read_artifacts(conn: Any, root: str, versions: list[str]) -> pa.Table:
    """The artifacts of ``versions`` and their paths (``artifact_path``), each checked
    against its version and hash.

    A missing artifact or one whose model text does not hash to its version raises
    :class:`DataError` naming the file.
    """
    if not versions:
        return ARTIFACT_SCHEMA.append(pa.field("artifact_path", pa.string())).empty_table()
    paths = [artifact_path(root, v) for v in versions]
    import duckdb

    try:
        table = conn.execute(
            "select * exclude (filename), filename as artifact_path "
            "from read_parquet(?, filename = true) order by model_version",
            [paths],
        ).to_arrow_table()
    except duckdb.Error:
        missing = [p for p in paths if not _exists(conn, p)]
        if not missing:
            raise
        raise DataError(
            f"ML model artifact {missing[0]} is missing ({len(missing)} of {len(paths)}): "
            "rebuild gold_ml_predictions with --full-refresh to write them again"
        ) from None
    for version, text, sha, path in zip(
        table["model_version"].to_pylist(),
        table["model_text"].to_pylist(),
        table["artifact_sha256"].to_pylist(),
        table["artifact_path"].to_pylist(),
        strict=True,
    ):
        if (
            text_sha256(text) != sha
            or version.split("-")[1] != sha[:16]
            or not path.endswith(f"/{version}.parquet")
        ):
            raise DataError(f"ML model artifact {path}: its model text does not match {version}")
    return table


def load_booster(model_text: str) -> Any:
    """The LightGBM booster of an artifact's model text."""
    import lightgbm as lgb

    return lgb.Booster(model_str=model_text)
