"""Model records on the built lakes: a prediction finds its model, which reproduces it.

On the bundled BTCUSDT/ETHUSDT data, on the local folder and on S3: the artifact named by a
prediction row's ``model_version`` is found, hashes to its version, and its LightGBM model
predicts the stored probability bit for bit; the recorded importances and mean |SHAP| values
are those of that model on its own training rows; every model is recorded once, and the
records of an incrementally refreshed lake equal those of a lake built at once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fixtures.lake_reads import read_frame

from hermes.config import Settings
from hermes.lake import DataError, connect
from hermes.ml.records import (
    artifact_path,
    artifact_root,
    load_booster,
    read_artifacts,
    resolve_artifact,
    shap_rows,
    write_artifacts,
)
from hermes.ml.walk_forward import walk_forward

FEATURES = [
    "rsi_14",
    "close_to_ema_12",
    "close_to_ema_50",
    "close_to_ema_200",
    "ema_12_to_26",
    "macd_hist_to_close",
    "atr_14_to_close",
    "supertrend_dir_10_3",
    "return_1",
]
"""``ml_features`` of dbt_project.yml."""


def test_a_prediction_finds_its_model_and_reproduces_it(built_lake_on: Settings) -> None:
    conn = connect(built_lake_on)
    try:
        root = artifact_root(conn)
        # one predicted bar per series: the last, of the latest model
        rows = conn.execute(
            f"""
            select p.symbol, p.interval, p.open_time, p.block_start, p.model_version,
                p.probability_up, {", ".join("f." + c for c in FEATURES)}
            from gold_ml_predictions as p
            inner join gold_ml_features as f using (symbol, interval, open_time)
            where p.probability_up is not null
            qualify row_number() over (partition by symbol, interval order by open_time desc) = 1
            order by symbol, interval
            """  # noqa: S608
        ).df()
        assert len(rows) == 4
        for row in rows.itertuples(index=False):
            path = artifact_path(root, row.model_version)
            assert path.startswith(built_lake_on.storage_root + "/ml/models/")
            ((text, sha, recorded_path, recorded_sha),) = conn.execute(
                """
                select a.model_text, a.artifact_sha256, m.artifact_path, m.artifact_sha256
                from read_parquet(?) as a
                inner join gold_ml_models as m using (model_version)
                where m.symbol = ? and m.interval = ? and m.block_start = ?
                """,
                [path, row.symbol, row.interval, row.block_start],
            ).fetchall()
            # the record names the artifact relative to the lake's storage root: a copied
            # lake (as each test worker's is) reads it from its own folder
            assert recorded_path == f"ml/models/{row.model_version}.parquet"
            assert resolve_artifact(conn, recorded_path) == path and recorded_sha == sha
            assert hashlib.sha256(text.encode()).hexdigest() == sha
            assert row.model_version.split("-")[1] == sha[:16]
            booster = load_booster(text)
            x = np.array([[getattr(row, c) for c in FEATURES]], dtype=np.float64)
            # exactly the stored probability, not approximately
            assert booster.predict(x, num_threads=1)[0] == row.probability_up
    finally:
        conn.close()


def test_a_model_record_describes_its_model_on_its_training_rows(built_lake: Settings) -> None:
    (record,) = read_frame(
        built_lake,
        "select * from gold_ml_models where symbol = 'ETHUSDT' and interval = '4h' "
        "order by block_start desc limit 1",
    ).itertuples(index=False)
    # the training rows, as the walk-forward selects them: known label (neutral too) before
    # the block minus the 6-bar embargo, no NULL feature, the latest 3000 (rolling window)
    training = read_frame(
        built_lake,
        f"""
        select {", ".join("f." + c for c in FEATURES)}
        from gold_ml_features as f
        inner join gold_ml_labels as l using (symbol, interval, open_time)
        where symbol = 'ETHUSDT' and interval = '4h' and l.horizon = 6 and l.label is not null
            and l.label_until < ?::timestamp - interval 24 hour
            and {" and ".join(f"f.{c} is not null" for c in FEATURES)}
        order by open_time desc limit 3000
        """,  # noqa: S608
        [record.block_start],
    ).iloc[::-1]
    assert len(training) == record.train_rows == 3000
    booster = load_booster(read_text(built_lake, record.artifact_path))
    importance = pd.DataFrame(list(record.importance))
    assert list(importance.feature) == list(record.features) == FEATURES
    assert list(importance.gain) == list(booster.feature_importance("gain"))
    assert list(importance.split) == list(booster.feature_importance("split"))
    # on every 10th training row from the first (300 of the 3000)
    sample = training[FEATURES].to_numpy()[::10]
    assert np.array_equal(shap_rows(training[FEATURES].to_numpy()), sample) and len(sample) == 300
    contributions = booster.predict(sample, pred_contrib=True)
    np.testing.assert_allclose(
        importance.mean_abs_shap, np.abs(contributions[:, :-1]).mean(axis=0), rtol=1e-12
    )
    params = json.loads(record.params)
    assert (params["seed"], params["num_leaves"], params["deterministic"]) == (20240601, 15, True)
    assert (record.tuning_trials, pd.isna(record.tuning_logloss)) == (0, True)


def read_text(settings: Settings, path: str) -> str:
    """The model text of the artifact recorded as ``path`` (relative to the lake's root)."""
    conn = connect(settings)
    try:
        ((text,),) = conn.execute(
            "select model_text from read_parquet(?)", [resolve_artifact(conn, path)]
        ).fetchall()
        return str(text)
    finally:
        conn.close()


def test_every_model_is_recorded_once(built_lake: Settings) -> None:
    (row,) = read_frame(
        built_lake,
        """
        with predicted as (
            select distinct symbol, interval, block_start, model_version, train_rows
            from gold_ml_predictions where model_version is not null
        )
        select
            (select count(*) from predicted),
            (select count(*) from predicted anti join gold_ml_models
                using (symbol, interval, block_start, model_version, train_rows)),
            (select count(*) from gold_ml_models anti join predicted
                using (symbol, interval, block_start, model_version, train_rows)),
            (select count(*) from gold_ml_models where interval = '4h')
        """,
    ).itertuples(index=False)
    assert tuple(row) == (row[0], 0, 0, 2 * 35) and row[0] > 70


def test_incremental_records_equal_a_full_rebuild(
    refreshed_lake: tuple[Settings, dict], built_lake: Settings
) -> None:
    settings, _ = refreshed_lake
    query = (
        "select * exclude (artifact_path, snapshot_id) from gold_ml_models "
        "where symbol in ('BTCUSDT', 'ETHUSDT') order by all"
    )
    incremental, full = read_frame(settings, query), read_frame(built_lake, query)
    assert len(full) > 70
    pd.testing.assert_frame_equal(incremental, full, check_exact=True)
    # a cut copy's models are the full series' models of the same blocks (one artifact each)
    (shared,) = read_frame(
        settings,
        "select count(*) from gold_ml_models as cut inner join gold_ml_models as origin "
        "on origin.symbol = substr(cut.symbol, 6) and cut.symbol like 'CUT%' "
        "and origin.interval = cut.interval and origin.block_start = cut.block_start "
        "and origin.model_version = cut.model_version",
    ).iloc[0]
    assert shared > 100


def test_a_missing_or_altered_artifact_is_refused(tmp_path: Path) -> None:
    import duckdb

    from ml.test_walk_forward import _config, _series

    config = _config()
    records = walk_forward(_series(400, config.horizon), config)["models"]
    assert len(records) == 5
    conn = duckdb.connect()
    root = str(tmp_path / "ml" / "models")
    write_artifacts(conn, root, records)
    versions = [r.model_version for r in records]
    table = read_artifacts(conn, root, versions)
    assert table["model_version"].to_pylist() == sorted(versions)
    # a model text changed after it was written no longer matches its version
    first = artifact_path(root, versions[0])
    altered = conn.execute("select * from read_parquet(?)", [first]).to_arrow_table()
    text = altered["model_text"][0].as_py().replace("learning_rate: 0.05", "learning_rate: 0.5")
    altered = altered.set_column(2, "model_text", pa.array([text]))
    conn.register("altered", altered)
    conn.execute(f"copy altered to '{first}' (format parquet)")
    with pytest.raises(DataError, match=f"ML model artifact {first}: its model text does not"):
        read_artifacts(conn, root, versions)
    (tmp_path / "ml" / "models" / f"{versions[1]}.parquet").unlink()
    with pytest.raises(DataError, match=r"ML model artifact .* is missing \(1 of 5\): rebuild"):
        read_artifacts(conn, root, versions)
    with pytest.raises(DataError, match="model version 'x/../y': expected"):
        artifact_path(root, "x/../y")
    with pytest.raises(DataError, match=r"artifact path '../x.parquet': expected ml/models/"):
        resolve_artifact(conn, "../x.parquet")


def test_a_lake_without_a_hermes_data_path_names_it() -> None:
    import duckdb

    conn = duckdb.connect()

    class Catalog:
        def execute(self, sql: str, params: list[object]) -> duckdb.DuckDBPyConnection:
            return conn.execute("select '/srv/elsewhere/' as data_path")

    with pytest.raises(
        DataError, match="lake data path '/srv/elsewhere': expected <lake root>/data"
    ):
        artifact_root(Catalog())
