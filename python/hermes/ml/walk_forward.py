"""Walk-forward LightGBM training of one (symbol, interval) series, out-of-sample only.

The series is cut into blocks of ``retrain_every`` bars counted from its first bar; the model
of block k is trained on rows of earlier bars only, and only on rows whose label was known
before the block starts, minus an embargo: a training row's ``label_until`` (the close time
of the bar that decides its label) must be earlier than the block's first open time minus
``embargo_bars`` bar lengths (purging). The model then predicts the block's bars. Blocks are
anchored at the series' start, so a longer history never changes an earlier block's model
(what the lookahead truncation test proves), and an incremental run recomputes only from
the block of the first new bar on.

LightGBM rather than XGBoost: its ``deterministic`` mode with one thread gives bit-identical
models on re-run, it handles the features' NULL warm-up natively, and it trains the small
per-series models here fastest on two cores.

A block gets no prediction (NULL probability) when its window has fewer than
``min_train_rows`` usable rows or lacks one of the two classes; a bar gets none when one of
its features is NULL. Neutral labels (a move within one round trip's cost, see
``gold_ml_labels``) train as "not up": the model estimates the probability that the forward
return pays for a round trip (ends above the band), so a move too small to pay its costs
never reads as a signal.

With ``tuning_trials`` > 0 a block's parameters are searched on its window's own inner split
first (:mod:`hermes.ml.tuning`); each model trained is described by a
:class:`hermes.ml.records.ModelRecord` (its artifact).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from hermes.ml.records import describe
from hermes.ml.training import Series, TrainingConfig, training_rows
from hermes.ml.tuning import tune

PREDICTION_COLUMNS = (
    "block_start",
    "probability_up",
    "model_version",
    "train_from",
    "train_until",
    "train_label_until",
    "train_rows",
)


def walk_forward(series: Series, config: TrainingConfig, first_block: int = 0) -> dict[str, Any]:
    """Out-of-sample predictions for every bar of the blocks from ``first_block`` on.

    Returns the bars' positions (``position``) and one array per :data:`PREDICTION_COLUMNS`
    (NULL-able values as NaN / NaT / None); rows of a block without a model, and bars with a
    NULL feature, have a NULL probability. ``models`` lists the :class:`ModelRecord` of each
    model trained.
    """
    import lightgbm as lgb

    n = len(series.open_time)
    begin = min(first_block * config.retrain_every, n)
    size = n - begin
    out: dict[str, Any] = {
        "position": np.arange(begin, n),
        "block_start": np.empty(size, dtype="datetime64[us]"),
        "probability_up": np.full(size, np.nan),
        "model_version": np.full(size, None, dtype=object),
        "train_from": np.full(size, np.datetime64("NaT"), dtype="datetime64[us]"),
        "train_until": np.full(size, np.datetime64("NaT"), dtype="datetime64[us]"),
        "train_label_until": np.full(size, np.datetime64("NaT"), dtype="datetime64[us]"),
        "train_rows": np.zeros(size, dtype=np.int64),
        "models": [],
    }
    names = list(config.features)
    for start in range(begin, n, config.retrain_every):
        stop = min(start + config.retrain_every, n)
        block = slice(start - begin, stop - begin)
        out["block_start"][block] = series.open_time[start]
        rows = training_rows(series, start, config)
        y = (series.label[rows] > 0).astype(np.float64)
        if len(rows) < config.min_train_rows or y.min(initial=1.0) == y.max(initial=0.0):
            continue
        params, trials, score = tune(series, rows, config)
        dataset = lgb.Dataset(
            series.features[rows], label=y, feature_name=names, params={"verbosity": -1}
        )
        booster = lgb.train(params, dataset, num_boost_round=config.num_trees)
        x = series.features[start:stop]
        complete = ~np.isnan(x).any(axis=1)
        probability = np.full(stop - start, np.nan)
        if complete.any():
            probability[complete] = booster.predict(x[complete], num_threads=1)
        version = config.config_hash() + "-" + model_hash(booster)
        out["probability_up"][block] = probability
        out["model_version"][block] = version
        out["train_from"][block] = series.open_time[rows[0]]
        out["train_until"][block] = series.open_time[rows[-1]]
        out["train_label_until"][block] = series.label_until[rows].max()
        out["train_rows"][block] = len(rows)
        out["models"].append(
            describe(booster, version, series.features[rows], params, (trials, score))
        )
    return out


def model_hash(booster: Any) -> str:
    """A short hash of the trained model's text (its trees and parameters)."""
    return hashlib.sha256(booster.model_to_string().encode()).hexdigest()[:16]
