"""Walk-forward, out-of-sample LightGBM predictions per (symbol, interval, open_time).

One model per (symbol, interval) series and block of ``ml_retrain_every`` bars, trained by
``hermes.ml.walk_forward`` on ``gold_ml_features`` (columns ``ml_features``) and the
``ml_horizon`` labels of ``gold_ml_labels``, purged and embargoed; see the folder's yml.
Incremental runs recompute each changed series from the block of its first new or
re-landed bar on (earlier blocks' models only read earlier bars, so they stand). Each model
trained is also written as an artifact (``hermes.ml.records``) beside the lake's data, which
``gold_ml_models`` records.
"""

import numpy as np
import pyarrow as pa

VIEWS = ("hermes_ml_features", "hermes_ml_labels", "hermes_ml_klines")


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key=["symbol", "interval", "open_time"],
        on_schema_change="fail",
    )
    from hermes.incremental import changed_series
    from hermes.ml.records import artifact_root
    from hermes.ml.training import TrainingConfig

    # dbt passes only the settings read with literal names
    settings = {
        "ml_features": dbt.config.get("features"),
        "ml_horizon": dbt.config.get("horizon"),
        "ml_retrain_every": dbt.config.get("retrain_every"),
        "ml_min_train_rows": dbt.config.get("min_train_rows"),
        "ml_window_rows": dbt.config.get("window_rows"),
        "ml_embargo_bars": dbt.config.get("embargo_bars"),
        "ml_num_trees": dbt.config.get("num_trees"),
        "ml_lightgbm_params": dbt.config.get("lightgbm_params"),
        "ml_tuning_trials": dbt.config.get("tuning_trials"),
    }
    config = TrainingConfig.from_vars(settings.get)
    if config.horizon not in dbt.config.get("label_horizons"):
        raise ValueError(f"var ml_horizon: {config.horizon} is not one of ml_label_horizons")
    intervals = dbt.config.get("intervals")
    seconds = dbt.config.get("interval_seconds")
    dbt.ref("gold_ml_features").create_view("hermes_ml_features", replace=True)
    dbt.ref("gold_ml_labels").create_view("hermes_ml_labels", replace=True)
    dbt.ref("silver_klines").create_view("hermes_ml_klines", replace=True)
    this = str(dbt.this) if dbt.is_incremental else None
    # the lake snapshot the inputs were read at
    snapshot = session.execute("select max(snapshot_id) from ducklake_snapshots('lake')")
    snapshot_id = int(snapshot.fetchone()[0] or 0)
    root = artifact_root(session)
    schema = pa.schema(
        [("symbol", pa.string()), ("interval", pa.string()), ("open_time", pa.timestamp("us"))]
        + [("horizon", pa.int32()), ("block_start", pa.timestamp("us"))]
        + [("probability_up", pa.float64()), ("model_version", pa.string())]
        + [("train_from", pa.timestamp("us")), ("train_until", pa.timestamp("us"))]
        + [("train_label_until", pa.timestamp("us")), ("train_rows", pa.int64())]
        + [("ingested_at", pa.timestamp("us")), ("snapshot_id", pa.int64())]
    )

    def batches():
        plan = changed_series(session, "hermes_ml_klines", this, intervals)
        for symbol, interval, first_changed in plan:
            batch = _series_batch(
                session,
                (config, root),
                schema,
                (symbol, interval, seconds[interval]),
                first_changed,
            )
            if batch is not None:
                yield batch.append_column("snapshot_id", pa.array([snapshot_id] * batch.num_rows))
        # the temporary views must not outlive the run
        for view in VIEWS:
            session.execute(f"drop view if exists {view}")

    return pa.RecordBatchReader.from_batches(schema, batches())


def _series_batch(session, training, schema, series, first_changed):
    """The series' prediction rows from the block of its first changed bar on (its models'
    artifacts written)."""
    from hermes.ml.records import write_artifacts
    from hermes.ml.training import Series, block_index
    from hermes.ml.walk_forward import walk_forward

    config, root = training
    symbol, interval, seconds = series
    columns = ", ".join(f"features.{name}" for name in config.features)
    data = session.execute(
        f"""
        select features.open_time, klines.ingested_at, labels.label::double as label,
            labels.label_until, {columns}
        from hermes_ml_features as features
        inner join hermes_ml_klines as klines
            on klines.symbol = features.symbol and klines.interval = features.interval
            and klines.open_time = features.open_time
        left join hermes_ml_labels as labels
            on labels.symbol = features.symbol and labels.interval = features.interval
            and labels.open_time = features.open_time and labels.horizon = ?
        where features.symbol = ? and features.interval = ?
        order by features.open_time
        """,
        [config.horizon, symbol, interval],
    ).fetchnumpy()
    times = data["open_time"].astype("datetime64[us]")
    if len(times) == 0:
        return None
    matrix = np.column_stack([np.asarray(data[name], dtype=np.float64) for name in config.features])
    label = np.asarray(data["label"], dtype=np.float64)
    until = np.asarray(data["label_until"]).astype("datetime64[us]")
    first = 0
    if first_changed is not None:
        position = int(np.searchsorted(times, np.datetime64(first_changed, "us")))
        first = block_index(position, config)
    out = walk_forward(Series(times, matrix, label, until, seconds), config, first)
    write_artifacts(session, root, out["models"])
    rows = len(out["position"])
    if rows == 0:
        return None
    arrays = [pa.array([symbol] * rows), pa.array([interval] * rows)]
    arrays += [pa.array(times[out["position"]]), pa.array(np.full(rows, config.horizon, np.int32))]
    arrays += [pa.array(out["block_start"]), pa.array(out["probability_up"], from_pandas=True)]
    arrays += [pa.array(out["model_version"], type=pa.string())]
    arrays += [pa.array(out[k]) for k in ("train_from", "train_until", "train_label_until")]
    arrays += [pa.array(out["train_rows"])]
    ingested = np.asarray(data["ingested_at"]).astype("datetime64[us]")
    arrays += [pa.array(ingested[out["position"]])]
    return pa.RecordBatch.from_arrays(arrays, names=schema.names[:-1])
