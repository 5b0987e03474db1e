"""Hyperparameter search inside one training window (``ml_tuning_trials``; 0 = off).

The search never sees out-of-sample data: it splits the block's own training rows in two.
The last :data:`VALIDATION_SHARE` of them are the inner validation rows; the inner training
rows are the earlier ones, purged and embargoed from the first validation bar exactly as the
training rows are from the block (``label_until`` earlier than its open time minus
``ml_embargo_bars`` bars). Each trial trains on the inner training rows and is scored by the
log loss on the inner validation rows; Optuna's TPE sampler, seeded and run sequentially,
makes the search deterministic. The best trial's parameters then train the block's model on
the whole window. The trials run are recorded with the model (``gold_ml_models``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hermes.ml.training import Series, TrainingConfig

VALIDATION_SHARE = 0.25
"""Share of a window's training rows (the latest) its tuning validates on."""
SEED = 20240601
SEARCH_SPACE: dict[str, tuple[str, float, float]] = {
    "learning_rate": ("log", 0.01, 0.3),
    "num_leaves": ("int", 4, 63),
    "min_data_in_leaf": ("int", 10, 200),
    "feature_fraction": ("float", 0.5, 1.0),
    "lambda_l2": ("log", 1e-3, 10.0),
}
"""LightGBM parameters searched (kind, low, high); the others stay as configured."""


def inner_split(
    series: Series, rows: np.ndarray, config: TrainingConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(inner training rows, inner validation rows) of a window's training ``rows``."""
    first = len(rows) - max(1, int(len(rows) * VALIDATION_SHARE))
    validation = rows[first:]
    embargo = np.timedelta64(config.embargo_bars * series.interval_seconds, "s")
    cutoff = series.open_time[validation[0]] - embargo
    head = rows[:first]
    return head[series.label_until[head] < cutoff], validation


def tune(
    series: Series, rows: np.ndarray, config: TrainingConfig
) -> tuple[dict[str, Any], int, float | None]:
    """(parameters, trials run, best inner log loss) for the window of training ``rows``.

    Without tuning, or when the inner split lacks rows or one of the two classes, the
    configured parameters with no trial.
    """
    params = config.lightgbm_params()
    if config.tuning_trials == 0:
        return params, 0, None
    train, valid = inner_split(series, rows, config)
    y_train = series.label[train] > 0
    y_valid = series.label[valid] > 0
    if len(train) < config.min_train_rows // 2 or len(set(y_train)) < 2 or len(set(y_valid)) < 2:
        return params, 0, None
    import lightgbm as lgb
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    x_train, x_valid = series.features[train], series.features[valid]
    names = list(config.features)

    def objective(trial: optuna.Trial) -> float:
        candidate = {**params, **_suggest(trial)}
        dataset = lgb.Dataset(
            x_train, label=y_train.astype(float), feature_name=names, params={"verbosity": -1}
        )
        booster = lgb.train(candidate, dataset, num_boost_round=config.num_trees)
        p = np.clip(booster.predict(x_valid, num_threads=1), 1e-15, 1 - 1e-15)
        return float(-np.mean(np.where(y_valid, np.log(p), np.log1p(-p))))

    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=SEED))
    study.optimize(objective, n_trials=config.tuning_trials, n_jobs=1)
    return {**params, **study.best_params}, len(study.trials), float(study.best_value)


def _suggest(trial: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (kind, low, high) in SEARCH_SPACE.items():
        if kind == "int":
            out[name] = trial.suggest_int(name, int(low), int(high))
        else:
            out[name] = trial.suggest_float(name, low, high, log=kind == "log")
    return out
