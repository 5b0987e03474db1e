"""One row per walk-forward model (symbol, interval, block) of ``gold_ml_predictions``.

Read from the models' artifacts (``hermes.ml.records``), each checked against its model
version's hash: parameters, features, importances, mean |SHAP| per feature, tuning trials,
artifact path (relative to the lake's storage root) and SHA-256; the training window comes
from the predictions. Incremental runs record only blocks whose model version is new; see
the folder's yml.
"""

import pyarrow as pa

RECORD = """
select
    blocks.symbol, blocks.interval, blocks.block_start, blocks.horizon, blocks.model_version,
    blocks.train_from, blocks.train_until, blocks.train_label_until, blocks.train_rows,
    artifacts.params, artifacts.features,
    list_transform(
        range(len(artifacts.features)),
        i -> {
            'feature': artifacts.features[i + 1],
            'gain': artifacts.importance_gain[i + 1],
            'split': artifacts.importance_split[i + 1],
            'mean_abs_shap': artifacts.mean_abs_shap[i + 1]
        }
    ) as importance,
    artifacts.tuning_trials, artifacts.tuning_logloss,
    artifacts.artifact_path, artifacts.artifact_sha256, blocks.snapshot_id
from hermes_ml_model_blocks as blocks
inner join hermes_ml_model_artifacts as artifacts using (model_version)
order by blocks.symbol, blocks.interval, blocks.block_start
"""


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key=["symbol", "interval", "block_start"],
        on_schema_change="fail",
    )
    from hermes.ml.records import artifact_root, read_artifacts, relative_artifact_path

    dbt.ref("gold_ml_predictions").create_view("hermes_ml_model_predictions", replace=True)
    recorded = (
        f"anti join {dbt.this} as recorded using (symbol, interval, block_start, model_version)"
        if dbt.is_incremental
        else ""
    )
    blocks = session.execute(
        f"""
        select symbol, interval, block_start, model_version, any_value(horizon) as horizon,
            any_value(train_from) as train_from, any_value(train_until) as train_until,
            any_value(train_label_until) as train_label_until,
            any_value(train_rows) as train_rows, max(snapshot_id) as snapshot_id
        from hermes_ml_model_predictions as predictions {recorded}
        where model_version is not null
        group by symbol, interval, block_start, model_version
        """
    ).to_arrow_table()
    session.execute("drop view if exists hermes_ml_model_predictions")
    versions = sorted(set(blocks["model_version"].to_pylist()))
    artifacts = read_artifacts(session, artifact_root(session), versions)
    session.register("hermes_ml_model_blocks", blocks)
    session.register("hermes_ml_model_artifacts", artifacts)
    try:
        table = session.execute(RECORD).to_arrow_table()
    finally:
        session.unregister("hermes_ml_model_blocks")
        session.unregister("hermes_ml_model_artifacts")
    # recorded relative to the lake's storage root: a moved or copied lake reads its own
    paths = [relative_artifact_path(v) for v in table["model_version"].to_pylist()]
    index = table.schema.get_field_index("artifact_path")
    return table.set_column(index, "artifact_path", pa.array(paths, pa.string()))
