"""Walk-forward LightGBM training of (symbol, interval) series, out-of-sample only.

A series is cut into blocks of ``retrain_every`` bars counted from its first bar; the model
of block k is trained on rows of earlier bars only, and only on rows whose label was known
before the block starts, minus an embargo: a training row's ``label_until`` (the close time
of the bar that decides its label) must be earlier than the block's first open time minus
``embargo_bars`` bar lengths (purging). The model then predicts the block's bars. Blocks are
anchored at the series' start, so a longer history never changes an earlier block's model
(what the lookahead truncation test proves): an incremental run predicts the new bars of a
block already trained with that block's recorded model (:func:`predict_recorded`) and trains
only the blocks that begin after it.

LightGBM rather than XGBoost: its ``deterministic`` mode with one thread gives bit-identical
models on re-run, it handles the features' NULL warm-up natively, and it trains the small
per-series models here fastest. Blocks are independent of each other, so
:func:`walk_forward_many` trains the blocks of many series on a pool of threads (LightGBM
releases the GIL; each model still trains on one thread, so the models are the same
whatever the pool size).

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

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from hermes.ml.records import ModelRecord, describe, text_sha256
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
NAT = np.datetime64("NaT", "us")


@dataclass(frozen=True)
class Block:
    """One block's model and what it was trained on (``booster`` None: the block has none)."""

    block_start: np.datetime64
    booster: Any = None
    model_version: str | None = None
    train_from: np.datetime64 = NAT
    train_until: np.datetime64 = NAT
    train_label_until: np.datetime64 = NAT
    train_rows: int = 0
    record: ModelRecord | None = None
    """The new model's record (None for a block read back from an earlier run)."""


def train_block(series: Series, config: TrainingConfig, start: int) -> Block:
    """The model of the block starting at bar ``start``, trained on its purged window."""
    import lightgbm as lgb

    block_start = series.open_time[start]
    rows = training_rows(series, start, config)
    y = (series.label[rows] > 0).astype(np.float64)
    if len(rows) < config.min_train_rows or y.min(initial=1.0) == y.max(initial=0.0):
        return Block(block_start)
    params, trials, score = tune(series, rows, config)
    x = series.features[rows]
    dataset = lgb.Dataset(x, label=y, feature_name=list(config.features), params={"verbosity": -1})
    booster = lgb.train(params, dataset, num_boost_round=config.num_trees)
    text = booster.model_to_string()
    version = config.config_hash() + "-" + text_sha256(text)[:16]
    return Block(
        block_start,
        booster,
        version,
        series.open_time[rows[0]],
        series.open_time[rows[-1]],
        series.label_until[rows].max(),
        len(rows),
        describe(booster, (version, text), x, params, (trials, score)),
    )


def _empty(positions: np.ndarray) -> dict[str, Any]:
    size = len(positions)
    return {
        "position": positions,
        "block_start": np.empty(size, dtype="datetime64[us]"),
        "probability_up": np.full(size, np.nan),
        "model_version": np.full(size, None, dtype=object),
        "train_from": np.full(size, NAT, dtype="datetime64[us]"),
        "train_until": np.full(size, NAT, dtype="datetime64[us]"),
        "train_label_until": np.full(size, NAT, dtype="datetime64[us]"),
        "train_rows": np.zeros(size, dtype=np.int64),
        "models": [],
    }


def _fill(out: dict[str, Any], part: slice, block: Block, features: np.ndarray) -> None:
    """Rows ``part`` of ``out``: the block's columns and its model's predictions of
    ``features`` (the part's bars)."""
    out["block_start"][part] = block.block_start
    if block.booster is None:
        return
    complete = ~np.isnan(features).any(axis=1)
    probability = np.full(len(features), np.nan)
    if complete.any():
        probability[complete] = block.booster.predict(features[complete], num_threads=1)
    out["probability_up"][part] = probability
    out["model_version"][part] = block.model_version
    out["train_from"][part] = block.train_from
    out["train_until"][part] = block.train_until
    out["train_label_until"][part] = block.train_label_until
    out["train_rows"][part] = block.train_rows


def walk_forward(series: Series, config: TrainingConfig, first_block: int = 0) -> dict[str, Any]:
    """Out-of-sample predictions for every bar of the blocks from ``first_block`` on.

    Returns the bars' positions (``position``) and one array per :data:`PREDICTION_COLUMNS`
    (NULL-able values as NaN / NaT / None); rows of a block without a model, and bars with a
    NULL feature, have a NULL probability. ``models`` lists the :class:`ModelRecord` of each
    model trained.
    """
    return walk_forward_many([(series, first_block)], config)[0]


def walk_forward_many(
    jobs: list[tuple[Series, int]], config: TrainingConfig, threads: int = 1
) -> list[dict[str, Any]]:
    """:func:`walk_forward` of each (series, first block), every block on a pool of
    ``threads`` threads (the results do not depend on it)."""
    every = config.retrain_every
    tasks = [
        (i, start)
        for i, (series, first_block) in enumerate(jobs)
        for start in range(first_block * every, len(series.open_time), every)
    ]
    outs = [
        _empty(np.arange(min(first * config.retrain_every, len(s.open_time)), len(s.open_time)))
        for s, first in jobs
    ]

    def run(task: tuple[int, int]) -> None:
        i, start = task
        series, first_block = jobs[i]
        block = train_block(series, config, start)
        stop = min(start + config.retrain_every, len(series.open_time))
        begin = first_block * config.retrain_every
        _fill(outs[i], slice(start - begin, stop - begin), block, series.features[start:stop])
        if block.record is not None:
            outs[i]["models"].append((start, block.record))

    if threads > 1 and len(tasks) > 1:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ml") as pool:
            list(pool.map(run, tasks))
    else:
        for task in tasks:
            run(task)
    for out in outs:
        out["models"] = [record for _, record in sorted(out["models"], key=lambda m: m[0])]
    return outs


def predict_recorded(features: np.ndarray, block: Block) -> dict[str, Any]:
    """The rows of bars ``features`` (n x f, all in ``block``) predicted with the block's
    recorded model: the new bars of a block an earlier run trained (positions 0..n-1)."""
    out = _empty(np.arange(len(features)))
    _fill(out, slice(0, len(features)), block, features)
    return out
