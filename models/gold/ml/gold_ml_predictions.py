"""Walk-forward, out-of-sample LightGBM predictions per (symbol, interval, open_time).

One model per (symbol, interval) series and block of ``ml_retrain_every`` bars, trained by
``hermes.ml.walk_forward`` on ``gold_ml_features`` (columns ``ml_features``) and the
``ml_horizon`` labels of ``gold_ml_labels``, purged and embargoed; see the folder's yml.
Incremental runs rewrite each changed series from its first new, re-landed or removed bar
on (``hermes.incremental``, which also deletes the rows of removed candles): bars
of a block an earlier run trained are predicted with that block's recorded model, and only
blocks that begin with the new bars are trained (``hermes.ml.lake_series``). The blocks of
all series train on a pool of one thread per core. Each model trained is also written as
an artifact (``hermes.ml.records``) beside the lake's data, which ``gold_ml_models`` records.
"""

import os

import numpy as np
import pyarrow as pa

VIEWS = ("hermes_ml_features", "hermes_ml_labels", "hermes_ml_klines")
SCHEMA = pa.schema(
    [("symbol", pa.string()), ("interval", pa.string()), ("open_time", pa.timestamp("us"))]
    + [("horizon", pa.int32()), ("block_start", pa.timestamp("us"))]
    + [("probability_up", pa.float64()), ("model_version", pa.string())]
    + [("train_from", pa.timestamp("us")), ("train_until", pa.timestamp("us"))]
    + [("train_label_until", pa.timestamp("us")), ("train_rows", pa.int64())]
    + [("ingested_at", pa.timestamp("us")), ("snapshot_id", pa.int64())]
)


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key=["symbol", "interval", "open_time"],
        on_schema_change="fail",
    )
    from hermes.incremental import changed_series, delete_removed_candles
    from hermes.ml.lake_series import load_series, plan_series
    from hermes.ml.records import artifact_root, write_artifacts
    from hermes.ml.training import TrainingConfig
    from hermes.ml.walk_forward import predict_recorded, walk_forward_many

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
    try:
        changed = changed_series(session, "hermes_ml_klines", this, intervals)
        plans = plan_series(session, changed, this, config)
        delete_removed_candles(session, "hermes_ml_klines", this)
        loaded = load_series(session, plans, config, seconds)
    finally:  # the temporary views must not outlive the run
        for view in VIEWS:
            session.execute(f"drop view if exists {view}")
    pieces, jobs = [], []
    for plan, part in zip(plans, loaded, strict=True):
        block = plan.first // config.retrain_every
        first_trained = block
        if plan.recorded is not None:
            # the new bars of the recorded block: its model, no training
            stop = min((block + 1) * config.retrain_every, plan.bars) - part.offset
            begin = plan.first - part.offset
            out = predict_recorded(part.series.features[begin:stop], plan.recorded)
            pieces.append((plan, part, out, begin))
            first_trained = block + 1
        if plan.needs_history(config):
            jobs.append((plan, part, first_trained))
    threads = os.cpu_count() or 1
    trained = walk_forward_many([(p.series, first) for _, p, first in jobs], config, threads)
    root = artifact_root(session)
    for (plan, part, _), out in zip(jobs, trained, strict=True):
        write_artifacts(session, root, out["models"])
        pieces.append((plan, part, out, 0))
    batches = [_batch(config, plan, part, out, shift) for plan, part, out, shift in pieces]
    batches = [b for b in batches if b.num_rows]
    for i, b in enumerate(batches):
        batches[i] = b.append_column("snapshot_id", pa.array([snapshot_id] * b.num_rows))
    return pa.Table.from_batches(batches, SCHEMA)


def _batch(config, plan, part, out, shift):
    """The prediction rows of ``out`` (positions ``shift`` on of the loaded bars)."""
    rows = len(out["position"])
    at = out["position"] + shift
    arrays = [pa.array([plan.symbol] * rows, pa.string())]
    arrays += [pa.array([plan.interval] * rows, pa.string())]
    arrays += [pa.array(part.series.open_time[at])]
    arrays += [pa.array(np.full(rows, config.horizon, np.int32))]
    arrays += [pa.array(out["block_start"]), pa.array(out["probability_up"], from_pandas=True)]
    arrays += [pa.array(out["model_version"], type=pa.string())]
    arrays += [pa.array(out[k]) for k in ("train_from", "train_until", "train_label_until")]
    arrays += [pa.array(out["train_rows"]), pa.array(part.ingested_at[at])]
    return pa.RecordBatch.from_arrays(arrays, names=SCHEMA.names[:-1])
